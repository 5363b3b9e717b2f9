/**
 * [PRE-6] Every publisher's events fit in one wire frame: payload size plus the codec's envelope
 * (id, source, type, topic, headers, routing path up to the hop limit, destinations, guaranteed
 * sequence numbers) against the codec's MAX_FRAME_BYTES (engine/codec). The envelope is measured
 * by the codec itself (encodedLength) on a frame as large as the scenario can make one.
 */
import { encodedLength } from '../../engine/codec/index.ts';
import { FrameKind } from '../../engine/frames.ts';
import { LENGTH_PREFIX_BYTES, MAX_FRAME_BYTES } from '../../engine/codec/wire.ts';
import type { HeaderValue } from '../../engine/types.ts';
import { compileTemplate, isTemplateError, TOPIC_PLACEHOLDERS } from '../../scenarios/template.ts';
import type { Scenario } from '../../scenarios/types.ts';
import type { Finding } from './finding.ts';

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

const PROBE = MAX_FRAME_BYTES / 2;

/** The largest payload a publisher's frame can carry: MAX_FRAME_BYTES minus its envelope. */
export function maxPayloadBytes(s: Scenario, publisher: number): number {
  const p = s.publishers[publisher]!;
  const brokers = s.regions.flatMap((r) => r.brokers);
  const longest = brokers.reduce((a, b) => (b.length > a.length ? b : a), '');
  const t = compileTemplate(p.topic, TOPIC_PLACEHOLDERS);
  // A long render: the template with every placeholder as 24 characters.
  const topic = isTemplateError(t) ? p.topic : t.parts.map((x) => (x.kind === 'literal' ? x.text : 'x'.repeat(24))).join('');
  const headers: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(p.headers)) headers[k] = typeof v === 'string' ? `${v}${'x'.repeat(24)}` : v;
  const frame = {
    kind: FrameKind.Guaranteed,
    epoch: 0xffffffff,
    linkSeq: 0xffffffff,
    dests: brokers.slice(0, 64),
    seqs: brokers.slice(0, 64).map(() => 0xffffffff),
    envelope: {
      id: `${longest}-${'9'.repeat(20)}`,
      source: longest,
      type: p.type,
      specversion: '1.0',
      topic,
      headers,
      // A payload near the limit, so its length field has the size it will have there.
      payload: new Uint8Array(PROBE),
      publishedAtMs: 1e12,
      path: Array.from({ length: s.routing.hopLimit }, () => longest),
      hopLimit: 255,
    },
  } as const;
  return MAX_FRAME_BYTES - (encodedLength(frame as never) - PROBE - LENGTH_PREFIX_BYTES);
}

export function checkFrames(s: Scenario): Finding[] {
  const out: Finding[] = [];
  s.publishers.forEach((p, i) => {
    const max = maxPayloadBytes(s, i);
    if (p.sizeBytes > max) {
      out.push({
        level: 'error',
        path: ['publishers', i, 'size'],
        message: `publishers[${i}].size: expected a payload that fits one wire frame (at most ${sizeText(max)}: the codec's ${sizeText(MAX_FRAME_BYTES)} frame limit minus this publisher's envelope), found ${sizeText(p.sizeBytes)}`,
      });
    }
  });
  return out;
}
