/**
 * End-to-end properties of simulated runs: determinism, queueing theory on a slow link, and
 * "no interest, no WAN bytes".
 */
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import { runScenario } from '../sim/run.ts';

describe('determinism [TRACE-1]', () => {
  const scenario = loadScenario('scenarios/two-region-basic.yaml');

  it('same scenario and seed give the same traceHash; another seed another hash', () => {
    const a = runScenario(scenario, { seed: 42, durationMs: 2000, measureHeap: false });
    const b = runScenario(scenario, { seed: 42, durationMs: 2000, measureHeap: false });
    const c = runScenario(scenario, { seed: 43, durationMs: 2000, measureHeap: false });
    expect(a.messages.delivered).toBeGreaterThan(0);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.messages).toEqual(a.messages);
    expect(b.links).toEqual(a.links);
    expect(c.traceHash).not.toBe(a.traceHash);
  });
});

describe('codec bytes beside wire bytes', () => {
  it('codecDataBytes and codecControlBytes are the wire bytes less the modeled overhead per frame', () => {
    const scenario = loadScenario('scenarios/two-region-basic.yaml');
    const r = runScenario(scenario, { durationMs: 1000, measureHeap: false });
    const overhead = scenario.model.transportOverheadBytes;
    expect(overhead).toBeGreaterThan(0);
    const wan = r.links.filter((l) => l.wan && l.dataFrames > 0);
    expect(wan.length).toBeGreaterThan(0);
    for (const l of r.links) {
      expect(l.codecDataBytes, `${l.from}>${l.to}`).toBe(l.dataBytes - l.dataFrames * overhead);
      expect(l.codecControlBytes, `${l.from}>${l.to}`).toBe(l.controlBytes - l.controlFrames * overhead);
    }
  });
});

describe('a timed fault says how long it lasted', () => {
  it('faults[].forMs: a degrade its `for`, one without `for` null, a link-down null', () => {
    const yaml = `
name: timed
seed: 1
duration: 4s
warmup: 1s
regions:
  - { id: a, brokers: [a1] }
  - { id: b, brokers: [b1] }
links:
  - { between: [a1, b1], rtt: 20ms, bandwidth: 1Gbps }
publishers:
  - { broker: a1, rate: 100/s, topic: "t/x", size: 100B }
subscribers:
  - { broker: b1, count: 1, pattern: "t/#" }
faults:
  - { at: 1s, degrade: [a1, b1], loss: 0.1, for: 1500ms }
  - { at: 2s, link-down: [a1, b1] }
  - { at: 3s, degrade: [a1, b1], rtt: 50ms }
`;
    const r = runScenario(parseScenario(yaml, 'timed.yaml'), { measureHeap: false });
    expect(r.faults.map((f) => [f.action, f.forMs])).toEqual([
      ['degrade', 1500],
      ['link-down', null],
      ['degrade', null],
    ]);
  });
});

/** One slow WAN link, Poisson arrivals, every event wanted on the far side. */
function slowLink(ratePerSec: number, seconds: number): string {
  return `
name: md1
seed: 5
duration: ${seconds}s
warmup: 1s
regions:
  - { id: west, brokers: [w1], clientRtt: 1ms }
  - { id: east, brokers: [e1], clientRtt: 1ms }
links:
  - { between: [w1, e1], rtt: 40ms, bandwidth: 5Mbps }
publishers:
  - { broker: w1, rate: ${ratePerSec}/s, arrival: poisson, topic: "q/x", size: 500B }
subscribers:
  - { broker: e1, count: 1, pattern: "q/#" }
`;
}

describe('a Poisson stream over one slow link queues as M/D/1 predicts', () => {
  for (const rate of [470, 660]) {
    it(`λ = ${rate}/s`, () => {
      const r = runScenario(parseScenario(slowLink(rate, 120), 'md1.yaml'), { measureHeap: false });
      const link = r.links.find((l) => l.from === 'w1' && l.to === 'e1');
      if (link === undefined) throw new Error('no link w1>e1');
      // Service time D from the bytes the codec actually produced (ids grow by a digit or two,
      // so sizes vary by < 1%: M/D/1 in all but name).
      const wireBytes = link.dataBytes / link.dataFrames;
      const serviceMs = (wireBytes * 8 * 1000) / link.bandwidthBps;
      const lambdaPerMs = r.messages.published / (r.simulatedSeconds * 1000);
      const rho = lambdaPerMs * serviceMs;
      expect(rho).toBeGreaterThan(0.4);
      expect(rho).toBeLessThan(0.8);
      // Pollaczek–Khinchine for deterministic service: Wq = ρ·D / (2(1 − ρ)).
      const wq = (rho * serviceMs) / (2 * (1 - rho));
      expect(link.queueWaitMsMean).toBeGreaterThan(wq * 0.9);
      expect(link.queueWaitMsMean).toBeLessThan(wq * 1.1);
      // End to end: client hop + queue wait + serialization + one-way propagation + client hop.
      const expected = 0.5 + wq + serviceMs + 20 + 0.5;
      expect(r.latencyMs.crossRegion.mean).toBeGreaterThan(expected - wq * 0.1);
      expect(r.latencyMs.crossRegion.mean).toBeLessThan(expected + wq * 0.1);
      expect(r.messages.dropped).toBe(0);
    });
  }
});

describe('no interest, no WAN bytes [FWD-2]', () => {
  const base = (subscribers: string) => `
name: quiet-wan
duration: 2s
warmup: 1s
regions:
  - { id: a, brokers: [a1, a2] }
  - { id: b, brokers: [b1] }
  - { id: c, brokers: [c1] }
links:
  - { between: [a1, a2], rtt: 0.5ms, bandwidth: 10Gbps }
  - { between: [a1, b1], rtt: 70ms, bandwidth: 1Gbps }
  - { between: [b1, c1], rtt: 120ms, bandwidth: 1Gbps }
  - { between: [a2, c1], rtt: 180ms, bandwidth: 1Gbps }
publishers:
  - { region: a, rate: 5000/s, topic: "orders/a/{rand:100}", size: 500B, headers: { amountCents: "{rand:10000}" } }
subscribers:
  - { region: a, count: 3, pattern: "orders/a/#" }
${subscribers}
`;

  it('a publisher whose events nobody remote wants sends no data on any WAN link', () => {
    const yaml = base(`  - { region: b, count: 5, pattern: "orders/b/#" }\n  - { region: c, count: 5, pattern: "payments/#" }`);
    const r = runScenario(parseScenario(yaml, 'quiet.yaml'), { measureHeap: false });
    expect(r.messages.published).toBeGreaterThan(5000);
    expect(r.latencyMs.local.count).toBeGreaterThan(0);
    const wan = r.links.filter((l) => l.wan);
    expect(wan).toHaveLength(6);
    for (const l of wan) {
      expect(l.dataBytes, `${l.from}>${l.to}`).toBe(0);
      expect(l.controlBytes + l.warmupBytes, `${l.from}>${l.to} still carries hellos`).toBeGreaterThan(0);
    }
  });

  it('a remote selector no event passes keeps every event home; one that passes some sends only those', () => {
    const none = runScenario(parseScenario(base(`  - { region: c, count: 1, pattern: "orders/#", filter: "amountCents >= 10000" }`), 'f.yaml'), { measureHeap: false });
    for (const l of none.links.filter((x) => x.wan)) expect(l.dataBytes).toBe(0);
    expect(none.latencyMs.crossRegion.count).toBe(0);

    const some = runScenario(parseScenario(base(`  - { region: c, count: 1, pattern: "orders/#", filter: "amountCents >= 9000" }`), 'f.yaml'), { measureHeap: false });
    const frames = some.links.filter((x) => x.wan).reduce((a, l) => a + l.dataFrames, 0);
    // About 10% of events qualify; each crosses one WAN link (a2 → c1).
    expect(frames / some.messages.published).toBeGreaterThan(0.08);
    expect(frames / some.messages.published).toBeLessThan(0.12);
    // Every delivery crossed the WAN; frames still on the 90 ms wire at the end are not delivered.
    expect(some.latencyMs.crossRegion.count).toBeLessThanOrEqual(frames);
    expect(some.latencyMs.crossRegion.count).toBeGreaterThan(frames * 0.85);
  });
});

describe('a link cut mid-run: the mesh routes around it (US → EU → AP)', () => {
  const yaml = (faults: string) => `
name: cut
duration: 6s
warmup: 1s
routing: { helloInterval: 100ms, deadInterval: 400ms }
regions:
  - { id: us, brokers: [us-1, us-2] }
  - { id: eu, brokers: [eu-1] }
  - { id: ap, brokers: [ap-1] }
links:
  - { between: [us-1, us-2], rtt: 0.5ms, bandwidth: 10Gbps }
  - { between: [us-1, eu-1], rtt: 70ms, bandwidth: 1Gbps }
  - { between: [eu-1, ap-1], rtt: 120ms, bandwidth: 1Gbps }
  - { between: [us-2, ap-1], rtt: 180ms, bandwidth: 1Gbps }
publishers:
  - { broker: us-1, rate: 2000/s, arrival: constant, topic: "orders/ap/{n}", size: 200B }
subscribers:
  - { broker: ap-1, count: 1, pattern: "orders/ap/#" }
${faults}
`;
  const dir = (r: ReturnType<typeof runScenario>, from: string, to: string) => r.links.find((l) => l.from === from && l.to === to)!;

  it('before the cut traffic takes us-2 → ap-1; after it, us-1 → eu-1 → ap-1, and deliveries resume', () => {
    const calm = runScenario(parseScenario(yaml(''), 'cut.yaml'), { measureHeap: false });
    expect(dir(calm, 'us-1', 'eu-1').dataFrames).toBe(0);
    expect(dir(calm, 'us-2', 'ap-1').dataFrames).toBe(calm.messages.published);

    const cut = runScenario(parseScenario(yaml('faults:\n  - { at: 2s, link-down: [us-2, ap-1] }'), 'cut.yaml'), { measureHeap: false });
    expect(dir(cut, 'eu-1', 'ap-1').dataFrames).toBeGreaterThan(5000); // ~3.5 s × 2000/s rerouted
    expect(cut.drops.linkDown).toBeGreaterThan(0); // on the wire when cut, or sent before the dead interval passed
    const us1 = cut.brokers.find((b) => b.id === 'us-1')!;
    expect(Object.fromEntries(us1.routes)['ap-1']).toBe('eu-1');
    expect(cut.timeline.some((e) => e.type === 'neighbor-down' && e.broker === 'us-2')).toBe(true);
    // Deliveries continue: everything but the cut-over window (≈ dead interval + flooding) arrives.
    const lost = calm.latencyMs.crossRegion.count - cut.latencyMs.crossRegion.count;
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(2000 * 1.0); // < 1 s of traffic
  });
});

describe('--duration past the scenario own duration', () => {
  it('publishers that run to the end keep running to the end of the longer run', () => {
    const scenario = loadScenario('scenarios/two-region-basic.yaml');
    const r = runScenario(scenario, { durationMs: scenario.durationMs * 2, measureHeap: false, check: false });
    const own = runScenario(scenario, { measureHeap: false, check: false });
    expect(r.simulatedSeconds).toBe(own.simulatedSeconds * 2);
    // Same publish rate over twice the time: about twice the events (Poisson arrivals).
    expect(r.messages.published / own.messages.published).toBeGreaterThan(1.9);
    expect(r.messages.published / own.messages.published).toBeLessThan(2.1);
  });
});
