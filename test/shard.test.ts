/**
 * `--shard I/N` and `meshtwin merge` [SHARD-1..3]: three shards of a sweep merge into the files
 * one machine writes; three shards of an explore merge into the verdict an unsharded explore
 * gives, the lowest-index failing run [EXPLORE-6]; merge refuses shards that do not make one
 * complete set of the same run.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readShards, SHARD_FILE, type ShardFile } from '../cli/shard.ts';
import type { SweepReport } from '../sim/sweep/report.ts';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function meshtwinAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } }, (e, stdout, stderr) => {
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-shard-'));
const noWall = (r: SweepReport) => {
  const { run: _, ...rest } = r;
  return { ...rest, steps: r.steps.map(({ wallSeconds: __, ...s }) => s) };
};
const report = (d: string) => JSON.parse(readFileSync(join(d, 'sweep.json'), 'utf8')) as SweepReport;
const csvRows = (d: string) =>
  readFileSync(join(d, 'sweep.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.replace(/,[^,]*$/, ''));

const SWEEP = ['scenarios/slow-link.yaml', '--vary', 'publishers[0].rate=1000/s..2600/s', '--steps', '5', '--duration', '2s', '--parallel', '1'];

describe('a sweep in three shards, merged, is the sweep one machine runs [SHARD-1..3]', () => {
  const single = join(dir, 'single');
  const merged = join(dir, 'merged');
  const shards = [0, 1, 2].map((i) => join(dir, `shard-${i}`));
  let one: ReturnType<typeof meshtwin>;
  let merge: ReturnType<typeof meshtwin>;
  beforeAll(async () => {
    // The four runs at once, as separate machines would.
    const runs = await Promise.all([meshtwinAsync('sweep', ...SWEEP, '--out', single), ...shards.map((out, i) => meshtwinAsync('sweep', ...SWEEP, '--shard', `${i}/3`, '--out', out))]);
    one = runs[0] as ReturnType<typeof meshtwin>;
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    merge = meshtwin('merge', merged, ...shards.slice().reverse());
  });

  it('each shard runs steps k with k mod 3 = I and records which shard it is, the inputs and its results', () => {
    expect(one.status, one.stderr).toBe(0);
    for (const [i, out] of shards.entries()) {
      const f = JSON.parse(readFileSync(join(out, SHARD_FILE), 'utf8')) as ShardFile<{ steps: Array<{ index: number }> }>;
      expect(f.command).toBe('sweep');
      expect(f.shard).toEqual({ index: i, count: 3 });
      expect(f.inputs.fileSha256).toBe(report(single).inputs.fileSha256);
      expect(f.result.steps.map((s) => s.index)).toEqual([0, 1, 2, 3, 4].filter((k) => k % 3 === i));
      expect(readdirSync(join(out, 'steps')).sort()).toEqual(f.result.steps.map((s) => `step-${s.index + 1}.yaml`));
      // A shard does not write the report: the breaking point is the merge's to find.
      expect(readdirSync(out).sort()).toEqual([SHARD_FILE, 'steps']);
    }
  });

  it('merge writes the same sweep.json, sweep.csv and step files, and prints the same table and breaking point', () => {
    expect(merge.status, merge.stderr).toBe(0);
    const a = report(single);
    const b = report(merged);
    expect(noWall(b)).toEqual(noWall(a));
    expect(b.run.shards).toBe(3);
    expect(a.breakingPoint?.step).toBe(4);
    expect(csvRows(merged)).toEqual(csvRows(single));
    const files = readdirSync(join(single, 'steps'));
    expect(readdirSync(join(merged, 'steps'))).toEqual(files);
    for (const f of files) expect(readFileSync(join(merged, 'steps', f), 'utf8')).toBe(readFileSync(join(single, 'steps', f), 'utf8'));
    const table = (s: string) => s.split('\n').filter((l) => !l.startsWith('wrote ') && !l.startsWith('(merged from'));
    expect(table(merge.stdout)).toEqual(table(one.stdout));
    expect(merge.stdout).toContain('breaking point: publishers[0].rate = 2,200/s (step 4 of 5): links us-1→ap-1 utilization');
  });
});

/** A shard folder with shard.json `f`. */
function shardDir(name: string, f: unknown): string {
  const d = join(dir, 'refuse', name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, SHARD_FILE), JSON.stringify(f));
  return d;
}

describe('merge refuses what is not one complete set of one run [SHARD-3]', () => {
  const base = (index: number, count = 3, inputs: Record<string, unknown> = {}) => ({
    format: 'meshtwin-shard/1',
    command: 'sweep',
    shard: { index, count },
    inputs: { file: 'a.yaml', fileSha256: 'aaaa', steps: 5, vary: ['publishers[0].rate=1/s..2/s'], ...inputs },
    result: { steps: [] },
    run: {},
  });

  it.each([
    ['a missing shard', () => [shardDir('m0', base(0)), shardDir('m2', base(2))], /^merge: missing shard 1\/3 \(have 0, 2 of 0\.\.2\)$/],
    ['a shard given twice', () => [shardDir('d0', base(0)), shardDir('d1', base(1)), shardDir('d1b', base(1)), shardDir('d2', base(2))], /^merge: shard 1\/3 given twice \(.*d1 and .*d1b\)$/],
    [
      'another scenario file',
      () => [shardDir('f0', base(0)), shardDir('f1', base(1, 3, { fileSha256: 'bbbb' })), shardDir('f2', base(2))],
      /^merge: shards of different inputs: .*f0 has scenario file \(SHA-256\) "aaaa", .*f1 has "bbbb"$/,
    ],
    ['other arguments', () => [shardDir('s0', base(0)), shardDir('s1', base(1, 3, { steps: 6 })), shardDir('s2', base(2))], /^merge: shards of different inputs: .*s0 has steps 5, .*s1 has 6$/],
    ['other shard counts', () => [shardDir('c0', base(0)), shardDir('c1', base(1, 4))], /^merge: .*c0 is one of 3 shards, .*c1 one of 4$/],
    ['a sweep shard and an explore shard', () => [shardDir('k0', base(0)), shardDir('k1', { ...base(1), command: 'explore' })], /^merge: .*k0 is a sweep shard, .*k1 a explore shard$/],
    ['a folder that is no shard', () => [join(dir, 'refuse')], /^merge: .*refuse has no shard\.json/],
  ])('%s', (_, dirs, message) => {
    expect(() => readShards(dirs())).toThrow(message);
  });

  it('through the CLI: one line, exit 2', () => {
    const a = shardDir('cli0', base(0, 2));
    const r = meshtwin('merge', join(dir, 'refuse', 'out'), a);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/^meshtwin: merge: missing shard 1\/2 \(have 0 of 0\.\.1\)$/);
    const into = meshtwin('merge', a, a);
    expect(into.status).toBe(2);
    expect(into.stderr.trim()).toMatch(/^meshtwin: merge: OUT_DIR .*cli0 is one of the shard folders; write the merged report elsewhere$/);
  });
});

/** A line of three brokers with a hop limit of 1: events to ap-1 are lost unless a crash of ap-1 ends its sessions first (test/explore.test.ts). */
const TOO_FEW_HOPS = `name: too-few-hops
seed: 1
duration: 4s
warmup: 1s
regions:
  - { id: us-east-1, brokers: [us-1] }
  - { id: eu-west-1, brokers: [eu-1] }
  - { id: ap-southeast-1, brokers: [ap-1] }
links:
  - { between: [us-1, eu-1], rtt: 70ms, bandwidth: 1Gbps }
  - { between: [eu-1, ap-1], rtt: 120ms, bandwidth: 1Gbps }
publishers:
  - { broker: us-1, rate: 50/s, topic: "orders/{n}", size: 200B, delivery: guaranteed }
subscribers:
  - { broker: ap-1, count: 1, pattern: "orders/#" }
routing:
  helloInterval: 250ms
  deadInterval: 1s
  hopLimit: 1
`;

describe('an explore in three shards, merged, gives the verdict an unsharded explore gives [EXPLORE-6]', () => {
  it('the lowest-index failing run across the shards: the run the unsharded explore stops at, its files', async () => {
    const file = join(dir, 'too-few-hops.yaml');
    writeFileSync(file, TOO_FEW_HOPS);
    // Seed 12: runs 1 and 2 crash ap-1 (no loss), so run 3 fails first: shard 2's. Shard 0 fails
    // later (run 4), shard 1 too (run 5): merge must take the lowest index, not the first shard.
    const shards = [0, 1, 2].map((i) => join(dir, `ex-${i}`));
    const [single, ...parts] = await Promise.all([
      meshtwinAsync('explore', file, '--runs', '6', '--seed', '12', '--out', join(dir, 'ex-single')),
      ...shards.map((out, i) => meshtwinAsync('explore', file, '--runs', '6', '--seed', '12', '--shard', `${i}/3`, '--out', out)),
    ]);
    if (single === undefined) throw new Error('no run');
    expect(single.status, single.stderr).toBe(1);
    expect(single.stdout).toMatch(/^ {2}in run 3 of seed 12: /m);
    for (const [i, r] of parts.entries()) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^shard ${i}/3: \\d of its 2 runs, first failing run ${[4, 5, 3][i]} `, 'm'));
    }
    const merged = join(dir, 'ex-merged');
    const m = meshtwin('merge', merged, ...shards);
    expect(m.status, m.stderr).toBe(1);
    const verdict = (s: string, out: string) =>
      s
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('(merged from'))
        .map((l) => l.replaceAll(out, 'OUT').replace(/, \d+ s\)$/, ')'));
    expect(verdict(m.stdout, merged)).toEqual(verdict(single.stdout, join(dir, 'ex-single')));
    // The same two replayable files.
    const files = readdirSync(join(dir, 'ex-single')).sort();
    expect(files).toHaveLength(2);
    expect(readdirSync(merged).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(merged, f), 'utf8')).toBe(readFileSync(join(dir, 'ex-single', f), 'utf8').replaceAll(join(dir, 'ex-single'), merged));
  });

  it('no failing run in any shard: "N runs, 0 violations", exit 0', async () => {
    const shards = [0, 1].map((i) => join(dir, `ok-${i}`));
    const runs = await Promise.all(shards.map((out, i) => meshtwinAsync('explore', 'scenarios/failover/slow-consumer.yaml', '--runs', '3', '--seed', '7', '--shard', `${i}/2`, '--out', out)));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    cpSync(shards[0] as string, join(dir, 'ok-copy'), { recursive: true });
    const m = meshtwin('merge', join(dir, 'ok-merged'), ...shards);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/^3 runs, 0 violations \(seed 7, \d+ s\)\n\(merged from 2 shards, which ran 3 runs in all\)\n$/);
    // The same shard twice is refused, not counted twice.
    const twice = meshtwin('merge', join(dir, 'ok-merged'), shards[0] as string, join(dir, 'ok-copy'));
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/^meshtwin: merge: shard 0\/2 given twice/);
  });
});
