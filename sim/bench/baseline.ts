/**
 * The previous release as a baseline measured in the same run [BENCH-B1..3] (issue 13: "seed
 * scenario traffic phase at least 3× today's code on one thread, measured in the same run").
 *
 * - [BENCH-B1] The bench builds the previous release from git: `git archive BASELINE_COMMIT`
 *   unpacked into the bench's scratch folder, this checkout's node_modules linked into it. An
 *   archive rather than `git worktree add`: it works from any clone that has the commit, writes
 *   nothing into the repository, and a bench killed midway leaves no worktree registered.
 * - [BENCH-B2] Without git, outside a git checkout, or in a clone without the commit (a shallow
 *   one), the figures are n/a with the reason; the bench goes on.
 * - [BENCH-B3] The seed scenario's traffic runs in a child process per side, the previous release
 *   and this code alternating (A B, B A, …: child.ts `alternate`), the same simulated time each;
 *   each side's figure is the median of its rounds, and the ratios current/previous are held
 *   against the targets. Both sides run this checkout's scenario file: one workload.
 */
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { alternate, failureLine, type MeshtwinRun, runCaptured, runMeshtwinChild } from './child.ts';
import { median } from './figures.ts';

/**
 * "Today's code" of issue 13: main's HEAD before the performance work began (the review mends
 * of 2026-12-02). Every same-run baseline of the seed scenario is this commit.
 */
export const BASELINE_COMMIT = '45f55da8ef35bf1dd22e6e47dd086dbd607b72b2';

/** Issue 13's targets against the previous release: traffic at least 3× as fast, peak RSS at most half. */
export const BASELINE_SPEED_TARGET = 3;
export const BASELINE_RSS_TARGET = 0.5;

export const shortCommit = (c: string): string => c.slice(0, 7);

/** Where the previous release was unpacked, or why it could not be. */
export type BaselineTree = { readonly root: string } | { readonly unavailable: string };

/** Unpacks `commit` of the repository at `repoRoot` into `workDir/baseline` [BENCH-B1, B2]. */
export async function prepareBaselineTree(repoRoot: string, workDir: string, commit = BASELINE_COMMIT): Promise<BaselineTree> {
  const git = async (...args: string[]) => {
    try {
      return await runCaptured('git', ['-C', repoRoot, ...args]);
    } catch {
      return null; // git is not installed
    }
  };
  const top = await git('rev-parse', '--show-toplevel');
  if (top === null) return { unavailable: 'git is not installed' };
  if (top.code !== 0) return { unavailable: `${repoRoot} is not a git checkout` };
  const has = await git('cat-file', '-e', `${commit}^{commit}`);
  if (has?.code !== 0) {
    const shallow = (await git('rev-parse', '--is-shallow-repository'))?.stdout.trim() === 'true';
    return { unavailable: `commit ${shortCommit(commit)} is not in this clone${shallow ? ' (a shallow clone: git fetch --unshallow)' : ''}` };
  }
  const root = join(workDir, 'baseline');
  const tar = join(workDir, 'baseline.tar');
  mkdirSync(root, { recursive: true });
  const archive = await git('archive', '--format=tar', '-o', tar, commit);
  if (archive?.code !== 0) throw new Error(`git archive ${shortCommit(commit)}: ${archive === null ? 'git is not installed' : failureLine(archive)}`);
  const untar = await runCaptured('tar', ['-xf', tar, '-C', root]);
  rmSync(tar, { force: true });
  if (untar.code !== 0) throw new Error(`tar: ${failureLine(untar)}`);
  const modules = join(repoRoot, 'node_modules');
  if (!existsSync(modules)) return { unavailable: `no node_modules in ${repoRoot} to run it with (npm ci)` };
  symlinkSync(modules, join(root, 'node_modules'), 'dir');
  return { root };
}

/** One round: the previous release's run, then this code's. */
export interface BaselineRound {
  readonly previous: MeshtwinRun;
  readonly current: MeshtwinRun;
}

/** A side's figure (median of its rounds) against the other's, and the target. */
export interface SideBySide {
  readonly previous: number;
  readonly current: number;
  /** current / previous. */
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
}

export interface BaselineResult {
  /** measured; n/a (no git, no commit: not a failure); failed (a child failed: the bench exits 1). */
  readonly status: 'measured' | 'n/a' | 'failed';
  readonly reason?: string;
  readonly commit: string;
  readonly scenario: string;
  readonly simulatedSeconds: number;
  readonly rounds: readonly BaselineRound[];
  readonly trafficSpeedup?: SideBySide;
  readonly peakRssMiB?: SideBySide;
}

/** Runs the rounds [BENCH-B3]; `scenario` is a path both trees can read (this checkout's file). */
export async function benchBaseline(o: {
  readonly repoRoot: string;
  readonly workDir: string;
  readonly scenario: string;
  readonly durationMs: number;
  readonly rounds: number;
  readonly commit?: string;
  readonly log: (line: string) => void;
}): Promise<BaselineResult> {
  const commit = o.commit ?? BASELINE_COMMIT;
  const base = { commit, scenario: o.scenario, simulatedSeconds: o.durationMs / 1000 };
  const tree = await prepareBaselineTree(o.repoRoot, o.workDir, commit);
  if ('unavailable' in tree) return { ...base, status: 'n/a', reason: tree.unavailable, rounds: [] };
  const rounds: BaselineRound[] = [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      const tag = `round ${i + 1}/${o.rounds}`;
      const [previous, current] = await alternate(
        i,
        () => {
          o.log(`previous release: ${tag}, ${shortCommit(commit)} …`);
          return runMeshtwinChild({ root: tree.root, scenario: o.scenario, durationMs: o.durationMs, workDir: o.workDir, label: `${shortCommit(commit)} (${tag})` });
        },
        () => {
          o.log(`previous release: ${tag}, this code …`);
          return runMeshtwinChild({ root: o.repoRoot, scenario: o.scenario, durationMs: o.durationMs, workDir: o.workDir, label: `this code (${tag})` });
        },
      );
      rounds.push({ previous, current });
    }
  } catch (e) {
    return { ...base, status: 'failed', reason: (e as Error).message, rounds };
  } finally {
    rmSync(tree.root, { recursive: true, force: true });
  }
  const side = (pick: (r: MeshtwinRun) => number, target: string, met: (ratio: number) => boolean): SideBySide => {
    const previous = median(rounds.map((r) => pick(r.previous)));
    const current = median(rounds.map((r) => pick(r.current)));
    const ratio = current / previous;
    return { previous, current, ratio, target, met: met(ratio) };
  };
  return {
    ...base,
    status: 'measured',
    rounds,
    trafficSpeedup: side(
      (r) => r.trafficSpeedup,
      `current ≥ ${BASELINE_SPEED_TARGET}× previous`,
      (x) => x >= BASELINE_SPEED_TARGET,
    ),
    peakRssMiB: side(
      (r) => r.peakRssMiB,
      `current ≤ ${BASELINE_RSS_TARGET}× previous`,
      (x) => x <= BASELINE_RSS_TARGET,
    ),
  };
}
