/** The pre-flight against real runs and the real codec: shape, frame limit, islands, cost. */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../engine/codec/index.ts';
import { FrameKind } from '../../engine/frames.ts';
import { toSummary } from '../../reports/summary.ts';
import { numericPaths } from '../../scenarios/expect.ts';
import { loadScenario, parseScenario } from '../../scenarios/load.ts';
import { runScenario } from '../run.ts';
import { estimateCost } from './cost.ts';
import { maxPayloadBytes } from './frame.ts';
import { preflight } from './index.ts';
import { summaryShape } from './shape.ts';

/** Row contents that depend on what happened in the run, not on the scenario. */
const volatile = (p: string) => /\.detectMs\.|^ha\.takeovers\[/.test(p);

describe('[PRE-1] summary shape', () => {
  for (const f of ['two-region-basic', 'failover/wan-split', 'failover/broker-crash-ha', 'failover/consumer-group']) {
    it(`${f}: the shape has exactly the numeric fields a real run's summary has`, () => {
      const s = loadScenario(`scenarios/${f}.yaml`);
      const real = new Set(numericPaths(toSummary(runScenario(s, { measureHeap: false }))).filter((p) => !volatile(p)));
      const shape = new Set(numericPaths(summaryShape(s)).filter((p) => !volatile(p)));
      expect([...real].filter((p) => !shape.has(p))).toEqual([]);
      expect([...shape].filter((p) => !real.has(p))).toEqual([]);
    });
  }
});

describe('[PRE-6] frame limit', () => {
  it('the largest payload the pre-flight allows encodes; one byte more does not', () => {
    const s = parseScenario('name: f\nduration: 1s\nregions:\n  - { id: r, brokers: [b] }\npublishers:\n  - { broker: b, rate: 1/s, topic: "a/{n}", size: 1B }\n', 'f.yaml');
    const max = maxPayloadBytes(s, 0);
    const frame = (n: number) => ({
      kind: FrameKind.Guaranteed,
      epoch: 0xffffffff,
      linkSeq: 0xffffffff,
      dests: ['b'],
      seqs: [0xffffffff],
      envelope: {
        id: `b-${'9'.repeat(20)}`,
        source: 'b',
        type: 'com.meshtwin.event',
        specversion: '1.0',
        topic: `a/${'x'.repeat(24)}`,
        headers: {},
        payload: new Uint8Array(n),
        publishedAtMs: 1e12,
        path: Array.from({ length: 16 }, () => 'b'),
        hopLimit: 255,
      },
    });
    expect(() => encodeFrame(frame(max) as never)).not.toThrow();
    expect(() => encodeFrame(frame(max + 1) as never)).toThrow(/exceeds/);
  });
});

describe('[PRE-2] islands', () => {
  const text = (links: string) =>
    `name: i\nduration: 1s\nregions:\n  - { id: a, brokers: [a1, a2] }\n  - { id: b, brokers: [b1] }\nlinks:\n${links}publishers:\n  - { broker: a1, rate: 1/s, topic: t, size: 1B }\nsubscribers:\n  - { region: b, pattern: t }\n`;
  it('subscribers cut off from every publisher: an error on the cut-off broker', () => {
    const r = preflight(parseScenario(text('  - { between: [a1, a2], rtt: 1ms, bandwidth: 1Gbps }\n'), 'i.yaml'), { check: false });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^i\.yaml:5:\d+: .*found broker b1 has no link to the rest of the mesh \(it has no links at all\)/);
  });
  it('an idle island (no subscribers there): a warning only', () => {
    const r = preflight(parseScenario(text('  - { between: [a1, b1], rtt: 1ms, bandwidth: 1Gbps }\n'), 'i.yaml'), { check: false });
    expect(r.errors).toEqual([]);
    expect(r.warnings[0]).toMatch(/the mesh is 2 islands with no link between them: \[a1, b1\] \[a2\]/);
  });
  it('one broker alone is a mesh, not an island', () => {
    expect(preflight(parseScenario('name: one\nduration: 1s\nregions:\n  - { id: a, brokers: [a1] }\n', 'o.yaml'), { check: false })).toMatchObject({ errors: [], warnings: [] });
  });
});

describe('[PRE-4] cost estimate against real runs', () => {
  it("--duration shorter than the scenario's estimates the shorter run; longer keeps run-to-the-end publishers going", () => {
    const s = loadScenario('scenarios/two-region-basic.yaml');
    const whole = preflight(s, { check: false }).estimate!;
    expect(preflight(s, { check: false, durationMs: s.durationMs / 5 }).estimate!.publishes).toBeCloseTo(whole.publishes / 5, 0);
    expect(preflight(s, { check: false, durationMs: s.durationMs * 2 }).estimate!.publishes).toBeCloseTo(whole.publishes * 2, 0);
  });

  for (const f of ['two-region-basic', 'slow-link', 'global-3-region-small']) {
    it(`${f}: publishes within 5%, kernel events within a factor of 2 (an upper bound where selectors filter)`, () => {
      const loaded = loadScenario(`scenarios/${f}.yaml`);
      const s = { ...loaded, durationMs: Math.min(loaded.durationMs, 5000), publishers: loaded.publishers.map((p) => ({ ...p, stopMs: Math.min(p.stopMs, 5000) })) };
      const e = estimateCost(s, false);
      const r = runScenario(s, { measureHeap: false });
      expect(e.publishes / r.messages.published).toBeGreaterThan(0.95);
      expect(e.publishes / r.messages.published).toBeLessThan(1.05);
      const ratio = e.kernelEvents / r.run.kernelEvents;
      expect(ratio, `${e.kernelEvents} estimated, ${r.run.kernelEvents} ran`).toBeGreaterThan(0.7);
      expect(ratio).toBeLessThan(2);
    });
  }
});
