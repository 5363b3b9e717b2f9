/**
 * The sweep's table for the terminal: one row per step, the figures a planner watches (each the
 * summary.json figure of the same name, sim/sweep/figures.ts), the breaking step marked.
 */
import { displayValue } from '../scenarios/vary.ts';
import { formatBps, formatBytes } from '../scenarios/units.ts';
import { CAUSE_LABELS, type LossCause } from '../sim/accounts.ts';
import { BUSIEST_UTILIZATION, dropsByCause, ROUTING_TABLE, SPOOL_PEAK } from '../sim/sweep/figures.ts';
import type { AxisInfo, StepRecord, SweepReport } from '../sim/sweep/report.ts';
import { type Cell, table } from './table.ts';

const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)} ms`);
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
const mbps = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatBps(x * 1e6));
const bytes = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatBytes(x));

/** "1,234 (queue full)": the total and its largest cause. */
function dropped(r: StepRecord): string {
  const total = r.figures['messages.dropped'] ?? 0;
  if (total === 0) return '0';
  const top = dropsByCause(r.figures)[0];
  return `${total.toLocaleString('en-US')}${top === undefined ? '' : ` (${CAUSE_LABELS[top.cause as LossCause] ?? top.cause})`}`;
}

export const SWEEP_HEADERS = ['WAN avg', 'busiest link', 'util peak', 'local p50', 'local p99', 'cross p50', 'cross p99', 'dropped', 'spool peak', 'routing table', 'until'] as const;

/** The cells of one step's row (after the step number and the swept values). */
export function figureCells(r: StepRecord, breakingIndex: number | null): string[] {
  const f = r.figures;
  return [
    mbps(f['wan.mbpsAvg']),
    r.busiestLink ?? '—',
    pct(f[BUSIEST_UTILIZATION]),
    ms(f['latencyMs.local.p50']),
    ms(f['latencyMs.local.p99']),
    ms(f['latencyMs.crossRegion.p50']),
    ms(f['latencyMs.crossRegion.p99']),
    dropped(r),
    bytes(f[SPOOL_PEAK]),
    bytes(f[ROUTING_TABLE]),
    r.pass ? 'ok' : r.index === breakingIndex ? 'FAIL ◀ breaking point' : 'FAIL',
  ];
}

/** One row per step (those given: a shard shows its own). */
export function sweepTable(axes: readonly AxisInfo[], records: readonly StepRecord[], breakingIndex: number | null): string {
  const header = ['step', ...axes.map((a) => a.path), ...SWEEP_HEADERS];
  const rows: Cell[][] = records.map((r) => [String(r.step), ...axes.map((a) => displayValue(a.kind, r.values[a.path] as number)), ...figureCells(r, breakingIndex)]);
  const left = new Set<string>(['busiest link', 'until']);
  const align = header.map((h) => (left.has(h) ? ('left' as const) : ('right' as const)));
  return table(header, rows, '  ', align);
}

/** The whole report's table. */
export function reportTable(r: SweepReport): string {
  return sweepTable(r.axes, r.steps, r.breakingPoint?.index ?? null);
}

/** "routing table" is counted, "util peak" the busiest 1 s window: what the columns are. */
export const SWEEP_TABLE_NOTE =
  "util peak: the busiest link direction's busiest 1 s window over its bandwidth; latency: publish → subscriber, measured; routing table: the largest broker's, counted by the engine (summary.json's brokers[].routingTableBytes, \"counted\"); every column is the figure of that name in each step's summary.json";
