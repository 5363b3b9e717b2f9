import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../topic.ts';
import { UsageError } from '../types.ts';
import { type Registration, SchemaRegistry } from './registry.ts';
import { levelsMatch, parseSubject } from './subject.ts';

const ORDER = { type: 'object', properties: { orderId: { type: 'string' }, amountCents: { type: 'integer', minimum: 0 } }, required: ['orderId', 'amountCents'] };
const enc = new TextEncoder();
const bytes = (x: unknown): Uint8Array => enc.encode(JSON.stringify(x));

function registered(r: Registration): Extract<Registration, { kind: 'registered' }> {
  if (r.kind !== 'registered') throw new Error(`expected a registration, got ${JSON.stringify(r)}`);
  return r;
}

/** `specs` as one registry (document version 1). */
function registryOf(specs: Parameters<typeof SchemaRegistry.bodyOf>[0]): SchemaRegistry {
  return SchemaRegistry.fromBody(SchemaRegistry.bodyOf(specs), 1);
}

describe('[SCHEMA-1] subjects', () => {
  it('are a type, a type glob or a topic filter', () => {
    expect(parseSubject('com.acme.order.created')).toMatchObject({ kind: 'type', pattern: 'com.acme.order.created' });
    expect(parseSubject('com.acme.order.*')).toMatchObject({ kind: 'type-glob' });
    expect(parseSubject('topic:orders/#')).toMatchObject({ kind: 'topic', pattern: 'orders/#', levels: ['orders', '#'] });
    expect(parseSubject('type:urn:x')).toMatchObject({ kind: 'type', pattern: 'urn:x' });
    expect(parseSubject('topic:orders/#/x')).toHaveProperty('error');
    expect(parseSubject('a b')).toHaveProperty('error');
    expect(parseSubject('')).toHaveProperty('error');
    expect(parseSubject('x'.repeat(256))).toHaveProperty('error');
  });

  it('match topics as engine/topic.ts does, without splitting the topic', () => {
    const filters = ['#', '+', 'orders/#', 'orders/+', 'orders/+/x', 'orders/us/x', '+/+', 'a/b/#', '$sys/#', '+/x/#'];
    const topics = ['orders', 'orders/us', 'orders/us/x', 'orders/us/x/y', 'a', 'a/b', 'a/b/c', '$sys/x', 'orders/', '/x', '', 'x/x/x'];
    for (const f of filters) for (const t of topics) expect(levelsMatch(f.split('/'), t), `${f} ~ ${t}`).toBe(matchesPattern(f, t));
  });
});

describe('[SCHEMA-6] registration', () => {
  it('numbers versions, gives ids by content, returns an existing version for the same schema', () => {
    const r0 = SchemaRegistry.empty();
    const a = registered(r0.register('com.acme.order.created', ORDER));
    expect([a.version, a.id]).toEqual([1, 1]);
    const r1 = SchemaRegistry.fromBody(a.body, 1, 'schemas', r0);
    expect(r1.register('com.acme.order.created', ORDER)).toEqual({ kind: 'exists', subject: 'com.acme.order.created', version: 1, id: 1 });
    // The same schema under another subject keeps its id.
    const b = registered(r1.register('topic:orders/#', ORDER));
    expect([b.version, b.id]).toEqual([1, 1]);
    const r2 = SchemaRegistry.fromBody(b.body, 2, 'schemas', r1);
    const v2 = { ...ORDER, properties: { ...ORDER.properties, note: { type: 'string' } }, additionalProperties: false };
    // BACKWARD by default: closing the open model is refused, with the node it is about.
    const refused = r2.register('com.acme.order.created', v2);
    expect(refused.kind).toBe('incompatible');
    expect(refused.kind === 'incompatible' && refused.problems[0]).toMatch(/^version 2 must accept data written with version 1: #\/properties\/note: version 2 declares "note"/);
    const c = registered(SchemaRegistry.fromBody(r2.withCompatibility('com.acme.order.created', 'NONE') as string, 3, 'schemas', r2).register('com.acme.order.created', v2));
    expect([c.version, c.id]).toEqual([2, 2]);
  });

  it('refuses a schema that does not compile, and a bad subject', () => {
    const r = SchemaRegistry.empty();
    expect(r.register('x.y', { type: 'objekt' })).toMatchObject({ kind: 'invalid-schema', error: expect.stringMatching(/schema is invalid/) });
    expect(r.register('x.y', { type: 'object', requried: ['a'] })).toMatchObject({ kind: 'invalid-schema', error: 'strict mode: unknown keyword: "requried"' });
    expect(r.register('x.y', { type: 'string', format: 'nope' })).toMatchObject({ kind: 'invalid-schema', error: expect.stringMatching(/unknown format "nope"/) });
    expect(r.register('x.y', { $schema: 'http://json-schema.org/draft-04/schema#' })).toMatchObject({ kind: 'invalid-schema' });
    expect(r.register('x.y', { $id: 'urn:x', type: 'object' })).toMatchObject({ kind: 'invalid-schema' });
    expect(r.register('x.y', [1])).toMatchObject({ kind: 'invalid-schema' });
    expect(r.register('topic:a/#/b', true)).toMatchObject({ kind: 'bad-subject' });
  });

  it('two versions with the same $id compile side by side', () => {
    const specs = [
      {
        subject: 'a.b',
        compatibility: 'NONE',
        versions: [
          { $id: 'https://acme.test/o.json', type: 'integer' },
          { $id: 'https://acme.test/o.json', type: 'string' },
        ],
      },
    ];
    const r = registryOf(specs);
    expect(r.subject('a.b')?.versions.map((v) => [v.version, v.id])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(r.validate('t', 'a.b', {}, bytes('x'))).toBe(1);
    expect(r.validate('t', 'a.b', {}, bytes(1))).toBe(-1);
  });

  it('a scenario or config list: one line naming the entry that fails', () => {
    expect(() => SchemaRegistry.bodyOf([{ subject: 'a.b', versions: [{ type: 'number' }, { type: 'integer' }] }])).toThrow(
      /^schemas\[0\]\.versions\[1\]: not BACKWARD compatible: version 2 must accept data written with version 1: #\/type: version 2 accepts integers only/,
    );
    expect(() => SchemaRegistry.bodyOf([{ subject: 'a.b', schema: { type: 'nope' } }])).toThrow(/^schemas\[0\]\.schema: schema is invalid/);
    expect(() => SchemaRegistry.bodyOf([{ subject: 'a.b', compatibility: 'SIDEWAYS', schema: true }])).toThrow(/^schemas\[0\]\.compatibility/);
    expect(() =>
      SchemaRegistry.bodyOf([
        { subject: 'a.b', schema: true },
        { subject: 'a.b', schema: false },
      ]),
    ).toThrow(/a second time/);
    expect(() => SchemaRegistry.bodyOf([{ subject: 'a.b' }])).toThrow(/expected a schema/);
  });
});

describe('[SCHEMA-3] the document body', () => {
  it('round-trips, and a body that breaks the shape is refused whole, naming where', () => {
    const r = registryOf([{ subject: 'com.acme.*', compatibility: 'FULL', schema: ORDER }]);
    expect(SchemaRegistry.fromBody(r.toBody(), 2).toBody()).toBe(r.toBody());
    const bad = (body: unknown) => () => SchemaRegistry.fromBody(JSON.stringify(body), 2, 'schemas v2 from eu-1');
    expect(() => SchemaRegistry.fromBody('{', 2)).toThrow(UsageError);
    expect(bad({ subjects: {} })).toThrow(/^schemas v2 from eu-1: expected \{"subjects"/);
    expect(bad({ subjects: [{ subject: 'a', compatibility: 'BACKWARD', versions: [{ version: 2, id: 1, schema: true }] }] })).toThrow(/versions\[0\]: expected version 1/);
    expect(bad({ subjects: [{ subject: 'a', compatibility: 'BACKWARD', versions: [{ version: 1, id: 0, schema: true }] }] })).toThrow(/\.id: expected a positive integer/);
    expect(bad({ subjects: [{ subject: 'a', compatibility: 'BACKWARD', versions: [{ version: 1, id: 1, schema: { type: 1 } }] }] })).toThrow(/\.schema: schema is invalid/);
    expect(bad({ subjects: [{ subject: 'a', compatibility: 'MAYBE', versions: [] }] })).toThrow(/compatibility/);
  });

  it('[SCHEMA-9] a new document version reuses the compiled validators and keeps the counters', () => {
    const r1 = registryOf([{ subject: 'a.b', schema: ORDER }]);
    r1.validate('t', 'a.b', {}, bytes({ orderId: 'o', amountCents: 1 }));
    r1.validate('t', 'a.b', {}, bytes({ orderId: 'o' }));
    const reg = registered(r1.register('c.d', { type: 'string' }));
    const r2 = SchemaRegistry.fromBody(reg.body, 2, 'schemas', r1);
    expect(r2.subject('a.b')?.latest?.validate).toBe(r1.subject('a.b')?.latest?.validate);
    expect(r2.subject('a.b')).toMatchObject({ validated: 2, invalid: 1 });
  });
});

describe('[SCHEMA-7][SCHEMA-8] enforcement', () => {
  const r = registryOf([
    { subject: 'com.acme.order.*', schema: ORDER },
    { subject: 'com.acme.order.created', schema: { type: 'object', required: ['createdAt'] } },
    { subject: 'topic:orders/eu/#', schema: { type: 'object', properties: { currency: { const: 'EUR' } }, required: ['currency'] } },
  ]);
  const ok = { orderId: 'o-1', amountCents: 100, createdAt: 't', currency: 'EUR' };

  it('checks every subject that applies: exact type, globs, topics', () => {
    expect(r.validate('orders/eu/1', 'com.acme.order.created', {}, bytes(ok))).toBe(3);
    expect(r.validate('orders/us/1', 'com.acme.order.paid', {}, bytes(ok))).toBe(1);
    expect(r.validate('other', 'com.other', {}, bytes('anything'))).toBe(0);
  });

  it('the first subject that rejects refuses, with its version and the data path', () => {
    expect(r.validate('orders/eu/1', 'com.acme.order.created', {}, bytes({ ...ok, createdAt: undefined }))).toBe(-1);
    expect(r.refusal).toEqual({
      subject: 'com.acme.order.created',
      version: 1,
      id: 2,
      error: { path: '/createdAt', keyword: 'required', message: "must have required property 'createdAt'", schemaPath: '#/required' },
    });
    expect(r.validate('orders/us/1', 'com.acme.order.paid', {}, bytes({ ...ok, amountCents: 1.5 }))).toBe(-1);
    expect(r.refusal?.error).toMatchObject({ path: '/amountCents', keyword: 'type', message: 'must be integer' });
    expect(r.validate('orders/eu/1', 'com.x', {}, bytes({ currency: 'USD' }))).toBe(-1);
    expect(r.refusal).toMatchObject({ subject: 'topic:orders/eu/#', error: { path: '/currency', keyword: 'const' } });
  });

  it('a payload that is not JSON, or typed otherwise, is invalid for a subject', () => {
    expect(r.validate('x', 'com.acme.order.paid', {}, enc.encode('orderId=1'))).toBe(-1);
    expect(r.refusal?.error).toMatchObject({ path: '', keyword: 'json', message: expect.stringMatching(/^payload is not JSON: /) });
    expect(r.validate('x', 'com.acme.order.paid', {}, new Uint8Array(0))).toBe(-1);
    expect(r.validate('x', 'com.acme.order.paid', {}, new Uint8Array([0x22, 0xff, 0x22]))).toBe(-1);
    expect(r.validate('x', 'com.acme.order.paid', { datacontenttype: 'text/plain' }, bytes(ok))).toBe(-1);
    expect(r.refusal?.error.message).toBe('payload is text/plain, not JSON');
    expect(r.validate('x', 'com.acme.order.paid', { datacontenttype: 'application/cloudevents+json; charset=utf-8' }, bytes(ok))).toBe(1);
    // Without a subject, nothing is parsed: a non-JSON payload passes.
    expect(r.validate('x', 'com.other', {}, enc.encode('not json'))).toBe(0);
  });

  it('counts per subject; `count: false` leaves the counters alone', () => {
    const s = registryOf([{ subject: 'a.b', schema: { type: 'integer' } }]);
    s.validate('t', 'a.b', {}, bytes(1));
    s.validate('t', 'a.b', {}, bytes('x'));
    s.validate('t', 'a.b', {}, bytes('x'), false);
    expect(s.subject('a.b')).toMatchObject({ validated: 2, invalid: 1 });
  });

  it('an empty registry, or one whose subjects have no version yet, checks nothing', () => {
    expect(SchemaRegistry.empty().empty).toBe(true);
    const configured = SchemaRegistry.fromBody(SchemaRegistry.empty().withCompatibility('a.b', 'FULL') as string, 1);
    expect(configured.empty).toBe(true);
    expect(configured.validate('t', 'a.b', {}, bytes('x'))).toBe(0);
    expect(configured.register('a.b', { type: 'integer' })).toMatchObject({ kind: 'registered', version: 1 });
  });
});
