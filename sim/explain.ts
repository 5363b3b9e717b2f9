/**
 * `meshtwin explain SCENARIO --at T` [EXPLAIN-6]: the scenario simulated (seeded, as `run` would)
 * up to T, then the walk of engine/explain.ts asked of the simulated brokers as they are at T.
 * The simulator also knows what a broker may not yet: a link cut less than a dead interval ago
 * still looks up to its ends, so the walk says the event is lost on it.
 */
import type { PublishInput } from '../engine/broker.ts';
import { type Explanation, type ExplainSource, explainEvent } from '../engine/explain.ts';
import type { BrokerId } from '../engine/types.ts';
import type { Scenario } from '../scenarios/types.ts';
import { Mesh } from './mesh.ts';
import { withDuration } from './run.ts';

export interface ExplainQuery {
  readonly atMs: number;
  readonly from: BrokerId;
  /** Broker ids (a region's brokers, or one). */
  readonly to: readonly BrokerId[];
  readonly input: Omit<PublishInput, 'publishedAtMs'>;
}

export interface SimExplanation {
  readonly atMs: number;
  readonly seed: number;
  readonly explanations: readonly Explanation[];
}

/** Simulates `scenario` to `q.atMs` and explains the event to each target. */
export async function explainInScenario(scenario: Scenario, seed: number, q: ExplainQuery): Promise<SimExplanation> {
  const durationMs = Math.max(q.atMs, 1);
  const mesh = new Mesh(withDuration(scenario, durationMs), seed, durationMs, 0);
  while (mesh.now < q.atMs && !mesh.done) mesh.runSome(q.atMs, 200_000);
  const node = (id: BrokerId) => {
    const n = mesh.byId.get(id);
    return n !== undefined && n.alive ? n : undefined;
  };
  const src: ExplainSource = {
    hopLimit: async (id) => node(id)?.broker.config.hopLimit ?? null,
    origin: async (id, input, dest) => node(id)?.broker.explainOrigin(input, dest) ?? [],
    hop: async (id, dest, hopsLeft, guaranteed) => node(id)?.broker.explainHop(dest, hopsLeft, guaranteed) ?? { gates: [], next: null },
    local: async (id, input) => node(id)?.broker.explainLocal(input) ?? [],
    link: (from, to) => {
      const dir = mesh.byId.get(from)?.out.get(to);
      if (dir === undefined || dir.up) return null;
      return {
        broker: from,
        gate: 'link',
        pass: false,
        why: `the link ${from} → ${to} is down, and ${from} has not declared ${to} dead yet (dead interval ${scenario.routing.deadIntervalMs} ms): the event is lost on it (a guaranteed one is retransmitted)`,
      };
    },
  };
  const input: PublishInput = { ...q.input, publishedAtMs: mesh.now };
  const explanations: Explanation[] = [];
  for (const to of q.to) explanations.push(await explainEvent(src, input, q.from, to));
  return { atMs: mesh.now, seed, explanations };
}
