import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.ts';

describe('Pacer', () => {
  it('maps wall time to simulated time at the requested speed', () => {
    const p = new Pacer(1, 1000, 0);
    expect(p.target(1500, 400)).toBe(500);
    p.setSpeed(10, 1500, 500);
    expect(p.target(1600, 500)).toBe(1500);
  });

  it('runs flat out at speed Infinity and stands still when paused', () => {
    const p = new Pacer(Infinity, 0, 0);
    expect(p.target(10, 0)).toBe(Infinity);
    p.pause(10, 42);
    expect(p.target(5000, 42)).toBe(42);
    expect(p.measured()).toBe(0);
    p.resume(6000, 42);
    p.setSpeed(2, 6000, 42);
    expect(p.target(6100, 42)).toBe(242);
  });

  it('does not pile up debt when the simulator cannot keep up', () => {
    const p = new Pacer(10, 0, 0);
    // 10 wall seconds later the simulator has only reached 1 s simulated: pace on from there.
    expect(p.target(10_000, 1000)).toBe(1000);
    expect(p.target(10_100, 1000)).toBe(2000);
    // Behind by less than the allowed lag: the debt stands.
    expect(p.target(10_200, 1500)).toBe(3000);
    // More: forgiven again.
    expect(p.target(10_400, 1500)).toBe(1500);
  });

  it('measures how fast the simulator really ran', () => {
    const p = new Pacer(1, 0, 0);
    expect(Number.isNaN(p.measured())).toBe(true);
    for (let w = 100; w <= 4000; w += 100) p.observe(w, w * 0.13);
    expect(p.measured()).toBeCloseTo(0.13, 6);
  });

  it('rejects a speed that is not positive', () => {
    expect(() => new Pacer(0, 0, 0)).toThrow(/speed must be > 0/);
    expect(() => new Pacer(1, 0, 0).setSpeed(-1, 0, 0)).toThrow(/speed must be > 0/);
  });
});
