/**
 * The subscription-trie benchmark: match time at scale and bytes per pattern.
 *
 * matchNsMedian: topics are matched in batches of 256; each batch is timed and divided by its
 * size (one performance.now() per call would cost more than the match), and the median over
 * batches is reported. Two topic streams, as a broker sees them: unique (every topic drawn at
 * random from id spaces of 2,000 to 100,000 ids, so most matches miss the cache) and repeating
 * (1,000 hot topics drawn again and again). bytesPerPattern: bytes a built trie retains, on the
 * V8 heap and in typed arrays' storage (measured as the drop when it is released, after full
 * GCs), divided by the number of patterns.
 */
import { SubscriptionTrie } from '../../engine/trie.ts';
import { measureRetained } from '../heap.ts';
import { makePatterns, makeTopics, mulberry32 } from './trie-fixtures.ts';

export interface TrieBenchResult {
  readonly patterns: number;
  readonly topics: number;
  /** Unique topics (see above). */
  readonly matchNsMedian: number;
  readonly matchNsP99: number;
  /** Repeating topics: 1,000 hot ones. */
  readonly matchNsMedianRepeating: number;
  readonly hotTopics: number;
  readonly meanMatchesPerTopic: number;
  readonly bytesPerPattern: number;
  readonly bytesPerPatternCounted: number;
  readonly buildMs: number;
}

/** Hot topics in the repeating stream. */
const HOT_TOPICS = 1000;

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
  const hot = topics.slice(0, HOT_TOPICS);
  const repeating = topics.map(() => hot[Math.floor(rand() * hot.length)] as string);
  const out: number[] = [];
  // Warm up the JIT on the real workload before timing.
  for (let i = 0; i < Math.min(50_000, topics.length); i++) {
    out.length = 0;
    trie.match(topics[i] as string, out);
  }
  const batch = 256;
  const time = (stream: readonly string[]): { perMatch: number[]; matched: number } => {
    let matched = 0;
    const perMatch: number[] = [];
    for (let start = 0; start + batch <= stream.length; start += batch) {
      const b0 = performance.now();
      for (let i = start; i < start + batch; i++) {
        // Appends after what the last match left (as the broker's scratch arrays do): setting
        // length to 0 would free the array's storage and time its reallocation too.
        if (out.length > 256) out.length = 0;
        matched += trie.match(stream[i] as string, out);
      }
      perMatch.push(((performance.now() - b0) * 1e6) / batch);
    }
    perMatch.sort((a, b) => a - b);
    return { perMatch, matched };
  };
  const unique = time(topics);
  const again = time(repeating);
  const at = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
  return {
    patterns: trie.patternCount,
    topics: unique.perMatch.length * batch,
    matchNsMedian: Math.round(at(unique.perMatch, 0.5)),
    matchNsP99: Math.round(at(unique.perMatch, 0.99)),
    matchNsMedianRepeating: Math.round(at(again.perMatch, 0.5)),
    hotTopics: hot.length,
    meanMatchesPerTopic: Math.round((unique.matched / (unique.perMatch.length * batch)) * 100) / 100,
    bytesPerPattern: Math.round(bytes / trie.patternCount),
    bytesPerPatternCounted: Math.round(trie.bytes / trie.patternCount),
    buildMs: Math.round(buildMs),
  };
}
