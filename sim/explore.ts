/**
 * `meshtwin explore`'s engine (no I/O): run a scenario under random fault schedules
 * (sim/schedule.ts), judge each run by the invariant checker, and shrink a failing schedule to a
 * minimal one.
 *
 * [EXPLORE-1] A generated schedule replaces the scenario's own `faults:`. The file's schedule is
 *             what `meshtwin test` already checks; mixing it with random units would break
 *             [SCHED-3] (a random link-up undoing the file's link-down) and the file's schedule
 *             need not end healed (broker-crash-ha.yaml never restarts eu-1). Explore searches
 *             the space of schedules; the file contributes topology, traffic and timers.
 * [EXPLORE-2] A run is `runScenario(scenario with the schedule, { seed, check: true,
 *             measureHeap: false })`: the checker's 5 s drain after the run, as `meshtwin test`
 *             runs a file whose `expect:` reads invariants. It fails when the checker (or an extra
 *             invariant a caller supplies) reports a violation.
 * [EXPLORE-3] Deterministic: run i of `--seed S` has the seed `runSeed(S, i)`, which draws its
 *             schedule and seeds its simulation. The same run seed gives the same run, so a
 *             printed run seed replays one run (`--replay`), and a written file (its seed and
 *             faults) replays it without explore.
 * [EXPLORE-4] Shrinking is greedy: remove one unit (a fault with its recovery, or a self-reverting
 *             degrade / slow-consumer) at a time while the same invariant still fails, until no
 *             removal keeps it failing; then try simpler times (whole seconds, earlier, shorter),
 *             keeping each change that still fails. Every candidate is a whole schedule, so it
 *             still ends healed [SCHED-2].
 */
import type { Scenario } from '../scenarios/types.ts';
import type { Mesh } from './mesh.ts';
import { createRng } from './rng.ts';
import { runScenario, type RunResult } from './run.ts';
import { generateSchedule, scheduleFaults, scheduleWindow, unitsClash, type FaultUnit, type ScheduleOptions, type ScheduleWindow } from './schedule.ts';

/** A violated invariant: the checker's names (lost, duplicate, …) or an extra invariant's. */
export interface Finding {
  readonly invariant: string;
  readonly message: string;
}

/**
 * An invariant beyond sim/invariants.ts, judged after a run from the mesh as it ended and the
 * result (tests use a deliberately wrong one to exercise shrinking).
 */
export type ExtraInvariant = (mesh: Mesh, result: RunResult) => readonly Finding[];

export interface ExploreOptions {
  readonly schedule?: ScheduleOptions;
  readonly invariants?: readonly ExtraInvariant[];
}

export interface Verdict {
  /** Violations counted by the checker plus extra findings. */
  readonly violations: number;
  /** What was found, the checker's list first (it lists up to 20 per invariant). */
  readonly findings: readonly Finding[];
  readonly wallMs: number;
}

/** [EXPLORE-3] Run i's seed under `--seed S`: 0 .. 2^32-1, a scenario file's seed range. */
export function runSeed(seed: number, i: number): number {
  return createRng(seed).fork(`explore run ${i}`).int(0x100000000);
}

/** [EXPLORE-3] The schedule run seed `seed` draws. */
export function scheduleFor(scenario: Scenario, seed: number, opts: ExploreOptions = {}): FaultUnit[] {
  return generateSchedule(scenario, createRng(seed).fork('explore schedule'), opts.schedule);
}

/** The scenario a schedule is run as: its faults replaced [EXPLORE-1]. */
export function withSchedule(scenario: Scenario, units: readonly FaultUnit[]): Scenario {
  return { ...scenario, faults: scheduleFaults(units) };
}

/** [EXPLORE-2] Runs a scenario with the checker on and reports what it found. */
export function judge(scenario: Scenario, seed: number, extra: readonly ExtraInvariant[] = []): Verdict {
  const t0 = performance.now();
  let mesh: Mesh | undefined;
  const result = runScenario(scenario, { seed, check: true, measureHeap: false, onMesh: (m) => (mesh = m) });
  const more = extra.flatMap((inv) => inv(mesh as Mesh, result));
  return {
    violations: result.invariants.violations + more.length,
    findings: [...result.invariants.list, ...more],
    wallMs: performance.now() - t0,
  };
}

export interface ExploreRun {
  readonly seed: number;
  readonly units: readonly FaultUnit[];
  readonly verdict: Verdict;
}

/** One explore run: the schedule run seed `seed` draws, judged. */
export function exploreRun(scenario: Scenario, seed: number, opts: ExploreOptions = {}): ExploreRun {
  const units = scheduleFor(scenario, seed, opts);
  return { seed, units, verdict: judge(withSchedule(scenario, units), seed, opts.invariants) };
}

export interface ShrinkResult {
  readonly units: readonly FaultUnit[];
  /** The shrunk schedule's verdict (it still shows `invariant`). */
  readonly verdict: Verdict;
  /** Runs spent shrinking. */
  readonly runs: number;
  /** True when the run budget ran out before no change helped. */
  readonly exhausted: boolean;
}

export interface ShrinkOptions extends ExploreOptions {
  /** Most runs to spend (default 200). */
  readonly maxRuns?: number;
  /** Called after each candidate run. */
  readonly onStep?: (step: { runs: number; units: number; kept: boolean }) => void;
}

/**
 * [EXPLORE-4] Shrinks `units`, whose run with `seed` violates `invariant`, to a schedule that
 * still violates it and from which no unit can be removed (when the budget lasts).
 */
export function shrink(scenario: Scenario, seed: number, units: readonly FaultUnit[], invariant: string, opts: ShrinkOptions = {}): ShrinkResult {
  const maxRuns = opts.maxRuns ?? 200;
  const window = scheduleWindow(scenario);
  let runs = 0;
  let current = [...units];
  let verdict: Verdict | undefined;
  const fails = (candidate: FaultUnit[]): boolean => {
    runs++;
    const v = judge(withSchedule(scenario, candidate), seed, opts.invariants);
    const kept = v.findings.some((f) => f.invariant === invariant);
    if (kept) verdict = v;
    opts.onStep?.({ runs, units: candidate.length, kept });
    return kept;
  };
  const budgetLeft = () => runs < maxRuns;

  // Removal first: each pass tries every unit, latest first; repeat until a pass removes nothing.
  let removed = true;
  while (removed && budgetLeft()) {
    removed = false;
    for (let i = current.length - 1; i >= 0 && budgetLeft(); i--) {
      const candidate = current.filter((_, j) => j !== i);
      if (fails(candidate)) {
        current = candidate;
        removed = true;
      }
    }
  }
  // Then simpler times, one unit at a time.
  let moved = true;
  while (moved && budgetLeft()) {
    moved = false;
    for (let i = 0; i < current.length && budgetLeft(); i++) {
      for (const simpler of simplerTimes(current[i] as FaultUnit, window)) {
        if (!budgetLeft()) break;
        const candidate = current.map((u, j) => (j === i ? simpler : u));
        // A moved unit must not overlap another on the same resource [SCHED-3].
        if (current.some((u, j) => j !== i && unitsClash(u, simpler))) continue;
        if (fails(candidate)) {
          current = candidate;
          moved = true;
          break;
        }
      }
    }
  }
  if (verdict === undefined) verdict = judge(withSchedule(scenario, current), seed, opts.invariants);
  return { units: current.sort((a, b) => a.atMs - b.atMs), verdict, runs, exhausted: !budgetLeft() };
}

/**
 * Simpler versions of a unit, simplest first, each inside the window: whole seconds, then the
 * start halfway to the window's start, then half as long (to the nearest 100 ms below). None
 * starts later or lasts longer than `u`, and each differs from it, so shrinking ends.
 */
export function simplerTimes(u: FaultUnit, w: ScheduleWindow): FaultUnit[] {
  const out: FaultUnit[] = [];
  const add = (atMs: number, forMs: number) => {
    const a = Math.max(w.fromMs, atMs);
    const f = Math.max(w.minForMs, forMs);
    if (a > u.atMs || f > u.forMs || (a === u.atMs && f === u.forMs) || a + f > w.untilMs) return;
    if (out.some((o) => o.atMs === a && o.forMs === f)) return;
    out.push({ ...u, atMs: a, forMs: f });
  };
  const down = (ms: number, step: number) => Math.floor(ms / step) * step;
  add(down(u.atMs, 1000), down(u.forMs, 1000));
  add(down(u.atMs, 1000), u.forMs);
  add(u.atMs, down(u.forMs, 1000));
  add(down(w.fromMs + (u.atMs - w.fromMs) / 2, 100), u.forMs);
  add(u.atMs, down(u.forMs / 2, 100));
  add(down(u.atMs, 100), down(u.forMs, 100));
  return out;
}
