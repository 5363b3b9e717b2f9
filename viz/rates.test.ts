import { describe, expect, it } from 'vitest';
import { WindowedRate } from './rates.ts';

describe('WindowedRate', () => {
  it('has no rate until simulated time has passed', () => {
    const r = new WindowedRate(1, 250);
    expect(Number.isNaN(r.sample(0, [0])[0] as number)).toBe(true);
    expect(Number.isNaN(r.sample(0, [100])[0] as number)).toBe(true);
  });

  it('gives per-second rates over at least the window when the history has it', () => {
    const r = new WindowedRate(2, 250);
    r.sample(0, [0, 0]);
    // 1000 units per simulated second on the first counter, 10 on the second.
    for (let t = 50; t <= 1000; t += 50) r.sample(t, [t, t / 100]);
    const [a, b] = r.sample(1050, [1050 + 500, 1050 / 100]);
    // The window starts at t=800: (1550 - 800) / 0.25 s.
    expect(a).toBeCloseTo(3000, 6);
    expect(b).toBeCloseTo(10, 6);
  });

  it('uses the oldest sample while the history is shorter than the window', () => {
    const r = new WindowedRate(1, 250);
    r.sample(0, [0]);
    expect(r.sample(100, [50])[0]).toBeCloseTo(500, 6);
  });

  it('replaces a sample taken at the same simulated time (paused)', () => {
    const r = new WindowedRate(1, 250);
    r.sample(0, [0]);
    r.sample(500, [500]);
    expect(r.sample(500, [500])[0]).toBeCloseTo(1000, 6);
  });

  it('rejects a sample of the wrong width', () => {
    expect(() => new WindowedRate(2, 250).sample(0, [1])).toThrow(/expected 2 counters/);
  });
});
