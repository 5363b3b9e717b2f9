/** `meshtwin run FILE`: simulate a scenario, write summary.json and CSVs, print the human report. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsvFiles } from '../reports/csv.ts';
import { expectRows, humanReport } from '../reports/human.ts';
import { reportHtml } from '../reports/html.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario } from '../scenarios/load.ts';
import { formatDuration } from '../scenarios/units.ts';
import { UsageError } from '../engine/types.ts';
import { planParallel, runParallel } from '../sim/parallel/run.ts';
import { runScenario } from '../sim/run.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { CliError, durationOption, seedOption } from './options.ts';
import { checkBeforeRun, checkOutDir } from './preflight.ts';
import { progressBar } from './progress.ts';

export interface RunCommandOptions {
  readonly seed?: string;
  readonly duration?: string;
  readonly out?: string;
  readonly heap?: boolean;
  readonly force?: boolean;
  readonly workers?: string;
}

/** `--workers N`: a whole number of threads, 1 to 64. */
export function workersOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) throw new CliError(`--workers: expected a whole number of threads from 1 to 64, found ${JSON.stringify(text)}`);
  return Number(text);
}

export async function runCommand(file: string, opts: RunCommandOptions): Promise<void> {
  const scenario = loadScenario(file);
  const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
  const durationMs = opts.duration === undefined ? scenario.durationMs : durationOption('--duration', opts.duration);
  const outDir = opts.out ?? join('out', scenario.name);
  checkOutDir('--out', outDir);
  const workers = opts.workers === undefined ? 1 : workersOption(opts.workers);
  const plan = workers > 1 ? asCliError(() => planParallel(scenario, workers)) : undefined;
  checkBeforeRun(scenario, { durationMs, check: assertionsNeedChecker(scenario.expect), force: opts.force === true });
  // The seed and resolved options come first, so any run can be reproduced from its log.
  process.stderr.write(
    `SEED=${seed} scenario=${scenario.name} duration=${formatDuration(durationMs)} warmup=${formatDuration(scenario.warmupMs)} out=${outDir}${plan === undefined ? '' : ` workers=${plan.workers}`}\n`,
  );
  if (plan !== undefined) process.stderr.write(`${planLine(plan)}\n`);
  const bar = progressBar();
  const onProgress = (p: Parameters<typeof bar.update>[0]) => bar.update(p);
  const measureHeap = opts.heap !== false;
  const result =
    plan === undefined
      ? runScenario(scenario, { seed, durationMs, onProgress, measureHeap })
      : await asCliError(() => runParallel({ text: readFileSync(file, 'utf8'), file, scenario, workers, seed, durationMs, onProgress, measureHeap }));
  bar.stop();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(toSummary(result), null, 2)}\n`);
  for (const f of toCsvFiles(result)) writeFileSync(join(outDir, f.name), f.text);
  writeFileSync(join(outDir, 'timeline.json'), `${JSON.stringify(result.timeline, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), reportHtml(result, scenario, expectRows(result, scenario)));
  process.stdout.write(`${humanReport(result, scenario, outDir)}\n`);
}

/** What a parallel run refuses ([PAR-4], before or while it runs) is the user's one line, exit 2. */
function asCliError<T>(f: () => T): T {
  const toCli = (e: unknown): never => {
    throw e instanceof UsageError ? new CliError(e.message) : e;
  };
  try {
    const r = f();
    return (r instanceof Promise ? r.catch(toCli) : r) as T;
  } catch (e) {
    return toCli(e);
  }
}

/** Which thread runs which brokers, the lookahead and the publish load each takes [PAR-1]. */
export function planLine(plan: ReturnType<typeof planParallel>): string {
  const groups = Array.from({ length: plan.workers }, (_, t) => plan.brokers.filter((_, i) => plan.owner[i] === t).join(','));
  const load = plan.load.map((l) => `${Math.round(l).toLocaleString('en-US')}/s`).join(' | ');
  const ahead = plan.lookaheadMs === Infinity ? 'no link between threads' : `lookahead ${plan.lookaheadMs} ms`;
  return `threads ${plan.workers}: ${groups.join(' | ')}; ${ahead}; publishes ${load}`;
}
