/**
 * [EDGE-11] The fast path for plain structured events agrees with the SDK's path: on generated
 * events, valid and not, both give the same refusal (or throw the same), or the same publish —
 * id, source, type, topic, headers (in order), payload and delivery class — whether the event
 * comes alone (its own text) or in a batch (the text of the parsed element).
 */
import fc from 'fast-check';
import { HTTP } from 'cloudevents';
import { describe, expect, it, vi } from 'vitest';
import { type Ingested, ingestStructured, ingestStructuredValue } from './cloudevent.ts';

/** A member's JSON text; absent members are left out. */
const ABSENT = Symbol('absent');
type Member = string | typeof ABSENT;

const json = (v: unknown): string => JSON.stringify(v);
const some = (...texts: string[]) => fc.constantFrom(...texts);
/** Any JSON value's text, plus texts JSON.stringify never writes (-0, exponents). */
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }).map(json), some('-0', '1e20', '-0.0', '1E2', '0'), fc.string().map(json));
/** Mostly `good` (weight 12), sometimes `bad` or absent (weight `absent`), so that acceptance is common. */
const member = (absent: number, good: fc.Arbitrary<string>, bad: fc.Arbitrary<string>): fc.Arbitrary<Member> =>
  fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: bad, weight: 1 }, { arbitrary: fc.constant(ABSENT), weight: absent });

const LONE = '\ud800';
const strings = (...s: string[]) => some(...s.map(json));
const attrs = {
  specversion: member(1, strings('1.0'), fc.oneof(strings('0.3', ''), some('1', 'null'))),
  id: member(1, strings('evt-1', 'e'), fc.oneof(strings('', `x${LONE}`), some('7', 'null'))),
  source: member(
    1,
    fc.oneof(strings('/billing/checkout', '/a', '/a//b', '/a-b/c_d.e~f/'), strings('https://example.com/x?y=1#z', 'urn:uuid:6e8bc430', '1-555-123-4567', 'mailto:x@y', '/%41', 'a/b')),
    fc.oneof(strings('not a uri', '//a:b', '', '/a b', '/%zz', `/s${LONE}`), fc.string({ maxLength: 12 }).map(json), some('5', 'null')),
  ),
  type: member(1, strings('com.acme.order', 't'), fc.oneof(strings('', `t${LONE}`), some('true'))),
  time: member(
    12,
    fc.oneof(
      strings('2026-02-05T10:12:25Z', '2026-02-05T10:12:25.5+02:00', 'Feb 5 2026', '0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z'),
      fc.date({ min: new Date(-70_000_000_000_000), max: new Date(300_000_000_000_000), noInvalidDate: true }).map((d) => json(d.toISOString())),
    ),
    fc.oneof(strings('yesterday', '', '+020000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z'), some('12', 'null')),
  ),
  topic: member(2, strings('orders/eu/created', 'o/p'), fc.oneof(strings('a/+', 'a/#/b', '', `o/${LONE}`), some('7', 'null'))),
  subject: member(12, strings('orders/ap/x', 'sub'), fc.oneof(strings(''), some('5', 'null', 'false'))),
  delivery: member(6, strings('realtime', 'guaranteed'), fc.oneof(strings('sometimes'), some('null', '2'))),
  datacontenttype: member(6, strings('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/vnd.acme+json', 'image/png'), fc.oneof(strings(''), some('5', 'null', '0'))),
  dataschema: member(48, strings('https://example.com/schema', 'urn:x:y'), fc.oneof(strings('not a uri', '/relative', ''), some('3', 'null'))),
  data: member(6, anyValue, some('null')),
  data_base64: member(48, strings('AAEC', '', Buffer.from('{"a":1}').toString('base64'), 'not base64!'), some('5', 'null')),
};
const extensionName = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9]{1,25}$/), weight: 6 },
  { arbitrary: some('tier', 'retries', '123'), weight: 6 },
  some('bad_name', 'Upper', 'validate', 'emit', 'constructor', 'schemaurl', 'datacontentencoding', '__proto__', 'toJSON', 'time2'),
);
const extensions = fc.array(fc.tuple(extensionName, fc.oneof({ arbitrary: anyValue, weight: 12 }, { arbitrary: strings(`v${LONE}`), weight: 1 })), { maxLength: 3 });

/** A structured event's JSON text: the attributes in a shuffled order, then extensions. */
const eventText = fc
  .tuple(fc.record(attrs), extensions, fc.boolean())
  .chain(([a, ext, reversed]) => {
    const members: [string, string][] = Object.entries(a)
      .filter((e): e is [string, string] => e[1] !== ABSENT)
      .concat(ext);
    if (reversed) members.reverse();
    return fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length });
  })
  .map((members) => `{${members.map(([k, v]) => `${json(k)}:${v}`).join(',')}}`);

type Outcome = Ingested | { readonly threw: string };

function run(raw: unknown, text: string | undefined, via: 'auto' | 'sdk'): Outcome {
  try {
    return ingestStructuredValue(raw, text, via);
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

/** The publish as plain data: headers with their order, payload as bytes. */
function comparable(o: Outcome): unknown {
  if (!('ok' in o) || !o.ok) return o;
  const p = o.publish;
  return { ...p, headers: Object.entries(p.headers), payload: [...p.payload] };
}

describe('[EDGE-11] fast path ≡ SDK path', () => {
  it('the same refusal or the same publish on generated structured events, alone or in a batch', () => {
    const sdkCalls = vi.spyOn(HTTP, 'toEvent');
    let accepted = 0;
    let fast = 0;
    try {
      fc.assert(
        fc.property(eventText, fc.constantFrom('', '', ' ', '\n'), (text, lead) => {
          const raw = JSON.parse(text) as unknown;
          // Alone: the SDK parses the body as sent; in a batch: the element's JSON.stringify.
          for (const t of [lead + text, undefined]) {
            const sdk = run(raw, t, 'sdk');
            const before = sdkCalls.mock.calls.length;
            const auto = run(raw, t, 'auto');
            expect(comparable(auto)).toEqual(comparable(sdk));
            if ('ok' in auto && auto.ok) {
              accepted++;
              if (sdkCalls.mock.calls.length === before) fast++;
            }
          }
        }),
        { numRuns: 3000 },
      );
    } finally {
      sdkCalls.mockRestore();
    }
    // The generator reaches acceptance often, and most accepted events by the fast path.
    expect(accepted).toBeGreaterThan(300);
    expect(fast).toBeGreaterThan(accepted / 2);
  });

  it('a plain event, alone or in a batch, never meets the SDK; one the SDK passed a source of, neither the next time', () => {
    const sdkCalls = vi.spyOn(HTTP, 'toEvent');
    try {
      const event = { specversion: '1.0', id: 'e-1', source: '/bench', type: 't', topic: 'bench/t', time: '2026-02-05T10:12:25Z', tier: 'gold', data: { i: 1 } };
      const text = JSON.stringify(event);
      expect(ingestStructured(text).ok).toBe(true);
      expect(ingestStructuredValue(JSON.parse(text)).ok).toBe(true);
      expect(sdkCalls).not.toHaveBeenCalled();
      const urlSource = { ...event, source: 'https://example.com/orders?x=1' };
      expect(ingestStructuredValue(urlSource).ok).toBe(true);
      expect(sdkCalls).toHaveBeenCalledTimes(1);
      expect(ingestStructuredValue({ ...urlSource, id: 'e-2' }).ok).toBe(true);
      expect(sdkCalls).toHaveBeenCalledTimes(1);
    } finally {
      sdkCalls.mockRestore();
    }
  });
});
