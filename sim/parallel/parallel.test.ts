/**
 * [PAR-1..4] The mesh split over worker threads gives the report one thread gives: every
 * deterministic figure, the series, the timeline and the traceHash, for any number of threads.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toSummary } from '../../reports/summary.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { type RunResult, runScenario } from '../run.ts';
import { parallelBlocker, partition } from './partition.ts';
import { planParallel, runParallel } from './run.ts';

/** Everything a run reports except wall-clock figures (run.*, sampled wall times). */
function deterministic(r: RunResult): unknown {
  const s = toSummary(r) as Record<string, unknown>;
  const { run: _run, decisionUs: _d, ...rest } = s;
  const schemas = { ...(rest.schemas as Record<string, unknown>), validationUs: null };
  return { ...rest, schemas, series: r.series, timeline: r.timeline };
}

/** A scenario file; `unchecked`: without its expect: lines (those that need the invariant checker keep a run on one thread). */
function load(file: string, unchecked = false) {
  const text = readFileSync(file, 'utf8');
  const scenario = parseScenario(text, file);
  return { text, file, scenario: unchecked ? { ...scenario, expect: [] } : scenario };
}

describe('parallel runs (--workers)', () => {
  for (const [file, workers] of [
    ['scenarios/global-3-region-small.yaml', [2, 3]],
    ['scenarios/acl-policy.yaml', [2]],
    ['scenarios/schema-registry.yaml', [2]],
    ['scenarios/slow-link.yaml', [2]],
    ['scenarios/two-region-basic.yaml', [2]],
  ] as const) {
    it(`[PAR-3] ${file}: the same figures, series, timeline and traceHash on ${workers.join(' and ')} threads as on one`, async () => {
      const job = load(file, true);
      const durationMs = 1500;
      const one = runScenario(job.scenario, { durationMs, measureHeap: false, check: false });
      expect(one.messages.delivered).toBeGreaterThan(0);
      for (const w of workers) {
        const par = await runParallel({ ...job, workers: w, durationMs, measureHeap: false });
        expect(par.run.threads).toBe(Math.min(w, job.scenario.regions.flatMap((r) => r.brokers).length));
        expect(par.run.windows).toBeGreaterThan(1);
        expect(par.traceHash).toBe(one.traceHash);
        expect(par.run.kernelEvents).toBe(one.run.kernelEvents);
        expect(deterministic(par)).toEqual(deterministic(one));
      }
    });
  }

  it('[PAR-3] a run where links lose frames (drops counted at the sender, worth read at the receiver) adds up the same', async () => {
    const job = load('scenarios/global-3-region-small.yaml');
    const text = job.text.replace(/bandwidth: (\w+)/g, 'bandwidth: $1, loss: 0.02');
    expect(text).not.toBe(job.text);
    const scenario = parseScenario(text, job.file);
    const one = runScenario(scenario, { durationMs: 1000, measureHeap: false });
    expect(one.drops.linkLoss).toBeGreaterThan(0);
    const par = await runParallel({ text, file: job.file, scenario, workers: 2, durationMs: 1000, measureHeap: false });
    expect(deterministic(par)).toEqual(deterministic(one));
    expect(par.messages.unaccounted).toBe(0);
  });

  for (const [file, workers] of [
    ['scenarios/notified-cut.yaml', [2, 3]],
    ['scenarios/failover/slow-consumer.yaml', [2]],
    ['scenarios/failover/wan-split.yaml', [2, 3]],
    ['scenarios/failover/wan-retries.yaml', [2]],
    ['scenarios/failover/consumer-group.yaml', [2]],
  ] as const) {
    it(`[PAR-3] ${file} (unchecked): the same report, fault and custody figures included, on ${workers.join(' and ')} threads as on one`, async () => {
      const job = load(file, true);
      const one = runScenario(job.scenario, { measureHeap: false, check: false });
      expect(one.messages.delivered).toBeGreaterThan(0);
      for (const w of workers) {
        const par = await runParallel({ ...job, workers: w, measureHeap: false });
        expect(par.traceHash).toBe(one.traceHash);
        expect(deterministic(par)).toEqual(deterministic(one));
      }
    });
  }

  it('[PAR-2] frames on a link cut between threads are lost as on one thread; partitions, heals and a shorter RTT (the lookahead with it) too', async () => {
    const job = load('scenarios/global-3-region-small.yaml');
    expect(job.text).not.toMatch(/^faults:/m);
    const text = `${job.text.replace(/^expect:[\s\S]*$/m, '')}
faults:
  - { at: 300ms, link-down: [us-1, eu-1] }
  - { at: 700ms, link-up: [us-1, eu-1], detect: notified }
  - { at: 1s, partition: [ap-southeast-1] }
  - { at: 1400ms, heal: [ap-southeast-1] }
  - { at: 1600ms, degrade: [us-1, eu-1], rtt: 20ms, loss: 0.05, for: 500ms }
`;
    const scenario = parseScenario(text, job.file);
    expect(planParallel(scenario, 2).lookaheadMs).toBe(10);
    const one = runScenario(scenario, { durationMs: 2500, measureHeap: false, check: false });
    expect(one.drops.linkDown).toBeGreaterThan(0);
    expect(one.faults.map((f) => f.action)).toEqual(['link-down', 'link-up', 'partition', 'heal', 'degrade']);
    for (const w of [2, 4]) {
      const par = await runParallel({ text, file: job.file, scenario, workers: w, durationMs: 2500, measureHeap: false });
      expect(par.traceHash).toBe(one.traceHash);
      expect(deterministic(par)).toEqual(deterministic(one));
      expect(par.messages.unaccounted).toBe(0);
    }
  });

  it('[PAR-1] regions stay whole while there are enough of them; the lookahead is the shortest one-way delay between threads', () => {
    const { scenario } = load('scenarios/seed-global-3-region.yaml');
    const two = partition(scenario, 2);
    expect(two.workers).toBe(2);
    const group = (t: number) => two.brokers.filter((_, i) => two.owner[i] === t);
    expect([group(0), group(1)].map((g) => g.join(',')).sort()).toEqual(['eu-1,ap-1', 'us-1,us-2'].sort());
    expect(two.lookaheadMs).toBe(35);
    expect(two.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1_000_000, 0);
    const four = partition(scenario, 4);
    expect(new Set(four.owner).size).toBe(4);
    expect(four.lookaheadMs).toBe(0.25);
    // More threads than brokers: one broker each.
    expect(partition(scenario, 16).workers).toBe(4);
  });

  it('[PAR-4] what a parallel run cannot model yet is refused in one line, naming why', () => {
    expect(parallelBlocker(load('scenarios/global-3-region-small.yaml').scenario)).toBeNull();
    expect(parallelBlocker(load('scenarios/notified-cut.yaml', true).scenario)).toBeNull();
    expect(parallelBlocker(load('scenarios/notified-cut.yaml').scenario)).toMatch(/invariant checker/);
    expect(parallelBlocker(load('scenarios/function-subscriptions.yaml').scenario)).toMatch(/function subscriptions|guaranteed/);
    expect(parallelBlocker(load('scenarios/failover/broker-crash-ha.yaml', true).scenario)).toMatch(/^faults\[\d+\] is a (crash|restart)|HA pairs/);
    expect(() => planParallel(load('scenarios/notified-cut.yaml').scenario, 2)).toThrow(/^--workers 2: notified-cut: its expect: lines read the invariant checker's figures/);
  });
});
