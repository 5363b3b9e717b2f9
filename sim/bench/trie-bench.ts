/**
 * The subscription-trie benchmark: match time at scale and bytes per pattern.
 *
 * matchNsMedian: topics are matched in batches of 256; each batch is timed and divided by its
 * size (one performance.now() per call would cost more than the match), and the median over
 * batches is reported. bytesPerPattern: heap bytes a built trie retains (measured as the drop
 * when it is released, after full GCs), divided by the number of patterns.
 */
import { SubscriptionTrie } from '../../engine/trie.ts';
import { measureRetained } from '../heap.ts';
import { makePatterns, makeTopics, mulberry32 } from './trie-fixtures.ts';

export interface TrieBenchResult {
  readonly patterns: number;
  readonly topics: number;
  readonly matchNsMedian: number;
  readonly matchNsP99: number;
  readonly meanMatchesPerTopic: number;
  readonly bytesPerPattern: number;
  readonly bytesPerPatternCounted: number;
  readonly buildMs: number;
}

export function benchTrie(opts: { patterns?: number; topics?: number; seed?: number } = {}): TrieBenchResult {
  const n = opts.patterns ?? 500_000;
  const nTopics = opts.topics ?? 200_000;
  const rand = mulberry32(opts.seed ?? 1);
  const patterns = makePatterns(n, rand);
  const topics = makeTopics(nTopics, rand);
  const build = () => {
    const t = new SubscriptionTrie<number>();
    for (let i = 0; i < patterns.length; i++) t.add(patterns[i] as string, i);
    return t;
  };
  const bytes = measureRetained(build);
  const t0 = performance.now();
  const trie = build();
  const buildMs = performance.now() - t0;
  const out: number[] = [];
  let matched = 0;
  // Warm up the JIT on the real workload before timing.
  for (let i = 0; i < Math.min(50_000, topics.length); i++) {
    out.length = 0;
    matched += trie.match(topics[i] as string, out);
  }
  matched = 0;
  const batch = 256;
  const perMatch: number[] = [];
  for (let start = 0; start + batch <= topics.length; start += batch) {
    const b0 = performance.now();
    for (let i = start; i < start + batch; i++) {
      out.length = 0;
      matched += trie.match(topics[i] as string, out);
    }
    perMatch.push(((performance.now() - b0) * 1e6) / batch);
  }
  perMatch.sort((a, b) => a - b);
  const at = (p: number) => perMatch[Math.min(perMatch.length - 1, Math.floor(p * perMatch.length))] as number;
  return {
    patterns: trie.patternCount,
    topics: perMatch.length * batch,
    matchNsMedian: Math.round(at(0.5)),
    matchNsP99: Math.round(at(0.99)),
    meanMatchesPerTopic: Math.round((matched / (perMatch.length * batch)) * 100) / 100,
    bytesPerPattern: Math.round(bytes / trie.patternCount),
    bytesPerPatternCounted: Math.round(trie.bytes / trie.patternCount),
    buildMs: Math.round(buildMs),
  };
}
