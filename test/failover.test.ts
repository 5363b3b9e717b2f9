/**
 * The failover scenarios prove something only if their assertions would catch the behavior
 * breaking. For each of seed 002's four failure cases (and consumer groups, the slow-consumer case's
 * third defence): with every mechanism on, every `expect:`
 * line of scenarios/failover/ holds; with the mechanism the case is about switched off
 * (Scenario.mechanisms, see engine/broker.ts), the named assertions fail.
 */
import { describe, expect, it } from 'vitest';
import { toSummary } from '../reports/summary.ts';
import { evaluateAssertions, type AssertionResult } from '../scenarios/expect.ts';
import { loadScenario } from '../scenarios/load.ts';
import type { Mechanisms } from '../scenarios/types.ts';
import { runScenario } from '../sim/run.ts';

function check(file: string, off?: keyof Mechanisms): { results: AssertionResult[]; failing: string[] } {
  const scenario = loadScenario(`scenarios/failover/${file}.yaml`);
  const run = runScenario(off === undefined ? scenario : { ...scenario, mechanisms: { [off]: false } }, { measureHeap: false });
  const results = evaluateAssertions(scenario.expect, toSummary(run)).map((r) => {
    if (!('pass' in r)) throw r;
    return r;
  });
  return { results, failing: results.filter((r) => !r.pass).map((r) => r.text) };
}

/** Each case: the file, the mechanism, and the assertions that must fail without it. */
const CASES: ReadonlyArray<{ file: string; off: keyof Mechanisms; mustFail: string[]; why: string }> = [
  {
    file: 'wan-split',
    off: 'reroute',
    mustFail: ['faults[0].convergenceMs < 1.5s'],
    why: 'without dead-interval detection the cut US–AP link is never routed around',
  },
  {
    file: 'wan-split',
    off: 'spool',
    mustFail: ['messages.lost == 0', 'invariants.violations == 0', 'faults[2].spooled > 0'],
    why: 'without a spool, guaranteed events for the partitioned region are dropped',
  },
  {
    file: 'wan-retries',
    off: 'dedup',
    mustFail: ['duplicates.delivered == 0', 'duplicates.suppressed > 0', 'invariants.violations == 0'],
    why: 'without the ledger and sequence check, retried blocks reach subscribers again',
  },
  {
    file: 'slow-consumer',
    off: 'isolation',
    mustFail: ['brokers[eu-1].consumerQueuePeak <= 1000', 'messages.droppedSlowConsumer > 0'],
    why: "without bounded queues the slow subscriber's backlog grows without limit",
  },
  {
    file: 'consumer-group',
    off: 'isolation',
    mustFail: ['brokers[eu-1].consumerQueuePeak <= 10', 'populations[0].latencyMs.p99 < 500ms'],
    why: 'with unbounded queues no group member counts as lagging, so the laggard keeps its share',
  },
  {
    file: 'broker-crash-ha',
    off: 'ha',
    mustFail: ['ha.takeoverMs <= 600ms', 'ha.rebuildMs < 1s'],
    why: 'without a standby taking over, nobody serves the crashed primary\'s clients',
  },
];

describe('failover scenarios catch their mechanism switched off', () => {
  for (const file of new Set(CASES.map((c) => c.file))) {
    it(`${file}: every assertion holds with every mechanism on`, () => {
      const { results, failing } = check(file);
      expect(results.length).toBeGreaterThan(0);
      expect(failing).toEqual([]);
    });
  }

  for (const c of CASES) {
    it(`${c.file} with ${c.off} off fails: ${c.why}`, () => {
      const { failing } = check(c.file, c.off);
      for (const text of c.mustFail) expect(failing, `${text} should fail with ${c.off} off`).toContain(text);
    });
  }
});
