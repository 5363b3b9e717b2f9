/**
 * `meshtwin live FILE`: run a scenario on real broker processes (live/run/run.ts) and write the
 * same report as `meshtwin run` (summary.json with `"mode": "live"`, CSVs, timeline, report.html).
 * Ctrl-C or SIGTERM stops every process it started before it exits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsvFiles } from '../reports/csv.ts';
import { expectRows, humanReport } from '../reports/human.ts';
import { reportHtml } from '../reports/html.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario } from '../scenarios/load.ts';
import { formatDuration } from '../scenarios/units.ts';
import { LiveRun, liveRefusal, type LiveResult } from '../live/run/run.ts';
import { CliError, durationOption, seedOption } from './options.ts';
import { checkOutDir } from './preflight.ts';

export interface LiveCommandOptions {
  readonly seed?: string;
  readonly duration?: string;
  readonly out?: string;
}

/** Runs one scenario live; writes the report into `outDir`. */
export async function liveRunTo(file: string, opts: LiveCommandOptions, say: (line: string) => void): Promise<{ result: LiveResult; outDir: string; text: string }> {
  const scenario = loadScenario(file);
  const refusal = liveRefusal(scenario);
  if (refusal !== null) throw new CliError(`${file}: ${refusal}`);
  const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
  const durationMs = opts.duration === undefined ? scenario.durationMs : durationOption('--duration', opts.duration);
  const outDir = opts.out ?? join('out', `${scenario.name}-live`);
  checkOutDir('--out', outDir);
  say(`SEED=${seed} scenario=${scenario.name} duration=${formatDuration(durationMs)} warmup=${formatDuration(scenario.warmupMs)} out=${outDir} mode=live`);
  const run = new LiveRun(scenario, { seed, durationMs, workDir: join(outDir, 'mesh'), say });
  const stop = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping every broker process`);
    void run.abort().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let result: LiveResult;
  try {
    result = await run.run();
  } catch (e) {
    // A broker that would not start, a port taken, a mesh that never formed: one line, every process stopped.
    throw new CliError(`live run of ${file} failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(toSummary(result), null, 2)}\n`);
  for (const f of toCsvFiles(result)) writeFileSync(join(outDir, f.name), f.text);
  writeFileSync(join(outDir, 'timeline.json'), `${JSON.stringify(result.timeline, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), reportHtml(result, run.scenario, expectRows(result, run.scenario)));
  return { result, outDir, text: humanReport(result, run.scenario, outDir) };
}

export async function liveCommand(file: string, opts: LiveCommandOptions): Promise<void> {
  const { text } = await liveRunTo(file, opts, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${text}\n`);
}
