/**
 * sweep.csv: one row per step. Columns: the step, each swept value (base units, then as written
 * in the step's file), the verdict, then every figure under its summary.json name
 * (sim/sweep/figures.ts: per link and per broker too), the traceHash, the step's file and its wall
 * time last (the one column that is not a function of the inputs [SWEEP-8]). Empty cell: no data.
 */
import { stringify } from 'csv-stringify/sync';
import type { SweepReport } from '../sim/sweep/report.ts';

export function sweepCsv(r: SweepReport): string {
  const figureKeys = Object.keys(r.steps[0]?.figures ?? {});
  const header = ['step', ...r.axes.flatMap((a) => [a.path, `${a.path} (as written)`]), 'pass', 'breakingPoint', 'busiestLink', ...figureKeys, 'failed', 'traceHash', 'file', 'wallSeconds'];
  const rows = r.steps.map((s) => [
    s.step,
    ...r.axes.flatMap((a) => [s.values[a.path], s.texts[a.path]]),
    s.pass,
    s.index === r.breakingPoint?.index,
    s.busiestLink ?? '',
    ...figureKeys.map((k) => s.figures[k] ?? ''),
    s.checks
      .filter((c) => !c.pass)
      .map((c) => c.reason)
      .join('; '),
    s.traceHash,
    s.file,
    s.wallSeconds,
  ]);
  return stringify([header, ...rows], { cast: { boolean: (b) => String(b) } });
}
