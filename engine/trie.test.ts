import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePatterns, makeTopics, mulberry32 } from '../sim/bench/trie-fixtures.ts';
import { matchesPattern, validatePattern, validateTopic } from './topic.ts';
import { levelHash, SubscriptionTrie } from './trie.ts';
import { UsageError } from './types.ts';

const EMPTY_BYTES = new SubscriptionTrie<number>().bytes;

function matchAll<V>(trie: SubscriptionTrie<V>, topic: string): V[] {
  const out: V[] = [];
  const n = trie.match(topic, out);
  expect(n).toBe(out.length);
  return out;
}

/** Two distinct level strings with the same level hash (found by a birthday search). */
function collidingLevels(): [string, string] {
  const known: [string, string] = ['k4uzx', 'kf2ad'];
  if (levelHash(known[0]) === levelHash(known[1])) return known;
  // The hash function changed: search again (about a second).
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = 'k' + i.toString(36);
    const h = levelHash(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

describe('SubscriptionTrie basics', () => {
  it('starts empty', () => {
    const t = new SubscriptionTrie<number>();
    expect(t.patternCount).toBe(0);
    expect(t.entryCount).toBe(0);
    expect(t.bytes).toBe(EMPTY_BYTES);
    expect([...t.entries()]).toEqual([]);
    expect(t.hasMatch('a')).toBe(false);
    expect(matchAll(t, 'a')).toEqual([]);
  });

  it('rejects invalid patterns with a UsageError naming the reason', () => {
    const t = new SubscriptionTrie<number>();
    for (const p of ['', 'a/#/b', 'a+', 'a#', 'x\u0000']) {
      expect(() => t.add(p, 1)).toThrow(UsageError);
    }
    expect(() => t.add('a/#/b', 1)).toThrow("'#' must be the last level");
    expect(t.entryCount).toBe(0);
    expect(t.bytes).toBe(EMPTY_BYTES);
  });

  it('adds, dedups by ===, removes and reports counts', () => {
    const t = new SubscriptionTrie<object>();
    const a = { id: 'a' };
    const b = { id: 'b' };
    expect(t.add('x/+', a)).toBe(true);
    expect(t.add('x/+', a)).toBe(false);
    expect(t.add('x/+', { id: 'a' })).toBe(true); // a different object
    expect(t.add('x/y', b)).toBe(true);
    expect(t.patternCount).toBe(2);
    expect(t.entryCount).toBe(3);
    expect(t.remove('x/+', b)).toBe(false);
    expect(t.remove('x/z', a)).toBe(false);
    expect(t.remove('x/+', a)).toBe(true);
    expect(t.remove('x/+', a)).toBe(false);
    expect(t.entryCount).toBe(2);
    expect(t.patternCount).toBe(2);
  });

  it('match appends to out without clearing it and counts its own pushes', () => {
    const t = new SubscriptionTrie<string>();
    t.add('a/#', 'h');
    t.add('a/+', 'p');
    t.add('a/b', 'e');
    const out = ['old'];
    expect(t.match('a/b', out)).toBe(3);
    expect(out.slice(1).sort()).toEqual(['e', 'h', 'p']);
    expect(out[0]).toBe('old');
  });

  it('get returns the values under exactly that pattern', () => {
    const t = new SubscriptionTrie<number>();
    t.add('a/+', 1);
    t.add('a/+', 2);
    t.add('a/b', 3);
    expect(t.get('a/+')).toEqual([1, 2]);
    expect(t.get('a/b')).toEqual([3]);
    expect(t.get('a')).toBeUndefined(); // an interior node, no values
    expect(t.get('a/c')).toBeUndefined();
    expect(t.get('a/#')).toBeUndefined();
    const snapshot = t.get('a/+');
    t.add('a/+', 9);
    t.remove('a/+', 1);
    expect(snapshot).toEqual([1, 2]); // not changed under the caller's feet
  });

  it('keeps many values under one pattern (array, then Set, then array again)', () => {
    const t = new SubscriptionTrie<number>();
    for (let i = 0; i < 100; i++) expect(t.add('fan/#', i)).toBe(true);
    expect(t.add('fan/#', 50)).toBe(false);
    expect(t.entryCount).toBe(100);
    expect(t.patternCount).toBe(1);
    expect(matchAll(t, 'fan/x')).toEqual([...Array(100).keys()]);
    for (let i = 0; i < 100; i += 2) expect(t.remove('fan/#', i)).toBe(true);
    expect(t.get('fan/#')).toEqual([...Array(50).keys()].map((i) => 2 * i + 1));
    for (let i = 1; i < 97; i += 2) t.remove('fan/#', i);
    expect(t.get('fan/#')).toEqual([97, 99]);
    expect(matchAll(t, 'fan')).toEqual([97, 99]);
    t.remove('fan/#', 97);
    t.remove('fan/#', 99);
    expect(t.bytes).toBe(EMPTY_BYTES);
    expect(t.entryCount).toBe(0);
  });

  it('stores undefined and null values like any other', () => {
    const t = new SubscriptionTrie<undefined | null>();
    expect(t.add('a', undefined)).toBe(true);
    expect(t.add('a', null)).toBe(true);
    expect(t.add('a', undefined)).toBe(false);
    expect(matchAll(t, 'a')).toEqual([undefined, null]);
    expect(t.remove('a', undefined)).toBe(true);
    expect(t.get('a')).toEqual([null]);
  });

  it('handles topics with many levels', () => {
    const t = new SubscriptionTrie<number>();
    const deep = Array.from({ length: 100 }, (_, i) => `l${i}`).join('/');
    t.add(deep, 1);
    t.add(deep.replace('l50', '+'), 2);
    t.add('l0/#', 3);
    expect(matchAll(t, deep).sort()).toEqual([1, 2, 3]);
    expect(t.hasMatch(deep.replace('l99', 'x'))).toBe(true); // via l0/#
    t.remove('l0/#', 3);
    expect(t.hasMatch(deep.replace('l99', 'x'))).toBe(false);
  });

  it('files colliding level hashes side by side', () => {
    const [k1, k2] = collidingLevels();
    expect(k1).not.toBe(k2);
    expect(levelHash(k1)).toBe(levelHash(k2));
    const t = new SubscriptionTrie<string>();
    const pats = [k1, k2, `${k1}/x`, `${k2}/x`, `r/${k1}`, `r/${k2}`, `r/${k1}/y`, 'r/other', `r/${k2}/#`];
    for (const p of pats) t.add(p, p);
    for (const topic of [k1, k2, `${k1}/x`, `${k2}/x`, `r/${k1}`, `r/${k2}`, `r/${k1}/y`, `r/${k2}/y`, 'r/other']) {
      expect(matchAll(t, topic).sort(), topic).toEqual(pats.filter((p) => matchesPattern(p, topic)).sort());
    }
    for (const p of pats) expect(t.get(p)).toEqual([p]);
    for (const p of [...pats].reverse()) expect(t.remove(p, p)).toBe(true);
    expect(t.bytes).toBe(EMPTY_BYTES);
  });
});

describe('entries', () => {
  it('lists every pair, deterministically', () => {
    const build = (): SubscriptionTrie<number> => {
      const t = new SubscriptionTrie<number>();
      const pats = ['b/x', 'a/#', 'a/+', 'a', 'b/x', 'c/+/d', '#', 'a/b', 'b/y'];
      pats.forEach((p, i) => t.add(p, i));
      t.add('a', 100);
      t.remove('b/y', 8);
      return t;
    };
    const e1 = [...build().entries()];
    expect(e1).toEqual([...build().entries()]);
    expect(e1).toEqual([
      ['b/x', 0],
      ['b/x', 4],
      ['a', 3],
      ['a', 100],
      ['a/b', 7],
      ['a/+', 2],
      ['a/#', 1],
      ['c/+/d', 5],
      ['#', 6],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests against the reference matcher.

const LEVELS = ['', 'a', 'b', '$x', 'a$', 'long-level-name-x'];
const patternArb = fc
  .tuple(fc.array(fc.constantFrom(...LEVELS, '+'), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([levels, hash]) => levels.length > 0 || hash)
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((p) => p !== '');
const topicArb = fc
  .array(fc.constantFrom(...LEVELS, 'c'), { minLength: 1, maxLength: 5 })
  .map((levels) => levels.join('/'))
  .filter((t) => validateTopic(t) === null);

describe('SubscriptionTrie agrees with matchesPattern (property)', () => {
  it('generators make valid patterns', () => {
    fc.assert(fc.property(patternArb, (p) => validatePattern(p) === null));
  });

  it('match returns exactly the values whose pattern matches', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(patternArb, fc.integer({ min: 0, max: 12 })), { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 20 }), (pairs, topics) => {
        const t = new SubscriptionTrie<number>();
        const model = new Map<string, Set<number>>();
        for (const [p, v] of pairs) {
          const set = model.get(p) ?? new Set<number>();
          expect(t.add(p, v)).toBe(!set.has(v));
          set.add(v);
          model.set(p, set);
        }
        for (const topic of topics) {
          const expected: string[] = [];
          for (const [p, vs] of model) if (matchesPattern(p, topic)) for (const v of vs) expected.push(`${p} ${v}`);
          const got: number[] = [];
          const n = t.match(topic, got);
          expect(n).toBe(got.length);
          expect(got.length).toBe(expected.length);
          expect(t.hasMatch(topic)).toBe(expected.length > 0);
          // values alone can repeat across patterns: compare as multisets of value
          const bag = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
          expect(bag(got)).toEqual(bag(expected.map((e) => Number(e.split(' ')[1]))));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with (pattern, value) pairs as values, match is exactly the oracle set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(patternArb, { maxLength: 40 }), fc.array(topicArb, { maxLength: 20 }), (pats, topics) => {
        const t = new SubscriptionTrie<string>();
        for (const p of pats) t.add(p, p);
        for (const topic of topics) {
          expect(matchAll(t, topic).sort()).toEqual(pats.filter((p) => matchesPattern(p, topic)).sort());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('add/remove sequences keep counts, get, entries and bytes consistent', () => {
    const opArb = fc.tuple(fc.boolean(), patternArb, fc.integer({ min: 0, max: 11 }));
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const t = new SubscriptionTrie<number>();
        const model = new Map<string, number[]>();
        for (const [isAdd, p, v] of ops) {
          const vs = model.get(p) ?? [];
          if (isAdd) {
            expect(t.add(p, v)).toBe(!vs.includes(v));
            if (!vs.includes(v)) model.set(p, [...vs, v]);
          } else {
            expect(t.remove(p, v)).toBe(vs.includes(v));
            const rest = vs.filter((x) => x !== v);
            if (rest.length > 0) model.set(p, rest);
            else model.delete(p);
          }
          expect(t.patternCount).toBe(model.size);
          expect(t.entryCount).toBe([...model.values()].reduce((s, xs) => s + xs.length, 0));
          // Tables grow in steps, so a small trie may still fit the empty one's; an empty one is exactly it.
          expect(t.bytes).toBeGreaterThanOrEqual(EMPTY_BYTES);
          if (model.size === 0) expect(t.bytes).toBe(EMPTY_BYTES);
        }
        for (const [p, vs] of model) expect(t.get(p)).toEqual(vs); // insertion order kept
        const entries = [...t.entries()].map(([p, v]) => `${p} ${v}`).sort();
        expect(entries).toEqual([...model].flatMap(([p, vs]) => vs.map((v) => `${p} ${v}`)).sort());
        // remove everything: memory goes back to the empty trie's
        for (const [p, vs] of [...model]) for (const v of vs) expect(t.remove(p, v)).toBe(true);
        expect(t.patternCount).toBe(0);
        expect(t.entryCount).toBe(0);
        expect(t.bytes).toBe(EMPTY_BYTES);
        expect([...t.entries()]).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fixtures', () => {
  it('makePatterns gives distinct valid patterns with the intended wildcard mix', () => {
    const pats = makePatterns(20_000, mulberry32(7));
    expect(new Set(pats).size).toBe(pats.length);
    for (const p of pats) expect(validatePattern(p)).toBeNull();
    const hash = pats.filter((p) => p.endsWith('/#')).length / pats.length;
    const plus = pats.filter((p) => p.includes('+')).length / pats.length;
    expect(hash).toBeGreaterThan(0.07);
    expect(hash).toBeLessThan(0.13);
    expect(plus).toBeGreaterThan(0.16);
    expect(plus).toBeLessThan(0.24);
    expect(makePatterns(100, mulberry32(7))).toEqual(makePatterns(100, mulberry32(7)));
  });

  it('makeTopics gives valid 3-5 level topics, many of which hit the patterns', () => {
    const t = new SubscriptionTrie<number>();
    makePatterns(50_000, mulberry32(1)).forEach((p, i) => t.add(p, i));
    const topics = makeTopics(2_000, mulberry32(2));
    let hits = 0;
    for (const topic of topics) {
      expect(validateTopic(topic)).toBeNull();
      const levels = topic.split('/').length;
      expect(levels).toBeGreaterThanOrEqual(3);
      expect(levels).toBeLessThanOrEqual(5);
      if (t.hasMatch(topic)) hits++;
    }
    expect(hits / topics.length).toBeGreaterThan(0.2);
  });
});

// ---------------------------------------------------------------------------------------------
// Memory calibration: `bytes` against the real V8 heap.

describe('memory calibration', () => {
  it('trie.bytes is within ±35% of the measured heap of a 100k-pattern trie', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    // Flat, sequential pattern strings (a JSON round trip), allocated before the baseline, so
    // the heap delta is the trie's own structures. Long keys slice these (not counted).
    const patterns = JSON.parse(JSON.stringify(makePatterns(100_000, mulberry32(42)))) as string[];
    // Several full GCs: garbage from the fixtures and flushable bytecode age out first.
    const settle = (): number => {
      for (let i = 0; i < 12; i++) gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers; // typed arrays keep their contents off the V8 heap
    };
    let trie: SubscriptionTrie<number> | null = new SubscriptionTrie<number>();
    for (let i = 0; i < patterns.length; i++) trie.add(patterns[i] as string, i); // Smi values: no heap
    const withTrie = settle();
    const estimated = trie.bytes;
    expect(trie.patternCount).toBe(100_000);
    trie = null;
    // Measured as what dropping the trie frees: robust to allocations made before it was built.
    const measured = withTrie - settle();
    const ratio = estimated / measured;
    console.info(`trie memory: estimated ${estimated} B, measured ${measured} B (ratio ${ratio.toFixed(3)}), ` + `${(measured / patterns.length).toFixed(1)} B/pattern`);
    expect(ratio).toBeGreaterThan(0.65);
    expect(ratio).toBeLessThan(1.35);
  });
});
