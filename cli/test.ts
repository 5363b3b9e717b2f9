/**
 * `meshtwin test [paths...]`: run scenarios and check their `expect:` assertions, for regression
 * runs in CI. Exit 0 when every assertion holds, 1 when one fails or a scenario could not be
 * checked (bad file, crashed run, no assertions, bad assertion), 2 for bad usage.
 *
 * [TEST-1] A scenario without assertions is an error, not a pass: a regression suite whose file
 * lost its `expect:` block must not go green.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LiveRun, liveRefusal } from '../live/run/run.ts';
import { toJUnitXml, type JUnitCase, type JUnitSuite } from '../reports/junit.ts';
import { toSummary } from '../reports/summary.ts';
import { table } from '../reports/table.ts';
import { actualText, describeResult, evaluateAssertions, ExpectError, type AssertionResult } from '../scenarios/expect.ts';
import { loadScenario, ScenarioError } from '../scenarios/load.ts';
import type { Scenario } from '../scenarios/types.ts';
import { formatDuration } from '../scenarios/units.ts';
import { runScenario } from '../sim/run.ts';
import { preflight } from '../sim/preflight/index.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { CliError, seedOption } from './options.ts';
import { checkOutDir, checkOutFile } from './preflight.ts';

export const DEFAULT_TEST_PATH = 'scenarios/failover';

export interface TestCommandOptions {
  readonly seed?: string;
  readonly junit?: string;
  readonly out?: string;
  readonly force?: boolean;
  /** Run each scenario live (real broker processes, meshtwin live) instead of simulating it. */
  readonly live?: boolean;
}

/** One assertion's outcome: checked, or why it could not be. */
type Row = { readonly text: string; readonly result: AssertionResult } | { readonly text: string; readonly error: string };

interface ScenarioOutcome {
  readonly file: string;
  /** The scenario's name, or the file's base name when it did not load. */
  readonly name: string;
  readonly seed?: number;
  readonly durationMs?: number;
  readonly wallSeconds: number;
  /** Why the scenario as a whole could not be checked. */
  readonly error?: { readonly type: string; readonly message: string };
  readonly rows: readonly Row[];
}

/** Scenario files named by the arguments: files as given, folders → their *.yaml/*.yml, sorted. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new CliError(`${p}: no such file or folder`);
    if (!statSync(p).isDirectory()) {
      files.push(p);
      continue;
    }
    const inside = readdirSync(p)
      .filter((f) => /\.ya?ml$/.test(f) && !statSync(join(p, f)).isDirectory())
      .sort();
    if (inside.length === 0) throw new CliError(`${p}: no scenario files (*.yaml, *.yml) in this folder`);
    files.push(...inside.map((f) => join(p, f)));
  }
  return files;
}

/** Runs the command; returns the exit code. Usage errors throw CliError (exit 2 in main.ts). */
export async function testCommand(paths: readonly string[], opts: TestCommandOptions): Promise<number> {
  const seed = opts.seed === undefined ? undefined : seedOption(opts.seed);
  const files = scenarioFiles(paths.length === 0 ? [DEFAULT_TEST_PATH] : paths);
  // Where the reports go is checked before any run, not after the last one.
  if (opts.out !== undefined) checkOutDir('--out', opts.out);
  if (opts.junit !== undefined) checkOutFile('--junit', opts.junit);
  const wall0 = performance.now();
  const outDirs = new Set<string>();
  const outcomes: ScenarioOutcome[] = [];
  for (const f of files) outcomes.push(await testScenario(f, seed, opts.out, outDirs, opts.force === true, opts.live === true));
  const wallSeconds = (performance.now() - wall0) / 1000;

  process.stdout.write(`${report(outcomes, wallSeconds)}\n`);
  if (opts.junit !== undefined) {
    mkdirSync(dirname(opts.junit), { recursive: true });
    writeFileSync(opts.junit, toJUnitXml(outcomes.map(toSuite)));
  }
  const ok = outcomes.every((o) => o.error === undefined && o.rows.every((r) => 'result' in r && r.result.pass));
  return ok ? 0 : 1;
}

async function testScenario(file: string, seedOverride: number | undefined, out: string | undefined, outDirs: Set<string>, force: boolean, live: boolean): Promise<ScenarioOutcome> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const fallbackName = basename(file).replace(/\.ya?ml$/, '');
  let scenario: Scenario;
  try {
    scenario = loadScenario(file);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { file, name: fallbackName, wallSeconds: elapsed(), error: { type: 'ScenarioError', message: e.message }, rows: [] };
  }
  const seed = seedOverride ?? scenario.seed;
  const base = { file, name: scenario.name, seed, durationMs: scenario.durationMs };
  if (scenario.expect.length === 0) {
    return { ...base, wallSeconds: elapsed(), error: { type: 'NoAssertions', message: `${file}: no assertions (add an expect: list)` }, rows: [] };
  }
  const refusal = live ? liveRefusal(scenario) : null;
  if (refusal !== null) return { ...base, wallSeconds: elapsed(), error: { type: 'LiveError', message: `${file}: ${refusal}` }, rows: [] };
  // The pre-flight: expect fields, islands, frame sizes and the run's cost, before the run.
  const pre = preflight(scenario, { check: assertionsNeedChecker(scenario.expect), force });
  for (const w of pre.warnings) process.stderr.write(`meshtwin: warning: ${w}\n`);
  if (pre.errors.length > 0) return { ...base, wallSeconds: elapsed(), error: { type: 'PreflightError', message: pre.errors[0]! }, rows: [] };
  const outDir = out === undefined ? undefined : uniqueDir(join(out, scenario.name), outDirs);
  // The seed and resolved options come first, as `meshtwin run` prints them.
  process.stderr.write(
    `SEED=${seed} scenario=${scenario.name} duration=${formatDuration(scenario.durationMs)} warmup=${formatDuration(scenario.warmupMs)} file=${file}${outDir === undefined ? '' : ` out=${outDir}`}${live ? ' mode=live' : ''}\n`,
  );
  let summary: Record<string, unknown>;
  try {
    if (live) {
      // The mesh (certificates, configs, data) goes beside the report, or in a temp folder.
      const work = outDir === undefined ? mkdtempSync(join(tmpdir(), 'meshtwin-live-')) : join(outDir, 'mesh');
      try {
        const run = new LiveRun(scenario, { seed, durationMs: scenario.durationMs, workDir: work, say: (line) => process.stderr.write(`  ${line}\n`) });
        summary = toSummary(await run.run());
      } finally {
        if (outDir === undefined) rmSync(work, { recursive: true, force: true });
      }
    } else summary = toSummary(runScenario(scenario, { seed, measureHeap: false }));
  } catch (e) {
    // A run that throws is a bug in the simulator, not in the file: keep its stack for the log.
    process.stderr.write(`${file}: the run failed\n${(e as Error).stack ?? String(e)}\n`);
    return { ...base, wallSeconds: elapsed(), error: { type: 'RunError', message: `${file}: the run failed: ${(e as Error).message}` }, rows: [] };
  }
  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
  const rows = evaluateAssertions(scenario.expect, summary).map((r, i): Row => {
    const text = scenario.expect[i]!;
    return r instanceof ExpectError ? { text, error: `${file}: ${r.message}` } : { text, result: r };
  });
  return { ...base, wallSeconds: elapsed(), rows };
}

/** Two files with the same scenario name get `name`, `name-2`, … under --out. */
function uniqueDir(dir: string, used: Set<string>): string {
  let d = dir;
  for (let n = 2; used.has(d); n++) d = `${dir}-${n}`;
  used.add(d);
  return d;
}

function report(outcomes: readonly ScenarioOutcome[], wallSeconds: number): string {
  const rows: string[][] = [];
  const errors: string[] = [];
  let passed = 0;
  let failed = 0;
  let invalid = 0;
  for (const o of outcomes) {
    if (o.error !== undefined) {
      rows.push([o.name, o.error.type === 'NoAssertions' ? '(no assertions)' : `(${basename(o.file)} not checked)`, '', 'ERROR']);
      errors.push(o.error.message);
    }
    for (const r of o.rows) {
      if ('error' in r) {
        invalid++;
        rows.push([o.name, r.text, '', 'ERROR']);
        errors.push(r.error);
      } else {
        if (r.result.pass) passed++;
        else failed++;
        rows.push([o.name, r.text, actualText(r.result), r.result.pass ? 'PASS' : 'FAIL']);
      }
    }
  }
  const scenarioErrors = outcomes.filter((o) => o.error !== undefined).length;
  const n = passed + failed + invalid;
  const counts = [`${passed} passed`, `${failed} failed`, ...(invalid > 0 ? [`${invalid} invalid`] : [])].join(', ');
  const scen = `${outcomes.length} scenario${outcomes.length === 1 ? '' : 's'}${scenarioErrors > 0 ? `, ${scenarioErrors} not checked` : ''}`;
  const lines = [table(['scenario', 'assertion', 'measured', 'result'], rows, ''), ''];
  if (errors.length > 0) lines.push(...errors.map((e) => `ERROR ${e}`), '');
  lines.push(`${n} assertion${n === 1 ? '' : 's'}: ${counts} (${scen}, ${wallSeconds.toFixed(1)} s)`);
  return lines.join('\n');
}

function toSuite(o: ScenarioOutcome): JUnitSuite {
  const classname = `meshtwin.${o.name}`;
  const cases: JUnitCase[] = [];
  if (o.error !== undefined) {
    cases.push({ name: o.error.type === 'NoAssertions' ? 'assertions' : 'load and run', classname, timeSeconds: o.wallSeconds, error: { message: o.error.message, type: o.error.type } });
  }
  for (const r of o.rows) {
    if ('error' in r) cases.push({ name: r.text, classname, error: { message: r.error, type: 'ExpectError' } });
    else if (r.result.pass) cases.push({ name: r.text, classname });
    else cases.push({ name: r.text, classname, failure: { message: describeResult(r.result), type: 'assertion', detail: `${r.text}\n${describeResult(r.result)}` } });
  }
  const properties: Record<string, string | number> = { file: o.file };
  if (o.seed !== undefined) properties.seed = o.seed;
  if (o.durationMs !== undefined) properties.duration = formatDuration(o.durationMs);
  return { name: o.name, file: o.file, timeSeconds: o.wallSeconds, properties, cases };
}
