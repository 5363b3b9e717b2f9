/**
 * `meshtwin explore FILE --runs N --seed S`: run a scenario under N random fault schedules
 * (sim/schedule.ts, sim/explore.ts) with the invariant checker on. Exit 0 when no run violates
 * an invariant; 1 at the first run that does, after printing its run seed and the violation,
 * shrinking its schedule, and writing both schedules as replayable scenario files; 2 for bad
 * usage or a bad file.
 *
 * [EXPLORE-5] Explore stops at the first failing run: shrinking costs runs, and one minimal
 * reproduction is what a user fixes first. The files it writes are the scenario with its seed
 * and faults replaced and one assertion, `invariants.violations == 0`, so `meshtwin test FILE`
 * replays the run and fails on the same violation.
 *
 * [EXPLORE-6] `--shard I/N` runs only runs i with i mod N = I, in order, and stops at its first
 * failing run (shrinking it and writing its files as above); it writes DIR/shard.json and exits 0:
 * the verdict is `meshtwin merge`'s. Merged, the result is the lowest-index failing run across the
 * shards — the run an unsharded explore stops at, since each shard covers its runs in order up to
 * its own first failure — with that shard's shrunk schedule and files; or no violation in `runs`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import { replayText } from '../scenarios/replay.ts';
import type { Scenario } from '../scenarios/types.ts';
import { durationText, formatDuration } from '../scenarios/units.ts';
import { exploreRun, runSeed, shrink, type ExploreOptions, type ExploreRun, type Finding } from '../sim/explore.ts';
import { scheduleFaults, scheduleWindow, ScheduleError, type FaultUnit } from '../sim/schedule.ts';
import { CliError, durationOption, seedOption } from './options.ts';
import { checkBeforeRun, checkOutDir } from './preflight.ts';
import { type Shard, sha256, SHARD_FORMAT, shardOption, type ShardFile, writeShard } from './shard.ts';

export const DEFAULT_RUNS = 100;
export const DEFAULT_EXPLORE_OUT = 'out/explore';

export interface ExploreCommandOptions {
  readonly runs?: string;
  readonly seed?: string;
  readonly out?: string;
  readonly duration?: string;
  readonly replay?: string;
  readonly force?: boolean;
  readonly shard?: string;
}

/** [EXPLORE-6] The first failing run of a shard (or of the whole explore), as its report prints it. */
export interface ExploreFailure {
  /** 0-based run index under --seed. */
  readonly index: number;
  readonly runSeed: number;
  readonly invariant: string;
  readonly message: string;
  readonly violations: number;
  /** "lost ×20+, order ×2". */
  readonly counts: string;
  readonly schedule: string;
  readonly shrunk: { readonly runs: number; readonly exhausted: boolean; readonly schedule: string; readonly message: string };
  /** The written files' names, in the --out folder. */
  readonly files: { readonly original: string; readonly shrunk: string };
}

/** [EXPLORE-6] What an explore shard records as its result. */
export interface ExploreShardResult {
  /** Runs this shard ran (up to and including its first failing one). */
  readonly done: number;
  readonly failure: ExploreFailure | null;
}

/** What shapes an explore's result (the shard file's inputs). */
export interface ExploreInputs {
  readonly file: string;
  readonly fileSha256: string;
  readonly scenario: string;
  readonly runs: number;
  readonly seed: number;
  /** --duration as given (null: the file's). */
  readonly duration: string | null;
}

/** The assertion written files carry: the checker must find nothing. */
const REPLAY_ASSERTION = 'invariants.violations == 0';

function runsOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) throw new CliError(`--runs: expected a whole number of runs from 1 to 1000000, found ${JSON.stringify(text)}`);
  return Number(text);
}

function replayOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw new CliError(`--replay: expected a run seed (a whole number from 0 to 4294967295, as explore prints it), found ${JSON.stringify(text)}`);
  return Number(text);
}

/** Runs the command; returns the exit code. Usage errors throw CliError (exit 2 in main.ts). */
export function exploreCommand(file: string, opts: ExploreCommandOptions): number {
  const runs = opts.runs === undefined ? DEFAULT_RUNS : runsOption(opts.runs);
  const seed = opts.seed === undefined ? 1 : seedOption(opts.seed);
  const replay = opts.replay === undefined ? undefined : replayOption(opts.replay);
  const shard: Shard | undefined = opts.shard === undefined ? undefined : shardOption(opts.shard);
  if (shard !== undefined && replay !== undefined) throw new CliError('--shard: a --replay is one run; shard the runs of a --seed instead');
  const outDir = opts.out ?? DEFAULT_EXPLORE_OUT;
  const loaded = loadScenario(file);
  const source = readFileSync(file, 'utf8');
  const durationMs = opts.duration === undefined ? loaded.durationMs : durationOption('--duration', opts.duration);
  // Another duration: the scenario as a file with that duration loads (publishers that run to
  // the end run to the new end), so a written file replays exactly what was run.
  const scenario = durationMs === loaded.durationMs ? loaded : parseScenario(replayText(source, { seed: loaded.seed, faults: [], durationMs }), file);
  const explore: ExploreOptions = {};
  let window: ReturnType<typeof scheduleWindow>;
  try {
    window = scheduleWindow(scenario);
  } catch (e) {
    if (e instanceof ScheduleError) throw new CliError(e.message);
    throw e;
  }
  checkOutDir('--out', outDir);
  // Each run checks invariants under its own fault schedule: the estimate is per run, and the
  // file's expect: lines (about its own faults, which explore replaces) are not explore's to check.
  checkBeforeRun(scenario, { check: true, force: opts.force === true, skipExpect: true });
  const plan = replay === undefined ? `runs=${runs}${shard === undefined ? '' : ` shard=${shard.index}/${shard.count}`}` : `replay=${replay}`;
  process.stderr.write(
    `SEED=${seed} scenario=${scenario.name} ${plan} duration=${formatDuration(durationMs)} faults=${formatDuration(window.fromMs)}..${formatDuration(window.untilMs)} file=${file} out=${outDir}\n`,
  );

  const wall0 = performance.now();
  const seconds = () => ((performance.now() - wall0) / 1000).toFixed(0);
  const total = replay === undefined ? runs : 1;
  // [EXPLORE-6] A shard's runs, in order.
  const indices = Array.from({ length: total }, (_, i) => i).filter((i) => shard === undefined || i % shard.count === shard.index);
  const progress = progressLine(indices.length);
  let failed: { run: ExploreRun; index: number } | undefined;
  let done = 0;
  for (const i of indices) {
    if (failed !== undefined) break;
    const s = replay ?? runSeed(seed, i);
    let run: ExploreRun;
    try {
      run = exploreRun(scenario, s, explore);
    } catch (e) {
      if (e instanceof ScheduleError) throw new CliError(e.message);
      throw e;
    }
    done++;
    if (run.verdict.violations > 0) failed = { run, index: i };
    progress.update(done, failed === undefined ? 0 : 1, seconds());
  }
  progress.stop();
  const what = replay === undefined ? `seed ${seed}` : `run seed ${replay}`;
  const inputs: ExploreInputs = { file, fileSha256: sha256(source), scenario: scenario.name, runs, seed, duration: opts.duration ?? null };
  const writeShardFile = (failure: ExploreFailure | null): void => {
    if (shard === undefined) return;
    mkdirSync(outDir, { recursive: true });
    const f: ShardFile<ExploreShardResult> = { format: SHARD_FORMAT, command: 'explore', shard, inputs: { ...inputs }, result: { done, failure }, run: { wallSeconds: Number(seconds()) } };
    const path = writeShard(outDir, f);
    process.stdout.write(
      `shard ${shard.index}/${shard.count}: ${done} of its ${indices.length} runs, ${failure === null ? 'no violation' : `first failing run ${failure.index + 1}`} (the verdict is merge's: meshtwin merge OUT_DIR SHARD_DIR…); wrote ${path}\n`,
    );
  };
  if (failed === undefined) {
    if (shard !== undefined) {
      writeShardFile(null);
      return 0;
    }
    process.stdout.write(`${done} run${done === 1 ? '' : 's'}, 0 violations (${what}, ${seconds()} s)\n`);
    return 0;
  }
  const { run, index } = failed;
  const first = run.verdict.findings[0] as Finding;
  const which = replay === undefined ? `run ${index + 1} of seed ${seed}` : 'the replayed run';
  const command = `meshtwin explore ${file} ${replay === undefined ? `--seed ${seed}: run ${index + 1}` : `--replay ${replay}:`}`;
  const replayHint = `meshtwin explore ${file} --replay ${run.seed}${opts.duration === undefined ? '' : ` --duration ${opts.duration}`}`;
  process.stdout.write(`${violationLines(which, replayHint, first, run.seed, run.verdict.violations, countBy(run.verdict.findings), describe(run.units)).join('\n')}\n`);
  process.stderr.write(`shrinking ${run.units.length} fault unit${run.units.length === 1 ? '' : 's'} while ${first.invariant} still fails…\n`);
  const shrunk = shrink(scenario, run.seed, run.units, first.invariant, explore);
  const again = shrunk.verdict.findings.find((f) => f.invariant === first.invariant) as Finding;
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${scenario.name}-${run.seed}`);
  const original = write(`${base}.yaml`, source, scenario, run.seed, run.units, durationMs, opts.duration !== undefined, [
    `${command} (run seed ${run.seed}).`,
    `It violates ${first.invariant}: ${first.message}`,
  ]);
  const small = write(`${base}-shrunk.yaml`, source, scenario, run.seed, shrunk.units, durationMs, opts.duration !== undefined, [
    `${command} (run seed ${run.seed}), its schedule shrunk`,
    `from ${run.units.length} to ${shrunk.units.length} fault unit${shrunk.units.length === 1 ? '' : 's'} in ${shrunk.runs} runs. It violates ${first.invariant}: ${again.message}`,
  ]);
  const shrunkFigures = { runs: shrunk.runs, exhausted: shrunk.exhausted, schedule: describe(shrunk.units), message: again.message };
  process.stdout.write(shrunkLines(first.invariant, shrunkFigures, original, small).join('\n') + '\n');
  if (shard !== undefined) {
    writeShardFile({
      index,
      runSeed: run.seed,
      invariant: first.invariant,
      message: first.message,
      violations: run.verdict.violations,
      counts: countBy(run.verdict.findings),
      schedule: describe(run.units),
      shrunk: shrunkFigures,
      files: { original: basename(original), shrunk: basename(small) },
    });
    return 0;
  }
  process.stdout.write(`${done} run${done === 1 ? '' : 's'}, 1 violation (${what}, ${seconds()} s)\n`);
  return 1;
}

/** The report's first lines on a violation (explore and merge print the same). */
export function violationLines(which: string, replayHint: string, first: Finding, runSeed: number, violations: number, counts: string, schedule: string): string[] {
  return [
    `VIOLATION ${first.invariant}: ${first.message}`,
    `  in ${which}: run seed ${runSeed} (replay it: ${replayHint})`,
    `  ${violations} violation${violations === 1 ? '' : 's'}: ${counts}`,
    `  schedule: ${schedule}`,
  ];
}

/** The report's lines after shrinking (explore and merge print the same). */
export function shrunkLines(invariant: string, shrunk: ExploreFailure['shrunk'], original: string, small: string): string[] {
  return [
    `  shrunk in ${shrunk.runs} runs${shrunk.exhausted ? ' (run budget spent: may not be minimal)' : ''}: ${shrunk.schedule}`,
    `  shrunk run: ${invariant}: ${shrunk.message}`,
    `  wrote ${original} (the failing run)`,
    `  wrote ${small} (shrunk; replay: meshtwin test ${small})`,
  ];
}

function write(path: string, source: string, scenario: Scenario, seed: number, units: readonly FaultUnit[], durationMs: number, durationChanged: boolean, why: readonly string[]): string {
  const text = replayText(source, {
    name: `${scenario.name}-explore-${seed}${path.endsWith('-shrunk.yaml') ? '-shrunk' : ''}`,
    seed,
    faults: scheduleFaults(units),
    ...(durationChanged ? { durationMs } : {}),
    expect: [REPLAY_ASSERTION],
    comment: [...why, `Replay: meshtwin test ${path}`, `The file's own faults and expect: are replaced by the run's schedule and "${REPLAY_ASSERTION}".`],
  });
  writeFileSync(path, text);
  return path;
}

/** "lost ×20+, order ×2" (the checker lists 20 of each, then says there are more). */
function countBy(findings: readonly Finding[]): string {
  const counts = new Map<string, { n: number; more: boolean }>();
  for (const f of findings) {
    const c = counts.get(f.invariant) ?? { n: 0, more: false };
    if (f.message.startsWith('…')) c.more = true;
    else c.n++;
    counts.set(f.invariant, c);
  }
  return [...counts].map(([k, c]) => `${k} ×${c.n}${c.more ? '+' : ''}`).join(', ');
}

/** "1s crash us-1 for 200ms; 3.8s degrade eu-1|ap-1 for 774ms" */
export function describe(units: readonly FaultUnit[]): string {
  if (units.length === 0) return '(no faults)';
  return units.map((u) => `${durationText(u.atMs)} ${u.kind} ${u.target.join('|')} for ${durationText(u.forMs)}`).join('; ');
}

/** Progress on stderr: one rewritten line on a terminal, else a line every tenth of the runs. */
function progressLine(total: number): { update(done: number, violations: number, seconds: string): void; stop(): void } {
  const tty = process.stderr.isTTY === true;
  const every = Math.max(1, Math.round(total / 10));
  let shown = false;
  return {
    update(done, violations, seconds) {
      const text = `explore: ${done}/${total} runs, ${violations} violation${violations === 1 ? '' : 's'} (${seconds} s)`;
      if (tty) {
        process.stderr.write(`\r${text}\u001b[K`);
        shown = true;
      } else if (done % every === 0 || done === total || violations > 0) {
        process.stderr.write(`${text}\n`);
      }
    },
    stop() {
      if (shown) process.stderr.write('\n');
    },
  };
}
