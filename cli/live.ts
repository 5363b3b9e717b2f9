/**
 * `meshtwin live FILE`: run a scenario on real broker processes (live/run/run.ts) and write the
 * same report as `meshtwin run` (summary.json with `"mode": "live"`, CSVs, timeline, report.html).
 * Ctrl-C or SIGTERM stops every process it started before it exits. With `--viz` the browser
 * view (viz/live-source.ts) shows the running mesh, and its fault buttons act on it, until the
 * command exits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsvFiles } from '../reports/csv.ts';
import { expectRows, humanReport } from '../reports/human.ts';
import { reportHtml } from '../reports/html.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario } from '../scenarios/load.ts';
import { formatDuration } from '../scenarios/units.ts';
import { stopAll } from '../live/process.ts';
import { LiveRun, liveRefusal, type LiveResult } from '../live/run/run.ts';
import { LiveSource } from '../viz/live-source.ts';
import { serveView, type ViewServer } from '../viz/server.ts';
import { CliError, durationOption, seedOption } from './options.ts';
import { checkOutDir } from './preflight.ts';
import { portOption } from './viz.ts';

export interface LiveCommandOptions {
  readonly seed?: string;
  readonly duration?: string;
  readonly out?: string;
  /** Serve the browser view of the running mesh. */
  readonly viz?: boolean;
  /** The view's port (default 8077; 0: any free port). */
  readonly port?: string;
}

/** How long the view keeps serving after the run, so browsers get its last state. */
const VIZ_GRACE_MS = 300;

/** Runs one scenario live; writes the report into `outDir`. */
export async function liveRunTo(file: string, opts: LiveCommandOptions, say: (line: string) => void): Promise<{ result: LiveResult; outDir: string; text: string }> {
  const scenario = loadScenario(file);
  const refusal = liveRefusal(scenario);
  if (refusal !== null) throw new CliError(`${file}: ${refusal}`);
  const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
  const durationMs = opts.duration === undefined ? scenario.durationMs : durationOption('--duration', opts.duration);
  const outDir = opts.out ?? join('out', `${scenario.name}-live`);
  checkOutDir('--out', outDir);
  if (opts.port !== undefined && opts.viz !== true) throw new CliError('--port: applies with --viz only');
  const port = opts.viz === true ? portOption(opts.port ?? '8077') : 0;
  say(`SEED=${seed} scenario=${scenario.name} duration=${formatDuration(durationMs)} warmup=${formatDuration(scenario.warmupMs)} out=${outDir} mode=live`);
  let viz: { source: LiveSource; server: ViewServer } | null = null;
  const run = new LiveRun(scenario, { seed, durationMs, workDir: join(outDir, 'mesh'), say, onReady: (view) => viz?.source.attach(view) });
  if (opts.viz === true) {
    const source = new LiveSource({ scenario: run.scenario, seed, durationMs });
    const server = await serveView(source, { port, host: '127.0.0.1', log: say }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new CliError(`--port: 127.0.0.1:${port} is in use; pick another with --port`);
      throw e;
    });
    viz = { source, server };
    say(`watch it at ${server.url}   (the page follows the live run; it stops when the command exits)`);
  }
  try {
    return await runAndReport(run, file, outDir, say, viz?.source ?? null);
  } finally {
    if (viz !== null) {
      viz.source.finish('run finished');
      // A restart clicked in the page as the run stopped must not leave a process behind.
      await stopAll(1000);
      await new Promise((r) => setTimeout(r, VIZ_GRACE_MS));
      await viz.server.close();
    }
  }
}

async function runAndReport(run: LiveRun, file: string, outDir: string, say: (line: string) => void, source: LiveSource | null): Promise<{ result: LiveResult; outDir: string; text: string }> {
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
    const line = `live run of ${file} failed: ${(e as Error).message.split('\n')[0]}`;
    source?.finish(line);
    throw new CliError(line);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  source?.finish('run finished: the broker processes are stopped');
  if (source !== null && source.viewFaults.length > 0) {
    say(
      `faults from the browser view (the report's faults list only the scenario's): ${source.viewFaults.map((f) => `${f.action} ${f.target.join(' – ')} at ${(f.atMs / 1000).toFixed(3)} s`).join('; ')}`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(toSummary(result), null, 2)}\n`);
  for (const f of toCsvFiles(result)) writeFileSync(join(outDir, f.name), f.text);
  writeFileSync(join(outDir, 'timeline.json'), `${JSON.stringify(result.timeline, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), reportHtml(result, run.scenario, expectRows(result, run.scenario)));
  source?.notice(`report written to ${join(outDir, 'report.html')}`);
  return { result, outDir, text: humanReport(result, run.scenario, outDir) };
}

export async function liveCommand(file: string, opts: LiveCommandOptions): Promise<void> {
  const { text } = await liveRunTo(file, opts, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${text}\n`);
}
