/**
 * summary.json: DESIGN.md's report contract, field for field, with extra fields beside them.
 * Other tools read this file: add fields, never rename or remove one.
 */
import type { RunResult } from '../sim/run.ts';

/** The object written to summary.json (the run result without its bulky series and timeline). */
export function toSummary(r: RunResult & { readonly mode?: string; readonly live?: unknown }): Record<string, unknown> {
  return {
    scenario: r.scenario,
    /** `sim` (meshtwin run) or `live` (meshtwin live: real broker processes, its `live` block says how). */
    mode: r.mode ?? 'sim',
    seed: r.seed,
    simulatedSeconds: r.simulatedSeconds,
    messages: r.messages,
    latencyMs: r.latencyMs,
    wan: r.wan,
    links: r.links,
    brokers: r.brokers.map((b) => ({ ...b, routes: Object.fromEntries(b.routes) })),
    drops: r.drops,
    acl: r.acl,
    functions: r.functions,
    schemas: r.schemas,
    convergence: r.convergence,
    faults: r.faults,
    populations: r.populations,
    ha: r.ha,
    invariants: r.invariants,
    decisionUs: r.decisionUs,
    run: r.run,
    traceHash: r.traceHash,
    ...(r.live === undefined ? {} : { live: r.live }),
  };
}
