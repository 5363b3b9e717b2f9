/**
 * Which thread runs which broker in a parallel run, and how far ahead each may run [PAR-1].
 *
 * [PAR-1] Conservative parallel simulation: brokers are split over W threads; each thread runs
 *         its brokers' events and keeps the others as replicas that never run. A frame between
 *         threads takes at least its link's one-way delay (serialization and jitter only add), so
 *         the smallest one-way delay of a link that crosses threads is the lookahead L: once
 *         every thread knows the earliest pending event anywhere, M, it may run every event before
 *         M + L without anything from another thread arriving in its past. Regions stay whole
 *         while there are at least as many regions as threads (their LAN links would make L tiny);
 *         the split balances the publish rate each thread's brokers take (largest first, onto the
 *         least loaded thread). A degrade fault that shortens a link's RTT shortens the lookahead.
 */
import { UsageError } from '../../engine/types.ts';
import { assertionsNeedChecker } from '../../scenarios/expect.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { brokersOf } from '../workload.ts';

export interface Partition {
  /** Threads used (at most one per broker). */
  readonly workers: number;
  /** Per broker, in the mesh's order (regions' brokers in file order): its thread. */
  readonly owner: readonly number[];
  readonly brokers: readonly string[];
  /** The smallest one-way delay of a link between threads, ms (Infinity: no such link). */
  readonly lookaheadMs: number;
  /** Publishes per second each thread's brokers take (the balance the split aimed at). */
  readonly load: readonly number[];
}

/** Why this scenario cannot run split over threads yet (null: it can) [PAR-4]. */
export function parallelBlocker(s: Scenario): string | null {
  const unsupported =
    'the parallel run supports link faults (link-down, link-up, partition, heal, degrade) and slow consumers, not crashes, restarts, HA pairs, function subscriptions or checked assertions so far; run it without --workers';
  const broker = s.faults.findIndex((f) => f.action === 'crash' || f.action === 'restart');
  if (broker >= 0) return `faults[${broker}] is a ${(s.faults[broker] as { action: string }).action}: ${unsupported}`;
  if (s.regions.some((r) => r.ha.length > 0)) return `it has HA pairs: ${unsupported}`;
  if (s.subscribers.some((p) => p.function !== undefined)) return `it has function subscriptions: ${unsupported}`;
  if (assertionsNeedChecker(s.expect)) return `its expect: lines read the invariant checker's figures: ${unsupported}`;
  return null;
}

/** Splits the scenario's brokers over `workers` threads [PAR-1]. */
export function partition(s: Scenario, workers: number): Partition {
  if (!(workers >= 1) || (workers | 0) !== workers) throw new UsageError(`--workers: expected a whole number ≥ 1, got ${workers}`);
  const brokers = s.regions.flatMap((r) => r.brokers);
  const index = new Map(brokers.map((b, i) => [b, i]));
  const rate = new Float64Array(brokers.length);
  for (const p of s.publishers) {
    const on = brokersOf(s, p);
    for (const b of on) {
      const i = index.get(b) as number;
      rate[i] = (rate[i] as number) + p.ratePerSec / on.length;
    }
  }
  const w = Math.min(workers, brokers.length);
  // Units: whole regions while there are enough of them, else brokers.
  const units: Array<{ readonly members: number[]; readonly load: number }> =
    s.regions.length >= w
      ? s.regions.map((r) => {
          const members = r.brokers.map((b) => index.get(b) as number);
          return { members, load: members.reduce((a, i) => a + (rate[i] as number), 0) };
        })
      : brokers.map((_, i) => ({ members: [i], load: rate[i] as number }));
  const order = units.map((u, i) => ({ u, i })).sort((a, b) => b.u.load - a.u.load || a.i - b.i);
  const load = new Array<number>(w).fill(0);
  const count = new Array<number>(w).fill(0);
  const owner = new Array<number>(brokers.length).fill(0);
  for (const { u } of order) {
    // The least loaded thread, an empty one first (so every thread gets a unit).
    const rank = (t: number): number => ((count[t] as number) === 0 ? -1 : (load[t] as number));
    let best = 0;
    for (let t = 1; t < w; t++) if (rank(t) < rank(best)) best = t;
    for (const m of u.members) owner[m] = best;
    load[best] = (load[best] as number) + u.load;
    count[best] = (count[best] as number) + 1;
  }
  let lookaheadMs = Infinity;
  const crosses = (a: string, b: string): boolean => owner[index.get(a) as number] !== owner[index.get(b) as number];
  for (const link of s.links) {
    const [a, b] = link.between;
    if (crosses(a, b)) lookaheadMs = Math.min(lookaheadMs, link.rttMs / 2);
  }
  for (const f of s.faults) {
    if (f.action === 'degrade' && f.rttMs !== undefined && crosses(f.target[0] as string, f.target[1] as string)) lookaheadMs = Math.min(lookaheadMs, f.rttMs / 2);
  }
  return { workers: w, owner, brokers, lookaheadMs, load };
}
