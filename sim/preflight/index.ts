/**
 * [PRE-0] The pre-flight: everything about a scenario that can be answered before the run starts
 * is answered there, so a run never dies half-way (or after the whole run) on something the file
 * already said. `meshtwin validate` prints it; run, test, explore and viz run it first.
 *   [PRE-1] expect: fields, brokers and links resolved (expect.ts, shape.ts)
 *   [PRE-2] brokers and islands cut off from the rest (islands.ts)
 *   [PRE-6] payloads that fit the codec's frame limit (frame.ts)
 *   [PRE-4] the run's cost: kernel events, peak memory, wall time (cost.ts), held to this
 *           machine's limits [PRE-5] (limits.ts); `force` turns a refusal into a warning.
 */
import { positionOf } from '../../scenarios/load.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { withDuration } from '../run.ts';
import { estimateCost, EVENTS_PER_WALL_SECOND, structuralMemoryBytes, type CostEstimate } from './cost.ts';
import { checkExpect } from './expect.ts';
import type { Finding } from './finding.ts';
import { checkFrames } from './frame.ts';
import { checkIslands } from './islands.ts';
import { MAX_DELIVERIES, MAX_WALL_SECONDS, MEMORY_FRACTION, memoryBudgetBytes, WARN_WALL_SECONDS } from './limits.ts';

export type { CostEstimate } from './cost.ts';
export type { Finding } from './finding.ts';

export interface PreflightOptions {
  /** The run's duration when a flag overrides the scenario's (ms). */
  readonly durationMs?: number;
  /** Whether the run checks invariants (it costs memory per event). */
  readonly check: boolean;
  /** Run even when the estimate is beyond this machine (--force): the refusal becomes a warning. */
  readonly force?: boolean;
  /** Leave the scenario's expect: lines alone (explore replaces the faults they are about). */
  readonly skipExpect?: boolean;
}

export interface PreflightResult {
  /** One line each, `file:line:col: …`; the first error stops the command. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Undefined when the mesh alone was refused before the traffic was estimated. */
  readonly estimate: CostEstimate | undefined;
}

export function bytesText(b: number): string {
  if (b >= 1e12) return `${(b / 1e12).toPrecision(3)} TB`;
  if (b >= 1e9) return `${(b / 1e9).toPrecision(3)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toPrecision(3)} MB`;
  return `${(b / 1e3).toPrecision(3)} KB`;
}

export function secondsText(s: number): string {
  if (s >= 86400 * 365) return `${(s / 86400 / 365).toPrecision(3)} years`;
  if (s >= 86400) return `${(s / 86400).toPrecision(3)} days`;
  if (s >= 3600) return `${(s / 3600).toPrecision(3)} h`;
  if (s >= 60) return `${(s / 60).toPrecision(3)} min`;
  return `${s.toPrecision(2)} s`;
}

function countText(n: number): string {
  if (n >= 1e9) return n.toExponential(2);
  return n >= 1e6 ? `${(n / 1e6).toPrecision(3)} M` : Math.round(n).toLocaleString('en-US');
}

/** "kernel events ≈ 14.6 M, peak heap ≈ 1.03 GB, wall ≈ 1.5 min": the estimate in one clause. */
export function estimateText(e: CostEstimate): string {
  return `${countText(e.kernelEvents)} kernel events (${countText(e.publishes)} publishes, ${countText(e.frames)} frames, ${countText(e.timers)} timers), peak heap ≈ ${bytesText(e.memoryBytes)} (${countText(e.routingEntries)} routing entries), wall ≈ ${secondsText(e.wallSeconds)}`;
}

export function preflight(scenario: Scenario, opts: PreflightOptions): PreflightResult {
  const where = (f: Finding): string => {
    const p = positionOf(scenario, f.path);
    return p.line > 0 ? `${scenario.file}:${p.line}:${p.column}` : scenario.file;
  };
  const findings = [...checkFrames(scenario), ...checkIslands(scenario), ...(opts.skipExpect === true ? [] : checkExpect(scenario))];
  const errors = findings.filter((f) => f.level === 'error').map((f) => `${where(f)}: ${f.message}`);
  const warnings = findings.filter((f) => f.level === 'warning').map((f) => `${where(f)}: ${f.message}`);
  if (errors.length > 0) return { errors, warnings, estimate: undefined };

  // A longer run keeps run-to-the-end publishers going (withDuration); a shorter one stops early.
  const s = opts.durationMs === undefined ? scenario : { ...withDuration(scenario, opts.durationMs), durationMs: opts.durationMs };
  const budget = memoryBudgetBytes();
  const budgetText = `${bytesText(budget)} (${Math.round(MEMORY_FRACTION * 100)}% of the V8 heap limit; node --max-old-space-size moves it)`;
  const refuse = (what: string): void => {
    const line = `${scenario.file}: expected a run this machine can do, found ${what}; run with --force to try anyway`;
    if (opts.force === true) warnings.push(`${line.replace(/; run with --force to try anyway$/, '')} (--force: running anyway)`);
    else errors.push(line);
  };
  // The mesh alone first: on a huge mesh, sampling its traffic would itself take long.
  const structural = structuralMemoryBytes(s);
  if (structural > budget && opts.force !== true) {
    refuse(`an estimated peak heap of ${bytesText(structural)} for the mesh alone (brokers, routing entries, populations) before any traffic, above ${budgetText}`);
    return { errors, warnings, estimate: undefined };
  }
  const e = estimateCost(s, opts.check);
  const dur = `${secondsText(s.durationMs / 1000)} simulated`;
  if (e.memoryBytes > budget) {
    const parts = Object.entries(e.memoryParts)
      .filter(([, v]) => v >= 0.05 * e.memoryBytes)
      .map(([k, v]) => `${k} ${bytesText(v)}`)
      .join(', ');
    refuse(`an estimated peak heap of ${bytesText(e.memoryBytes)} (${parts}) above ${budgetText}`);
  } else if (e.wallSeconds > MAX_WALL_SECONDS) {
    refuse(
      `an estimated ${secondsText(e.wallSeconds)} of wall time for ${dur} (${countText(e.kernelEvents)} kernel events at ~${countText(EVENTS_PER_WALL_SECOND)}/s) above the ${secondsText(MAX_WALL_SECONDS)} bound`,
    );
  } else if (e.deliveries > MAX_DELIVERIES) {
    refuse(`an estimated ${e.deliveries.toExponential(2)} subscriber deliveries (populations × events), more than the latency histograms can count (2^50)`);
  } else if (e.wallSeconds > WARN_WALL_SECONDS) {
    warnings.push(`${scenario.file}: a long run: ${estimateText(e)}`);
  }
  return { errors, warnings, estimate: e };
}
