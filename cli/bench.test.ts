import { describe, expect, it } from 'vitest';
import { trieVerdict } from './bench.ts';

describe('bench: the trie target applies at its own size only', () => {
  it('is n/a below 500,000 patterns (bench --quick builds 50,000), whatever the median', () => {
    for (const ns of [100, 5000]) {
      const v = trieVerdict(50_000, ns);
      expect(v.met).toBeNull();
      expect(v.text).toBe('n/a at 50,000 patterns: the target, < 2000 ns, is for 500,000');
      expect(v.text).not.toMatch(/NOT met/);
    }
  });

  it('is met or not met at 500,000 patterns and more', () => {
    expect(trieVerdict(500_000, 1847)).toEqual({ met: true, text: 'target < 2000 ns at 500,000 patterns: met' });
    expect(trieVerdict(600_000, 2500)).toEqual({ met: false, text: 'target < 2000 ns at 500,000 patterns: NOT met' });
  });
});
