/** [ETA-1] The progress bar's ETA: the recent simulated-time rate, stable and honest. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtaEstimator, etaText } from './eta.ts';

describe('[ETA-1] EtaEstimator', () => {
  it('no ETA before the window spans 2 s of wall time, or while simulated time stands still', () => {
    const e = new EtaEstimator();
    e.sample(0, 0);
    e.sample(1000, 100);
    expect(e.etaMs(10_000)).toBeUndefined();
    const still = new EtaEstimator();
    still.sample(0, 500);
    still.sample(5000, 500);
    expect(still.etaMs(10_000)).toBeUndefined();
  });

  it('a constant rate gives the exact time left', () => {
    const e = new EtaEstimator();
    for (let w = 0; w <= 30_000; w += 500) e.sample(w, w * 0.1); // 0.1 simulated ms per wall ms
    // 3,000 ms simulated of 10,000: 7,000 left at 0.1 → 70 s.
    expect(e.etaMs(10_000)).toBeCloseTo(70_000, 6);
  });

  it('a slow warm-up does not hold the ETA up once the run is at speed (the window forgets it)', () => {
    const e = new EtaEstimator();
    let sim = 0;
    for (let w = 0; w <= 60_000; w += 500) {
      sim += w < 20_000 ? 5 : 50; // 0.01 ms/ms for 20 s, then 0.1 ms/ms
      e.sample(w, sim);
    }
    const left = 100_000 - sim;
    // The average since the start would say left / (sim / 60 s); the window says left / 0.1.
    expect(e.etaMs(100_000)).toBeCloseTo(left / 0.1, 0);
    expect(e.etaMs(100_000)!).toBeLessThan(left / (sim / 60_000));
  });

  it('property: at a steady rate with jitter in when samples arrive, the ETA counts down with wall time (±10%)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 100, noNaN: true }), fc.array(fc.integer({ min: 50, max: 2000 }), { minLength: 60, maxLength: 200 }), (rate, gaps) => {
        const e = new EtaEstimator();
        let w = 0;
        const end = rate * gaps.reduce((a, b) => a + b, 0) * 2;
        let prev: { w: number; eta: number } | undefined;
        for (const g of gaps) {
          w += g;
          e.sample(w, w * rate);
          const eta = e.etaMs(end);
          if (eta === undefined) continue;
          expect(eta).toBeCloseTo((end - w * rate) / rate, 3);
          if (prev !== undefined) expect(Math.abs(prev.eta - (w - prev.w) - eta)).toBeLessThanOrEqual(0.1 * prev.eta + 1);
          prev = { w, eta };
        }
        expect(prev).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });

  it('samples out of order or repeated are ignored', () => {
    const e = new EtaEstimator();
    e.sample(0, 0);
    e.sample(4000, 400);
    e.sample(3000, 999);
    e.sample(4000, 999);
    expect(e.rate()).toBeCloseTo(0.1, 9);
  });
});

describe('etaText', () => {
  it('reads as a person says it', () => {
    expect(etaText(undefined)).toBe('…');
    expect(etaText(42_000)).toBe('42s');
    expect(etaText(185_000)).toBe('3m 05s');
    expect(etaText(3_720_000)).toBe('1h 02m');
    expect(etaText(Infinity)).toBe('…');
  });
});
