/** `meshtwin run FILE`: simulate a scenario, write summary.json and CSVs, print the human report. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsvFiles } from '../reports/csv.ts';
import { expectRows, humanReport } from '../reports/human.ts';
import { reportHtml } from '../reports/html.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario } from '../scenarios/load.ts';
import { formatDuration } from '../scenarios/units.ts';
import { runScenario } from '../sim/run.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { durationOption, seedOption } from './options.ts';
import { checkBeforeRun, checkOutDir } from './preflight.ts';
import { progressBar } from './progress.ts';

export interface RunCommandOptions {
  readonly seed?: string;
  readonly duration?: string;
  readonly out?: string;
  readonly heap?: boolean;
  readonly force?: boolean;
}

export function runCommand(file: string, opts: RunCommandOptions): void {
  const scenario = loadScenario(file);
  const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
  const durationMs = opts.duration === undefined ? scenario.durationMs : durationOption('--duration', opts.duration);
  const outDir = opts.out ?? join('out', scenario.name);
  checkOutDir('--out', outDir);
  checkBeforeRun(scenario, { durationMs, check: assertionsNeedChecker(scenario.expect), force: opts.force === true });
  // The seed and resolved options come first, so any run can be reproduced from its log.
  process.stderr.write(`SEED=${seed} scenario=${scenario.name} duration=${formatDuration(durationMs)} warmup=${formatDuration(scenario.warmupMs)} out=${outDir}\n`);
  const bar = progressBar();
  const result = runScenario(scenario, { seed, durationMs, onProgress: (p) => bar.update(p), measureHeap: opts.heap !== false });
  bar.stop();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(toSummary(result), null, 2)}\n`);
  for (const f of toCsvFiles(result)) writeFileSync(join(outDir, f.name), f.text);
  writeFileSync(join(outDir, 'timeline.json'), `${JSON.stringify(result.timeline, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), reportHtml(result, scenario, expectRows(result, scenario)));
  process.stdout.write(`${humanReport(result, scenario, outDir)}\n`);
}
