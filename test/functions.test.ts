/**
 * Simulated function subscriptions [FN-SIM-1..4]: the handler's figures add up (calls =
 * successes + failures + running; retries = failures − final failures), failures follow the
 * configured probability, dead letters are real publishes that reach their subscribers, the
 * queue bound drops, and utilization matches the offered work.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { humanReport } from '../reports/human.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import { runScenario } from '../sim/run.ts';

const file = join(import.meta.dirname, '..', 'scenarios', 'function-subscriptions.yaml');

describe('function subscriptions in a simulated run', () => {
  const s = loadScenario(file);
  const r = runScenario(s, { measureHeap: false });
  const f = r.functions[0];

  it('its books balance', () => {
    expect(r.functions).toHaveLength(1);
    if (f === undefined) return;
    expect(f.calls).toBe(f.succeeded + f.failed + f.runningAtEnd);
    // Every failure is retried but those that were an event's last attempt.
    expect(f.retries).toBe(f.failed - f.deadLettered - f.dropped);
    expect(r.messages.unaccounted).toBe(0);
  });

  it('failures follow the probability; utilization the offered work', () => {
    if (f === undefined) return;
    const p = f.failed / (f.succeeded + f.failed);
    expect(p).toBeGreaterThan(0.08);
    expect(p).toBeLessThan(0.12);
    // 1000/s × 3 ms over 4 slots, plus the retries' calls.
    expect(f.utilization).toBeCloseTo((f.calls * 3) / (4 * 10_000), 2);
    expect(f.utilization).toBeGreaterThan(0.75);
  });

  it('dead letters are published and reach the operations team across the WAN', () => {
    if (f === undefined) return;
    expect(f.deadLettered).toBeGreaterThan(0);
    const ops = r.populations.find((p) => p.pattern === 'dlq/#');
    expect(ops?.delivered).toBe(f.deadLettered * 3);
    expect(r.links.find((l) => l.from === 'us-1' && l.to === 'eu-1')?.dataFrames).toBe(f.deadLettered);
    expect(toSummary(r)['functions']).toEqual(r.functions);
    expect(humanReport(r, s)).toMatch(/Function {2}orders\/# on us-1: [\d,]+ calls/);
  });

  it('a queue too small for a burst drops, counted; no failure, no retries', () => {
    const burst = parseScenario(
      `name: burst
duration: 1s
regions: [{ id: r, brokers: [a] }]
publishers: [{ broker: a, rate: 2000/s, arrival: constant, topic: t, size: 10B }]
subscribers: [{ broker: a, pattern: t, function: { serviceTime: 10ms, concurrency: 1, queue: 5 } }]
`,
      'burst.yaml',
    );
    const b = runScenario(burst, { measureHeap: false }).functions[0];
    expect(b?.dropped).toBeGreaterThan(1500);
    expect(b?.failed).toBe(0);
    expect(b?.retries).toBe(0);
    expect(b?.queuePeak).toBe(5);
  });

  it('a function is one subscriber: count > 1 is one line', () => {
    expect(() => parseScenario(`name: x\nduration: 1s\nregions: [{ id: r, brokers: [a] }]\nsubscribers: [{ broker: a, count: 2, pattern: t, function: { serviceTime: 1ms } }]\n`, 'f.yaml')).toThrow(
      /^f\.yaml:4:\d+: subscribers\[0\]\.function: expected a function on a population of count 1/,
    );
  });
});
