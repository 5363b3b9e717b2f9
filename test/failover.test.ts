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
import { loadScenario, parseScenario } from '../scenarios/load.ts';
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
    why: "without a standby taking over, nobody serves the crashed primary's clients",
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

describe('a full spool pushes publishers back [SPOOL-1]', () => {
  // Asia is cut off for 4 s while 500 guaranteed events/s of 500 B are published for it: the
  // us-1 spool (200 KB, ~300 events with their envelopes) fills, and further publishes are refused.
  const text = `
name: spool-full
seed: 9
duration: 10s
regions:
  - { id: us, brokers: [us-1] }
  - { id: ap, brokers: [ap-1] }
links:
  - { between: [us-1, ap-1], rtt: 180ms, bandwidth: 1Gbps }
publishers:
  - { broker: us-1, rate: 500/s, arrival: constant, topic: "orders/us/{n}", size: 500B, delivery: guaranteed }
subscribers:
  - { broker: ap-1, count: 5, pattern: "orders/#" }
routing: { helloInterval: 250ms, deadInterval: 1s, spool: 200KB }
faults:
  - { at: 2s, partition: [ap] }
  - { at: 6s, heal: [ap] }
`;
  const scenario = parseScenario(text, 'spool-full.yaml');

  it('refuses publishes once the spool is full, counts them, and loses none it accepted', () => {
    const r = runScenario(scenario, { measureHeap: false, check: true });
    const us = r.brokers.find((b) => b.id === 'us-1');
    expect(r.messages.backpressured).toBeGreaterThan(0);
    // Counted against the fault it followed: the partition, and the heal until routes returned.
    expect((r.faults[0]?.backpressured ?? 0) + (r.faults[1]?.backpressured ?? 0)).toBe(r.messages.backpressured);
    expect(r.faults[0]?.backpressured).toBeGreaterThan(0);
    expect(us?.spoolPeakBytes).toBeLessThanOrEqual(200_000);
    expect(us?.spoolPeakBytes).toBeGreaterThan(150_000);
    expect(r.messages.lost).toBe(0);
    expect(r.invariants.violations).toBe(0);
    // `published` counts accepted events: with the refused ones they are all 500/s × 10 s; every
    // accepted one reached all 5 subscribers.
    expect(r.messages.published + r.messages.backpressured).toBe(5000);
    expect(r.messages.delivered).toBe(r.messages.published * 5);
  });

  it('with a spool big enough for the partition, nobody is pushed back', () => {
    const big = parseScenario(text.replace('spool: 200KB', 'spool: 50MB'), 'spool-big.yaml');
    const r = runScenario(big, { measureHeap: false, check: true });
    expect(r.messages.backpressured).toBe(0);
    expect(r.messages.lost).toBe(0);
    expect(r.messages.delivered).toBe(r.messages.published * 5);
  });
});

describe('consumer groups report how much share moved [SHARE-3]', () => {
  it('the lagging member was skipped, counted per broker in summary.json', () => {
    // Checked, so the run drains: every ack sent has landed by the end.
    const r = runScenario(loadScenario('scenarios/failover/consumer-group.yaml'), { measureHeap: false, check: true });
    const eu = r.brokers.find((b) => b.id === 'eu-1');
    expect(eu?.groupSharesMoved).toBeGreaterThan(0);
    expect(r.brokers.find((b) => b.id === 'us-1')?.groupSharesMoved).toBe(0);
    // Every guaranteed frame eu-1 took was acknowledged; us-1 heard each ack frame eu-1 sent.
    expect(eu?.acksSent).toBeGreaterThan(0);
    expect(r.brokers.find((b) => b.id === 'us-1')?.acksReceived).toBe(eu?.acksSent);
  });
});
