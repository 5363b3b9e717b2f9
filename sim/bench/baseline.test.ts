/**
 * The previous release from git, run in child processes: real git, a real archive of the commit,
 * real `meshtwin run` children (on a small scenario, so the test stays short).
 */
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BASELINE_COMMIT, benchBaseline, prepareBaselineTree } from './baseline.ts';
import { alternate, runMeshtwinChild } from './child.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SMALL = join(ROOT, 'scenarios', 'two-region-basic.yaml');
const scratch: string[] = [];
const work = () => {
  const d = mkdtempSync(join(tmpdir(), 'meshtwin-bench-test-'));
  scratch.push(d);
  return d;
};
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe('the previous release as a same-run baseline [BENCH-B1..3]', () => {
  it('[BENCH-B1] unpacks the baseline commit with this checkout’s node_modules linked in; removing it leaves node_modules alone', async () => {
    const dir = work();
    const tree = await prepareBaselineTree(ROOT, dir);
    if (!('root' in tree)) throw new Error(`the baseline commit is unavailable here: ${tree.unavailable}`);
    expect(existsSync(join(tree.root, 'cli', 'main.ts'))).toBe(true);
    expect(existsSync(join(tree.root, '.git'))).toBe(false);
    expect(lstatSync(join(tree.root, 'node_modules')).isSymbolicLink()).toBe(true);
    rmSync(tree.root, { recursive: true, force: true });
    expect(existsSync(join(ROOT, 'node_modules', 'tsx', 'package.json'))).toBe(true);
  });

  it('[BENCH-B2] outside a git checkout, or without the commit, it is unavailable with the reason', async () => {
    const outside = work();
    expect(await prepareBaselineTree(outside, work())).toEqual({ unavailable: `${outside} is not a git checkout` });
    const r = await prepareBaselineTree(ROOT, work(), 'f'.repeat(40));
    expect(r).toEqual({ unavailable: expect.stringMatching(/^commit fffffff is not in this clone/) });
    const b = await benchBaseline({ repoRoot: outside, workDir: work(), scenario: SMALL, durationMs: 500, rounds: 1, log: () => {} });
    expect(b).toMatchObject({ status: 'n/a', reason: `${outside} is not a git checkout`, rounds: [] });
  });

  it("[BENCH-B3] alternates the previous release and this code in child processes and reads each one's traffic speed and peak RSS", async () => {
    const lines: string[] = [];
    const workDir = work();
    const b = await benchBaseline({ repoRoot: ROOT, workDir, scenario: SMALL, durationMs: 500, rounds: 1, log: (l) => lines.push(l) });
    expect(b.status, b.reason).toBe('measured');
    expect(b.commit).toBe(BASELINE_COMMIT);
    expect(lines).toEqual(['previous release: round 1/1, 45f55da …', 'previous release: round 1/1, this code …']);
    const [round] = b.rounds;
    for (const side of [round?.previous, round?.current]) {
      expect(side?.simulatedSeconds).toBe(0.5);
      expect(side?.trafficSpeedup).toBeGreaterThan(0);
      expect(side?.kernelEvents).toBeGreaterThan(0);
      // A node process running the simulator holds tens of MiB at least; a hook that reported bytes or pages would be far off.
      expect(side?.peakRssMiB).toBeGreaterThan(20);
      expect(side?.peakRssMiB).toBeLessThan(4096);
    }
    expect(b.trafficSpeedup?.ratio).toBeCloseTo((round?.current.trafficSpeedup ?? 0) / (round?.previous.trafficSpeedup ?? 1), 6);
    expect(b.peakRssMiB?.met).toBe((b.peakRssMiB?.ratio ?? 1) <= 0.5);
    // The unpacked release is gone at the end; the scratch folder is the caller's.
    expect(existsSync(join(workDir, 'baseline'))).toBe(false);
  }, 120_000);

  it('a child that fails says how, in one line', async () => {
    const bad = join(work(), 'missing.yaml');
    await expect(runMeshtwinChild({ root: ROOT, scenario: bad, durationMs: 100, workDir: work(), label: 'this code' })).rejects.toThrow(/^this code: meshtwin run exit 2: meshtwin: .*missing\.yaml/);
  }, 60_000);
});

describe('alternate: A B, then B A', () => {
  it('runs the first side first in even rounds and second in odd ones, and returns them in its own order', async () => {
    const order: string[] = [];
    const side = (name: string) => async () => {
      order.push(name);
      return name;
    };
    expect(await alternate(0, side('A'), side('B'))).toEqual(['A', 'B']);
    expect(await alternate(1, side('A'), side('B'))).toEqual(['A', 'B']);
    expect(await alternate(2, side('A'), side('B'))).toEqual(['A', 'B']);
    expect(order).toEqual(['A', 'B', 'B', 'A', 'A', 'B']);
  });
});
