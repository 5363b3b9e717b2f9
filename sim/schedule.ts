/**
 * Random fault schedules over a scenario's topology, for `meshtwin explore` (sim/explore.ts).
 *
 * [SCHED-1] A schedule is a list of units. A unit is one disruption and its way back: crash →
 *           restart, link-down → link-up, partition → heal (two faults), or a degrade /
 *           slow-consumer with `for` (one fault that reverts itself). Shrinking removes whole
 *           units, so every schedule, shrunk or not, keeps [SCHED-2].
 * [SCHED-2] Every schedule ends healed: each unit's recovery comes at or before `window.untilMs`,
 *           which leaves `settle` (at least two dead intervals, and a quarter of the run) for
 *           routes to converge before the run ends, plus the checker's drain after it. So
 *           "routes converge after the last fault" [INV-CONV] is judged on a mesh that has all
 *           its links and brokers back.
 * [SCHED-3] Units never overlap on the same resource (a link's state, a link's properties, a
 *           broker or HA standby machine, the one partition in force, a broker's consumers), so
 *           each recovery undoes exactly its own disruption. Units on different resources overlap
 *           freely: a crash during a partition is the kind of schedule this is for.
 * [SCHED-4] Same scenario, same rng seed, same schedule. Times are whole milliseconds and
 *           parameters are values `faultToYaml` writes exactly, so a written file replays it.
 */
import type { FaultAction, FaultSpec, Scenario } from '../scenarios/types.ts';
import type { Rng } from './rng.ts';
import { expandSubscribers } from './workload.ts';

/** The disruptions a schedule draws from (each unit is one of these, with its recovery). */
export type ExploreKind = 'crash' | 'link-down' | 'partition' | 'degrade' | 'slow-consumer';

export const EXPLORE_KINDS: readonly ExploreKind[] = ['crash', 'link-down', 'partition', 'degrade', 'slow-consumer'];

/**
 * [SCHED-1] One disruption from `atMs` for `forMs`, then its recovery. `target` and the link or
 * consumer properties mean what they mean in a FaultSpec (degrade: the link while it lasts;
 * slow-consumer: the rate, and which populations).
 */
export interface FaultUnit extends Pick<FaultSpec, 'target' | 'loss' | 'rttMs' | 'jitterMs' | 'bandwidthBps' | 'ratePerSec' | 'pattern'> {
  readonly kind: ExploreKind;
  readonly atMs: number;
  readonly forMs: number;
}

export interface ScheduleWindow {
  /** No disruption starts before this (traffic has started, routes have settled). */
  readonly fromMs: number;
  /** Every recovery happens at or before this [SCHED-2]. */
  readonly untilMs: number;
  /** Shortest disruption. */
  readonly minForMs: number;
  /** Longest disruption. */
  readonly maxForMs: number;
}

export interface ScheduleOptions {
  /** Kinds to draw from (default: every kind the topology allows). */
  readonly kinds?: readonly ExploreKind[];
  /** Units per schedule, drawn uniformly in minUnits..maxUnits (default 1..5). */
  readonly minUnits?: number;
  readonly maxUnits?: number;
}

/** A scenario explore cannot draw schedules for (too short, nothing to disrupt). */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

const MIN_FOR_MS = 200;

/** [SCHED-2] Where a scenario's disruptions may fall. Throws ScheduleError when it is too short. */
export function scheduleWindow(scenario: Scenario, durationMs = scenario.durationMs): ScheduleWindow {
  const settleMs = Math.max(Math.ceil(durationMs / 4), 2 * scenario.routing.deadIntervalMs);
  const fromMs = Math.ceil(durationMs / 20);
  const untilMs = durationMs - settleMs;
  if (untilMs - fromMs < 2 * MIN_FOR_MS) {
    throw new ScheduleError(
      `${scenario.file}: duration ${durationMs} ms is too short to explore: faults need ${2 * MIN_FOR_MS} ms between ${fromMs} ms and the last ${settleMs} ms left to settle (two dead intervals, or a quarter of the run)`,
    );
  }
  return { fromMs, untilMs, minForMs: MIN_FOR_MS, maxForMs: Math.max(MIN_FOR_MS, Math.floor((untilMs - fromMs) / 2)) };
}

/** What a scenario offers to disrupt. */
export interface Topology {
  readonly links: ReadonlyArray<readonly [string, string]>;
  /** Each link's own RTT and jitter (a degrade makes them worse). */
  readonly linkSpecs: ReadonlyArray<{ readonly rttMs: number; readonly jitterMs: number }>;
  /** Brokers and HA standby machines. */
  readonly machines: readonly string[];
  readonly regions: readonly string[];
  /** Brokers with subscriber populations, and each one's distinct patterns. */
  readonly consumers: ReadonlyArray<{ readonly broker: string; readonly patterns: readonly string[] }>;
}

export function topologyOf(scenario: Scenario): Topology {
  const machines = scenario.regions.flatMap((r) => [...r.brokers, ...r.ha.map((h) => h.backup)]);
  const byBroker = new Map<string, string[]>();
  for (const p of expandSubscribers(scenario)) {
    const list = byBroker.get(p.broker) ?? [];
    if (!list.includes(p.pattern)) list.push(p.pattern);
    byBroker.set(p.broker, list);
  }
  return {
    links: scenario.links.map((l) => l.between),
    linkSpecs: scenario.links.map((l) => ({ rttMs: l.rttMs, jitterMs: l.jitterMs })),
    machines,
    regions: scenario.regions.map((r) => r.id),
    consumers: [...byBroker].map(([broker, patterns]) => ({ broker, patterns })),
  };
}

/** Kinds the topology allows: a partition needs two regions, a link-down or degrade a link. */
export function availableKinds(t: Topology): ExploreKind[] {
  return EXPLORE_KINDS.filter((k) => {
    switch (k) {
      case 'crash':
        return t.machines.length > 0;
      case 'link-down':
      case 'degrade':
        return t.links.length > 0;
      case 'partition':
        return t.regions.length > 1;
      case 'slow-consumer':
        return t.consumers.length > 0;
      default: {
        const never: never = k;
        throw new Error(`unknown kind ${String(never)}`);
      }
    }
  });
}

/** [SCHED-3] The resource a unit holds while it lasts. */
function resourceOf(u: FaultUnit): string {
  switch (u.kind) {
    case 'crash':
      return `machine ${u.target[0]}`;
    case 'link-down':
      return `link ${u.target.join('|')}`;
    case 'degrade':
      return `props ${u.target.join('|')}`;
    case 'partition':
      return 'partition';
    case 'slow-consumer':
      return `consumers ${u.target[0]}`;
    default: {
      const never: never = u.kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** Do two units hold the same resource at overlapping times (touching counts as overlapping)? */
export function unitsClash(a: FaultUnit, b: FaultUnit): boolean {
  return resourceOf(a) === resourceOf(b) && a.atMs <= b.atMs + b.forMs && b.atMs <= a.atMs + a.forMs;
}

/** [SCHED-4] Draws a schedule. Throws ScheduleError when no kind applies or the run is too short. */
export function generateSchedule(scenario: Scenario, rng: Rng, opts: ScheduleOptions = {}, durationMs = scenario.durationMs): FaultUnit[] {
  const topo = topologyOf(scenario);
  const allowed = availableKinds(topo);
  const kinds = (opts.kinds ?? allowed).filter((k) => allowed.includes(k));
  if (kinds.length === 0)
    throw new ScheduleError(`${scenario.file}: nothing to disrupt (kinds ${(opts.kinds ?? EXPLORE_KINDS).join(', ')} need links, regions, brokers or subscribers it does not have)`);
  const w = scheduleWindow(scenario, durationMs);
  const minUnits = opts.minUnits ?? 1;
  const maxUnits = Math.max(minUnits, opts.maxUnits ?? 5);
  const n = minUnits + rng.int(maxUnits - minUnits + 1);
  const units: FaultUnit[] = [];
  for (let i = 0; i < n; i++) {
    // A draw that clashes with an earlier unit is drawn again (a few times, then skipped).
    for (let attempt = 0; attempt < 20; attempt++) {
      const u = drawUnit(topo, kinds[rng.int(kinds.length)] as ExploreKind, w, rng);
      if (!units.some((v) => unitsClash(u, v))) {
        units.push(u);
        break;
      }
    }
  }
  return units.sort((a, b) => a.atMs - b.atMs);
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)] as T;
}

function drawUnit(t: Topology, kind: ExploreKind, w: ScheduleWindow, rng: Rng): FaultUnit {
  const atMs = w.fromMs + rng.int(w.untilMs - w.minForMs - w.fromMs + 1);
  const longest = Math.min(w.maxForMs, w.untilMs - atMs);
  const forMs = w.minForMs + rng.int(longest - w.minForMs + 1);
  const base = { kind, atMs, forMs };
  switch (kind) {
    case 'crash':
      return { ...base, target: [pick(rng, t.machines)] };
    case 'link-down':
      return { ...base, target: [...pick(rng, t.links)] };
    case 'partition': {
      // A random non-empty proper subset of the regions.
      const regions = t.regions.filter(() => rng.next() < 0.5);
      if (regions.length === 0) regions.push(pick(rng, t.regions));
      if (regions.length === t.regions.length) regions.splice(rng.int(regions.length), 1);
      return { ...base, target: regions };
    }
    case 'degrade': {
      const link = pick(rng, t.links);
      const spec = t.linkSpecs[t.links.indexOf(link)] as { readonly rttMs: number; readonly jitterMs: number };
      // One to three of loss / rtt / jitter / bandwidth, each a value faultToYaml writes exactly.
      const props: { loss?: number; rttMs?: number; jitterMs?: number; bandwidthBps?: number } = {};
      const which = ['loss', 'rtt', 'jitter', 'bandwidth'].filter(() => rng.next() < 0.5);
      if (which.length === 0) which.push(pick(rng, ['loss', 'rtt', 'jitter', 'bandwidth']));
      if (which.includes('loss')) props.loss = (1 + rng.int(30)) / 100;
      // Worse than the link's own: more delay, more jitter.
      if (which.includes('rtt')) props.rttMs = spec.rttMs + 10 * (1 + rng.int(50));
      if (which.includes('jitter')) props.jitterMs = spec.jitterMs + 1 + rng.int(20);
      if (which.includes('bandwidth')) props.bandwidthBps = pick(rng, [10e6, 50e6, 100e6]);
      return { ...base, target: [...link], ...props };
    }
    case 'slow-consumer': {
      const c = pick(rng, t.consumers);
      const pattern = rng.next() < 0.5 ? pick(rng, c.patterns) : undefined;
      return { ...base, target: [c.broker], ratePerSec: pick(rng, [5, 20, 50, 100, 200]), ...(pattern === undefined ? {} : { pattern }) };
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

const RECOVERY: Readonly<Record<'crash' | 'link-down' | 'partition', FaultAction>> = { crash: 'restart', 'link-down': 'link-up', partition: 'heal' };

/** [SCHED-1] A unit's faults: the disruption and its recovery, or one fault with `for`. */
export function unitFaults(u: FaultUnit): FaultSpec[] {
  switch (u.kind) {
    case 'crash':
    case 'link-down':
    case 'partition':
      return [
        { atMs: u.atMs, action: u.kind, target: u.target },
        { atMs: u.atMs + u.forMs, action: RECOVERY[u.kind], target: u.target },
      ];
    case 'degrade': {
      const f: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { atMs: u.atMs, action: 'degrade', target: u.target, forMs: u.forMs };
      if (u.loss !== undefined) f.loss = u.loss;
      if (u.rttMs !== undefined) f.rttMs = u.rttMs;
      if (u.jitterMs !== undefined) f.jitterMs = u.jitterMs;
      if (u.bandwidthBps !== undefined) f.bandwidthBps = u.bandwidthBps;
      return [f];
    }
    case 'slow-consumer':
      return [{ atMs: u.atMs, action: 'slow-consumer', target: u.target, ratePerSec: u.ratePerSec as number, forMs: u.forMs, ...(u.pattern === undefined ? {} : { pattern: u.pattern }) }];
    default: {
      const never: never = u.kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** The scenario's `faults:` for a schedule, in time order (a unit's faults keep their order on ties). */
export function scheduleFaults(units: readonly FaultUnit[]): FaultSpec[] {
  return units
    .flatMap(unitFaults)
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.atMs - b.f.atMs || a.i - b.i)
    .map((x) => x.f);
}

/**
 * [SCHED-2] What a list of faults leaves broken at `endMs`: links down, brokers crashed,
 * partitions not healed, degrades and slow consumers still in force. Empty: it ends healed.
 * Reads faults the way sim/mesh.ts applies them (a heal of some regions ends every partition
 * that shares one of them; `heal: all` ends every one).
 */
export function unhealedAt(faults: readonly FaultSpec[], endMs: number): string[] {
  const down = new Map<string, number>();
  const crashed = new Set<string>();
  const partitions: Array<readonly string[]> = [];
  const lasting: string[] = [];
  for (const f of [...faults].sort((a, b) => a.atMs - b.atMs)) {
    if (f.atMs > endMs) continue;
    const key = f.target.join('|');
    switch (f.action) {
      case 'link-down':
        down.set(key, f.atMs);
        break;
      case 'link-up':
        down.delete(key);
        break;
      case 'crash':
        crashed.add(key);
        break;
      case 'restart':
        crashed.delete(key);
        break;
      case 'partition':
        partitions.push(f.target);
        break;
      case 'heal':
        for (let i = partitions.length - 1; i >= 0; i--) {
          if (f.target.length === 0 || f.target.some((r) => (partitions[i] as readonly string[]).includes(r))) partitions.splice(i, 1);
        }
        break;
      case 'degrade':
      case 'slow-consumer':
        if (f.forMs === undefined || f.atMs + f.forMs > endMs) lasting.push(`${f.action} ${key} still in force`);
        break;
      default: {
        const never: never = f.action;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
  }
  return [...[...down.keys()].map((k) => `link ${k} still down`), ...[...crashed].map((b) => `${b} still crashed`), ...partitions.map((p) => `partition of ${p.join(', ')} not healed`), ...lasting];
}
