/**
 * Frame decoder. Layout: the tables in `wire.ts`.
 *
 * h11's fuzz invariant: any input either decodes to a Frame or yields a ProtocolError; nothing
 * is thrown across `decodeFrame`. The decoder is strict: it accepts only the canonical encoding
 * (minimal varints, zero unused flag bits, the shortest number form, unique header keys in JS
 * own-key order), so any bytes it accepts re-encode to exactly the same bytes.
 *
 * Decoded data frames alias their input: `envelope.payload` is a view into `bytes`, not a copy.
 * Don't overwrite the input buffer while the frame is in use.
 */
import { FrameKind, type Frame, type InterestEntry, type LinkStateNeighbor } from '../frames.ts';
import type { BrokerId, Envelope, HeaderValue, Headers } from '../types.ts';
import * as wire from './wire.ts';
import { ProtocolError, type DecodeResult } from './wire.ts';

// fatal: bad UTF-8 is an error, not U+FFFD; ignoreBOM: keep a leading U+FEFF (it is data).
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Module-local copies: under tsx/vitest transforms an imported binding can be a getter call.
const WIRE_VERSION = wire.WIRE_VERSION;
const MAX_FRAME_BYTES = wire.MAX_FRAME_BYTES;
const LENGTH_PREFIX_BYTES = wire.LENGTH_PREFIX_BYTES;
const FRAME_HEADER_BYTES = wire.FRAME_HEADER_BYTES;
const HELLO = FrameKind.Hello;
const LINK_STATE = FrameKind.LinkState;
const INTEREST = FrameKind.Interest;
const DATA = FrameKind.Data;
const LAST_KIND = FrameKind.Governance;
const TAG_FALSE = wire.HeaderTag.False;
const TAG_TRUE = wire.HeaderTag.True;
const TAG_STRING = wire.HeaderTag.String;
const TAG_FLOAT64 = wire.HeaderTag.Float64;
const TAG_UINT = wire.HeaderTag.UInt;
const TAG_NEGINT = wire.HeaderTag.NegInt;
const INTEREST_RESET = wire.InterestFlag.Reset;
const ENTRY_REMOVE = wire.EntryFlag.Remove;
const ENTRY_HAS_SELECTOR = wire.EntryFlag.HasSelector;

/**
 * Short ASCII strings (broker ids, header keys, topics, types) repeat from frame to frame, so
 * they are interned: a direct-mapped table keyed by a hash of the bytes, checked char by char.
 * A hit costs a hash and a compare instead of building a string, and hands out the same string
 * object each time (its hash, for Map lookups, is computed once). Invisible to callers: a miss
 * only decodes the string as usual.
 */
const INTERN_MAX_BYTES = 32;
const INTERN_SLOTS = 4096; // power of two
const internTable: string[] = new Array<string>(INTERN_SLOTS).fill('');

const MAX_ARRAY_INDEX = 4294967294;

/**
 * Checks the 6-byte frame header (as far as `available` bytes of it are present) and returns
 * the declared length after the prefix, or a ProtocolError. Shared with FrameDecoder so both
 * report the same error for the same bytes. Reads `bytes[at .. at+available)`.
 */
export function checkFrameHeader(bytes: Uint8Array, at: number, available: number): number | ProtocolError {
  const length = ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
  if (length > MAX_FRAME_BYTES) return new ProtocolError(`frame length ${length} exceeds the ${MAX_FRAME_BYTES}-byte limit`, 0);
  if (length < FRAME_HEADER_BYTES - LENGTH_PREFIX_BYTES) return new ProtocolError(`frame length ${length} is too short for version and kind`, 0);
  if (available > 4 && bytes[at + 4] !== WIRE_VERSION) return new ProtocolError(`unsupported version ${bytes[at + 4]} (expected ${WIRE_VERSION})`, 4);
  if (available > 5) {
    const kind = bytes[at + 5]!;
    if (kind < HELLO || kind > LAST_KIND) return new ProtocolError(`unknown frame kind ${kind}`, 5);
  }
  return length;
}

/**
 * Decodes exactly one frame from `bytes` (length prefix included, nothing after it).
 * Never throws for any input; a bad frame gives `{ ok: false, error }` with the byte offset.
 */
/**
 * The kind of the frame `bytes` begins with, from its header alone (no decoding), or undefined
 * if the bytes are too short to have one or the kind is unknown. For hosts that account bytes
 * by kind without decoding them.
 */
export function frameKindOf(bytes: Uint8Array): FrameKind | undefined {
  if (bytes.length < FRAME_HEADER_BYTES) return undefined;
  const kind = bytes[FRAME_HEADER_BYTES - 1] as number;
  return kind >= HELLO && kind <= LAST_KIND ? (kind as FrameKind) : undefined;
}

export function decodeFrame(bytes: Uint8Array): DecodeResult {
  if (bytes.length < LENGTH_PREFIX_BYTES) return failed(new ProtocolError(`truncated: ${bytes.length} of 4 length-prefix bytes`, bytes.length));
  const header = checkFrameHeader(bytes, 0, bytes.length);
  if (typeof header !== 'number') return failed(header);
  const end = LENGTH_PREFIX_BYTES + header;
  if (bytes.length < end) return failed(new ProtocolError(`truncated: frame declares ${header} bytes after the prefix, ${bytes.length - 4} present`, bytes.length));
  if (bytes.length > end) return failed(new ProtocolError(`${bytes.length - end} trailing bytes after the frame`, end));
  const r = new Reader(bytes, FRAME_HEADER_BYTES, end);
  try {
    const frame = readBody(r, bytes[5] as Frame['kind']);
    if (r.pos !== end) r.fail(`length mismatch: body ends ${end - r.pos} bytes before the declared frame end`, r.pos);
    return { ok: true, frame };
  } catch (e) {
    if (e instanceof ProtocolError) return failed(e);
    throw e; // a bug in this file, not the peer's fault: let it surface
  }
}

function failed(error: ProtocolError): DecodeResult {
  return { ok: false, error };
}

function readBody(r: Reader, kind: Frame['kind']): Frame {
  switch (kind) {
    case HELLO: {
      const from = r.str();
      const helloIntervalMs = r.varint();
      const deadIntervalMs = r.varint();
      const heard = r.strList();
      return { kind, from, helloIntervalMs, deadIntervalMs, heard };
    }
    case LINK_STATE: {
      const origin = r.str();
      const seq = r.varint();
      const count = r.count(9);
      const neighbors: LinkStateNeighbor[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const id = r.str();
        const at = r.pos;
        const cost = r.f64();
        if (!(cost >= 0)) r.fail(`link cost ${cost} is not a non-negative number`, at);
        neighbors[i] = { id, cost };
      }
      return { kind, origin, seq, neighbors };
    }
    case INTEREST: {
      const origin = r.str();
      const seq = r.varint();
      const flags = r.u8();
      if ((flags & ~INTEREST_RESET) !== 0) r.fail(`unknown interest flags 0x${flags.toString(16)}`, r.pos - 1);
      const count = r.count(2);
      const entries: InterestEntry[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const ef = r.u8();
        if ((ef & ~(ENTRY_REMOVE | ENTRY_HAS_SELECTOR)) !== 0) r.fail(`unknown interest entry flags 0x${ef.toString(16)}`, r.pos - 1);
        const pattern = r.str();
        const selector = (ef & ENTRY_HAS_SELECTOR) !== 0 ? r.str() : null;
        entries[i] = { op: (ef & ENTRY_REMOVE) !== 0 ? 'remove' : 'add', pattern, selector };
      }
      return { kind, origin, seq, reset: (flags & INTEREST_RESET) !== 0, entries };
    }
    case DATA: {
      const dests = r.strList();
      const envelope = readEnvelope(r);
      return { kind, dests, envelope };
    }
    case FrameKind.Guaranteed: {
      const epoch = r.varint();
      const linkSeq = r.varint();
      const dests = r.strList();
      const seqs: number[] = new Array(dests.length);
      for (let i = 0; i < dests.length; i++) seqs[i] = r.varint();
      const envelope = readEnvelope(r);
      return { kind, epoch, linkSeq, dests, seqs, envelope };
    }
    case FrameKind.Ack: {
      const epoch = r.varint();
      const count = r.count(1);
      const linkSeqs: number[] = new Array(count);
      for (let i = 0; i < count; i++) linkSeqs[i] = r.varint();
      return { kind, epoch, linkSeqs };
    }
    case FrameKind.KeepAlive: {
      const from = r.str();
      const seq = r.varint();
      return { kind, from, seq };
    }
    case FrameKind.SyncRequest:
      return { kind, origin: r.str() };
    case FrameKind.Governance: {
      const doc = r.str();
      const origin = r.str();
      const version = r.varint();
      return { kind, doc, origin, version, body: r.str() };
    }
    default: {
      // checkFrameHeader rejected other kinds already
      const unknown: never = kind;
      return r.fail(`unknown frame kind ${String(unknown)}`, 5);
    }
  }
}

function readEnvelope(r: Reader): Envelope {
  const id = r.str();
  const source = r.str();
  const type = r.str();
  const specversion = r.str();
  const topic = r.str();
  const headers = readHeaders(r);
  const payloadLength = r.varint();
  const payload = r.bytes(payloadLength);
  const at = r.pos;
  const publishedAtMs = r.f64();
  if (publishedAtMs !== publishedAtMs) r.fail('publishedAtMs is NaN', at);
  const path = r.strList();
  const hopLimit = r.u8();
  return { id, source, type, specversion, topic, headers, payload, publishedAtMs, path, hopLimit };
}

/**
 * Headers as a plain `{}`, like the headers of a locally published envelope. Readers must use
 * `Object.hasOwn(headers, key)` (an inherited `constructor` is not a header); a `__proto__` key
 * is stored as an own property, never as the prototype.
 */
function readHeaders(r: Reader): Headers {
  const count = r.count(2);
  const headers: Record<string, HeaderValue> = {};
  // JS enumerates array-index keys first, ascending, then the rest in insertion order; wire
  // order must match, or re-encoding would reorder the bytes.
  let lastIndex = -1;
  let sawName = false;
  for (let i = 0; i < count; i++) {
    const keyAt = r.pos;
    const key = r.str();
    const index = arrayIndex(key);
    if (index >= 0) {
      if (sawName || index <= lastIndex) r.fail(`header key ${JSON.stringify(key)} out of canonical order`, keyAt);
      lastIndex = index;
    } else {
      if (Object.hasOwn(headers, key)) r.fail(`duplicate header key ${JSON.stringify(key)}`, keyAt);
      sawName = true;
    }
    const value = readHeaderValue(r);
    if (key === '__proto__') Object.defineProperty(headers, key, { value, enumerable: true, writable: true, configurable: true });
    else headers[key] = value;
  }
  return headers;
}

function readHeaderValue(r: Reader): HeaderValue {
  const at = r.pos;
  const tag = r.u8();
  switch (tag) {
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    case TAG_STRING:
      return r.str();
    case TAG_UINT:
      return r.varint();
    case TAG_NEGINT: {
      const n = r.varint();
      if (n === 0) r.fail('negative-integer header value of 0 (-0 is sent as f64)', at);
      return -n;
    }
    case TAG_FLOAT64: {
      const v = r.f64();
      if (v !== v) r.fail('header value is NaN', at);
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) r.fail(`integer header value ${v} sent as f64 (non-canonical)`, at);
      return v;
    }
    default:
      return r.fail(`unknown header value tag ${tag}`, at);
  }
}

/** The array index `key` denotes (JS enumerates those first), or -1. */
function arrayIndex(key: string): number {
  const c0 = key.charCodeAt(0);
  if (!(c0 >= 0x30 && c0 <= 0x39) || key.length > 10) return -1;
  if (c0 === 0x30) return key.length === 1 ? 0 : -1;
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  const n = Number(key);
  return n <= MAX_ARRAY_INDEX ? n : -1;
}

/** The string of ASCII bytes `buf[p .. stop)`, 8 chars per call, flat enough for short strings. */
function asciiString(buf: Uint8Array, p: number, stop: number): string {
  let s = '';
  for (; p + 8 <= stop; p += 8) {
    s += String.fromCharCode(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!, buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!);
  }
  for (; p < stop; p++) s += String.fromCharCode(buf[p]!);
  return s;
}

/** A cursor over one frame; failures throw a ProtocolError that decodeFrame turns into a result. */
class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  fail(reason: string, offset: number): never {
    throw new ProtocolError(reason, offset);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('length mismatch: field extends past the frame end', this.pos);
    return this.buf[this.pos++]!;
  }

  /** Unsigned LEB128, minimal, at most 8 bytes, at most 2^53-1. */
  varint(): number {
    const buf = this.buf;
    const start = this.pos;
    const end = this.end;
    if (start >= end) this.fail('length mismatch: varint extends past the frame end', start);
    let b = buf[start]!;
    if (b < 0x80) {
      this.pos = start + 1;
      return b;
    }
    let value = b & 0x7f;
    let scale = 0x80;
    let p = start + 1;
    for (;;) {
      if (p >= end) this.fail('length mismatch: varint extends past the frame end', start);
      b = buf[p++]!;
      if (p - start === 8 && b > 0x0f) this.fail('varint overflow: exceeds 2^53-1', start);
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    if (b === 0) this.fail('non-minimal varint', start);
    this.pos = p;
    return value;
  }

  /** A varint count of list items, each at least `minItemBytes` long, checked against the bytes left. */
  count(minItemBytes: number): number {
    const at = this.pos;
    const n = this.varint();
    if (n * minItemBytes > this.end - this.pos) this.fail(`length mismatch: list of ${n} items cannot fit in ${this.end - this.pos} bytes`, at);
    return n;
  }

  f64(): number {
    const p = this.pos;
    if (this.end - p < 8) this.fail('length mismatch: f64 extends past the frame end', p);
    const buf = this.buf;
    if (littleEndian) {
      f64Bytes[0] = buf[p + 7]!;
      f64Bytes[1] = buf[p + 6]!;
      f64Bytes[2] = buf[p + 5]!;
      f64Bytes[3] = buf[p + 4]!;
      f64Bytes[4] = buf[p + 3]!;
      f64Bytes[5] = buf[p + 2]!;
      f64Bytes[6] = buf[p + 1]!;
      f64Bytes[7] = buf[p]!;
    } else {
      f64Bytes.set(buf.subarray(p, p + 8));
    }
    this.pos = p + 8;
    return f64[0]!;
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number): Uint8Array {
    const p = this.pos;
    if (n > this.end - p) this.fail(`length mismatch: ${n} payload bytes extend past the frame end`, p);
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  str(): string {
    const at = this.pos;
    const n = this.varint();
    const p = this.pos;
    if (n > this.end - p) this.fail(`length mismatch: string of ${n} bytes extends past the frame end`, at);
    const stop = p + n;
    this.pos = stop;
    if (n <= INTERN_MAX_BYTES) {
      const buf = this.buf;
      let h = n;
      let i = p;
      for (; i < stop; i++) {
        const c = buf[i]!;
        if (c >= 0x80) break;
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (i === stop) {
        const slot = (h ^ (h >>> 16)) & (INTERN_SLOTS - 1);
        const cached = internTable[slot]!;
        if (cached.length === n) {
          let j = 0;
          while (j < n && cached.charCodeAt(j) === buf[p + j]) j++;
          if (j === n) return cached;
        }
        const s = asciiString(buf, p, stop);
        internTable[slot] = s;
        return s;
      }
    }
    try {
      return utf8Decoder.decode(this.buf.subarray(p, stop));
    } catch {
      return this.fail('bad UTF-8 in string', p);
    }
  }

  strList(): BrokerId[] {
    const count = this.count(1);
    const list: string[] = new Array(count);
    for (let i = 0; i < count; i++) list[i] = this.str();
    return list;
  }
}
