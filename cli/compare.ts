/**
 * `meshtwin compare SIM_DIR LIVE_DIR`: the twin's fidelity table. Reads the two runs' summary.json
 * (and series.csv when there is one), prints reports/compare.ts's rows against their targets and
 * exits 1 when a figure is outside its tolerance, 2 when the input cannot be compared.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompareError, type CompareRow, compareRuns, compareTable, parseSeries, type SeriesRow, summaryLine, tally } from '../reports/compare.ts';
import { CliError } from './options.ts';
import { checkOutFile } from './preflight.ts';

export interface CompareOptions {
  /** Also write the rows as JSON to this file. */
  readonly json?: string;
}

interface Run {
  readonly dir: string;
  readonly summary: Readonly<Record<string, unknown>>;
  readonly series?: readonly SeriesRow[];
}

/** Prints the table; returns the exit code (0 all within tolerance, 1 some MISS). Bad input throws CliError. */
export function compareCommand(simDir: string, liveDir: string, opts: CompareOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  if (opts.json !== undefined) checkOutFile('--json', opts.json);
  const sim = readRun('SIM_DIR', simDir);
  const live = readRun('LIVE_DIR', liveDir);
  const scenario = sim.summary.scenario as string;
  if (live.summary.scenario !== scenario) {
    throw new CliError(`the runs are of different scenarios: ${simDir} ran ${JSON.stringify(scenario)}, ${liveDir} ran ${JSON.stringify(live.summary.scenario)}`);
  }
  for (const w of warnings(sim, live)) err.write(`meshtwin: warning: ${w}\n`);
  let result: ReturnType<typeof compareRuns>;
  try {
    result = compareRuns(sim, live);
  } catch (e) {
    if (e instanceof CompareError) throw new CliError(e.message);
    throw e;
  }
  out.write(`${header(sim, live)}\n\n${compareTable(result)}\n\n${summaryLine(result.rows)}\n`);
  if (opts.json !== undefined) writeJson(opts.json, result.rows);
  return tally(result.rows).miss > 0 ? 1 : 0;
}

function readRun(name: string, dir: string): Run {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new CliError(`${name}: expected a run's folder, found ${JSON.stringify(dir)} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'}`);
  }
  if (!isDir) throw new CliError(`${name}: expected a run's folder (the --out of meshtwin run or live), found ${JSON.stringify(dir)}, a file`);
  const file = join(dir, 'summary.json');
  let summary: unknown;
  try {
    summary = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${file}: missing (is ${dir} the --out folder of a run?)`);
    if (code !== undefined) throw new CliError(`${file}: unreadable (${code})`);
    throw new CliError(`${file}: invalid JSON (${oneLine((e as Error).message)})`);
  }
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary) || typeof (summary as Record<string, unknown>).scenario !== 'string') {
    throw new CliError(
      `${file}: expected a run summary (an object with a "scenario" name), found ${Array.isArray(summary) ? 'an array' : summary === null ? 'null' : typeof summary === 'object' ? 'no "scenario"' : typeof summary}`,
    );
  }
  const seriesFile = join(dir, 'series.csv');
  if (!existsSync(seriesFile)) return { dir, summary: summary as Record<string, unknown> };
  try {
    return { dir, summary: summary as Record<string, unknown>, series: parseSeries(readFileSync(seriesFile, 'utf8')) };
  } catch (e) {
    if (e instanceof CompareError) throw new CliError(`${seriesFile}: ${e.message}`);
    throw new CliError(`${seriesFile}: unreadable (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}

/** One line each: runs that may differ for reasons other than the twin's fidelity. */
function warnings(sim: Run, live: Run): string[] {
  const w: string[] = [];
  const s = sim.summary;
  const l = live.summary;
  if (s.mode === 'live') w.push(`${sim.dir} is a live run ("mode": "live"); compare takes the sim run first, then the live one`);
  if (l.mode !== 'live') w.push(`${live.dir} is not a live run (no "mode": "live"): comparing two simulated runs`);
  if (s.seed !== l.seed) w.push(`the seeds differ: sim ${String(s.seed)}, live ${String(l.seed)}`);
  if (s.simulatedSeconds !== l.simulatedSeconds) w.push(`the durations differ: sim ${seconds(s.simulatedSeconds)}, live ${seconds(l.simulatedSeconds)}`);
  const generator = field(l, 'live', 'generator');
  if (field(generator, 'keptUp') === false) {
    const achieved = field(generator, 'achievedPerSecond');
    const offered = field(generator, 'offeredPerSecond');
    const behind = field(generator, 'behind');
    const why = typeof behind === 'string' ? ` (${behind})` : '';
    const rates = typeof achieved === 'number' ? `: it published ${rate(achieved)}${typeof offered === 'number' ? ` of the ${rate(offered)} offered` : ''}` : '';
    w.push(`the live run's load generator fell behind${why}${rates}; its time-shaped figures are not the scenario's`);
  }
  return w;
}

function header(sim: Run, live: Run): string {
  const s = sim.summary;
  const l = live.summary;
  const network = field(l, 'live', 'network');
  const where = network === undefined || network === null ? '' : `, on ${typeof network === 'string' ? network : JSON.stringify(network)}`;
  return `${String(s.scenario)} — sim: seed ${String(s.seed)}, ${seconds(s.simulatedSeconds)} (${sim.dir}) — live: seed ${String(l.seed)}, ${seconds(l.simulatedSeconds)}${where} (${live.dir})`;
}

function writeJson(file: string, rows: readonly CompareRow[]): void {
  try {
    writeFileSync(file, `${JSON.stringify(rows, null, 2)}\n`);
  } catch (e) {
    throw new CliError(`--json: could not write ${JSON.stringify(file)} (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}

function field(v: unknown, ...path: string[]): unknown {
  let x = v;
  for (const k of path) {
    if (typeof x !== 'object' || x === null) return undefined;
    x = (x as Record<string, unknown>)[k];
  }
  return x;
}

const seconds = (v: unknown): string => (typeof v === 'number' ? `${v} s` : 'unknown duration');
const rate = (v: number): string => `${Math.round(v).toLocaleString('en-US')}/s`;
const oneLine = (text: string): string => text.split('\n').join(' ');
