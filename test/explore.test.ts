/**
 * `meshtwin explore`: random fault schedules that end healed and replay from their seed
 * [SCHED-1..4][EXPLORE-3], shrinking on a deliberately broken invariant [EXPLORE-4], replayable
 * files [REPLAY-1], and the command as CI runs it [EXPLORE-5].
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import { replayText } from '../scenarios/replay.ts';
import type { FaultSpec, Scenario } from '../scenarios/types.ts';
import { judge, runSeed, scheduleFor, shrink, withSchedule, type ExtraInvariant } from '../sim/explore.ts';
import { createRng } from '../sim/rng.ts';
import { generateSchedule, scheduleFaults, scheduleWindow, unhealedAt, unitsClash, type FaultUnit } from '../sim/schedule.ts';

const FAILOVER = ['broker-crash-ha', 'consumer-group', 'slow-consumer', 'wan-retries', 'wan-split'];
const scenarios = new Map(FAILOVER.map((f) => [f, loadScenario(`scenarios/failover/${f}.yaml`)]));
const source = (f: string) => readFileSync(`scenarios/failover/${f}.yaml`, 'utf8');

describe('fault schedules [SCHED-1..4]', () => {
  it('property: every schedule stays in its window, never overlaps a resource, ends healed, and loads back exactly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAILOVER), fc.integer({ min: 0, max: 0xffffffff }), (name, seed) => {
        const s = scenarios.get(name) as Scenario;
        const w = scheduleWindow(s);
        const units = scheduleFor(s, seed);
        expect(units.length).toBeGreaterThanOrEqual(1);
        for (const [i, u] of units.entries()) {
          expect(u.atMs).toBeGreaterThanOrEqual(w.fromMs);
          expect(u.atMs + u.forMs).toBeLessThanOrEqual(w.untilMs);
          expect(u.forMs).toBeGreaterThanOrEqual(w.minForMs);
          for (const v of units.slice(i + 1)) expect(unitsClash(u, v), `${JSON.stringify(u)} / ${JSON.stringify(v)}`).toBe(false);
        }
        const faults = scheduleFaults(units);
        // [SCHED-2] nothing left broken at the last recovery, let alone at the end of the run.
        expect(unhealedAt(faults, w.untilMs)).toEqual([]);
        // [SCHED-4][REPLAY-1] the loader (with its fault-sequence checks) reads the schedule back exactly.
        const back = parseScenario(replayText(source(name), { seed, faults }), `${name}.yaml`);
        expect(back.faults).toEqual(faults);
        expect(back.seed).toBe(seed);
      }),
      { numRuns: 300 },
    );
  });

  it('draws every kind the topology allows: crashes of HA backups too, partitions only with two regions', () => {
    const seen = new Map<string, Set<string>>();
    for (const name of FAILOVER) {
      const kinds = new Set<string>();
      const crashed = new Set<string>();
      for (let i = 0; i < 200; i++) {
        for (const u of scheduleFor(scenarios.get(name) as Scenario, runSeed(1, i))) {
          kinds.add(u.kind);
          if (u.kind === 'crash') crashed.add(u.target[0] as string);
        }
      }
      seen.set(name, kinds);
      if (name === 'broker-crash-ha') expect([...crashed].sort()).toEqual(['eu-1', 'eu-1b', 'us-1']);
    }
    for (const kinds of seen.values()) expect([...kinds].sort()).toEqual(['crash', 'degrade', 'link-down', 'partition', 'slow-consumer']);
  });

  it('the same seed draws the same schedule; run seeds are fixed by (seed, run) and differ', () => {
    const s = scenarios.get('wan-split') as Scenario;
    expect(scheduleFor(s, 12345)).toEqual(scheduleFor(s, 12345));
    expect(scheduleFor(s, 12345)).not.toEqual(scheduleFor(s, 12346));
    const seeds = Array.from({ length: 100 }, (_, i) => runSeed(7, i));
    expect(Array.from({ length: 100 }, (_, i) => runSeed(7, i))).toEqual(seeds);
    expect(new Set(seeds).size).toBe(100);
    expect(runSeed(8, 0)).not.toBe(runSeed(7, 0));
    for (const x of seeds) expect(Number.isInteger(x) && x >= 0 && x <= 0xffffffff).toBe(true);
  });

  it('unhealedAt names what a schedule leaves broken', () => {
    const f = (atMs: number, action: FaultSpec['action'], target: string[], more: Partial<FaultSpec> = {}): FaultSpec => ({ atMs, action, target, ...more });
    expect(unhealedAt([f(1, 'link-down', ['a', 'b']), f(2, 'crash', ['c']), f(3, 'partition', ['r1']), f(4, 'degrade', ['a', 'b'], { loss: 0.1 })], 10)).toEqual([
      'link a|b still down',
      'c still crashed',
      'partition of r1 not healed',
      'degrade a|b still in force',
    ]);
    expect(unhealedAt([f(1, 'slow-consumer', ['c'], { ratePerSec: 5, forMs: 20 })], 10)).toEqual(['slow-consumer c still in force']);
    expect(unhealedAt([f(1, 'partition', ['r1', 'r2']), f(2, 'heal', ['r2']), f(3, 'partition', ['r3']), f(4, 'heal', [])], 10)).toEqual([]);
    // A recovery after the end does not count.
    expect(unhealedAt([f(1, 'crash', ['c']), f(11, 'restart', ['c'])], 10)).toEqual(['c still crashed']);
  });

  it('a run too short to leave time to settle is refused with a reason', () => {
    const s = scenarios.get('wan-split') as Scenario;
    expect(() => scheduleWindow(s, 2000)).toThrow(/too short to explore/);
    expect(() => generateSchedule(s, createRng(1), { kinds: ['partition'] }, 2000)).toThrow(/too short/);
  });
});

/**
 * A deliberately wrong invariant: "no frame is ever sent into a cut link". Any partition breaks
 * it (its links drop what is sent while it lasts); crashes, degrades and slow consumers cut no
 * link, so a schedule mixing them has exactly one cause.
 */
const NO_CUT = 'test-no-cut-link';
const noCutLink: ExtraInvariant = (mesh) => {
  const dropped = mesh.directions.reduce((a, d) => a + d.droppedDown, 0);
  return dropped === 0 ? [] : [{ invariant: NO_CUT, message: `${dropped} frames sent into cut links` }];
};

describe('shrinking [EXPLORE-4] on a deliberately broken invariant', () => {
  const file = 'broker-crash-ha';
  const s = scenarios.get(file) as Scenario;
  const kinds = ['crash', 'partition', 'degrade', 'slow-consumer'] as const;
  // The first run seed whose schedule has one partition among at least four units.
  const seed = Array.from({ length: 500 }, (_, i) => runSeed(3, i)).find((x) => {
    const units = scheduleFor(s, x, { schedule: { kinds, minUnits: 4, maxUnits: 6 } });
    return units.filter((u) => u.kind === 'partition').length === 1;
  }) as number;
  const opts = { schedule: { kinds, minUnits: 4, maxUnits: 6 }, invariants: [noCutLink] };
  const units = scheduleFor(s, seed, opts);
  const partition = units.find((u) => u.kind === 'partition') as FaultUnit;

  it('the random schedule fails the broken invariant, and only because of its partition', () => {
    expect(units.length).toBeGreaterThanOrEqual(4);
    expect(judge(withSchedule(s, units), seed, [noCutLink]).findings.map((f) => f.invariant)).toContain(NO_CUT);
    const others = units.filter((u) => u !== partition);
    expect(judge(withSchedule(s, others), seed, [noCutLink]).findings.map((f) => f.invariant)).not.toContain(NO_CUT);
    // The real checker finds nothing wrong with this schedule.
    expect(judge(withSchedule(s, units), seed).violations).toBe(0);
  });

  it('shrinks to exactly the partition and its heal, no later and no longer; it replays from the written file', () => {
    const out = shrink(s, seed, units, NO_CUT, opts);
    expect(out.exhausted).toBe(false);
    expect(out.units).toHaveLength(1);
    const [u] = out.units as [FaultUnit];
    expect(u.kind).toBe('partition');
    expect(u.target).toEqual(partition.target);
    expect(u.atMs).toBeLessThanOrEqual(partition.atMs);
    expect(u.forMs).toBeLessThanOrEqual(partition.forMs);
    expect(scheduleFaults(out.units).map((f) => f.action)).toEqual(['partition', 'heal']);
    expect(out.verdict.findings.map((f) => f.invariant)).toContain(NO_CUT);
    // Minimal: without it the invariant holds.
    expect(judge(withSchedule(s, []), seed, [noCutLink]).violations).toBe(0);

    // [REPLAY-1] The file explore would write loads and fails the same way.
    const text = replayText(source(file), { seed, faults: scheduleFaults(out.units), expect: ['invariants.violations == 0'] });
    const back = parseScenario(text, 'shrunk.yaml');
    expect(back.faults).toEqual(scheduleFaults(out.units));
    expect(judge(back, back.seed, [noCutLink]).findings.find((f) => f.invariant === NO_CUT)?.message).toBe(out.verdict.findings.find((f) => f.invariant === NO_CUT)?.message);
  });

  it('removing units is greedy: with two partitions in the schedule, one stays', () => {
    const two = [...units, { ...partition, atMs: partition.atMs + partition.forMs + 300, forMs: 200 }].filter((u, i, all) => !all.some((v, j) => j < i && unitsClash(u, v)));
    const out = shrink(s, seed, two, NO_CUT, opts);
    expect(out.units.map((u) => u.kind)).toEqual(['partition']);
  });
});

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

/**
 * A real violation for the command's failure path: hop limit 1 on a line us-1 – eu-1 – ap-1, so
 * guaranteed events from us-1 never reach ap-1 (eu-1 may not forward them), whatever the faults.
 */
const TOO_FEW_HOPS = `name: too-few-hops
seed: 1
duration: 6s
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
faults:
  - { at: 1s, link-down: [us-1, eu-1] }
  - { at: 2s, link-up: [us-1, eu-1] }
`;

describe('meshtwin explore [EXPLORE-5]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-explore-'));

  it('a few runs of a failover scenario: seed first, progress, summary, exit 0', () => {
    const r = meshtwin('explore', 'scenarios/failover/broker-crash-ha.yaml', '--runs', '4', '--seed', '7', '--out', join(dir, 'ok'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^SEED=7 scenario=failover-broker-crash-ha runs=4 duration=12\.0 s /);
    expect(r.stderr).toMatch(/^explore: 4\/4 runs, 0 violations \(\d+ s\)$/m);
    expect(r.stdout).toMatch(/^4 runs, 0 violations \(seed 7, \d+ s\)\n$/);
    expect(existsSync(join(dir, 'ok'))).toBe(false);
  });

  it('a violation: run seed, invariant, shrunk schedule, two replayable files, exit 1', () => {
    const file = join(dir, 'too-few-hops.yaml');
    writeFileSync(file, TOO_FEW_HOPS);
    const out = join(dir, 'found');
    const r = meshtwin('explore', file, '--runs', '5', '--seed', '3', '--out', out);
    expect(r.status, r.stderr).toBe(1);
    noStack(r.stderr);
    expect(r.stdout).toMatch(/^VIOLATION lost: guaranteed 0-\d+ never reached population 0 \(orders\/#\) on ap-1$/m);
    // The first run whose schedule does not crash ap-1 (a crash ends its clients' sessions).
    const [, k, s] = /in run (\d+) of seed 3: run seed (\d+) /.exec(r.stdout) ?? [];
    const seed = runSeed(3, Number(k) - 1);
    expect(Number(s)).toBe(seed);
    expect(r.stdout).toContain(`run seed ${seed} (replay it: meshtwin explore ${file} --replay ${seed})`);
    // Loss needs no fault at all: the schedule shrinks to nothing.
    expect(r.stdout).toMatch(/^ {2}shrunk in \d+ runs: \(no faults\)$/m);
    expect(r.stdout).toContain(`\n${k} run${k === '1' ? '' : 's'}, 1 violation (seed 3, `);
    const original = join(out, `too-few-hops-${seed}.yaml`);
    const shrunk = join(out, `too-few-hops-${seed}-shrunk.yaml`);
    expect(r.stdout).toContain(`wrote ${original} (the failing run)`);
    expect(r.stdout).toContain(`wrote ${shrunk} (shrunk; replay: meshtwin test ${shrunk})`);

    const a = loadScenario(original);
    expect(a.seed).toBe(seed);
    expect(a.faults).toEqual(scheduleFaults(scheduleFor(parseScenario(TOO_FEW_HOPS, file), seed)));
    expect(a.expect).toEqual(['invariants.violations == 0']);
    const b = loadScenario(shrunk);
    expect(b.faults).toEqual([]);
    expect(readFileSync(shrunk, 'utf8')).toMatch(/^# meshtwin explore .* --seed 3: run \d+ \(run seed \d+\), its schedule shrunk\n/);

    // `meshtwin test` replays the shrunk file and fails on the same invariant.
    const t = meshtwin('test', shrunk);
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/invariants\.violations == 0\s+[1-9][\d,]*\s+FAIL/);
    expect(judge(b, b.seed).findings[0]?.invariant).toBe('lost');

    // --replay runs that one run again, and finds the same.
    const again = meshtwin('explore', file, '--replay', String(seed), '--out', join(dir, 'again'));
    expect(again.status).toBe(1);
    expect(again.stdout).toContain(`in the replayed run: run seed ${seed}`);
    expect(again.stdout).toMatch(/^1 run, 1 violation \(run seed \d+, \d+ s\)$/m);
    expect(readFileSync(join(dir, 'again', `too-few-hops-${seed}.yaml`), 'utf8').replace(/^#.*\n/gm, '')).toBe(readFileSync(original, 'utf8').replace(/^#.*\n/gm, ''));
  });

  it('--duration: runs and written files have that duration, publishers running to its end', () => {
    const file = join(dir, 'too-few-hops-short.yaml');
    writeFileSync(file, TOO_FEW_HOPS);
    const out = join(dir, 'short');
    const r = meshtwin('explore', file, '--runs', '3', '--duration', '8s', '--out', out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^SEED=1 scenario=too-few-hops runs=3 duration=8\.00 s faults=400 ms\.\.6\.00 s /);
    const [, seed] = /run seed (\d+) \(replay it: meshtwin explore \S+ --replay \d+ --duration 8s\)/.exec(r.stdout) ?? [];
    expect(seed).toBeDefined();
    const written = loadScenario(join(out, `too-few-hops-${seed}.yaml`));
    expect(written.durationMs).toBe(8000);
    expect(written.publishers[0]?.stopMs).toBe(8000);
    expect(judge(written, written.seed).findings[0]?.invariant).toBe('lost');
  });

  it.each([
    [['--runs', '0'], /^meshtwin: --runs: expected a whole number of runs from 1 to 1000000, found "0"$/],
    [['--runs', 'many'], /^meshtwin: --runs: expected a whole number .* found "many"$/],
    [['--seed', '1.5'], /^meshtwin: --seed: expected an integer, found "1.5"$/],
    [['--replay', '-3'], /^meshtwin: --replay: expected a run seed .* found "-3"$/],
    [['--duration', 'soon'], /^meshtwin: --duration: expected a duration/],
    [['--duration', '2s'], /^meshtwin: scenarios\/failover\/wan-split\.yaml: duration 2000 ms is too short to explore/],
  ])('bad usage %j: one line, exit 2', (args, message) => {
    const r = meshtwin('explore', 'scenarios/failover/wan-split.yaml', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a missing or broken file: one line naming it, exit 2', () => {
    const missing = meshtwin('explore', join(dir, 'nope.yaml'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml.*no such file/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, TOO_FEW_HOPS.replace('rtt: 70ms', 'rtt: fast'));
    const r = meshtwin('explore', broken);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: links\[0\]\.rtt/);
    noStack(r.stderr);
  });
});
