/**
 * [PRE-1] The shape of the summary.json a scenario's run will write, known before the run: which
 * fields exist, which link directions, brokers, faults and populations its lists hold. The
 * pre-flight resolves every `expect:` line against it, so an unknown field, broker or link is an
 * error before the run (with the same did-you-mean `meshtwin test` gives after one).
 *
 * The field names come from a real run, not a copy of them: a tiny built-in scenario (two
 * brokers, one HA pair, a fault) is run once per process, checked, and its summary's rows are
 * re-labelled with the scenario's own links, brokers, faults and populations. shape.test.ts
 * checks the result against real runs of the shipped scenarios.
 */
import { toSummary } from '../../reports/summary.ts';
import { parseScenario } from '../../scenarios/load.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { POPULATION_DETAIL_MAX } from '../mesh.ts';
import { runScenario } from '../run.ts';
import { expandSubscribers } from '../workload.ts';

const TEMPLATE = `name: shape-template
duration: 1s
warmup: 500ms
regions:
  - { id: a, brokers: [a1], ha: [{ primary: a1, backup: a1b }] }
  - { id: b, brokers: [b1] }
links:
  - { between: [a1, b1], rtt: 10ms, bandwidth: 1Gbps }
publishers:
  - { broker: a1, rate: 100/s, topic: "t/{n}", size: 10B, delivery: guaranteed }
subscribers:
  - { broker: b1, count: 2, pattern: "t/#" }
  - { broker: b1, pattern: "t/#", function: { serviceTime: 1ms } }
faults:
  - { at: 200ms, crash: a1 }
expect:
  - "invariants.violations == 0"
routing: { helloInterval: 50ms, deadInterval: 200ms, keepalive: 20ms, takeover: 100ms }
`;

type Json = Record<string, unknown>;
let template: Json | undefined;

function templateSummary(): Json {
  if (template === undefined) template = toSummary(runScenario(parseScenario(TEMPLATE, 'shape-template.yaml'), { measureHeap: false, check: true }));
  return template;
}

const rows = (s: Json, key: string): Json[] => s[key] as Json[];

/** Populations the run will list: expanded only when there are at most POPULATION_DETAIL_MAX. */
function populationRows(s: Scenario, row: Json): Json[] {
  const n = s.subscribers.reduce((a, e) => a + Math.min(e.patterns, e.count), 0);
  if (n > POPULATION_DETAIL_MAX) return [];
  return expandSubscribers(s).map((p) => ({ ...row, index: p.index, broker: p.broker, pattern: p.pattern, count: p.count }));
}

/** The summary.json of a run of `s`, every figure zero or null: its fields and list rows. */
export function summaryShape(s: Scenario): Json {
  const t = templateSummary();
  const brokerIds = s.regions.flatMap((r) => r.brokers);
  const link = rows(t, 'links')[0]!;
  const broker = rows(t, 'brokers')[0]!;
  const fault = rows(t, 'faults')[0]!;
  const population = rows(t, 'populations')[0]!;
  const fn = rows(t, 'functions')[0]!;
  const detectMs = Object.fromEntries(brokerIds.map((b) => [b, 0]));
  return {
    ...t,
    scenario: s.name,
    links: s.links.flatMap((l) => [
      { ...link, from: l.between[0], to: l.between[1] },
      { ...link, from: l.between[1], to: l.between[0] },
    ]),
    brokers: brokerIds.map((id) => ({ ...broker, id })),
    faults: s.faults.map((f, index) => ({ ...fault, index, action: f.action, target: f.target, detectMs })),
    populations: populationRows(s, population),
    functions: expandSubscribers(s)
      .filter((p) => p.fn !== null)
      .map((p) => ({ ...fn, broker: p.broker, pattern: p.pattern })),
  };
}
