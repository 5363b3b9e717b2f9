/**
 * Streaming frame decoder for a byte stream (a socket): bytes in with `push`, frames out with
 * `poll`, in order, whatever the chunking (one byte at a time included). Sans-IO, like h11's
 * `receive_data` / `next_event`.
 *
 * After a ProtocolError the decoder is failed for good: every later `poll` returns that same
 * error and `push` ignores its bytes (a peer that sent garbage is disconnected by the host).
 * A drain loop must stop on `ok: false`.
 *
 * Ownership: `push` keeps a reference to the chunk (no copy). A frame that lies inside one chunk
 * is decoded in place, so its payload is a view into that chunk: don't reuse a chunk's memory
 * after pushing it. A frame spread over several chunks is copied into a fresh buffer first.
 */
import { checkFrameHeader, decodeFrame } from './decode.ts';
import * as wire from './wire.ts';
import { ProtocolError, type StreamResult } from './wire.ts';

const FRAME_HEADER_BYTES = wire.FRAME_HEADER_BYTES;
const LENGTH_PREFIX_BYTES = wire.LENGTH_PREFIX_BYTES;

export class FrameDecoder {
  /** Pushed chunks not yet fully consumed; chunks[head] is the oldest. */
  #chunks: Uint8Array[] = [];
  #head = 0;
  /** Bytes of chunks[head] already consumed. */
  #headOffset = 0;
  #buffered = 0;
  /** Stream offset of the first unconsumed byte (for error offsets). */
  #consumed = 0;
  /** Length after the prefix of the frame being waited for, once its header checked out. */
  #pendingLength = -1;
  #failure: { readonly ok: false; readonly error: ProtocolError } | undefined;
  readonly #scratch = new Uint8Array(FRAME_HEADER_BYTES);

  /** Hands the decoder the next bytes of the stream. Ignored once failed. */
  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next frame with its bytes (for `Broker.handleDecodedFrame`), the (sticky) error, or
   * undefined when more bytes are needed.
   */
  poll(): StreamResult | undefined {
    if (this.#failure !== undefined) return this.#failure;
    if (this.#pendingLength < 0) {
      if (this.#buffered < LENGTH_PREFIX_BYTES) return undefined;
      // Check the header as soon as it is here, so a bad peer fails before we buffer 16 MiB.
      const available = Math.min(this.#buffered, FRAME_HEADER_BYTES);
      const header = this.#peek(available);
      const checked = checkFrameHeader(header, 0, available);
      if (typeof checked !== 'number') return this.#fail(checked, this.#consumed);
      if (available < FRAME_HEADER_BYTES) return undefined;
      this.#pendingLength = checked;
    }
    const frameBytes = LENGTH_PREFIX_BYTES + this.#pendingLength;
    if (this.#buffered < frameBytes) return undefined;
    const base = this.#consumed;
    const bytes = this.#take(frameBytes);
    this.#pendingLength = -1;
    const result = decodeFrame(bytes);
    if (!result.ok) return this.#fail(result.error, base);
    return { ok: true, frame: result.frame, bytes };
  }

  /** The error that failed this decoder, if any. */
  get error(): ProtocolError | undefined {
    return this.#failure?.error;
  }

  /** Bytes pushed but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  #fail(error: ProtocolError, base: number): StreamResult {
    this.#failure = { ok: false, error: new ProtocolError(error.reason, base + error.offset) };
    this.#chunks = [];
    this.#head = 0;
    this.#headOffset = 0;
    this.#buffered = 0;
    return this.#failure;
  }

  /** The first `n` (<= 6) buffered bytes, without consuming them. */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[this.#head]!;
    if (first.length - this.#headOffset >= n) return first.subarray(this.#headOffset, this.#headOffset + n);
    const out = this.#scratch;
    let filled = 0;
    for (let c = this.#head, off = this.#headOffset; filled < n; c++, off = 0) {
      const chunk = this.#chunks[c]!;
      const take = Math.min(n - filled, chunk.length - off);
      out.set(chunk.subarray(off, off + take), filled);
      filled += take;
    }
    return out.subarray(0, n);
  }

  /** Consumes the next `n` buffered bytes: a view if they lie in one chunk, else a fresh copy. */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    this.#consumed += n;
    const first = this.#chunks[this.#head]!;
    const off = this.#headOffset;
    if (first.length - off >= n) {
      const view = first.subarray(off, off + n);
      this.#headOffset = off + n;
      if (this.#headOffset === first.length) this.#dropHead();
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#head]!;
      const start = this.#headOffset;
      const take = Math.min(n - filled, chunk.length - start);
      out.set(chunk.subarray(start, start + take), filled);
      filled += take;
      this.#headOffset = start + take;
      if (this.#headOffset === chunk.length) this.#dropHead();
    }
    return out;
  }

  #dropHead(): void {
    this.#chunks[this.#head] = EMPTY; // release the chunk's memory now
    this.#head++;
    this.#headOffset = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
