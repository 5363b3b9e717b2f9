/** `meshtwin viz FILE`: run a scenario paced to wall time and watch it in a browser. */
import { loadScenario } from '../scenarios/load.ts';
import { formatDuration } from '../scenarios/units.ts';
import { startVizServer } from '../viz/server.ts';
import { CliError, durationOption, seedOption } from './options.ts';
import { checkBeforeRun } from './preflight.ts';

export interface VizCommandOptions {
  readonly port?: string;
  readonly host?: string;
  readonly seed?: string;
  readonly speed?: string;
  readonly duration?: string;
  readonly force?: boolean;
}

/** "1", "10x", "0.5×", "max" → simulated seconds per wall second (Infinity for max). */
export function speedOption(text: string): number {
  if (text === 'max') return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*[x×]?$/.exec(text);
  const v = m === null ? NaN : Number(m[1]);
  if (!(v > 0)) throw new CliError(`--speed: expected a positive number (1, 10, 0.5x) or "max", found ${JSON.stringify(text)}`);
  return v;
}

export function portOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new CliError(`--port: expected a port number 0..65535, found ${JSON.stringify(text)}`);
  return Number(text);
}

export async function vizCommand(file: string, opts: VizCommandOptions): Promise<void> {
  const scenario = loadScenario(file);
  const seed = opts.seed === undefined ? scenario.seed : seedOption(opts.seed);
  const durationMs = opts.duration === undefined ? scenario.durationMs : durationOption('--duration', opts.duration);
  const speed = speedOption(opts.speed ?? '1');
  const port = portOption(opts.port ?? '8077');
  const host = opts.host ?? '127.0.0.1';
  checkBeforeRun(scenario, { durationMs, check: false, force: opts.force === true });
  const speedText = speed === Infinity ? 'max' : `${speed}×`;
  process.stderr.write(`SEED=${seed} scenario=${scenario.name} duration=${formatDuration(durationMs)} warmup=${formatDuration(scenario.warmupMs)} speed=${speedText}\n`);
  const t0 = performance.now();
  const server = await startVizServer({
    scenario,
    seed,
    durationMs,
    speed,
    port,
    host,
    log: (line) => process.stdout.write(`${line}\n`),
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new CliError(`--port: ${host}:${port} is in use; pick another with --port`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new CliError(`--host: cannot listen on ${JSON.stringify(host)}`);
    throw e;
  });
  const built = ((performance.now() - t0) / 1000).toFixed(1);
  const brokers = server.session.topology.brokers.length;
  process.stdout.write(
    `meshtwin viz — ${scenario.name}: ${brokers} brokers, ${server.session.topology.links.length} links, ${server.session.mesh.populations.length.toLocaleString('en-US')} subscriber populations, built in ${built} s\n`,
  );
  process.stdout.write(`watch it at ${server.url}   (Ctrl-C stops)\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
