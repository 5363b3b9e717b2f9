/**
 * Which events are traced, and their W3C trace context [CP-TRACE].
 *
 * [CP-TRACE-1] Sampling: an event is traced when its topic matches one of the operator's
 * `traceTopics` patterns, or when `hash(id) mod traceSampleEvery == 0`. The hash is FNV-1a (32
 * bit) over the id's UTF-16 code units, finished with murmur3's fmix32 (FNV's low bits alone
 * are poor for sequential ids): a pure function of the id, so every broker with the same
 * `traceSampleEvery` picks the same events, the one that took the publish and each that delivers
 * it. The mesh's own topics (`$mesh/…`, MQTT retained replication) are never traced.
 *
 * [CP-TRACE-2] Trace context: an event's `traceparent` header (W3C Trace Context level 1,
 * `00-<trace-id>-<parent-id>-<flags>`) travels in the envelope's headers, like any extension
 * attribute (HTTP binary mode `ce-traceparent`, or a plain `traceparent` request header, which
 * the broker takes as the event's; structured mode's `traceparent` attribute; MQTT 5 user
 * property `traceparent`). When a traced event arrives without a valid one, the broker that
 * takes the publish stamps one: trace id `derivedTraceId(source, id)` (the first 128 bits of
 * SHA-256 over source and id, so a broker that meets the event without the header, one whose
 * sampling differs, names the same trace), a fresh span id, flags 01 (sampled). An invalid
 * traceparent is replaced, and its tracestate dropped (W3C §4.3: restart the trace).
 * The OpenTelemetry API is not used: without an SDK it creates no spans, and the header's format
 * is these few lines.
 */
import { createHash, randomBytes } from 'node:crypto';
import { matchesPattern } from '../../engine/topic.ts';

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** A parsed traceparent: ids as lower-case hex. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** [CP-TRACE-2] A W3C traceparent, or null when `s` is not one (W3C Trace Context §3.2). */
export function parseTraceparent(s: unknown): TraceContext | null {
  if (typeof s !== 'string' || s.length < 55) return null;
  const version = s.slice(0, 2);
  if (!HEX.test(version) || version === 'ff') return null;
  // Version 00 is exactly 55 characters; a later version may append fields after a '-'.
  if (version === '00' ? s.length !== 55 : s.length > 55 && s[55] !== '-') return null;
  if (s[2] !== '-' || s[35] !== '-' || s[52] !== '-') return null;
  const traceId = s.slice(3, 35);
  const spanId = s.slice(36, 52);
  const flags = s.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** A version-00 traceparent. */
export function formatTraceparent(c: TraceContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`;
}

/** [CP-TRACE-2] The trace id of an event that came without one: the same at every broker. */
export function derivedTraceId(source: string, id: string): string {
  const hex = createHash('sha256').update(source).update('\0').update(id).digest('hex').slice(0, 32);
  return hex === ZERO_TRACE ? `${hex.slice(0, 31)}1` : hex;
}

/** A fresh, non-zero span id. */
export function newSpanId(): string {
  for (;;) {
    const hex = randomBytes(8).toString('hex');
    if (hex !== ZERO_SPAN) return hex;
  }
}

/** [CP-TRACE-1] FNV-1a over UTF-16 code units, then fmix32: 32 well-mixed bits of `id`. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Why an event is traced. */
export type SampledBy = 'hash' | 'topic';

/** The mesh's own topics: never traced. */
const MESH_TOPICS = '$mesh/';

/** [CP-TRACE-1] Decides which events are traced. */
export class TraceSampler {
  /**
   * @param every 1 in `every` events by id hash; 0: none by hash.
   * @param topics MQTT-style patterns (validated by the config) whose events are all traced.
   */
  constructor(
    readonly every: number,
    readonly topics: readonly string[],
  ) {
    if (!(Number.isInteger(every) && every >= 0)) throw new RangeError(`traceSampleEvery must be an integer >= 0, got ${every}`);
  }

  /** Why the event is traced, or null when it is not. */
  sampled(id: string, topic: string): SampledBy | null {
    if (topic.startsWith(MESH_TOPICS)) return null;
    for (const p of this.topics) if (matchesPattern(p, topic)) return 'topic';
    if (this.every > 0 && idHash(id) % this.every === 0) return 'hash';
    return null;
  }
}
