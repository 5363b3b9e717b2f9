/**
 * [MQTT-DENY-1] Filter intersection, checked against the reference matcher: two filters
 * intersect exactly when some topic matches both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../engine/topic.ts';
import { filtersIntersect } from './filters.ts';

describe('[MQTT-DENY-1] filtersIntersect', () => {
  it.each([
    ['#', 'secret/#', true],
    ['secret/#', 'secret', true],
    ['sensors/+', 'secret/#', false],
    ['+/x', 'a/+', true],
    ['a/b', 'a/b/c', false],
    ['a/+', 'a/b/c', false],
    ['#', '$SYS/#', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker', true],
    ['a//b', 'a/+/b', true],
  ])('%s and %s: %s', (a, b, want) => {
    expect(filtersIntersect(a, b)).toBe(want);
    expect(filtersIntersect(b, a)).toBe(want);
  });

  it('agrees with the reference matcher on small filters and every topic they could match', () => {
    const filter = fc.tuple(fc.array(fc.constantFrom('a', 'b', '$s', '', '+'), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ls, hash]) => (hash ? [...ls, '#'] : ls).join('/'));
    const topics: string[] = [];
    const all = ['a', 'b', '$s', ''];
    const grow = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) topics.push(prefix.join('/'));
      if (depth === 0) return;
      for (const l of all) grow([...prefix, l], depth - 1);
    };
    grow([], 5);
    fc.assert(
      fc.property(filter, filter, (x, y) => {
        const some = topics.some((t) => matchesPattern(x, t) && matchesPattern(y, t));
        expect(filtersIntersect(x, y)).toBe(some);
      }),
      { numRuns: 400 },
    );
  });
});
