/**
 * A sweep's result: every step's figures and verdict, and the breaking point [SWEEP-7]; the
 * object sweep.json holds, built the same way from one machine's steps or from shards' (merge).
 *
 * [SWEEP-7] The breaking point is the first step, in step order [SWEEP-1], where the condition
 *           [SWEEP-4] fails; none when it holds at every step (a result too, said so). For a grid,
 *           the frontier gives each value of the first parameter its own: the first step along
 *           the second parameter where the condition fails.
 * [SWEEP-8] Everything here is a function of the inputs except `run` (how it ran: wall time,
 *           threads, shards) and each step's `wallSeconds`: the same inputs give the same
 *           sweep.json apart from those, whatever --parallel or --shard.
 */
import { displayValue, type Scale, type ValueKind } from '../../scenarios/vary.ts';
import { busiestLink, type Figures, stepFigures, type SummaryFigures } from './figures.ts';
import type { Axis, Step } from './plan.ts';
import { stepFile, stepLabel } from './plan.ts';
import { type Check, type Condition, judge } from './until.ts';

export const SWEEP_FORMAT = 'meshtwin-sweep/1';

/** What the sweep was asked: the file (and its SHA-256) and every argument that shapes the result. */
export interface SweepInputs {
  readonly file: string;
  readonly fileSha256: string;
  readonly scenario: string;
  readonly seed: number;
  readonly vary: readonly string[];
  readonly steps: number;
  readonly scale: Scale;
  /** `--duration` as given (null: the file's). */
  readonly duration: string | null;
  /** `--until` as given ([]: the default condition). */
  readonly until: readonly string[];
}

export interface AxisInfo {
  readonly path: string;
  readonly kind: ValueKind;
  /** The value in the file. */
  readonly fileValue: string;
  readonly values: readonly number[];
  readonly texts: readonly string[];
}

export interface StepRecord {
  readonly index: number;
  /** 1-based, as people count. */
  readonly step: number;
  /** Per swept path, its value (base units: /s, bit/s, bytes, ms) and its text as written. */
  readonly values: Readonly<Record<string, number>>;
  readonly texts: Readonly<Record<string, string>>;
  readonly label: string;
  /** The step's scenario file, relative to the output folder. */
  readonly file: string;
  readonly pass: boolean;
  readonly checks: readonly Check[];
  readonly busiestLink: string | null;
  readonly figures: Figures;
  readonly traceHash: string;
  /** Wall time (not a function of the inputs [SWEEP-8]). */
  readonly wallSeconds: number;
}

export interface BreakingPoint {
  readonly index: number;
  readonly step: number;
  readonly label: string;
  readonly values: Readonly<Record<string, number>>;
  /** Every failed assertion, in words. */
  readonly reasons: readonly string[];
}

export interface FrontierRow {
  /** The first parameter's value for this row. */
  readonly value: number;
  readonly label: string;
  readonly breakingPoint: BreakingPoint | null;
}

/** How it ran [SWEEP-8]. */
export interface RunInfo {
  readonly wallSeconds: number;
  readonly parallel: number;
  readonly shards: number;
}

export interface SweepReport {
  readonly format: typeof SWEEP_FORMAT;
  /** The command that gives this result (options that do not change it left out). */
  readonly command: string;
  readonly inputs: SweepInputs;
  readonly axes: readonly AxisInfo[];
  readonly condition: Condition;
  readonly totalSteps: number;
  readonly steps: readonly StepRecord[];
  readonly breakingPoint: BreakingPoint | null;
  /** Grids only: per value of the first parameter, its own breaking point [SWEEP-7]. */
  readonly frontier: readonly FrontierRow[] | null;
  readonly run: RunInfo;
}

export function axisInfo(a: Axis): AxisInfo {
  return { path: a.spec.path, kind: a.spec.kind, fileValue: a.spec.currentText, values: a.values, texts: a.texts };
}

/** A step's record from its summary.json object. */
export function stepRecord(axes: readonly Axis[], step: Step, total: number, condition: Condition, summary: Record<string, unknown>, wallSeconds: number): StepRecord {
  const values: Record<string, number> = {};
  const texts: Record<string, string> = {};
  axes.forEach((a, k) => {
    values[a.spec.path] = a.values[step.coords[k] as number] as number;
    texts[a.spec.path] = a.texts[step.coords[k] as number] as string;
  });
  const verdict = judge(condition, summary);
  const s = summary as unknown as SummaryFigures;
  return {
    index: step.index,
    step: step.index + 1,
    values,
    texts,
    label: stepLabel(axes, step),
    file: stepFile(step.index, total),
    pass: verdict.pass,
    checks: verdict.checks,
    busiestLink: busiestLink(s),
    figures: stepFigures(s),
    traceHash: s.traceHash,
    wallSeconds,
  };
}

/** "publishers[0].rate = 1,200,000/s". */
export function axisLabel(a: AxisInfo, value: number): string {
  return `${a.path} = ${displayValue(a.kind, value)}`;
}

function breaking(r: StepRecord): BreakingPoint {
  return { index: r.index, step: r.step, label: r.label, values: r.values, reasons: r.checks.filter((c) => !c.pass).map((c) => c.reason as string) };
}

/** [SWEEP-7] The report from every step's record (in any order). */
export function buildReport(parts: Omit<SweepReport, 'format' | 'steps' | 'breakingPoint' | 'frontier'>, records: readonly StepRecord[]): SweepReport {
  const steps = [...records].sort((a, b) => a.index - b.index);
  const first = steps.find((r) => !r.pass);
  let frontier: FrontierRow[] | null = null;
  if (parts.axes.length === 2) {
    const [outer, inner] = parts.axes as [AxisInfo, AxisInfo];
    frontier = outer.values.map((value, i) => {
      const row = steps.slice(i * inner.values.length, (i + 1) * inner.values.length);
      const f = row.find((r) => !r.pass);
      return { value, label: axisLabel(outer, value), breakingPoint: f === undefined ? null : breaking(f) };
    });
  }
  // The verdict before the steps, how it ran last.
  return {
    format: SWEEP_FORMAT,
    command: parts.command,
    inputs: parts.inputs,
    axes: parts.axes,
    condition: parts.condition,
    totalSteps: parts.totalSteps,
    breakingPoint: first === undefined ? null : breaking(first),
    frontier,
    steps,
    run: parts.run,
  };
}

/** Reasons, the first three and how many more. */
function reasons(b: BreakingPoint): string {
  const shown = b.reasons.slice(0, 3).join('; ');
  return b.reasons.length > 3 ? `${shown}; and ${b.reasons.length - 3} more` : shown;
}

/**
 * [SWEEP-7] "breaking point: publishers[0].rate = 1,200,000/s (step 7 of 10): links us-1→eu-1
 * utilization 0.933 > 0.9", or that there is none; a grid adds its frontier, one line per row.
 */
export function breakingLines(r: SweepReport): string[] {
  const b = r.breakingPoint;
  const last = r.steps[r.steps.length - 1];
  const out = [
    b === null
      ? `breaking point: none — the condition held at every step (${r.steps.length} of ${r.totalSteps})${last === undefined ? '' : `, up to ${last.label}`}`
      : `breaking point: ${b.label} (step ${b.step} of ${r.totalSteps}): ${reasons(b)}`,
  ];
  if (r.frontier !== null) {
    const inner = r.axes[1] as AxisInfo;
    for (const row of r.frontier) {
      const f = row.breakingPoint;
      out.push(f === null ? `  ${row.label}: held at every ${inner.path}` : `  ${row.label}: breaks at ${axisLabel(inner, f.values[inner.path] as number)} (step ${f.step}): ${reasons(f)}`);
    }
  }
  return out;
}

/** A shell word, quoted when it needs to be. */
export function shellWord(s: string): string {
  return /^[\w./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** [SWEEP-8] The command that gives these results: the inputs, not how they were run. */
export function sweepCommand(i: SweepInputs): string {
  const words = ['meshtwin', 'sweep', i.file, ...i.vary.flatMap((v) => ['--vary', v]), '--steps', String(i.steps), '--scale', i.scale];
  if (i.duration !== null) words.push('--duration', i.duration);
  for (const u of i.until) words.push('--until', u);
  return words.map(shellWord).join(' ');
}
