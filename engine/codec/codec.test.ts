import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AckFrame, DataFrame, Frame, GuaranteedFrame, HelloFrame, InterestEntry, InterestFrame, GovernanceFrame, KeepAliveFrame, LinkStateFrame, SyncRequestFrame } from '../frames.ts';
import { UsageError, type Envelope, type HeaderValue } from '../types.ts';
import { FrameDecoder, MAX_FRAME_BYTES, ProtocolError, decodeFrame, encodeFrame, encodeFrameInto, encodedLength, frameKindOf, type DecodeResult } from './index.ts';

// ---------------------------------------------------------------------------------------------
// helpers

const utf8 = new TextEncoder();

function envelope(over: Partial<Envelope> = {}): Envelope {
  return {
    id: '6f1c2b1e-8a43-4c3e-9b4f-2f6b9a1d0c7e',
    source: '/orders-svc',
    type: 'com.acme.order.created',
    specversion: '1.0',
    topic: 'orders/us/c12345',
    headers: { amountCents: 12500, region: 'us' },
    payload: new Uint8Array(500).map((_, i) => i & 0xff),
    publishedAtMs: 1_700_000_000_123.25,
    path: ['us-1'],
    hopLimit: 16,
    ...over,
  };
}

function data(over: Partial<Envelope> = {}, dests: string[] = ['eu-1']): DataFrame {
  return { kind: 4, dests, envelope: envelope(over) };
}

function roundTrip(frame: Frame): Frame {
  const bytes = encodeFrame(frame);
  expect(bytes.length).toBe(encodedLength(frame));
  const r = decodeFrame(bytes);
  if (!r.ok) throw new Error(`decode failed: ${r.error.toString()}`);
  expect(norm(r.frame)).toEqual(norm(frame));
  // canonical: re-encoding the decoded frame gives the same bytes
  expect(hex(encodeFrame(r.frame))).toBe(hex(bytes));
  return r.frame;
}

/** A frame from raw parts: `u32 length | version | kind | body`. */
function rawFrame(kind: number, body: readonly number[], version = 1): Uint8Array {
  const rest = 2 + body.length;
  return Uint8Array.from([rest >>> 24, (rest >>> 16) & 0xff, (rest >>> 8) & 0xff, rest & 0xff, version, kind, ...body]);
}

function str(s: string): number[] {
  const b = [...utf8.encode(s)];
  if (b.length > 127) throw new Error('test helper: short strings only');
  return [b.length, ...b];
}

/** Body of a minimal data frame, with `headers` bytes spliced in. */
function dataBody(headerBytes: number[], publishedAt: number[] = [0, 0, 0, 0, 0, 0, 0, 0]): number[] {
  return [1, ...str('eu-1'), ...str('i'), ...str('s'), ...str('t'), ...str('1.0'), ...str('a/b'), ...headerBytes, 0, ...publishedAt, 1, ...str('us-1'), 16];
}

function expectError(r: DecodeResult, reason: RegExp, offset?: number): ProtocolError {
  if (r.ok) throw new Error(`expected a ProtocolError matching ${reason}, got a frame`);
  expect(r.error).toBeInstanceOf(ProtocolError);
  expect(r.error.reason).toMatch(reason);
  if (offset !== undefined) expect(r.error.offset).toBe(offset);
  return r.error;
}

/** Feeds `chunks` to a fresh FrameDecoder, polling after each push; returns everything polled. */
function streamDecode(chunks: readonly Uint8Array[]): DecodeResult[] {
  const dec = new FrameDecoder();
  const out: DecodeResult[] = [];
  const drain = (): boolean => {
    for (let r = dec.poll(); r !== undefined; r = dec.poll()) {
      // The frame's bytes are checked apart ('hands back each frame's exact bytes').
      out.push(r.ok ? { ok: true, frame: r.frame } : r);
      if (!r.ok) return false;
    }
    return true;
  };
  for (const c of chunks) {
    dec.push(c);
    if (!drain()) break;
  }
  return out;
}

/** Hex of bytes: vitest's toEqual walks typed arrays element by element, slowly. */
function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A deep copy with every Uint8Array replaced by its hex, for fast deep-equality. */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: hex(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object' && !(v instanceof ProtocolError)) {
    const o = Object.create(Object.getPrototypeOf(v)) as Record<string, unknown>;
    // defineProperty: plain assignment of a `__proto__` key would set the prototype instead
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: norm((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.slice(prev, p)); // slice: each chunk its own memory, like socket reads
    prev = p;
  }
  return chunks;
}

function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}

// ---------------------------------------------------------------------------------------------
// arbitraries

const anyString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.string({ unit: 'binary-ascii', minLength: 120, maxLength: 300 }), // around the 1-byte length prefix limit
);
const brokerIdArb = fc.oneof(fc.stringMatching(/^[a-z]{2}-[0-9]{1,3}$/), anyString);
const seqArb = fc.oneof(fc.nat(300), fc.maxSafeNat());
const intervalArb = fc.oneof(fc.nat(100_000), fc.maxSafeNat());
const costArb = fc.oneof(fc.double({ min: 0, noNaN: true }), fc.nat(1000), fc.constantFrom(0, -0, Infinity));
const numberArb = fc.oneof(fc.double({ noNaN: true }), fc.integer(), fc.maxSafeInteger(), fc.constantFrom(-0, 0.5, -1, 2 ** 53, -(2 ** 53), Infinity, -Infinity));
const headerValueArb: fc.Arbitrary<HeaderValue> = fc.oneof(anyString, fc.boolean(), numberArb);
const headerKeyArb = fc.oneof(anyString, fc.constantFrom('0', '1', '10', '007', '4294967294', '4294967295', '__proto__', 'constructor', 'hasOwnProperty', ''));
const headersArb = fc.dictionary(headerKeyArb, headerValueArb, { maxKeys: 8 });

const helloArb: fc.Arbitrary<HelloFrame> = fc.record({
  kind: fc.constant(1 as const),
  from: brokerIdArb,
  helloIntervalMs: intervalArb,
  deadIntervalMs: intervalArb,
  heard: fc.array(brokerIdArb, { maxLength: 6 }),
});

const linkStateArb: fc.Arbitrary<LinkStateFrame> = fc.record({
  kind: fc.constant(2 as const),
  origin: brokerIdArb,
  seq: seqArb,
  neighbors: fc.array(fc.record({ id: brokerIdArb, cost: costArb }), { maxLength: 6 }),
});

const entryArb: fc.Arbitrary<InterestEntry> = fc.record({
  op: fc.constantFrom('add' as const, 'remove' as const),
  pattern: anyString,
  selector: fc.option(anyString, { nil: null }),
});

const interestArb: fc.Arbitrary<InterestFrame> = fc.record({
  kind: fc.constant(3 as const),
  origin: brokerIdArb,
  seq: seqArb,
  reset: fc.boolean(),
  entries: fc.array(entryArb, { maxLength: 6 }),
});

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  id: anyString,
  source: anyString,
  type: anyString,
  specversion: fc.oneof(fc.constant('1.0'), anyString),
  topic: anyString,
  headers: headersArb,
  payload: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 16_000, maxLength: 20_000 })),
  publishedAtMs: numberArb,
  path: fc.array(brokerIdArb, { maxLength: 5 }),
  hopLimit: fc.integer({ min: 0, max: 255 }),
});

const dataArb: fc.Arbitrary<DataFrame> = fc.record({
  kind: fc.constant(4 as const),
  dests: fc.array(brokerIdArb, { maxLength: 4 }),
  envelope: envelopeArb,
});

const guaranteedArb: fc.Arbitrary<GuaranteedFrame> = fc
  .tuple(seqArb, seqArb, fc.array(fc.tuple(brokerIdArb, seqArb), { maxLength: 4 }), envelopeArb)
  .map(([epoch, linkSeq, pairs, envelope]) => ({ kind: 5 as const, epoch, linkSeq, dests: pairs.map((p) => p[0]), seqs: pairs.map((p) => p[1]), envelope }));

const ackArb: fc.Arbitrary<AckFrame> = fc.record({ kind: fc.constant(6 as const), epoch: seqArb, linkSeqs: fc.array(seqArb, { maxLength: 20 }) });
const keepAliveArb: fc.Arbitrary<KeepAliveFrame> = fc.record({ kind: fc.constant(7 as const), from: brokerIdArb, seq: seqArb });
const syncRequestArb: fc.Arbitrary<SyncRequestFrame> = fc.record({ kind: fc.constant(8 as const), origin: brokerIdArb });
const governanceArb: fc.Arbitrary<GovernanceFrame> = fc.record({ kind: fc.constant(9 as const), doc: fc.constantFrom('acl', 'schemas'), origin: brokerIdArb, version: seqArb, body: fc.json() });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(helloArb, linkStateArb, interestArb, dataArb, guaranteedArb, ackArb, keepAliveArb, syncRequestArb, governanceArb);

/** A valid frame's bytes, then damaged: bit flips, byte overwrites, truncation, extension. */
const mutatedFrameArb = fc
  .tuple(
    frameArb.map((f) => encodeFrame(f)),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([bytes, mutations]) => {
    let b: Uint8Array = bytes.slice();
    for (const m of mutations) {
      if (m.op === 'extend') b = concat([b, m.bytes]);
      else if (b.length === 0) continue;
      else if (m.op === 'flip') b[m.at % b.length]! ^= 1 << m.bit;
      else if (m.op === 'set') b[m.at % b.length] = m.value;
      else b = b.slice(0, m.at % b.length);
    }
    return b;
  });

/** A correct header (length, version 1, known kind) over a random body: exercises the body parsers. */
const randomBodyArb = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.uint8Array({ maxLength: 200 })).map(([kind, body]) => rawFrame(kind, [...body]));

const PROPERTY_RUNS = { numRuns: 300 };

// ---------------------------------------------------------------------------------------------
// examples

describe('frameKindOf', () => {
  it('reads the kind of every frame from its header alone, and nothing from bytes too short or unknown', () => {
    const frames: Frame[] = [
      { kind: 1, from: 'us-1', helloIntervalMs: 1000, deadIntervalMs: 4000, heard: ['eu-1'] },
      { kind: 2, origin: 'us-1', seq: 3, neighbors: [{ id: 'eu-1', cost: 70 }] },
      { kind: 3, origin: 'ap-1', seq: 1, reset: true, entries: [] },
      data(),
      { kind: 5, epoch: 1, linkSeq: 2, dests: ['eu-1'], seqs: [7], envelope: envelope() },
      { kind: 6, epoch: 1, linkSeqs: [1, 2] },
      { kind: 7, from: 'eu-1', seq: 9 },
      { kind: 8, origin: 'us-1' },
    ];
    for (const f of frames) expect(frameKindOf(encodeFrame(f))).toBe(f.kind);
    expect(frameKindOf(encodeFrame(frames[0] as Frame).subarray(0, 5))).toBeUndefined();
    expect(frameKindOf(rawFrame(10, []))).toBeUndefined();
    expect(frameKindOf(rawFrame(0, []))).toBeUndefined();
  });
});

describe('round trip, hand-written frames', () => {
  it('guaranteed, ack, keep-alive and sync-request frames [REL-1][REL-2][HA-1][INT-4]', () => {
    roundTrip({ kind: 5, epoch: 3, linkSeq: 17, dests: ['eu-1', 'ap-1'], seqs: [41, 2 ** 53 - 1], envelope: envelope() });
    roundTrip({ kind: 6, epoch: 3, linkSeqs: [17, 18, 300] });
    roundTrip({ kind: 6, epoch: 0, linkSeqs: [] });
    roundTrip({ kind: 7, from: 'eu-1', seq: 9 });
    roundTrip({ kind: 8, origin: 'ap-1' });
    // A guaranteed frame costs its data frame plus epoch, linkSeq and one varint per dest.
    const d = encodeFrame({ kind: 4, dests: ['eu-1'], envelope: envelope() }).length;
    expect(encodeFrame({ kind: 5, epoch: 1, linkSeq: 1, dests: ['eu-1'], seqs: [1], envelope: envelope() }).length).toBe(d + 3);
  });

  it('a guaranteed frame whose seqs do not match its dests is a caller error', () => {
    expect(() => encodeFrame({ kind: 5, epoch: 1, linkSeq: 1, dests: ['a', 'b'], seqs: [1], envelope: envelope() })).toThrow(/2 dests but 1 seqs/);
  });

  it('hello', () => {
    roundTrip({ kind: 1, from: 'us-1', helloIntervalMs: 1000, deadIntervalMs: 4000, heard: ['eu-1', 'ap-1'] });
    roundTrip({ kind: 1, from: '', helloIntervalMs: 0, deadIntervalMs: Number.MAX_SAFE_INTEGER, heard: [] });
  });

  it('hello has the documented bytes (layout golden)', () => {
    const bytes = encodeFrame({ kind: 1, from: 'us-1', helloIntervalMs: 1000, deadIntervalMs: 4000, heard: ['eu-1'] });
    expect([...bytes]).toEqual([0, 0, 0, 17, 1, 1, ...str('us-1'), 0xe8, 0x07, 0xa0, 0x1f, 1, ...str('eu-1')]);
  });

  it('link state', () => {
    roundTrip({ kind: 2, origin: 'us-1', seq: 0, neighbors: [] });
    roundTrip({
      kind: 2,
      origin: 'us-1',
      seq: 2 ** 53 - 1,
      neighbors: [
        { id: 'eu-1', cost: 70 },
        { id: 'ap-1', cost: 180.5 },
        { id: 'x', cost: Infinity },
      ],
    });
    roundTrip({
      kind: 2,
      origin: 'us-1',
      seq: 7,
      neighbors: [
        { id: 'eu-1', cost: 0 },
        { id: 'eu-2', cost: 1e-300 },
      ],
    });
  });

  it('interest', () => {
    roundTrip({ kind: 3, origin: 'ap-1', seq: 1, reset: true, entries: [] });
    roundTrip({
      kind: 3,
      origin: 'ap-1',
      seq: 12345678901,
      reset: false,
      entries: [
        { op: 'add', pattern: 'orders/ap/#', selector: null },
        { op: 'add', pattern: 'orders/+/big', selector: "amountCents > 10000 AND type LIKE 'com.acme.%'" },
        { op: 'remove', pattern: 'orders/ap/#', selector: null },
        { op: 'remove', pattern: '注文/東京/#', selector: "名前 = '山田 🍣'" },
      ],
    });
  });

  it('data: the typical frame', () => {
    const f = data();
    roundTrip(f);
    // [CODEC-SIZE] 500 B payload + 149 B of envelope and framing (36-char UUID id); the WAN model is built on this.
    expect(encodedLength(f)).toBe(649);
  });

  it('data: empty lists, empty strings, empty payload', () => {
    roundTrip({ kind: 4, dests: [], envelope: envelope({ id: '', source: '', type: '', specversion: '', topic: '', headers: {}, payload: new Uint8Array(0), path: [], hopLimit: 0 }) });
  });

  it('data: unicode strings (emoji, CJK, BOM, astral) in every string field', () => {
    const u = '🚀 注文/東京 — ünïcödé \u{10FFFF}';
    roundTrip({
      kind: 4,
      dests: ['東京-1', '🌏'],
      envelope: envelope({ id: u, source: u, type: u, specversion: u, topic: `orders/${u}`, headers: { [u]: u, '\uFEFFbom': '\uFEFF' }, path: ['ap-東京', '😀'] }),
    });
    // a string just under 128 UTF-16 units but over 127 bytes takes the slow path with a 2-byte prefix
    roundTrip(data({ topic: '東'.repeat(100) }));
  });

  it('data: long strings (multi-byte length prefix)', () => {
    roundTrip(data({ id: 'x'.repeat(127), source: 'y'.repeat(128), type: 'z'.repeat(20_000), topic: 'é'.repeat(5000) }));
  });

  it('data: a 1 MB payload, decoded as a view of the input', () => {
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const f = data({ payload });
    const bytes = encodeFrame(f);
    expect(bytes.length).toBe(encodedLength(f));
    const r = decodeFrame(bytes);
    if (!r.ok) throw new Error(r.error.toString());
    const got = (r.frame as DataFrame).envelope.payload;
    expect(got.buffer).toBe(bytes.buffer); // no copy
    expect(sameBytes(got, payload)).toBe(true); // (toEqual on 1 MB typed arrays takes seconds)
    expect({ ...r.frame, envelope: { ...(r.frame as DataFrame).envelope, payload: null } }).toEqual({ ...f, envelope: { ...f.envelope, payload: null } });
  });

  it('data: header numbers (negative, fractional, -0, big, infinite) and booleans', () => {
    const headers = {
      zero: 0,
      negZero: -0,
      small: 5,
      big: 2 ** 53 - 1,
      tooBigForInt: 2 ** 53,
      neg: -1,
      negBig: -(2 ** 53 - 1),
      frac: -12.75,
      tiny: 5e-324,
      inf: Infinity,
      ninf: -Infinity,
      yes: true,
      no: false,
      s: 'text',
    };
    const f = roundTrip(data({ headers })) as DataFrame;
    expect(Object.is(f.envelope.headers['negZero'], -0)).toBe(true);
    expect(Object.is(f.envelope.headers['zero'], 0)).toBe(true);
  });

  it('data: headers decode to a plain object; any key is an own property, `__proto__` too', () => {
    const headers = Object.create(null) as Record<string, HeaderValue>;
    headers['__proto__'] = 'p';
    headers['constructor'] = 1;
    headers['hasOwnProperty'] = true;
    const f = roundTrip(data({ headers })) as DataFrame;
    const h = f.envelope.headers;
    expect(Object.getPrototypeOf(h)).toBe(Object.prototype); // the prototype was not replaced
    expect(Object.keys(h)).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(Object.hasOwn(h, '__proto__')).toBe(true);
    expect(h['__proto__']).toBe('p');
    expect(Object.hasOwn(h, 'toString')).toBe(false);
    const plain = (roundTrip(data({ headers: { a: 1 } })) as DataFrame).envelope.headers;
    expect(Object.hasOwn(plain, 'constructor')).toBe(false); // readers use Object.hasOwn
  });

  it('data: repeated short strings decode to equal strings (interning is invisible)', () => {
    const a = roundTrip(data({ topic: 'orders/us/c1', path: ['us-1', 'us-2'] })) as DataFrame;
    const b = roundTrip(data({ topic: 'orders/us/c2', path: ['us-2', 'us-1'] })) as DataFrame;
    expect(a.envelope.path).toEqual(['us-1', 'us-2']);
    expect(b.envelope.path).toEqual(['us-2', 'us-1']);
    expect(b.envelope.topic).toBe('orders/us/c2');
  });

  it('data: array-index header keys keep JS own-key order', () => {
    roundTrip(data({ headers: { b: 1, '10': 2, a: 3, '2': 4, '4294967295': 5 } }));
  });

  it('data: integer header values take fewer bytes than f64', () => {
    const asInt = encodedLength(data({ headers: { n: 12500 } }));
    const asFloat = encodedLength(data({ headers: { n: 12500.5 } }));
    expect(asFloat - asInt).toBe(9 - 3);
  });
});

// ---------------------------------------------------------------------------------------------
// usage errors (the caller's fault: thrown)

describe('encode rejects frames the wire cannot carry with a UsageError', () => {
  const bad: [string, Frame][] = [
    ['hopLimit 256', data({ hopLimit: 256 })],
    ['hopLimit -1', data({ hopLimit: -1 })],
    ['hopLimit 1.5', data({ hopLimit: 1.5 })],
    ['seq -1', { kind: 2, origin: 'a', seq: -1, neighbors: [] }],
    ['seq 1.5', { kind: 3, origin: 'a', seq: 1.5, reset: false, entries: [] }],
    ['seq 2^53', { kind: 2, origin: 'a', seq: 2 ** 53, neighbors: [] }],
    ['interval NaN', { kind: 1, from: 'a', helloIntervalMs: NaN, deadIntervalMs: 1, heard: [] }],
    ['interval fractional', { kind: 1, from: 'a', helloIntervalMs: 1, deadIntervalMs: 2.5, heard: [] }],
    ['cost -1', { kind: 2, origin: 'a', seq: 1, neighbors: [{ id: 'b', cost: -1 }] }],
    ['cost NaN', { kind: 2, origin: 'a', seq: 1, neighbors: [{ id: 'b', cost: NaN }] }],
    ['header NaN', data({ headers: { x: NaN } })],
    ['header object', data({ headers: { x: {} as unknown as HeaderValue } })],
    ['publishedAtMs NaN', data({ publishedAtMs: NaN })],
    ['lone high surrogate', data({ topic: 'a\uD800b' })],
    ['lone low surrogate', data({ id: '\uDC00' })],
    ['surrogate at end', data({ path: ['x\uD83D'] })],
    ['bad op', { kind: 3, origin: 'a', seq: 1, reset: false, entries: [{ op: 'put' as 'add', pattern: 'x', selector: null }] }],
    ['payload not bytes', data({ payload: [1, 2] as unknown as Uint8Array })],
    ['unknown kind', { kind: 9 } as unknown as Frame],
  ];
  it.each(bad)('%s', (_, frame) => {
    expect(() => encodeFrame(frame)).toThrow(UsageError);
    expect(() => encodedLength(frame)).toThrow(UsageError);
  });

  it('a frame over 16 MiB', () => {
    const f = data({ payload: new Uint8Array(MAX_FRAME_BYTES) });
    expect(() => encodedLength(f)).toThrow(UsageError);
    const justFits = data({ payload: new Uint8Array(MAX_FRAME_BYTES - (encodedLength(data({ payload: new Uint8Array(0) })) - 4) - 3) });
    expect(encodedLength(justFits) - 4).toBe(MAX_FRAME_BYTES);
    const bytes = encodeFrame(justFits);
    expect(decodeFrame(bytes).ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// protocol errors (the peer's fault: returned)

describe('decode returns a ProtocolError for bad bytes', () => {
  const hello = [...str('a'), 1, 1, 0];
  const cases: [string, Uint8Array, RegExp, number][] = [
    ['empty', new Uint8Array(0), /truncated/, 0],
    ['short prefix', Uint8Array.of(0, 0, 1), /truncated/, 3],
    ['length over 16 MiB', Uint8Array.of(0x01, 0, 0, 1, 1, 1), /exceeds/, 0],
    ['length 0', Uint8Array.of(0, 0, 0, 0), /too short/, 0],
    ['length 1', Uint8Array.of(0, 0, 0, 1, 1), /too short/, 0],
    ['bad version', rawFrame(1, hello, 2), /version 2/, 4],
    ['version 0', rawFrame(1, hello, 0), /version 0/, 4],
    ['unknown kind 0', rawFrame(0, hello), /kind 0/, 5],
    ['unknown kind 10', rawFrame(10, hello), /kind 10/, 5],
    ['truncated body', rawFrame(1, hello).subarray(0, 9), /truncated/, 9],
    ['trailing bytes', concat([rawFrame(1, hello), Uint8Array.of(0)]), /trailing/, 11],
    ['body shorter than length', rawFrame(1, [...hello, 0]), /length mismatch/, 11],
    ['string past the end', rawFrame(1, [5, 0x61]), /length mismatch/, 6],
    ['list count past the end', rawFrame(1, [...str('a'), 1, 1, 100]), /length mismatch/, 10],
    ['bad UTF-8', rawFrame(1, [2, 0xc3, 0x28, 1, 1, 0]), /UTF-8/, 7],
    ['overlong UTF-8', rawFrame(1, [2, 0xc0, 0xaf, 1, 1, 0]), /UTF-8/, 7],
    ['UTF-8 surrogate', rawFrame(1, [3, 0xed, 0xa0, 0x80, 1, 1, 0]), /UTF-8/, 7],
    ['varint overflow (9 bytes)', rawFrame(2, [...str('a'), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0]), /overflow/, 8],
    ['varint overflow (2^53)', rawFrame(2, [...str('a'), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0]), /overflow/, 8],
    ['non-minimal varint', rawFrame(1, [...str('a'), 0x81, 0x00, 1, 0]), /non-minimal/, 8],
    ['interest flags', rawFrame(3, [...str('a'), 1, 2, 0]), /interest flags/, 9],
    ['entry flags', rawFrame(3, [...str('a'), 1, 0, 1, 4, ...str('p')]), /entry flags/, 11],
    ['negative cost', rawFrame(2, [...str('a'), 1, 1, ...str('b'), 0xbf, 0xf0, 0, 0, 0, 0, 0, 0]), /cost/, 12],
    ['NaN cost', rawFrame(2, [...str('a'), 1, 1, ...str('b'), 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), /cost/, 12],
    ['unknown header tag', rawFrame(4, dataBody([1, ...str('k'), 9])), /tag 9/, 29],
    ['duplicate header key', rawFrame(4, dataBody([2, ...str('k'), 1, ...str('k'), 0])), /duplicate/, 30],
    ['array-index key after a name', rawFrame(4, dataBody([2, ...str('k'), 1, ...str('1'), 0])), /canonical order/, 30],
    ['array-index keys descending', rawFrame(4, dataBody([2, ...str('2'), 1, ...str('1'), 0])), /canonical order/, 30],
    ['integer sent as f64', rawFrame(4, dataBody([1, ...str('k'), 3, 0x40, 0x59, 0, 0, 0, 0, 0, 0])), /non-canonical/, 29],
    ['-0 as negative integer', rawFrame(4, dataBody([1, ...str('k'), 5, 0])), /-0/, 29],
    ['NaN header', rawFrame(4, dataBody([1, ...str('k'), 3, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0])), /NaN/, 29],
    ['NaN publishedAtMs', rawFrame(4, dataBody([0], [0x7f, 0xf8, 0, 0, 0, 0, 0, 1])), /NaN/, 28],
  ];
  it.each(cases)('%s', (_, bytes, reason, offset) => {
    expectError(decodeFrame(bytes), reason, offset);
  });

  it('the raw-frame helper builds valid frames (the cases above fail for their stated reason only)', () => {
    expect(decodeFrame(rawFrame(1, hello)).ok).toBe(true);
    expect(decodeFrame(rawFrame(4, dataBody([0]))).ok).toBe(true);
    expect(decodeFrame(rawFrame(4, dataBody([2, ...str('1'), 1, ...str('k'), 0]))).ok).toBe(true);
  });

  it('ProtocolError is a value, printable', () => {
    const e = expectError(decodeFrame(Uint8Array.of(0, 0, 0, 0)), /too short/);
    expect(String(e)).toMatch(/^ProtocolError at byte 0: /);
  });
});

// ---------------------------------------------------------------------------------------------
// streaming

describe('FrameDecoder', () => {
  const frames: Frame[] = [
    { kind: 1, from: 'us-1', helloIntervalMs: 1000, deadIntervalMs: 4000, heard: [] },
    data(),
    { kind: 3, origin: 'ap-1', seq: 1, reset: true, entries: [{ op: 'add', pattern: 'orders/ap/#', selector: null }] },
    data({ payload: new Uint8Array(0), headers: {} }, ['eu-1', 'ap-1']),
  ];
  const stream = concat(frames.map(encodeFrame));

  it('byte by byte (nats.js byByteTest)', () => {
    const out = streamDecode(byteByByte(stream));
    expect(norm(out)).toEqual(norm(frames.map((frame) => ({ ok: true, frame }))));
  });

  it("hands back each frame's exact bytes, byte by byte or in one chunk", () => {
    const encoded = frames.map(encodeFrame);
    for (const chunks of [byteByByte(stream), [stream]]) {
      const dec = new FrameDecoder();
      const got: string[] = [];
      for (const c of chunks) {
        dec.push(c);
        for (let r = dec.poll(); r !== undefined; r = dec.poll()) {
          if (!r.ok) throw new Error(r.error.reason);
          got.push(hex(r.bytes));
          expect(norm(decodeFrame(r.bytes))).toEqual(norm({ ok: true, frame: r.frame }));
        }
      }
      expect(got).toEqual(encoded.map(hex));
    }
  });

  it('one chunk', () => {
    expect(norm(streamDecode([stream]))).toEqual(norm(frames.map((frame) => ({ ok: true, frame }))));
  });

  it('returns undefined while waiting, and tracks buffered bytes', () => {
    const dec = new FrameDecoder();
    expect(dec.poll()).toBeUndefined();
    dec.push(stream.subarray(0, 5));
    expect(dec.poll()).toBeUndefined();
    expect(dec.bufferedBytes).toBe(5);
    dec.push(stream.subarray(5));
    let n = 0;
    while (dec.poll() !== undefined) n++;
    expect(n).toBe(frames.length);
    expect(dec.bufferedBytes).toBe(0);
    expect(dec.error).toBeUndefined();
  });

  it('fails on an oversized length as soon as the prefix arrives, and stays failed', () => {
    const dec = new FrameDecoder();
    dec.push(encodeFrame(frames[0]!));
    dec.push(Uint8Array.of(0x01, 0x00));
    expect(dec.poll()).toMatchObject({ ok: true });
    expect(dec.poll()).toBeUndefined();
    dec.push(Uint8Array.of(0x00, 0x01));
    const r = dec.poll();
    const e = expectError(r!, /exceeds/);
    expect(e.offset).toBe(encodedLength(frames[0]!)); // stream offset of the bad frame
    dec.push(encodeFrame(frames[0]!));
    expect(dec.poll()).toBe(r);
    expect(dec.poll()).toBe(r);
    expect(dec.error).toBe(e);
    expect(dec.bufferedBytes).toBe(0);
  });

  it('fails on a bad version before the body arrives', () => {
    const dec = new FrameDecoder();
    dec.push(Uint8Array.of(0, 0x10, 0, 0, 7));
    expectError(dec.poll()!, /version 7/, 4);
  });

  it('reports body errors at their stream offset', () => {
    const bad = rawFrame(1, [2, 0xc3, 0x28, 1, 1, 0]);
    const first = encodeFrame(frames[1]!);
    const out = streamDecode(byteByByte(concat([first, bad, first])));
    expect(out).toHaveLength(2);
    expect(out[0]!.ok).toBe(true);
    expectError(out[1]!, /UTF-8/, first.length + 7);
  });

  it('a frame inside one chunk is decoded in place; one split across chunks is copied', () => {
    const one = encodeFrame(frames[1]!);
    const [inPlace] = streamDecode([one]);
    expect((inPlace as { frame: DataFrame }).frame.envelope.payload.buffer).toBe(one.buffer);
    const [copied] = streamDecode([one.slice(0, 100), one.slice(100)]);
    expect((copied as { frame: DataFrame }).frame).toEqual(frames[1]);
  });

  it('many chunks (byte-by-byte 1 MB frame) stays linear', () => {
    const big = encodeFrame(data({ payload: new Uint8Array(1 << 20).fill(7) }));
    const dec = new FrameDecoder();
    let got: DecodeResult | undefined;
    for (let i = 0; i < big.length; i++) {
      dec.push(big.subarray(i, i + 1));
      got = dec.poll() ?? got;
    }
    expect(got?.ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// properties

describe('properties', () => {
  it('every frame round-trips, canonically, and encodedLength is exact', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const bytes = encodeFrame(frame);
        expect(encodedLength(frame)).toBe(bytes.length);
        const r = decodeFrame(bytes);
        expect(norm(r)).toEqual(norm({ ok: true, frame }));
        if (r.ok) expect(hex(encodeFrame(r.frame))).toBe(hex(bytes));
      }),
      PROPERTY_RUNS,
    );
  });

  it('a stream of frames decodes the same under any chunking', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = concat(frames.map(encodeFrame));
        const expected = frames.map((frame) => ({ ok: true, frame }));
        expect(norm(streamDecode(splitAt(stream, cuts)))).toEqual(norm(expected));
      }),
      PROPERTY_RUNS,
    );
  });

  it('encodeFrameInto writes the same bytes back to back', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 5 }), fc.nat(16), (frames, start) => {
        const total = frames.reduce((n, f) => n + encodedLength(f), 0);
        const out = new Uint8Array(start + total + 3).fill(0xee);
        let p = start;
        for (const f of frames) p = encodeFrameInto(f, out, p);
        expect(p).toBe(start + total);
        expect(hex(out.subarray(start, p))).toBe(hex(concat(frames.map(encodeFrame))));
        expect(hex(out.subarray(0, start))).toBe('ee'.repeat(start));
        expect(hex(out.subarray(p))).toBe('eeeeee');
      }),
      { numRuns: 100 },
    );
    const f = data();
    expect(() => encodeFrameInto(f, new Uint8Array(encodedLength(f) - 1))).toThrow(UsageError);
    expect(() => encodeFrameInto(f, new Uint8Array(1000), -1)).toThrow(UsageError);
  });

  it('a stream of frames decodes byte by byte', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(helloArb, linkStateArb, interestArb), { minLength: 1, maxLength: 5 }), (frames) => {
        const stream = concat(frames.map(encodeFrame));
        expect(norm(streamDecode(byteByByte(stream)))).toEqual(norm(frames.map((frame) => ({ ok: true, frame }))));
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// fuzz (h11's invariant: decodes or a ProtocolError, never a throw)

/** Decodes `bytes`; if it decodes, it must be canonical. Never throws (or the test fails). */
function checkDecodeInvariant(bytes: Uint8Array): DecodeResult {
  const r = decodeFrame(bytes);
  if (r.ok) expect(hex(encodeFrame(r.frame))).toBe(hex(bytes));
  else {
    expect(r.error).toBeInstanceOf(ProtocolError);
    expect(r.error.offset).toBeGreaterThanOrEqual(0);
    expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
  }
  return r;
}

/** The stream decoder agrees with decodeFrame on a single frame's bytes, whatever the chunking. */
function checkStreamAgrees(bytes: Uint8Array, cuts: readonly number[]): void {
  const single = decodeFrame(bytes);
  const out = streamDecode(splitAt(bytes, cuts));
  if (single.ok) expect(norm(out)).toEqual(norm([single]));
  else if (/truncated/.test(single.error.reason))
    expect(out).toEqual([]); // still waiting for bytes
  else if (/trailing/.test(single.error.reason)) {
    // the stream sees a whole first frame, then the start of the next one
    const end = single.error.offset;
    const first = decodeFrame(bytes.subarray(0, end));
    expect(norm(out[0])).toEqual(norm(first));
  } else expect(norm(out)).toEqual(norm([single]));
}

describe('fuzz', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        checkDecodeInvariant(bytes);
        checkStreamAgrees(bytes, cuts);
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid header over random body bytes', () => {
    fc.assert(
      fc.property(randomBodyArb, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        checkDecodeInvariant(bytes);
        checkStreamAgrees(bytes, cuts);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames', () => {
    fc.assert(
      fc.property(mutatedFrameArb, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        checkDecodeInvariant(bytes);
        checkStreamAgrees(bytes, cuts);
      }),
      { numRuns: 1000 },
    );
  });

  it('FrameDecoder never throws on garbage streams', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutatedFrameArb, fc.uint8Array({ maxLength: 50 })), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (parts, cuts) => {
        const out = streamDecode(splitAt(concat(parts), cuts));
        out.forEach((r, i) => {
          if (!r.ok) expect(i).toBe(out.length - 1); // an error is the last thing it yields
        });
      }),
      { numRuns: 500 },
    );
  });
});
