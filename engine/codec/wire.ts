/**
 * The inter-broker wire format, version 1. The simulator charges a link exactly the bytes
 * `encodeFrame` produces, so this layout *is* the WAN bandwidth model: keep it compact.
 *
 * Primitives
 *
 * | name    | encoding                                                                          |
 * | ------- | --------------------------------------------------------------------------------- |
 * | u8      | 1 byte                                                                            |
 * | u32     | 4 bytes, big-endian                                                               |
 * | varint  | unsigned LEB128, 1..8 bytes, value 0 ..= 2^53-1, minimal (no trailing 0x00 group) |
 * | f64     | IEEE 754 binary64, 8 bytes, big-endian; NaN is never valid                        |
 * | str     | varint byte length, then that many bytes of well-formed UTF-8 (no BOM stripping)  |
 * | list<T> | varint count, then count × T                                                      |
 * | bytes   | varint byte length, then the bytes                                                |
 *
 * Frame (every kind)
 *
 * | field   | type | notes                                                                 |
 * | ------- | ---- | --------------------------------------------------------------------- |
 * | length  | u32  | bytes after this field (version + kind + body), 2 ..= MAX_FRAME_BYTES |
 * | version | u8   | WIRE_VERSION = 1                                                      |
 * | kind    | u8   | FrameKind: 1 Hello, 2 LinkState, 3 Interest, 4 Data, 5 Guaranteed,    |
 * |         |      | 6 Ack, 7 KeepAlive, 8 SyncRequest, 9 Governance                       |
 * | body    |      | per kind, below; must end exactly at `length`                         |
 *
 * Bodies (fields in wire order)
 *
 * | kind      | field           | type           | notes                                      |
 * | --------- | --------------- | -------------- | ------------------------------------------ |
 * | Hello     | from            | str            |                                            |
 * |           | helloIntervalMs | varint         | integer ms                                 |
 * |           | deadIntervalMs  | varint         | integer ms                                 |
 * |           | heard           | list<str>      |                                            |
 * | LinkState | origin          | str            |                                            |
 * |           | seq             | varint         |                                            |
 * |           | neighbors       | list<neighbor> |                                            |
 * | Interest  | origin          | str            |                                            |
 * |           | seq             | varint         |                                            |
 * |           | flags           | u8             | bit 0: reset; other bits 0                 |
 * |           | entries         | list<entry>    |                                            |
 * | Data      | dests           | list<str>      |                                            |
 * |           | id              | str            | the envelope's fields from here on         |
 * |           | source          | str            |                                            |
 * |           | type            | str            |                                            |
 * |           | specversion     | str            |                                            |
 * |           | topic           | str            |                                            |
 * |           | headers         | list<header>   | keys unique, in JS own-key order           |
 * |           | payload         | bytes          | decoded as a view of the input, not a copy |
 * |           | publishedAtMs   | f64            |                                            |
 * |           | path            | list<str>      |                                            |
 * |           | hopLimit        | u8             | 0 ..= 255                                  |
 * | Guaranteed| epoch           | varint         | sender's adjacency epoch                   |
 * |           | linkSeq         | varint         | frame number on this link, in that epoch   |
 * |           | dests           | list<str>      |                                            |
 * |           | seqs            | varint × n     | one per dest (n = dests' count, no prefix) |
 * |           | id … hopLimit   | envelope       | as in Data                                 |
 * | Ack       | epoch           | varint         |                                            |
 * |           | linkSeqs        | list<varint>   |                                            |
 * | KeepAlive | from            | str            |                                            |
 * |           | seq             | varint         |                                            |
 * | SyncReq   | origin          | str            | kind 8: "send me all of origin's interest" |
 * | Governance| doc             | str            | kind 9: "acl", "schemas"                   |
 * |           | origin          | str            | the broker where this version was made     |
 * |           | version         | varint         |                                            |
 * |           | body            | str            | the document, JSON                         |
 *
 * Records inside lists
 *
 * | record   | field    | type    | notes                                                       |
 * | -------- | -------- | ------- | ----------------------------------------------------------- |
 * | neighbor | id       | str     |                                                             |
 * |          | cost     | f64     | >= 0 (+Infinity allowed)                                    |
 * | entry    | flags    | u8      | bit 0: remove (else add); bit 1: has selector; other bits 0 |
 * |          | pattern  | str     |                                                             |
 * |          | selector | str     | present only if flags bit 1                                 |
 * | header   | key      | str     |                                                             |
 * |          | tag      | u8      | header value table below                                    |
 * |          | value    | per tag |                                                             |
 *
 * Size of a typical data frame (checked by a test, [CODEC-SIZE]): what one event costs a WAN link
 * (before transport overhead).
 *
 * | field                 | bytes | value                                |
 * | --------------------- | ----- | ------------------------------------ |
 * | length, version, kind | 6     |                                      |
 * | dests                 | 6     | ["eu-1"]                             |
 * | id                    | 37    | a 36-char UUID                       |
 * | source                | 12    | "/orders-svc"                        |
 * | type                  | 23    | "com.acme.order.created"             |
 * | specversion           | 4     | "1.0"                                |
 * | topic                 | 17    | "orders/us/c12345"                   |
 * | headers               | 27    | { amountCents: 12500, region: "us" } |
 * | payload               | 502   | 500 bytes                            |
 * | publishedAtMs         | 8     |                                      |
 * | path                  | 6     | ["us-1"]                             |
 * | hopLimit              | 1     | 16                                   |
 * | total                 | 649   | 500 B of payload + 149 B (≈ 1.30×)   |
 *
 * Header values: one tag byte, then the value. Numbers take the shortest exact form; the
 * decoder rejects a non-canonical form, so any bytes that decode re-encode to the same bytes.
 *
 * | tag | meaning    | value                  | used for                                    |
 * | --- | ---------- | ---------------------- | ------------------------------------------- |
 * | 0   | false      | (none)                 |                                             |
 * | 1   | true       | (none)                 |                                             |
 * | 2   | string     | str                    |                                             |
 * | 3   | number     | f64                    | any number tags 4 and 5 cannot carry, -0    |
 * | 4   | number     | varint n               | integer 0 ..= 2^53-1                        |
 * | 5   | number     | varint n, value is -n  | integer -(2^53-1) ..= -1                    |
 */

import type { Frame } from '../frames.ts';

/** The version byte every frame carries. */
export const WIRE_VERSION = 1;

/** Largest allowed value of the length prefix (16 MiB); a bigger one is a protocol error. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Bytes of the length prefix. */
export const LENGTH_PREFIX_BYTES = 4;

/** Bytes before the body: length prefix, version, kind. */
export const FRAME_HEADER_BYTES = 6;

/** Header value tags (see the table above). */
export const HeaderTag = { False: 0, True: 1, String: 2, Float64: 3, UInt: 4, NegInt: 5 } as const;
export type HeaderTag = (typeof HeaderTag)[keyof typeof HeaderTag];

/** Interest frame flag bits. */
export const InterestFlag = { Reset: 1 } as const;

/** Interest entry flag bits. */
export const EntryFlag = { Remove: 1, HasSelector: 2 } as const;

/**
 * A peer sent bytes that are not a valid frame (h11's split: the peer's fault, not the caller's).
 * Returned, never thrown across the codec API. `offset` is the byte where the problem was found,
 * counted from the start of the frame (decodeFrame) or of the stream (FrameDecoder).
 */
export class ProtocolError {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}

  toString(): string {
    return `ProtocolError at byte ${this.offset}: ${this.reason}`;
  }
}

/** The outcome of decoding one frame. */
export type DecodeResult = { readonly ok: true; readonly frame: Frame } | { readonly ok: false; readonly error: ProtocolError };

/**
 * What a stream decoder yields: a frame with the exact bytes it was decoded from (length prefix
 * included), so a host hands the broker both without encoding or decoding twice; or the error.
 */
export type StreamResult = { readonly ok: true; readonly frame: Frame; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: ProtocolError };
