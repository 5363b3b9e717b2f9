/**
 * `meshtwin sweep FILE --vary PATH=FROM..TO [--vary …] [--steps K] [--scale linear|log]
 * [--until EXPR]… [--duration D] [--parallel P] [--out DIR] [--shard I/N] [--dry-run]`:
 * the scenario run at each step of one parameter (two: a grid), in parallel worker threads, each
 * step's figures from its summary.json, and the breaking point — the first step where the
 * condition fails (sim/sweep/). Exit 0 when it ran, breaking point or not; 2 for bad usage.
 *
 * Writes DIR/sweep.json, sweep.csv, sweep.html and DIR/steps/step-NN.yaml (each step's scenario,
 * which `meshtwin run --no-heap` replays to the same summary). With --shard, only the shard's
 * steps and DIR/shard.json, which `meshtwin merge` joins into the same files [SHARD-1..3].
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { sweepCsv } from '../reports/sweep-csv.ts';
import { sweepHtml } from '../reports/sweep-html.ts';
import { reportTable, SWEEP_TABLE_NOTE, sweepTable } from '../reports/sweep-table.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { loadScenario, parseScenario, ScenarioError } from '../scenarios/load.ts';
import type { Scenario } from '../scenarios/types.ts';
import { formatDuration } from '../scenarios/units.ts';
import { parseVary, VaryError, type Scale, type VarySpec } from '../scenarios/vary.ts';
import { MEMORY_FRACTION } from '../sim/preflight/limits.ts';
import { bytesText, preflight, secondsText } from '../sim/preflight/index.ts';
import { type Axis, gridSteps, inShard, makeAxes, type Step, stepFile, stepLabel, stepText } from '../sim/sweep/plan.ts';
import { runSteps } from '../sim/sweep/pool.ts';
import { axisInfo, breakingLines, buildReport, type AxisInfo, type StepRecord, stepRecord, type SweepInputs, type SweepReport, sweepCommand as commandOf } from '../sim/sweep/report.ts';
import type { StepJob } from '../sim/sweep/step.ts';
import { checkCondition, type Condition, sweepCondition, UntilError } from '../sim/sweep/until.ts';
import { CliError, durationOption } from './options.ts';
import { checkOutDir } from './preflight.ts';
import { type Shard, sha256, SHARD_FILE, SHARD_FORMAT, shardOption, type ShardFile, writeShard } from './shard.ts';

export const DEFAULT_SWEEP_OUT = 'out/sweep';
export const DEFAULT_STEPS = 10;
/** Most steps in one sweep (a grid counts K × K). */
export const MAX_STEPS = 10_000;

export interface SweepCommandOptions {
  readonly vary?: readonly string[];
  readonly steps?: string;
  readonly scale?: string;
  readonly until?: readonly string[];
  readonly duration?: string;
  readonly parallel?: string;
  readonly out?: string;
  readonly shard?: string;
  readonly dryRun?: boolean;
  readonly force?: boolean;
}

/** What a sweep shard records as its result [SHARD-2]. */
export interface SweepShardResult {
  readonly command: string;
  readonly axes: readonly AxisInfo[];
  readonly condition: Condition;
  readonly totalSteps: number;
  readonly steps: readonly StepRecord[];
}

function stepsOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 2 || Number(text) > MAX_STEPS) throw new CliError(`--steps: expected a whole number of steps from 2 to ${MAX_STEPS}, found ${JSON.stringify(text)}`);
  return Number(text);
}

function scaleOption(text: string): Scale {
  if (text !== 'linear' && text !== 'log') throw new CliError(`--scale: expected linear or log, found ${JSON.stringify(text)}`);
  return text;
}

function parallelOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1024) throw new CliError(`--parallel: expected a whole number of worker threads from 1 to 1024, found ${JSON.stringify(text)}`);
  return Number(text);
}

/** A sweep, resolved and checked before anything runs. */
export interface SweepPlan {
  readonly file: string;
  readonly source: string;
  readonly scenario: Scenario;
  readonly inputs: SweepInputs;
  readonly axes: readonly Axis[];
  readonly condition: Condition;
  readonly steps: readonly Step[];
  /** Each step's text without its header (what runs), by index. */
  readonly texts: readonly string[];
  /** Pre-flight per step: estimated peak heap and wall time. */
  readonly estimates: ReadonlyArray<{ memoryBytes: number; wallSeconds: number } | undefined>;
  readonly warnings: readonly string[];
  /** Each step's simulated time (NaN when the sweep varies it). */
  readonly stepDurationMs: number;
}

/** Resolves the options, writes every step's scenario and checks it as `meshtwin run` would. Throws CliError / ScenarioError. */
export function planSweep(file: string, opts: SweepCommandOptions): SweepPlan {
  const steps = opts.steps === undefined ? DEFAULT_STEPS : stepsOption(opts.steps);
  const scale = opts.scale === undefined ? 'linear' : scaleOption(opts.scale);
  const durationMs = opts.duration === undefined ? undefined : durationOption('--duration', opts.duration);
  const until = [...(opts.until ?? [])];
  const vary = opts.vary ?? [];
  if (vary.length === 0) throw new CliError('--vary: expected PATH=FROM..TO, e.g. --vary "publishers[0].rate=100000/s..2000000/s"');
  if (vary.length > 2) throw new CliError(`--vary: at most two (two give a grid), found ${vary.length}`);
  const scenario = loadScenario(file);
  const source = readFileSync(file, 'utf8');
  let specs: VarySpec[];
  let axes: Axis[];
  try {
    specs = vary.map((v) => parseVary(v, source, file));
    axes = makeAxes(specs, steps, scale);
  } catch (e) {
    if (e instanceof VaryError) throw new CliError(e.message);
    throw e;
  }
  if (specs.length === 2 && specs[0]?.path === specs[1]?.path) throw new CliError(`--vary: ${specs[0]?.path} is varied twice; a grid needs two different keys`);
  if (durationMs !== undefined && specs.some((s) => s.path === 'duration')) throw new CliError('--duration: the sweep varies duration itself (--vary duration=…); give one or the other');
  const total = axes.reduce((a, x) => a * x.values.length, 1);
  if (total > MAX_STEPS) throw new CliError(`--steps: ${steps} × ${steps} = ${total} runs in a grid, more than ${MAX_STEPS}; use fewer steps`);
  const condition = sweepCondition(scenario, until);
  const grid = gridSteps(axes);
  const texts: string[] = [];
  const estimates: Array<{ memoryBytes: number; wallSeconds: number } | undefined> = [];
  const warnings = new Set<string>();
  for (const step of grid) {
    const text = stepText(source, axes, step, { durationMs, until, fileExpect: scenario.expect });
    const where = ` (sweep step ${step.index + 1} of ${total}: ${stepLabel(axes, step)})`;
    let s: Scenario;
    try {
      s = parseScenario(text, file);
    } catch (e) {
      if (e instanceof ScenarioError) throw new CliError(`${e.message}${where}`);
      throw e;
    }
    // The summary's shape (its links, brokers, faults and populations rows) is the same at every
    // step unless a subscriber entry is varied: resolve expect: and --until against it once.
    const checkShape = step.index === 0 || specs.some((v) => v.keys[0] === 'subscribers');
    const pre = preflight(s, { check: assertionsNeedChecker(s.expect), force: opts.force === true, skipExpect: !checkShape });
    for (const w of pre.warnings) warnings.add(w);
    if (pre.errors.length > 0) throw new CliError(`${pre.errors[0]}${where}`);
    try {
      if (checkShape) checkCondition(condition, s);
    } catch (e) {
      if (e instanceof UntilError) throw new CliError(e.message);
      throw e;
    }
    texts.push(text);
    estimates.push(pre.estimate === undefined ? undefined : { memoryBytes: pre.estimate.memoryBytes, wallSeconds: pre.estimate.wallSeconds });
  }
  const inputs: SweepInputs = {
    file,
    fileSha256: sha256(source),
    scenario: scenario.name,
    seed: scenario.seed,
    vary: [...vary],
    steps,
    scale,
    duration: opts.duration ?? null,
    until,
  };
  return {
    file,
    source,
    scenario,
    inputs,
    axes,
    condition,
    steps: grid,
    texts,
    estimates,
    warnings: [...warnings],
    stepDurationMs: specs.some((v) => v.path === 'duration') ? Number.NaN : (durationMs ?? scenario.durationMs),
  };
}

/** The comment a step's file starts with: which step of which sweep, and how to replay it. */
function stepHeader(plan: SweepPlan, step: Step): string {
  const was = plan.axes.map((a) => `${a.spec.path}: ${a.spec.currentText}`).join(', ');
  return [
    `# meshtwin sweep, step ${step.index + 1} of ${plan.steps.length}: ${stepLabel(plan.axes, step)} (the file has ${was})`,
    `# of: ${commandOf(plan.inputs)}`,
    '# Replay: meshtwin run THIS_FILE --no-heap (the summary.json of the sweep step; routing tables counted, not weighed)',
    '',
  ].join('\n');
}

/** Writes the step files of `steps` into DIR/steps (old step files removed first). */
function writeStepFiles(outDir: string, plan: SweepPlan, steps: readonly Step[]): void {
  const dir = join(outDir, 'steps');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (/^step-\d+\.yaml$/.test(f)) rmSync(join(dir, f));
  for (const step of steps) writeFileSync(join(outDir, stepFile(step.index, plan.steps.length)), stepHeader(plan, step) + (plan.texts[step.index] as string));
}

/** Writes sweep.json, sweep.csv and sweep.html; returns their names. */
export function writeSweepReport(outDir: string, report: SweepReport): string[] {
  mkdirSync(outDir, { recursive: true });
  rmSync(join(outDir, SHARD_FILE), { force: true });
  writeFileSync(join(outDir, 'sweep.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'sweep.csv'), sweepCsv(report));
  writeFileSync(join(outDir, 'sweep.html'), sweepHtml(report));
  return ['sweep.json', 'sweep.csv', 'sweep.html'];
}

/** What the sweep prints on stdout when it is done: the table, the breaking point, the files. */
export function sweepStdout(report: SweepReport, outDir: string): string {
  const last = report.steps[report.steps.length - 1];
  const example = report.breakingPoint === null ? last : report.steps.find((s) => s.index === report.breakingPoint?.index);
  return [
    reportTable(report),
    `  ${SWEEP_TABLE_NOTE}`,
    '',
    ...breakingLines(report),
    `wrote ${join(outDir, 'sweep.json')}, sweep.csv, sweep.html and ${report.totalSteps} step scenarios in ${join(outDir, 'steps')}/${example === undefined ? '' : ` (replay one: meshtwin run ${join(outDir, example.file)} --no-heap)`}`,
  ].join('\n');
}

/** Progress on stderr: one line as each step finishes. */
function progress(total: number, axes: readonly Axis[], steps: readonly Step[]) {
  const wall0 = performance.now();
  let done = 0;
  let running = 0;
  const label = new Map(steps.map((s) => [s.index, stepLabel(axes, s)]));
  return {
    start() {
      running++;
    },
    done(r: StepRecord) {
      running--;
      done++;
      const why = r.pass ? 'ok' : `FAIL: ${r.checks.find((c) => !c.pass)?.reason ?? ''}`;
      process.stderr.write(
        `sweep: ${done}/${total} steps done (${Math.round((performance.now() - wall0) / 1000)} s): step ${r.step} ${label.get(r.index)} in ${r.wallSeconds.toFixed(1)} s: ${why}${running > 0 ? ` (${running} running)` : ''}\n`,
      );
    },
  };
}

/** Runs the command; returns the exit code. Usage errors throw CliError (exit 2 in main.ts). */
export async function sweepCommand(file: string, opts: SweepCommandOptions): Promise<number> {
  const shard: Shard | undefined = opts.shard === undefined ? undefined : shardOption(opts.shard);
  let parallel = opts.parallel === undefined ? availableParallelism() : parallelOption(opts.parallel);
  const outDir = opts.out ?? DEFAULT_SWEEP_OUT;
  const plan = planSweep(file, opts);
  checkOutDir('--out', outDir);
  for (const w of plan.warnings) process.stderr.write(`meshtwin: warning: ${w}\n`);
  const mine = plan.steps.filter((s) => inShard(s.index, shard));
  const total = plan.steps.length;
  // P runs at once each take their own heap: hold P × the largest step's estimate to the machine.
  const mem = Math.max(0, ...mine.map((s) => plan.estimates[s.index]?.memoryBytes ?? 0));
  const fits = mem > 0 ? Math.max(1, Math.floor((MEMORY_FRACTION * totalmem()) / mem)) : parallel;
  if (fits < parallel && opts.force !== true) {
    process.stderr.write(`meshtwin: warning: --parallel ${parallel} would hold ${parallel} runs of up to ${bytesText(mem)} each; running ${fits} at a time (--force keeps ${parallel})\n`);
    parallel = fits;
  }
  const threads = Math.max(1, Math.min(parallel, mine.length));
  const wallEstimate = mine.reduce((a, s) => a + (plan.estimates[s.index]?.wallSeconds ?? 0), 0) / threads;
  const axesText = plan.axes.map((a) => `${a.spec.path}:${a.texts[0]}..${a.texts[a.texts.length - 1]}`).join(' × ');
  process.stderr.write(
    `SEED=${plan.scenario.seed} scenario=${plan.scenario.name} vary=${axesText} steps=${total} (${plan.inputs.scale})${shard === undefined ? '' : ` shard=${shard.index}/${shard.count} (${mine.length} of ${total} steps)`} parallel=${threads} duration=${Number.isNaN(plan.stepDurationMs) ? 'swept' : formatDuration(plan.stepDurationMs)} out=${outDir}\n`,
  );
  process.stderr.write(`sweep: condition (${plan.condition.source}): ${plan.condition.lines.join(' and ')}\n`);
  if (wallEstimate > 0) process.stderr.write(`sweep: pre-flight estimate ≈ ${secondsText(wallEstimate)} of wall time on ${threads} thread${threads === 1 ? '' : 's'}\n`);
  if (opts.dryRun === true) {
    for (const s of plan.steps) process.stdout.write(`step ${s.index + 1} of ${total}: ${stepLabel(plan.axes, s)}${inShard(s.index, shard) ? '' : ' (another shard)'}\n`);
    return 0;
  }

  mkdirSync(outDir, { recursive: true });
  writeStepFiles(outDir, plan, mine);
  const wall0 = performance.now();
  const jobs: StepJob[] = mine.map((s) => ({ index: s.index, text: plan.texts[s.index] as string, file }));
  const bar = progress(mine.length, plan.axes, mine);
  const records = new Map<number, StepRecord>();
  await runSteps(jobs, {
    parallel: threads,
    onStart: () => bar.start(),
    onDone: (d) => {
      const r = stepRecord(plan.axes, plan.steps[d.index] as Step, total, plan.condition, d.summary, d.wallSeconds);
      records.set(d.index, r);
      bar.done(r);
    },
  });
  const wallSeconds = Math.round((performance.now() - wall0) / 10) / 100;
  const ordered = mine.map((s) => records.get(s.index) as StepRecord);
  const command = commandOf(plan.inputs);
  const axes = plan.axes.map(axisInfo);
  if (shard !== undefined) {
    rmSync(join(outDir, 'sweep.json'), { force: true });
    rmSync(join(outDir, 'sweep.csv'), { force: true });
    rmSync(join(outDir, 'sweep.html'), { force: true });
    const shardFile: ShardFile<SweepShardResult> = {
      format: SHARD_FORMAT,
      command: 'sweep',
      shard,
      inputs: { ...plan.inputs },
      result: { command, axes, condition: plan.condition, totalSteps: total, steps: ordered },
      run: { wallSeconds, parallel: threads },
    };
    const path = writeShard(outDir, shardFile);
    const firstFail = ordered.find((r) => !r.pass);
    process.stdout.write(
      [
        sweepTable(axes, ordered, null),
        '',
        `shard ${shard.index}/${shard.count}: ${ordered.length} of ${total} steps${firstFail === undefined ? ', the condition held at each' : `, first failing here: step ${firstFail.step}`} (the breaking point is merge's to say: meshtwin merge OUT_DIR SHARD_DIR…)`,
        `wrote ${path} and ${ordered.length} step scenarios in ${join(outDir, 'steps')}/`,
      ].join('\n') + '\n',
    );
    return 0;
  }
  const report = buildReport({ command, inputs: plan.inputs, axes, condition: plan.condition, totalSteps: total, run: { wallSeconds, parallel: threads, shards: 1 } }, ordered);
  writeSweepReport(outDir, report);
  process.stdout.write(`${sweepStdout(report, outDir)}\n`);
  return 0;
}
