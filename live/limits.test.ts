import { describe, expect, it } from 'vitest';
import { PrincipalLimits } from './limits.ts';

describe('per-principal limits [LIMIT-1][LIMIT-2]', () => {
  it('a token bucket of one second: the burst goes, then one per 1/rate, and says when to retry', () => {
    const l = new PrincipalLimits({ publishRate: 10, connections: null, principals: {} });
    for (let i = 0; i < 10; i++) expect(l.tryPublish('a', 0)).toBe(0);
    expect(l.tryPublish('a', 0)).toBe(100);
    expect(l.tryPublish('a', 50)).toBe(50);
    expect(l.tryPublish('a', 100)).toBe(0);
    expect(l.tryPublish('a', 100)).toBe(100);
    expect(l.rateLimited.get('a')).toBe(3);
    // Another principal has its own bucket.
    expect(l.tryPublish('b', 100)).toBe(0);
    // Idle time refills up to the burst, no more.
    for (let i = 0; i < 10; i++) expect(l.tryPublish('a', 60_000)).toBe(0);
    expect(l.tryPublish('a', 60_000)).toBeGreaterThan(0);
  });

  it("a principal's own entry overrides the defaults; no limit, no check", () => {
    const l = new PrincipalLimits({ publishRate: null, connections: 2, principals: { 'token:ci': { publishRate: 1, connections: 1 } } });
    for (let i = 0; i < 1000; i++) expect(l.tryPublish('anonymous', 0)).toBe(0);
    expect(l.tryPublish('token:ci', 0)).toBe(0);
    expect(l.tryPublish('token:ci', 0)).toBe(1000);
    expect(l.open('token:ci')).toBe(true);
    expect(l.open('token:ci')).toBe(false);
    expect(l.open('anonymous')).toBe(true);
    expect(l.open('anonymous')).toBe(true);
    expect(l.open('anonymous')).toBe(false);
    l.release('anonymous');
    expect(l.connections('anonymous')).toBe(1);
    expect(l.open('anonymous')).toBe(true);
    expect(l.connectionsRefused).toEqual(
      new Map([
        ['token:ci', 1],
        ['anonymous', 1],
      ]),
    );
  });
});
