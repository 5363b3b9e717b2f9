import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from './rng.ts';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.next());

describe('createRng', () => {
  it('[RNG-1] same seed, same sequence (number or string seed)', () => {
    expect(draw(createRng(42), 100)).toEqual(draw(createRng(42), 100));
    expect(draw(createRng('abc'), 100)).toEqual(draw(createRng('abc'), 100));
    expect(draw(createRng(42), 10)).toEqual(draw(createRng('42'), 10));
  });

  it('[RNG-1] different seeds, different sequences', () => {
    expect(draw(createRng(1), 10)).not.toEqual(draw(createRng(2), 10));
    expect(draw(createRng(0), 10)).not.toEqual(draw(createRng(-0.5), 10));
  });

  it('next() is in [0, 1)', () => {
    const r = createRng(7);
    let bad = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('[RNG-1] forks are deterministic, independent of draws from the parent, distinct by label', () => {
    const a = createRng(42);
    const b = createRng(42);
    draw(b, 1000); // advancing the parent does not change its forks
    expect(draw(a.fork('links'), 50)).toEqual(draw(b.fork('links'), 50));
    expect(draw(a.fork('links').fork('us-1'), 50)).toEqual(draw(b.fork('links').fork('us-1'), 50));

    const streams = [
      draw(a, 20),
      draw(a.fork('links'), 20),
      draw(a.fork('linkt'), 20),
      draw(a.fork('links').fork('x'), 20),
      draw(a.fork('links/x'), 20), // not the same path as fork('links').fork('x')
      draw(createRng('42/links'), 20),
      draw(createRng(43).fork('links'), 20),
    ];
    const keys = new Set(streams.map((s) => s.join(',')));
    expect(keys.size).toBe(streams.length);
  });

  it('forked streams are not correlated with each other', () => {
    const root = createRng(9);
    const x = draw(root.fork('a'), 20_000);
    const y = draw(root.fork('b'), 20_000);
    const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
    const mx = mean(x);
    const my = mean(y);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += (x[i]! - mx) * (y[i]! - my);
      sxx += (x[i]! - mx) ** 2;
      syy += (y[i]! - my) ** 2;
    }
    // |r| of independent samples has sd 1/sqrt(n) ≈ 0.007; 0.04 is > 5 sd.
    expect(Math.abs(sxy / Math.sqrt(sxx * syy))).toBeLessThan(0.04);
  });

  it('exp(mean) has the right mean over 100k draws', () => {
    for (const mean of [1, 0.25, 70]) {
      const r = createRng(`exp-${mean}`);
      const n = 100_000;
      let sum = 0;
      let negative = 0;
      for (let i = 0; i < n; i++) {
        const x = r.exp(mean);
        if (!(x >= 0)) negative++;
        sum += x;
      }
      expect(negative).toBe(0);
      // The sample mean has sd mean/sqrt(n) ≈ 0.0032·mean; allow 5 sd.
      expect(Math.abs(sum / n - mean)).toBeLessThan(5 * (mean / Math.sqrt(n)));
    }
  });

  it('normal(mean, sd) has the right mean and sd', () => {
    const r = createRng(3);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal(10, 2);
      sum += x;
      sq += x * x;
    }
    const m = sum / n;
    const sd = Math.sqrt(sq / n - m * m);
    expect(Math.abs(m - 10)).toBeLessThan(5 * (2 / Math.sqrt(n)));
    expect(Math.abs(sd - 2)).toBeLessThan(0.05);
  });

  it('int(n) stays in 0..n-1 and hits every value', () => {
    const r = createRng(5);
    for (const n of [1, 2, 3, 10, 1000]) {
      const seen = new Set<number>();
      let bad = 0;
      for (let i = 0; i < Math.max(1000, n * 20); i++) {
        const v = r.int(n);
        if (!(Number.isInteger(v) && v >= 0 && v < n)) bad++;
        seen.add(v);
      }
      expect(bad).toBe(0);
      expect(seen.size).toBe(n);
    }
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(2.5)).toThrow(RangeError);
  });
});
