/**
 * The durable log's bytes [DUR-3]: a file header, then one record per `DurableOp` (engine/store.ts),
 * each framed so that a tail torn by a crash (kill -9 mid-write, power loss before the fsync) is
 * detected and cut off, never misread.
 *
 * File:   magic `MTDLOG` (6 bytes) | u16 BE version = 1 | records…
 * Record: u32 LE body length | u32 LE CRC-32 of the body (zlib.crc32) | body
 * Body:   u8 tag | fields, in the primitives of the wire codec (engine/codec/wire.ts): varint
 *         (LEB128), str (varint length + UTF-8), f64 (big-endian); an envelope or an interest
 *         frame is a whole wire frame (`encodeFrameInto`: binary payload, no JSON, no base64).
 *
 * | tag | op        | fields                                                      |
 * | --- | --------- | ----------------------------------------------------------- |
 * | 1   | hold      | dest str, seq varint, Data frame (dests [], the envelope)   |
 * | 2   | release   | origin str, dest str, seq varint                            |
 * | 3   | ledger    | id str, dest str, atMs f64                                  |
 * | 4   | dest-seq  | dest str, seq varint                                        |
 * | 5   | released  | origin str, next varint                                     |
 * | 6   | early     | origin str, seq varint, Data frame (dests [], the envelope) |
 * | 7   | sequences | lsSeq varint, interestSeq varint                            |
 * | 8   | interest  | Interest frame                                              |
 *
 * Reading stops at the first record that is incomplete or fails its CRC: everything after it is
 * the torn tail. A record whose CRC holds but whose body does not decode is not a crash's doing
 * (a bug, or another version's file): that throws.
 */
import { crc32 } from 'node:zlib';
import { decodeFrame, encodedLength, encodeFrameInto } from '../../engine/codec/index.ts';
import { FrameKind, type DataFrame } from '../../engine/frames.ts';
import type { DurableOp } from '../../engine/store.ts';
import type { Envelope } from '../../engine/types.ts';

export const LOG_MAGIC = Buffer.from('MTDLOG\u0000\u0001', 'latin1');
export const LOG_HEADER_BYTES = LOG_MAGIC.length;
/** u32 length + u32 CRC. */
export const RECORD_HEADER_BYTES = 8;
/** A body larger than this is not one we wrote: a torn length field (wire frames stop at 16 MiB). */
export const RECORD_BODY_BYTES_MAX = 17 * 1024 * 1024;

const Tag = {
  hold: 1,
  release: 2,
  ledger: 3,
  'dest-seq': 4,
  released: 5,
  early: 6,
  sequences: 7,
  interest: 8,
  'session-open': 9,
  'session-queued': 10,
  'session-sent': 11,
  'session-close': 12,
} as const;

/** A growable byte buffer that records are appended to. */
export class RecordWriter {
  buf: Buffer;
  len = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    const need = this.len + bytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Appends the file header. */
  header(): void {
    this.reserve(LOG_HEADER_BYTES);
    LOG_MAGIC.copy(this.buf, this.len);
    this.len += LOG_HEADER_BYTES;
  }

  /** Appends one framed record; returns its size in bytes. */
  op(o: DurableOp): number {
    const start = this.len;
    this.reserve(RECORD_HEADER_BYTES + boundOf(o));
    this.len += RECORD_HEADER_BYTES;
    this.body(o);
    const body = this.buf.subarray(start + RECORD_HEADER_BYTES, this.len);
    this.buf.writeUInt32LE(body.length, start);
    this.buf.writeUInt32LE(crc32(body), start + 4);
    return this.len - start;
  }

  private body(o: DurableOp): void {
    this.buf[this.len++] = Tag[o.op];
    switch (o.op) {
      case 'hold':
        this.str(o.dest);
        this.varint(o.seq);
        this.envelope(o.env);
        break;
      case 'release':
        this.str(o.origin);
        this.str(o.dest);
        this.varint(o.seq);
        break;
      case 'ledger':
        this.str(o.id);
        this.str(o.dest);
        this.len = this.buf.writeDoubleBE(o.atMs, this.len);
        break;
      case 'dest-seq':
        this.str(o.dest);
        this.varint(o.seq);
        break;
      case 'released':
        this.str(o.origin);
        this.varint(o.next);
        break;
      case 'early':
        this.str(o.origin);
        this.varint(o.seq);
        this.envelope(o.env);
        break;
      case 'sequences':
        this.varint(o.lsSeq);
        this.varint(o.interestSeq);
        break;
      case 'interest':
        this.len = encodeFrameInto(o.frame, this.buf, this.len);
        break;
      case 'session-open':
        this.str(o.name);
        this.str(o.pattern);
        this.buf[this.len++] = o.filter === null ? 0 : 1;
        if (o.filter !== null) this.str(o.filter);
        break;
      case 'session-queued':
        this.str(o.name);
        this.varint(o.seq);
        this.buf[this.len++] = o.guaranteed ? 1 : 0;
        this.envelope(o.env);
        break;
      case 'session-sent':
        this.str(o.name);
        this.varint(o.seq);
        break;
      case 'session-close':
        this.str(o.name);
        break;
      default: {
        const never: never = o;
        throw new Error(`unknown durable op ${JSON.stringify(never)}`);
      }
    }
  }

  private envelope(env: Envelope): void {
    const frame: DataFrame = { kind: FrameKind.Data, dests: [], envelope: env };
    this.len = encodeFrameInto(frame, this.buf, this.len);
  }

  private str(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`durable log: ${v} is not an integer in 0..2^53-1`);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.len++] = v;
  }
}

/** Bytes a string takes at most: its varint length and 3 UTF-8 bytes per UTF-16 unit. */
function s(x: string): number {
  return 9 + 3 * x.length;
}

/** An upper bound of a record body's size. */
function boundOf(o: DurableOp): number {
  switch (o.op) {
    case 'hold':
      return 1 + s(o.dest) + 9 + encodedLength({ kind: FrameKind.Data, dests: [], envelope: o.env });
    case 'early':
      return 1 + s(o.origin) + 9 + encodedLength({ kind: FrameKind.Data, dests: [], envelope: o.env });
    case 'release':
      return 1 + s(o.origin) + s(o.dest) + 9;
    case 'ledger':
      return 1 + s(o.id) + s(o.dest) + 8;
    case 'dest-seq':
      return 1 + s(o.dest) + 9;
    case 'released':
      return 1 + s(o.origin) + 9;
    case 'sequences':
      return 1 + 18;
    case 'interest':
      return 1 + encodedLength(o.frame);
    case 'session-open':
      return 1 + s(o.name) + s(o.pattern) + 1 + (o.filter === null ? 0 : s(o.filter));
    case 'session-queued':
      return 1 + s(o.name) + 9 + 1 + encodedLength({ kind: FrameKind.Data, dests: [], envelope: o.env });
    case 'session-sent':
      return 1 + s(o.name) + 9;
    case 'session-close':
      return 1 + s(o.name);
    default: {
      const never: never = o;
      throw new Error(`unknown durable op ${JSON.stringify(never)}`);
    }
  }
}

/** What a log file held: its operations, the bytes that were good, and the torn tail cut off. */
export interface ReadLog {
  readonly ops: DurableOp[];
  /** Bytes of header and good records (where the next record would go). */
  readonly goodBytes: number;
  /** Bytes after the last good record (0: the log ended cleanly). */
  readonly tornBytes: number;
}

/**
 * Reads a whole log. An empty file is an empty log; a file that does not start with the magic
 * throws (it is not ours, and cutting it would destroy it).
 */
export function readLog(bytes: Buffer, what: string): ReadLog {
  const ops: DurableOp[] = [];
  if (bytes.length === 0) return { ops, goodBytes: 0, tornBytes: 0 };
  if (bytes.length < LOG_HEADER_BYTES || !bytes.subarray(0, LOG_HEADER_BYTES).equals(LOG_MAGIC)) {
    throw new Error(`${what}: not a meshtwin durable log (version 1): bad header`);
  }
  let at = LOG_HEADER_BYTES;
  for (;;) {
    if (bytes.length - at < RECORD_HEADER_BYTES) break;
    const n = bytes.readUInt32LE(at);
    if (n === 0 || n > RECORD_BODY_BYTES_MAX || bytes.length - at - RECORD_HEADER_BYTES < n) break;
    const body = bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + n);
    if (crc32(body) !== bytes.readUInt32LE(at + 4)) break;
    ops.push(decodeBody(body, `${what} at byte ${at}`));
    at += RECORD_HEADER_BYTES + n;
  }
  return { ops, goodBytes: at, tornBytes: bytes.length - at };
}

/** Decodes one record body (CRC already checked). */
export function decodeBody(body: Buffer, where: string): DurableOp {
  const r = new BodyReader(body, where);
  const tag = r.u8();
  let o: DurableOp;
  switch (tag) {
    case Tag.hold:
      o = { op: 'hold', dest: r.str(), seq: r.varint(), env: r.envelope() };
      break;
    case Tag.release:
      o = { op: 'release', origin: r.str(), dest: r.str(), seq: r.varint() };
      break;
    case Tag.ledger:
      o = { op: 'ledger', id: r.str(), dest: r.str(), atMs: r.f64() };
      break;
    case Tag['dest-seq']:
      o = { op: 'dest-seq', dest: r.str(), seq: r.varint() };
      break;
    case Tag.released:
      o = { op: 'released', origin: r.str(), next: r.varint() };
      break;
    case Tag.early:
      o = { op: 'early', origin: r.str(), seq: r.varint(), env: r.envelope() };
      break;
    case Tag.sequences:
      o = { op: 'sequences', lsSeq: r.varint(), interestSeq: r.varint() };
      break;
    case Tag.interest: {
      const f = r.frame();
      if (f.kind !== FrameKind.Interest) return r.fail(`an interest record holds a frame of kind ${f.kind}`);
      o = { op: 'interest', frame: f };
      break;
    }
    case Tag['session-open']: {
      const name = r.str();
      const pattern = r.str();
      o = { op: 'session-open', name, pattern, filter: r.u8() === 0 ? null : r.str() };
      break;
    }
    case Tag['session-queued']: {
      const name = r.str();
      const seq = r.varint();
      o = { op: 'session-queued', name, seq, guaranteed: r.u8() === 1, env: r.envelope() };
      break;
    }
    case Tag['session-sent']:
      o = { op: 'session-sent', name: r.str(), seq: r.varint() };
      break;
    case Tag['session-close']:
      o = { op: 'session-close', name: r.str() };
      break;
    default:
      return r.fail(`unknown record tag ${tag}`);
  }
  if (r.pos !== body.length) r.fail(`${body.length - r.pos} bytes left over in a ${o.op} record`);
  return o;
}

class BodyReader {
  pos = 0;

  constructor(
    private readonly b: Buffer,
    private readonly where: string,
  ) {}

  fail(why: string): never {
    throw new Error(`durable log ${this.where}: ${why} (the CRC holds: not a torn write)`);
  }

  u8(): number {
    if (this.pos >= this.b.length) this.fail('record ends early');
    return this.b[this.pos++] as number;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
      scale *= 0x80;
    }
    return this.fail('varint longer than 8 bytes');
  }

  str(): string {
    const n = this.varint();
    if (this.pos + n > this.b.length) this.fail('string runs past the record');
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  f64(): number {
    if (this.pos + 8 > this.b.length) this.fail('record ends early');
    const v = this.b.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  frame(): ReturnType<typeof decodeFrameOk> {
    if (this.pos + 4 > this.b.length) this.fail('record ends early');
    const total = 4 + this.b.readUInt32BE(this.pos);
    if (this.pos + total > this.b.length) this.fail('frame runs past the record');
    const f = decodeFrameOk(this.b.subarray(this.pos, this.pos + total), this);
    this.pos += total;
    return f;
  }

  /** An envelope, with its payload copied out of the file's buffer (which is not kept). */
  envelope(): Envelope {
    const f = this.frame();
    if (f.kind !== FrameKind.Data) return this.fail(`an envelope record holds a frame of kind ${f.kind}`);
    const env = f.envelope;
    return { ...env, payload: new Uint8Array(env.payload) };
  }
}

function decodeFrameOk(bytes: Uint8Array, r: BodyReader) {
  const d = decodeFrame(bytes);
  if (!d.ok) return r.fail(`bad frame: ${d.error.toString()}`);
  return d.frame;
}
