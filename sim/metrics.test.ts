import { describe, expect, it } from 'vitest';
import { DuplicateDetector, LatencyRecorder, TraceDigest } from './metrics.ts';

describe('DuplicateDetector', () => {
  it('one arriving copy delivered to several populations is not a duplicate; a second copy is', () => {
    const d = new DuplicateDetector(2, 1000, 0);
    const copy1 = 1;
    d.seen(10, 0, 'e1', copy1, 5);
    d.seen(10, 0, 'e1', copy1, 3);
    expect(d.duplicates).toBe(0);
    d.seen(20, 0, 'e1', 3, 4);
    expect(d.duplicates).toBe(4);
    d.seen(20, 1, 'e1', 4, 2); // another broker: its first copy
    expect(d.duplicates).toBe(4);
  });

  it('remembers for at least the window, then forgets', () => {
    const d = new DuplicateDetector(1, 1000, 0);
    d.seen(900, 0, 'e1', 5, 1);
    d.seen(1500, 0, 'e1', 6, 1); // rotated once: still in the previous generation
    expect(d.duplicates).toBe(1);
    d.seen(5000, 0, 'x', 7, 1);
    d.seen(7000, 0, 'y', 8, 1);
    d.seen(7001, 0, 'e1', 9, 1);
    expect(d.duplicates).toBe(1);
  });
});

describe('LatencyRecorder and TraceDigest', () => {
  it('weights by count and never reports a percentile above the maximum', () => {
    const r = new LatencyRecorder();
    r.record(1, 99);
    r.record(37.005, 1);
    const b = r.block();
    expect(b.count).toBe(100);
    expect(b.p50).toBe(1);
    expect(b.max).toBeCloseTo(37.005, 2);
    expect(b.p999).toBeLessThanOrEqual(b.max);
  });

  it('the digest depends on order', () => {
    const a = new TraceDigest();
    const b = new TraceDigest();
    a.add(1, 1, 0, 1);
    a.add(2, 2, 0, 1);
    b.add(2, 2, 0, 1);
    b.add(1, 1, 0, 1);
    expect(a.hex()).not.toBe(b.hex());
  });
});
