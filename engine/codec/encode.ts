/**
 * Frame encoder. Layout: the tables in `wire.ts`.
 *
 * Two passes: `measure` computes the exact size (and validates: a caller's bad frame is a
 * `UsageError`), then `write` fills one exact-size allocation. `encodedLength` is the first pass
 * alone, so a simulator can charge a link without allocating the bytes.
 */
import { FrameKind, type DataFrame, type Frame, type GuaranteedFrame, type HelloFrame, type InterestFrame, type LinkStateFrame } from '../frames.ts';
import { UsageError, type Envelope, type HeaderValue } from '../types.ts';
import * as wire from './wire.ts';

// Module-local copies: under tsx/vitest transforms an imported binding can be a getter call.
const WIRE_VERSION = wire.WIRE_VERSION;
const MAX_FRAME_BYTES = wire.MAX_FRAME_BYTES;
const LENGTH_PREFIX_BYTES = wire.LENGTH_PREFIX_BYTES;
const FRAME_HEADER_BYTES = wire.FRAME_HEADER_BYTES;
const HELLO = FrameKind.Hello;
const LINK_STATE = FrameKind.LinkState;
const INTEREST = FrameKind.Interest;
const DATA = FrameKind.Data;
const GUARANTEED = FrameKind.Guaranteed;
const ACK = FrameKind.Ack;
const KEEPALIVE = FrameKind.KeepAlive;
const TAG_FALSE = wire.HeaderTag.False;
const TAG_TRUE = wire.HeaderTag.True;
const TAG_STRING = wire.HeaderTag.String;
const TAG_FLOAT64 = wire.HeaderTag.Float64;
const TAG_UINT = wire.HeaderTag.UInt;
const TAG_NEGINT = wire.HeaderTag.NegInt;
const INTEREST_RESET = wire.InterestFlag.Reset;
const ENTRY_REMOVE = wire.EntryFlag.Remove;
const ENTRY_HAS_SELECTOR = wire.EntryFlag.HasSelector;

const utf8Encoder = new TextEncoder();

// f64 scratch: write a double, copy its 8 bytes out in big-endian order.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Exact encoded byte length of `frame` (equals `encodeFrame(frame).length`). Throws UsageError like encodeFrame. */
export function encodedLength(frame: Frame): number {
  return measureFrame(frame);
}

/**
 * Encodes one frame: `u32 length | u8 version | u8 kind | body` (see wire.ts).
 * Throws UsageError for a frame the wire cannot carry: hopLimit outside 0..=255, seq or an
 * interval that is not an integer in 0..=2^53-1, a NaN or negative cost, a NaN number, a string
 * with a lone surrogate, a frame over MAX_FRAME_BYTES.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const total = measureFrame(frame);
  const out = frameBytes(total);
  const end = writeFrame(frame, out, 0, total);
  if (end !== total) throw new Error(`codec invariant: wrote ${end} bytes, measured ${total}`);
  return out;
}

/**
 * Frames are cut from shared 16 KiB slabs: a separate ArrayBuffer per frame costs an allocation
 * outside the V8 heap (zeroed, tracked, swept) that showed as a fifth of a simulation's time. A
 * slab lives as long as its longest-lived frame, so it is kept small: one frame held for long
 * (spooled, queued) keeps at most 16 KiB alive. Large frames get their own buffer.
 */
const SLAB_BYTES = 16 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabAt = 0;

function frameBytes(n: number): Uint8Array {
  if (n > SLAB_BYTES / 4) return new Uint8Array(n);
  if (slabAt + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + n);
  slabAt += (n + 7) & ~7;
  return out;
}

/**
 * Encodes one frame into `out` at `offset` and returns the offset just past it, for a host that
 * batches frames into its own (pooled) write buffer. Same bytes and same UsageErrors as
 * encodeFrame; also a UsageError if the frame does not fit (nothing is written then).
 */
export function encodeFrameInto(frame: Frame, out: Uint8Array, offset = 0): number {
  const total = measureFrame(frame);
  if (!Number.isInteger(offset) || offset < 0 || offset + total > out.length) {
    throw new UsageError(`frame of ${total} bytes does not fit in ${out.length} bytes at offset ${offset}`);
  }
  const end = writeFrame(frame, out, offset, total);
  if (end !== offset + total) throw new Error(`codec invariant: wrote ${end - offset} bytes, measured ${total}`);
  return end;
}

// ---------------------------------------------------------------------------------------------
// Pass 1: measure (and validate)

function measureFrame(frame: Frame): number {
  let body: number;
  switch (frame.kind) {
    case HELLO:
      body = measureHello(frame);
      break;
    case LINK_STATE:
      body = measureLinkState(frame);
      break;
    case INTEREST:
      body = measureInterest(frame);
      break;
    case DATA:
      body = measureData(frame);
      break;
    case GUARANTEED:
      body = measureGuaranteed(frame);
      break;
    case ACK: {
      body = uintLen(frame.epoch, 'epoch') + countLen(frame.linkSeqs.length);
      for (const s of frame.linkSeqs) body += uintLen(s, 'linkSeq');
      break;
    }
    case KEEPALIVE:
      body = strLen(frame.from) + uintLen(frame.seq, 'seq');
      break;
    case FrameKind.SyncRequest:
      body = strLen(frame.origin);
      break;
    case FrameKind.Governance:
      body = strLen(frame.doc) + strLen(frame.origin) + uintLen(frame.version, 'version') + strLen(frame.body);
      break;
    default: {
      const unknown: never = frame;
      throw new UsageError(`unknown frame kind ${String((unknown as { kind: unknown }).kind)}`);
    }
  }
  const rest = FRAME_HEADER_BYTES - LENGTH_PREFIX_BYTES + body;
  if (rest > MAX_FRAME_BYTES) throw new UsageError(`frame of ${rest} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  return LENGTH_PREFIX_BYTES + rest;
}

function measureHello(f: HelloFrame): number {
  return strLen(f.from) + uintLen(f.helloIntervalMs, 'helloIntervalMs') + uintLen(f.deadIntervalMs, 'deadIntervalMs') + strListLen(f.heard);
}

function measureLinkState(f: LinkStateFrame): number {
  let n = strLen(f.origin) + uintLen(f.seq, 'seq') + countLen(f.neighbors.length);
  for (const nb of f.neighbors) {
    if (typeof nb.cost !== 'number' || !(nb.cost >= 0)) throw new UsageError(`link cost must be a non-negative number, got ${nb.cost}`);
    n += strLen(nb.id) + 8;
  }
  return n;
}

function measureInterest(f: InterestFrame): number {
  let n = strLen(f.origin) + uintLen(f.seq, 'seq') + 1 + countLen(f.entries.length);
  for (const e of f.entries) {
    if (e.op !== 'add' && e.op !== 'remove') throw new UsageError(`interest op must be 'add' or 'remove', got ${String(e.op)}`);
    n += 1 + strLen(e.pattern);
    if (e.selector !== null) n += strLen(e.selector);
  }
  return n;
}

function measureData(f: DataFrame): number {
  return strListLen(f.dests) + measureEnvelope(f.envelope);
}

function measureGuaranteed(f: GuaranteedFrame): number {
  if (f.seqs.length !== f.dests.length) throw new UsageError(`guaranteed frame has ${f.dests.length} dests but ${f.seqs.length} seqs`);
  let n = uintLen(f.epoch, 'epoch') + uintLen(f.linkSeq, 'linkSeq') + strListLen(f.dests);
  for (const s of f.seqs) n += uintLen(s, 'seq');
  return n + measureEnvelope(f.envelope);
}

function measureEnvelope(e: Envelope): number {
  let n = strLen(e.id) + strLen(e.source) + strLen(e.type) + strLen(e.specversion) + strLen(e.topic);
  const headers = e.headers;
  const keys = Object.keys(headers);
  n += countLen(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    n += strLen(key) + headerValueLen(headers[key]!, key);
  }
  if (!(e.payload instanceof Uint8Array)) throw new UsageError('payload must be a Uint8Array');
  const payloadLength = e.payload.length;
  n += countLen(payloadLength) + payloadLength;
  if (typeof e.publishedAtMs !== 'number' || Number.isNaN(e.publishedAtMs)) throw new UsageError(`publishedAtMs must be a number, got ${e.publishedAtMs}`);
  n += 8 + strListLen(e.path);
  const hop = e.hopLimit;
  if (!Number.isInteger(hop) || hop < 0 || hop > 255) throw new UsageError(`hopLimit must be an integer in 0..=255, got ${hop}`);
  return n + 1;
}

function headerValueLen(v: HeaderValue, key: string): number {
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'string':
      return 1 + strLen(v);
    case 'number': {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return 1 + varintLen(v < 0 ? -v : v);
      if (Number.isNaN(v)) throw new UsageError(`header ${JSON.stringify(key)} is NaN`);
      return 9;
    }
    default:
      throw new UsageError(`header ${JSON.stringify(key)} must be a string, number or boolean, got ${typeof v}`);
  }
}

function strListLen(list: readonly string[]): number {
  let n = countLen(list.length);
  for (let i = 0; i < list.length; i++) n += strLen(list[i]!);
  return n;
}

/** varint-prefixed UTF-8 length of `s`. */
function strLen(s: string): number {
  const b = utf8Len(s);
  return varintLen(b) + b;
}

/** UTF-8 byte length; throws UsageError for a lone surrogate (TextEncoder would silently write U+FFFD). */
function utf8Len(s: string): number {
  if (typeof s !== 'string') throw new UsageError(`expected a string, got ${typeof s}`);
  const len = s.length;
  let i = 0;
  while (i < len && s.charCodeAt(i) < 0x80) i++;
  if (i === len) return len;
  let n = i;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c < 0xd800 || c > 0xdfff) n += 3;
    else if (c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else throw new UsageError(`string has a lone surrogate at index ${i}: not encodable as UTF-8`);
  }
  return n;
}

function uintLen(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new UsageError(`${what} must be an integer in 0..=2^53-1, got ${v}`);
  return varintLen(v);
}

function countLen(n: number): number {
  return varintLen(n);
}

/** Bytes of the LEB128 varint for a safe non-negative integer. */
function varintLen(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8;
}

// ---------------------------------------------------------------------------------------------
// Pass 2: write (input already validated by measure; `out` has room for the measured size)

function writeFrame(frame: Frame, out: Uint8Array, start: number, total: number): number {
  const rest = total - LENGTH_PREFIX_BYTES;
  out[start] = rest >>> 24;
  out[start + 1] = (rest >>> 16) & 0xff;
  out[start + 2] = (rest >>> 8) & 0xff;
  out[start + 3] = rest & 0xff;
  out[start + 4] = WIRE_VERSION;
  out[start + 5] = frame.kind;
  let p = start + FRAME_HEADER_BYTES;
  switch (frame.kind) {
    case HELLO:
      p = writeStr(out, p, frame.from);
      p = writeVarint(out, p, frame.helloIntervalMs);
      p = writeVarint(out, p, frame.deadIntervalMs);
      return writeStrList(out, p, frame.heard);
    case LINK_STATE:
      p = writeStr(out, p, frame.origin);
      p = writeVarint(out, p, frame.seq);
      p = writeVarint(out, p, frame.neighbors.length);
      for (const nb of frame.neighbors) {
        p = writeStr(out, p, nb.id);
        p = writeF64(out, p, nb.cost);
      }
      return p;
    case INTEREST:
      p = writeStr(out, p, frame.origin);
      p = writeVarint(out, p, frame.seq);
      out[p++] = frame.reset ? INTEREST_RESET : 0;
      p = writeVarint(out, p, frame.entries.length);
      for (const e of frame.entries) {
        out[p++] = (e.op === 'remove' ? ENTRY_REMOVE : 0) | (e.selector !== null ? ENTRY_HAS_SELECTOR : 0);
        p = writeStr(out, p, e.pattern);
        if (e.selector !== null) p = writeStr(out, p, e.selector);
      }
      return p;
    case DATA:
      p = writeStrList(out, p, frame.dests);
      return writeEnvelope(out, p, frame.envelope);
    case GUARANTEED:
      p = writeVarint(out, p, frame.epoch);
      p = writeVarint(out, p, frame.linkSeq);
      p = writeStrList(out, p, frame.dests);
      for (const s of frame.seqs) p = writeVarint(out, p, s);
      return writeEnvelope(out, p, frame.envelope);
    case ACK:
      p = writeVarint(out, p, frame.epoch);
      p = writeVarint(out, p, frame.linkSeqs.length);
      for (const s of frame.linkSeqs) p = writeVarint(out, p, s);
      return p;
    case KEEPALIVE:
      p = writeStr(out, p, frame.from);
      return writeVarint(out, p, frame.seq);
    case FrameKind.SyncRequest:
      return writeStr(out, p, frame.origin);
    case FrameKind.Governance:
      p = writeStr(out, p, frame.doc);
      p = writeStr(out, p, frame.origin);
      p = writeVarint(out, p, frame.version);
      return writeStr(out, p, frame.body);
    default: {
      const unknown: never = frame;
      throw new UsageError(`unknown frame kind ${String((unknown as { kind: unknown }).kind)}`);
    }
  }
}

function writeEnvelope(out: Uint8Array, p: number, e: Envelope): number {
  p = writeStr(out, p, e.id);
  p = writeStr(out, p, e.source);
  p = writeStr(out, p, e.type);
  p = writeStr(out, p, e.specversion);
  p = writeStr(out, p, e.topic);
  const headers = e.headers;
  const keys = Object.keys(headers);
  p = writeVarint(out, p, keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    p = writeStr(out, p, key);
    const v = headers[key]!;
    if (typeof v === 'string') {
      out[p++] = TAG_STRING;
      p = writeStr(out, p, v);
    } else if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) {
          out[p++] = TAG_UINT;
          p = writeVarint(out, p, v);
        } else {
          out[p++] = TAG_NEGINT;
          p = writeVarint(out, p, -v);
        }
      } else {
        out[p++] = TAG_FLOAT64;
        p = writeF64(out, p, v);
      }
    } else {
      out[p++] = v ? TAG_TRUE : TAG_FALSE;
    }
  }
  const payload = e.payload;
  p = writeVarint(out, p, payload.length);
  out.set(payload, p);
  p += payload.length;
  p = writeF64(out, p, e.publishedAtMs);
  p = writeStrList(out, p, e.path);
  out[p++] = e.hopLimit;
  return p;
}

function writeStrList(out: Uint8Array, p: number, list: readonly string[]): number {
  p = writeVarint(out, p, list.length);
  for (let i = 0; i < list.length; i++) p = writeStr(out, p, list[i]!);
  return p;
}

/**
 * Writes varint length + UTF-8. Fast path: a string under 128 chars is tried as ASCII with a
 * 1-byte prefix; on the first non-ASCII char, start over with TextEncoder.encodeInto.
 */
function writeStr(out: Uint8Array, p: number, s: string): number {
  const len = s.length;
  if (len < 0x80) {
    out[p] = len;
    let q = p + 1;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[q++] = c;
    }
    if (i === len) return q;
  }
  const byteLength = utf8Len(s);
  p = writeVarint(out, p, byteLength);
  const { written } = utf8Encoder.encodeInto(s, out.subarray(p, p + byteLength));
  if (written !== byteLength) throw new Error(`codec invariant: encodeInto wrote ${written} of ${byteLength} bytes`);
  return p + byteLength;
}

function writeVarint(out: Uint8Array, p: number, v: number): number {
  while (v > 0x7fffffff) {
    // `& 0x7f` is exact for any safe integer (ToInt32 keeps the low 32 bits).
    out[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    out[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[p++] = v;
  return p;
}

function writeF64(out: Uint8Array, p: number, v: number): number {
  f64[0] = v;
  if (littleEndian) {
    out[p] = f64Bytes[7]!;
    out[p + 1] = f64Bytes[6]!;
    out[p + 2] = f64Bytes[5]!;
    out[p + 3] = f64Bytes[4]!;
    out[p + 4] = f64Bytes[3]!;
    out[p + 5] = f64Bytes[2]!;
    out[p + 6] = f64Bytes[1]!;
    out[p + 7] = f64Bytes[0]!;
  } else {
    out.set(f64Bytes, p);
  }
  return p + 8;
}
