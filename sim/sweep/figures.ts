/**
 * The figures a capacity planner watches across a sweep, read from a step's summary.json object
 * (reports/summary.ts) and nothing else [SWEEP-3]: each figure is named by its path in the
 * summary, in the syntax of `expect:` and `--until` (`links[us-1>eu-1].utilizationPeak`), so a
 * figure means the same in the sweep's table, CSV, JSON and page as in `meshtwin run`'s report,
 * and any column can be written as a `--until` condition. The few figures across rows are named
 * for what they take: `max links[].utilizationPeak` is the busiest link direction's.
 *
 * A latency percentile of a class nothing was delivered in is null, not 0 [EXPECT-5].
 */
import type { LatencyBlock } from '../metrics.ts';
import { DROP_CAUSES } from '../accounts.ts';

/** The parts of a summary.json object the figures come from. */
export interface SummaryFigures {
  readonly messages: { readonly published: number; readonly delivered: number; readonly dropped: number };
  readonly wan: { readonly mbpsAvg: number; readonly mbpsPeak: number };
  readonly latencyMs: { readonly local: LatencyBlock; readonly crossRegion: LatencyBlock };
  readonly links: ReadonlyArray<{ readonly from: string; readonly to: string; readonly mbpsAvg: number; readonly mbpsPeak: number; readonly utilizationPeak: number }>;
  readonly brokers: ReadonlyArray<{ readonly id: string; readonly spoolPeakBytes: number; readonly routingTableBytes: number; readonly connectionBytes: number }>;
  readonly drops: Readonly<Record<string, number>>;
  readonly traceHash: string;
}

/** Figure name → value (null: no data). Insertion order is the column order. */
export type Figures = Record<string, number | null>;

export const BUSIEST_UTILIZATION = 'max links[].utilizationPeak';
export const SPOOL_PEAK = 'max brokers[].spoolPeakBytes';
export const ROUTING_TABLE = 'max brokers[].routingTableBytes';
export const CONNECTION_BYTES = 'max brokers[].connectionBytes';

/** Drop causes as summary.json's drops block holds them (lossRetried: frames, not deliveries). */
const DROP_KEYS = [...DROP_CAUSES, 'lossRetried'] as const;

const percentile = (b: LatencyBlock, p: 'p50' | 'p99'): number | null => (b.count === 0 ? null : b[p]);
const max = (xs: readonly number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);

/** A link direction as `expect:` selects it: "us-1>eu-1". */
export const linkKey = (l: { readonly from: string; readonly to: string }): string => `${l.from}>${l.to}`;

/** [SWEEP-3] The step's figures, in column order: mesh-wide first, then per link, then per broker. */
export function stepFigures(s: SummaryFigures): Figures {
  const f: Figures = {
    'messages.published': s.messages.published,
    'messages.delivered': s.messages.delivered,
    'messages.dropped': s.messages.dropped,
    'wan.mbpsAvg': s.wan.mbpsAvg,
    'wan.mbpsPeak': s.wan.mbpsPeak,
    [BUSIEST_UTILIZATION]: max(s.links.map((l) => l.utilizationPeak)),
    'latencyMs.local.p50': percentile(s.latencyMs.local, 'p50'),
    'latencyMs.local.p99': percentile(s.latencyMs.local, 'p99'),
    'latencyMs.crossRegion.p50': percentile(s.latencyMs.crossRegion, 'p50'),
    'latencyMs.crossRegion.p99': percentile(s.latencyMs.crossRegion, 'p99'),
  };
  for (const k of DROP_KEYS) f[`drops.${k}`] = s.drops[k] ?? 0;
  f[SPOOL_PEAK] = max(s.brokers.map((b) => b.spoolPeakBytes));
  f[ROUTING_TABLE] = max(s.brokers.map((b) => b.routingTableBytes));
  f[CONNECTION_BYTES] = max(s.brokers.map((b) => b.connectionBytes));
  for (const l of s.links) {
    const k = linkKey(l);
    f[`links[${k}].mbpsAvg`] = l.mbpsAvg;
    f[`links[${k}].mbpsPeak`] = l.mbpsPeak;
    f[`links[${k}].utilizationPeak`] = l.utilizationPeak;
  }
  for (const b of s.brokers) {
    f[`brokers[${b.id}].spoolPeakBytes`] = b.spoolPeakBytes;
    f[`brokers[${b.id}].routingTableBytes`] = b.routingTableBytes;
    f[`brokers[${b.id}].connectionBytes`] = b.connectionBytes;
  }
  return f;
}

/** The busiest link direction ("us-1>eu-1"; the first of equals), or null for a mesh without links. */
export function busiestLink(s: Pick<SummaryFigures, 'links'>): string | null {
  let best: SummaryFigures['links'][number] | undefined;
  for (const l of s.links) if (best === undefined || l.utilizationPeak > best.utilizationPeak) best = l;
  return best === undefined ? null : linkKey(best);
}

/** Drop causes that lost something, largest first, as summary.json names them. */
export function dropsByCause(f: Figures): Array<{ cause: string; count: number }> {
  return DROP_CAUSES.map((c) => ({ cause: c as string, count: (f[`drops.${c}`] as number | null) ?? 0 }))
    .filter((d) => d.count > 0)
    .sort((a, b) => b.count - a.count);
}
