/**
 * An assembled trace as a person reads it (`meshtwin trace`): the event, its trace id, when and
 * where it was published, then each delivery with its path and hops [CP-6-LAT]. Pure: text in,
 * text out.
 */
import type { AssembledTrace, TraceDelivery } from './traces.ts';

function ms(x: number): string {
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString();
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The lines of one trace (several when one event id came from several sources). */
export function formatTrace(t: AssembledTrace): string {
  const groups = new Map<string, TraceDelivery[]>();
  for (const d of t.deliveries) {
    const k = `${d.source}\0${d.traceId}`;
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  const out: string[] = [];
  for (const ds of groups.values()) {
    const first = ds[0] as TraceDelivery;
    const origin = first.path[0] ?? '?';
    if (out.length > 0) out.push('');
    out.push(`event ${first.eventId}  source ${first.source}  topic ${first.topic}  ${first.payloadBytes} B  ${first.guaranteed ? 'guaranteed' : 'realtime'}`);
    out.push(`trace ${first.traceId}  ${first.parentSpanId === null ? '(no traceparent: id derived from source and id)' : `parent span ${first.parentSpanId}`}`);
    out.push(`published ${new Date(first.publishedAtMs).toISOString()} at ${origin}`);
    out.push(`${plural(ds.length, 'delivery', 'deliveries')} (sampled by ${[...new Set(ds.map((d) => d.sampledBy))].join(', ')}):`);
    const width = Math.max(...ds.map((d) => d.deliveredBy.length));
    for (const d of ds) {
      out.push(`  at ${d.deliveredBy.padEnd(width)}  +${ms(d.totalLatencyMs)} ms  path ${d.path.join(' → ')}  (${plural(d.hopCount, 'hop', 'hops')})`);
      for (const h of d.hops) out.push(`      ${h.from} → ${h.to}  ${h.latencyMs === null ? '? (not measured)' : `${ms(h.latencyMs)} ms`}`);
    }
  }
  out.push('');
  out.push("+ms: the delivering broker's clock at hand-over to its edge minus the publish time its first broker stamped;");
  out.push('a hop is measured only where both of its brokers delivered the event (their own clocks), else "?".');
  return out.join('\n');
}
