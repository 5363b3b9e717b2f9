import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenarios/load.ts';
import { createRng } from './rng.ts';
import { expandPublishers, expandSubscribers } from './workload.ts';

const scenario = (headers: string) =>
  parseScenario(
    `
name: w
duration: 1s
regions:
  - { id: r, brokers: [b1, b2] }
links:
  - { between: [b1, b2], rtt: 1ms, bandwidth: 1Gbps }
publishers:
  - { region: r, rate: 1000/s, topic: "t/{broker}/{n}", size: 10B, headers: ${headers} }
subscribers:
  - { region: r, count: 7, patterns: 3, pattern: "t/{broker}/{i}" }
`,
    'w.yaml',
  );

describe('workload expansion', () => {
  it('spreads a region publisher over its brokers and renders templates', () => {
    const streams = expandPublishers(scenario('{ note: "a{{b}}", amount: "{rand:10}", vip: true }'), createRng(1));
    expect(streams.map((s) => [s.broker, s.ratePerSec])).toEqual([
      ['b1', 500],
      ['b2', 500],
    ]);
    const s = streams[1]!;
    s.n = 4;
    expect(s.topic()).toBe('t/b2/4');
    const h = s.headers();
    expect(h.note).toBe('a{b}');
    expect(h.vip).toBe(true);
    expect(typeof h.amount).toBe('number');
    expect(h.amount).toBeGreaterThanOrEqual(0);
    expect(h.amount).toBeLessThan(10);
  });

  it('constant headers are rendered once and shared', () => {
    const [s] = expandPublishers(scenario('{ note: "x{{y}}", n: 3 }'), createRng(1));
    expect(s!.headers()).toBe(s!.headers());
    expect(s!.headers()).toEqual({ note: 'x{y}', n: 3 });
  });

  it('spreads subscriber count over patterns and brokers', () => {
    const pops = expandSubscribers(scenario('{}'));
    expect(pops.map((p) => [p.broker, p.pattern, p.count])).toEqual([
      ['b1', 't/b1/0', 3],
      ['b2', 't/b2/1', 2],
      ['b1', 't/b1/2', 2],
    ]);
  });
});
