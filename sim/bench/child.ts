/**
 * Child processes of `meshtwin bench` [BENCH-P1]: each runs with its stdout and stderr captured
 * (never interleaved with the bench's own output; the tail of stderr names a failure), and every
 * one still running can be stopped by `stopChildren()` (the bench's Ctrl-C/SIGTERM handler).
 *
 * `runMeshtwinChild` runs `meshtwin run` of any source tree — this checkout's or the previous
 * release's — as a user would, and reads what it measured from the contract every version writes,
 * summary.json's `run` block (reports/summary.ts: fields are added, never renamed), plus the
 * process's peak RSS from a preloaded exit hook (rss-hook.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What a finished child printed (the last MAX_CAPTURE characters of each stream) and how it ended. */
export interface Captured {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
}

const MAX_CAPTURE = 256 * 1024;
const running = new Set<ChildProcess>();

/** Runs a command to its end with its output captured; rejects only when it cannot be started. */
export function runCaptured(cmd: string, args: readonly string[], opts: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    const keep = (acc: string, chunk: string) => (acc.length + chunk.length > MAX_CAPTURE ? (acc + chunk).slice(-MAX_CAPTURE) : acc + chunk);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout = keep(stdout, c)));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = keep(stderr, c)));
    child.once('error', (e) => {
      running.delete(child);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr, wallSeconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Stops every child still running (SIGTERM). */
export function stopChildren(): void {
  for (const c of running) c.kill('SIGTERM');
}

/** How a failed child ended, in one line: its exit status and the last line of its stderr. */
export function failureLine(r: Captured): string {
  const how = r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`;
  const last = (r.stderr.trim() || r.stdout.trim()).split('\n').pop()?.trim();
  return last ? `${how}: ${last}` : how;
}

/**
 * One round of a same-run comparison: both sides, one after the other, the first side first in
 * even rounds and second in odd ones (A B, B A, A B, …), so a drift of the machine's load over
 * the run, or an advantage of running first or second, falls on both sides alike.
 */
export async function alternate<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (round % 2 === 0) {
    const x = await a();
    return [x, await b()];
  }
  const y = await b();
  return [await a(), y];
}

/** The figures of one `meshtwin run` child. */
export interface MeshtwinRun {
  readonly simulatedSeconds: number;
  readonly setupWallSeconds: number;
  readonly trafficWallSeconds: number;
  /** Simulated seconds per wall second of the traffic phase (setup and warm-up excluded). */
  readonly trafficSpeedup: number;
  readonly publishedPerWallSecond: number;
  readonly kernelEvents: number;
  /** The child process's peak RSS (ru_maxrss), MiB. */
  readonly peakRssMiB: number;
}

const RSS_HOOK = new URL('./rss-hook.ts', import.meta.url).href;

/**
 * `node --import tsx <root>/bin/meshtwin.js run SCENARIO --duration Dms --no-heap --force` in `root`
 * (a tree with its node_modules), into a scratch folder under `workDir` that is removed after.
 * `--no-heap`: the routing-table measurement after the run is no part of the traffic phase;
 * `--force`: the pre-flight may think the seed mesh is too big for this machine, the bench runs it
 * anyway (as the in-process bench does). Throws with one line when the child fails.
 */
export async function runMeshtwinChild(o: { readonly root: string; readonly scenario: string; readonly durationMs: number; readonly workDir: string; readonly label: string }): Promise<MeshtwinRun> {
  const dir = mkdtempSync(join(o.workDir, 'run-'));
  try {
    const rssFile = join(dir, 'rss');
    const out = join(dir, 'out');
    // Through the tree's own launcher, as a user runs it (this one re-runs itself with a larger
    // young generation; the hook is passed on and keeps the larger peak of the two processes).
    const args = ['--import', 'tsx', '--import', RSS_HOOK, join(o.root, 'bin', 'meshtwin.js'), 'run', o.scenario, '--duration', `${o.durationMs}ms`, '--out', out, '--no-heap', '--force'];
    const r = await runCaptured(process.execPath, args, { cwd: o.root, env: { ...process.env, FORCE_COLOR: '0', MESHTWIN_BENCH_RSS_FILE: rssFile } });
    if (r.code !== 0) throw new Error(`${o.label}: meshtwin run ${failureLine(r)}`);
    let summary: unknown;
    try {
      summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    } catch (e) {
      throw new Error(`${o.label}: no readable summary.json (${(e as Error).message})`);
    }
    const s = summary as { simulatedSeconds?: unknown; run?: Record<string, unknown> };
    const num = (x: unknown, name: string): number => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${o.label}: summary.json has no number at ${name}`);
      return x;
    };
    let rssKiB: number;
    try {
      rssKiB = Number(readFileSync(rssFile, 'utf8'));
    } catch {
      throw new Error(`${o.label}: the child wrote no peak RSS (its exit hook did not run)`);
    }
    return {
      simulatedSeconds: num(s.simulatedSeconds, 'simulatedSeconds'),
      setupWallSeconds: num(s.run?.['setupWallSeconds'], 'run.setupWallSeconds'),
      trafficWallSeconds: num(s.run?.['trafficWallSeconds'], 'run.trafficWallSeconds'),
      trafficSpeedup: num(s.run?.['trafficSpeedup'], 'run.trafficSpeedup'),
      publishedPerWallSecond: num(s.run?.['publishedPerWallSecond'], 'run.publishedPerWallSecond'),
      kernelEvents: num(s.run?.['kernelEvents'], 'run.kernelEvents'),
      peakRssMiB: Math.round((num(rssKiB, 'peak RSS') / 1024) * 10) / 10,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
