/**
 * [OBS-2] FastHistogram renders what prom-client's Histogram renders for the same observations.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.ts';

describe('[OBS-2] FastHistogram', () => {
  it("matches prom-client's Histogram text, bucket edges included", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const a = new Registry();
    const b = new Registry();
    const fast = new FastHistogram('t_seconds', 'help', buckets, [{ k: 'x' }, { k: 'y' }], a);
    const slow = new Histogram({ name: 't_seconds', help: 'help', labelNames: ['k'], buckets, registers: [b] });
    const obs: Array<[number, number]> = [
      [0, 0.0005],
      [0, 0.001],
      [0, 0.05],
      [1, 0.5],
      [1, 3],
      [0, 1],
    ];
    for (const [c, v] of obs) {
      fast.observe(c, v);
      slow.observe({ k: c === 0 ? 'x' : 'y' }, v);
    }
    expect(await a.metrics()).toBe(await b.metrics());
  });
});
