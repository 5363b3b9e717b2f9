/**
 * `message_trace_logs`: sampled traces (seed 002) [CP-6]. One row per (event, broker that
 * delivered it to a local subscriber), written by that broker: the routing path the envelope
 * carried (ending with the delivering broker), the links it crossed (`hop_count` = path length
 * − 1), the payload size, and latency.
 *
 * [CP-6-LAT] What is measured and what is not:
 * - `processing_latency_ms` (total): the delivering broker's clock at hand-over to its edge
 *   (WebSocket, gRPC, MQTT queue; not the client's receipt) minus the envelope's publish time,
 *   which the broker that took the publish stamped with its own clock. On one machine it is
 *   exact; across machines it includes their clock offset.
 * - `hop_latencies_ms`, one per link crossed: only the delivering broker's own arrival time is
 *   known to it, so a row alone measures a hop only when the path has one link (= total).
 *   Reading a trace (`assembleTrace`) combines the rows of one event: a broker on the path that
 *   also delivered the event locally wrote its own arrival, so each link between two brokers
 *   whose arrivals are known is measured (a difference of two totals); the others stay unknown
 *   (null), never guessed. Nothing in the mesh's frames carries per-hop timestamps.
 */
import { brokerIds } from './brokers.ts';
import type { SampledBy } from './tracecontext.ts';
import type { Query, Row, Sql } from './sql.ts';

/** What a broker's agent writes for one delivered, sampled event. */
export interface TraceRecord {
  readonly eventId: string;
  readonly source: string;
  readonly topic: string;
  readonly payloadBytes: number;
  /** Brokers crossed, first the one that took the publish, last the one that delivered. */
  readonly path: readonly string[];
  readonly publishedAtMs: number;
  readonly deliveredAtMs: number;
  readonly traceId: string;
  /** The span id of the traceparent the event carried, if it carried one. */
  readonly parentSpanId: string | null;
  readonly guaranteed: boolean;
  readonly sampledBy: SampledBy;
}

/** A row as read back. */
export interface TraceRow extends TraceRecord {
  readonly rowId: string;
  readonly deliveredBy: string;
  readonly hopCount: number;
  readonly totalLatencyMs: number;
  /** As stored: one per link, null when the writer could not measure it. */
  readonly hopLatenciesMs: ReadonlyArray<number | null>;
  readonly createdAt: Date;
}

/** Rows per INSERT statement (16 parameters each: 3,200, far below PostgreSQL's 65,535). */
const ROWS_PER_STATEMENT = 200;
const PARAMS_PER_ROW = 16;

/** PostgreSQL text holds no NUL character (a JSON event id may): U+FFFD instead; cut to the column. */
function text(s: string, max: number): string {
  return (s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s).slice(0, max);
}

/** [CP-6-LAT] A row's own hop latencies: the single link's when the path has one, else unknown. */
export function ownHopLatencies(path: readonly string[], totalMs: number): Array<number | null> {
  const links = Math.max(0, path.length - 1);
  return links === 1 ? [totalMs] : new Array<number | null>(links).fill(null);
}

/** [CP-6] Writes traces in one transaction (brokers they name get placeholder rows). */
export async function insertTraces(sql: Sql, records: readonly TraceRecord[]): Promise<void> {
  if (records.length === 0) return;
  await sql.transaction(async (tx) => {
    const ids = await brokerIds(
      tx,
      records.map((r) => r.path[0] as string),
    );
    for (let start = 0; start < records.length; start += ROWS_PER_STATEMENT) {
      const chunk = records.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples = chunk.map((r, i) => {
        const total = Math.max(0, r.deliveredAtMs - r.publishedAtMs);
        const origin = ids.get(r.path[0] as string);
        params.push(
          text(r.eventId, 128),
          origin,
          text(r.topic, 256),
          r.payloadBytes,
          r.path.length - 1,
          r.path.map((b) => text(b, 256)),
          total,
          text(r.source, 512),
          text(r.path[r.path.length - 1] as string, 128),
          r.publishedAtMs,
          r.deliveredAtMs,
          ownHopLatencies(r.path, total),
          r.traceId,
          r.parentSpanId,
          r.guaranteed,
          r.sampledBy,
        );
        const p = (k: number): string => `$${i * PARAMS_PER_ROW + k}`;
        return `(${p(1)}, ${p(2)}::uuid, ${p(3)}, ${p(4)}::int, ${p(5)}::int, ${p(6)}::varchar[], ${p(7)}::float8, ${p(8)}, ${p(9)},
          to_timestamp(${p(10)}::float8 / 1000), to_timestamp(${p(11)}::float8 / 1000), ${p(12)}::float8[], ${p(13)},
          ${p(14)}, ${p(15)}::boolean, ${p(16)})`;
      });
      await tx.query(
        `INSERT INTO message_trace_logs (message_id, origin_broker_id, topic, payload_size_bytes, hop_count, routing_path, processing_latency_ms,
           source, delivered_by, published_at, delivered_at, hop_latencies_ms, w3c_trace_id, parent_span_id, guaranteed, sampled_by)
         VALUES ${tuples.join(',\n')}`,
        params,
      );
    }
  });
}

function toTrace(r: Row): TraceRow {
  return {
    rowId: String(r['trace_id']),
    eventId: String(r['message_id']),
    source: String(r['source']),
    topic: String(r['topic']),
    payloadBytes: Number(r['payload_size_bytes']),
    path: (r['routing_path'] as string[]).map(String),
    deliveredBy: String(r['delivered_by']),
    hopCount: Number(r['hop_count']),
    publishedAtMs: Number(r['published_ms']),
    deliveredAtMs: Number(r['delivered_ms']),
    totalLatencyMs: Number(r['processing_latency_ms']),
    hopLatenciesMs: (r['hop_latencies_ms'] as Array<number | null>).map((x) => (x === null ? null : Number(x))),
    traceId: String(r['w3c_trace_id']),
    parentSpanId: (r['parent_span_id'] as string | null) ?? null,
    guaranteed: r['guaranteed'] === true,
    sampledBy: r['sampled_by'] as SampledBy,
    createdAt: r['created_at'] as Date,
  };
}

/** Every row of one event, in the order they were delivered. */
export async function getTraces(q: Query, eventId: string): Promise<TraceRow[]> {
  const rows = await q(
    `SELECT *, (EXTRACT(EPOCH FROM published_at) * 1000)::float8 AS published_ms, (EXTRACT(EPOCH FROM delivered_at) * 1000)::float8 AS delivered_ms
     FROM message_trace_logs WHERE message_id = $1 ORDER BY delivered_at, trace_id`,
    [eventId],
  );
  return rows.map(toTrace);
}

/** One link of a delivery's path, with its latency when measured. */
export interface TraceHop {
  readonly from: string;
  readonly to: string;
  readonly latencyMs: number | null;
}

/** One delivery, its hops filled in from the event's other rows [CP-6-LAT]. */
export interface TraceDelivery extends TraceRow {
  readonly hops: readonly TraceHop[];
}

/** An event's trace, assembled from its rows. */
export interface AssembledTrace {
  readonly eventId: string;
  /** Epoch ms after publish at which each broker on a path got the event, where known. */
  readonly arrivalsMs: Readonly<Record<string, number>>;
  readonly deliveries: readonly TraceDelivery[];
}

/** [CP-6-LAT] Combines an event's rows: arrivals where some broker measured them, hops between them. */
export function assembleTrace(eventId: string, rows: readonly TraceRow[]): AssembledTrace {
  const arrivals = new Map<string, number>();
  const note = (b: string, ms: number): void => {
    const had = arrivals.get(b);
    if (had === undefined || ms < had) arrivals.set(b, ms);
  };
  for (const r of rows) {
    // The broker that took the publish stamped its time: it got the event at 0.
    if (r.path[0] !== undefined) note(r.path[0], 0);
    note(r.deliveredBy, r.totalLatencyMs);
  }
  const deliveries = rows.map((r): TraceDelivery => {
    const hops: TraceHop[] = [];
    for (let i = 0; i + 1 < r.path.length; i++) {
      const from = r.path[i] as string;
      const to = r.path[i + 1] as string;
      const a = arrivals.get(from);
      const b = arrivals.get(to);
      const latencyMs = a !== undefined && b !== undefined ? Math.max(0, b - a) : (r.hopLatenciesMs[i] ?? null);
      hops.push({ from, to, latencyMs });
    }
    return { ...r, hops };
  });
  const arrivalsMs: Record<string, number> = {};
  for (const [b, ms] of [...arrivals].sort((x, y) => x[1] - y[1])) arrivalsMs[b] = ms;
  return { eventId, arrivalsMs, deliveries };
}
