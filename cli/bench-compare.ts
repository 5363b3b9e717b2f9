/**
 * `meshtwin bench`'s files: `--json FILE` (the figures written while the table prints),
 * `--compare OLD.json` (this run against an earlier one: exit 1 when a figure regressed) and
 * `--compare OLD.json --against NEW.json` (two files, no bench run). A file that cannot be read or
 * compared is one line and exit 2 [BENCH-C4], found before the bench spends minutes measuring.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type BenchFile, BenchFileError, compareBench, compareTable, parseBenchFile, regressions } from '../sim/bench/compare.ts';
import { defaultPeerDir, ns3Installed } from '../sim/bench/peer.ts';
import { CliError } from './options.ts';

export interface BenchCompareOptions {
  /** true: the JSON on stdout instead of the table; a path: the table on stdout and the JSON in the file. */
  readonly json?: boolean | string;
  readonly quick?: boolean;
  readonly compare?: string;
  readonly against?: string;
  readonly peer?: boolean;
  readonly peerDir?: string;
}

export interface CheckedBenchOptions {
  /** Set when there is nothing to measure (--against): the exit code. */
  readonly done?: number;
  readonly peerDir: string;
  /** --compare's file, read and checked, and its path. */
  readonly old?: { readonly file: BenchFile; readonly path: string };
  readonly jsonFile?: string;
}

/** Reads a bench file for --compare or --against; CliError (one line, exit 2) when it cannot. */
export function readBenchFile(flag: string, path: string): BenchFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`${flag}: cannot read ${path} (${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'a folder, not a file' : (err.code ?? err.message)})`);
  }
  try {
    return parseBenchFile(text, path);
  } catch (e) {
    if (e instanceof BenchFileError) throw new CliError(`${flag}: ${e.message}`);
    throw e;
  }
}

/** Checks the options before anything is measured; with --against, compares the two files and is done. */
export function checkBenchOptions(opts: BenchCompareOptions, repoRoot: string): CheckedBenchOptions {
  const quick = opts.quick === true;
  if (opts.against !== undefined) {
    if (opts.compare === undefined) throw new CliError('--against NEW.json compares with --compare OLD.json: give both');
    if (opts.json !== undefined || opts.quick !== undefined || opts.peer !== undefined || opts.peerDir !== undefined) {
      throw new CliError('--compare OLD.json --against NEW.json compares two files and measures nothing: drop --json, --quick, --peer and --peer-dir');
    }
    const old = readBenchFile('--compare', opts.compare);
    const neu = readBenchFile('--against', opts.against);
    return { done: printComparison(old, neu, { old: opts.compare, new: opts.against }), peerDir: '' };
  }
  let old: BenchFile | undefined;
  if (opts.compare !== undefined) {
    if (opts.json === true) throw new CliError('--compare prints a table on stdout, so --json cannot print the figures there: give it a file (--json FILE)');
    old = readBenchFile('--compare', opts.compare);
    if (old.quick !== quick) {
      throw new CliError(
        `--compare: ${opts.compare} was measured ${old.quick ? 'with' : 'without'} --quick and this run is ${quick ? 'with' : 'without'} it: their workloads differ in size (run both alike)`,
      );
    }
  }
  const jsonFile = typeof opts.json === 'string' ? opts.json : undefined;
  if (jsonFile !== undefined) {
    const dir = dirname(resolve(jsonFile));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--json: no folder ${dirname(jsonFile)} to write ${jsonFile} in`);
    if (existsSync(jsonFile) && statSync(jsonFile).isDirectory()) throw new CliError(`--json: ${jsonFile} is a folder, not a file`);
  }
  let peerDir = defaultPeerDir(repoRoot);
  if (opts.peerDir !== undefined) {
    peerDir = resolve(opts.peerDir);
    if (!existsSync(peerDir) || !statSync(peerDir).isDirectory()) throw new CliError(`--peer-dir: no folder ${opts.peerDir}`);
  }
  if (opts.peer === true && ns3Installed() === null && typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CliError("--peer: ns-3 is not installed, and installing it (apt-get, by the peer's run.sh) needs root: run it once as root");
  }
  return { peerDir, ...(old === undefined ? {} : { old: { file: old, path: opts.compare as string } }), ...(jsonFile === undefined ? {} : { jsonFile }) };
}

/** After a bench run: writes --json FILE and prints the --compare table; returns 1 when a figure regressed. */
export function benchOutputs(result: BenchFile & Record<string, unknown>, checked: CheckedBenchOptions): number {
  if (checked.jsonFile !== undefined) {
    writeFileSync(checked.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`figures written to ${checked.jsonFile}\n`);
  }
  if (checked.old === undefined) return 0;
  return printComparison(checked.old.file, result, { old: checked.old.path, new: 'this run' });
}

function printComparison(old: BenchFile, neu: BenchFile, names: { readonly old: string; readonly new: string }): number {
  let rows: ReturnType<typeof compareBench>;
  try {
    rows = compareBench(old, neu, names);
  } catch (e) {
    if (e instanceof BenchFileError) throw new CliError(`--compare: ${e.message}`);
    throw e;
  }
  process.stdout.write(compareTable(rows, names));
  return regressions(rows) > 0 ? 1 : 0;
}
