/** The inter-broker wire codec: encode, decode, stream-decode. Layout tables in `wire.ts`. */
export { encodeFrame, encodeFrameInto, encodedLength } from './encode.ts';
export { decodeFrame, frameKindOf } from './decode.ts';
export { FrameDecoder } from './stream.ts';
export { MAX_FRAME_BYTES, ProtocolError, WIRE_VERSION, type DecodeResult, type StreamResult } from './wire.ts';
