/**
 * `meshtwin bench`: figures measured on this machine, each against a baseline measured in the
 * same run where one exists (never against a number remembered from elsewhere).
 */
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../scenarios/load.ts';
import { benchKernel } from '../sim/bench/kernel-bench.ts';
import { benchTrie } from '../sim/bench/trie-bench.ts';
import { runScenario } from '../sim/run.ts';

const SEED_SCENARIO = fileURLToPath(new URL('../scenarios/seed-global-3-region.yaml', import.meta.url));

/** The trie target is seed 002's: a median match under 2 µs with this many patterns. */
export const TRIE_TARGET_PATTERNS = 500_000;
export const TRIE_TARGET_NS = 2000;

/**
 * Whether the trie met its target. The target is stated for TRIE_TARGET_PATTERNS patterns: a
 * smaller trie (`--quick`) neither meets nor misses it (`met: null`, "n/a").
 */
export function trieVerdict(patterns: number, matchNsMedian: number): { readonly met: boolean | null; readonly text: string } {
  const target = `target < ${TRIE_TARGET_NS} ns at ${TRIE_TARGET_PATTERNS.toLocaleString('en-US')} patterns`;
  if (patterns < TRIE_TARGET_PATTERNS) {
    return { met: null, text: `n/a at ${patterns.toLocaleString('en-US')} patterns: the target, < ${TRIE_TARGET_NS} ns, is for ${TRIE_TARGET_PATTERNS.toLocaleString('en-US')}` };
  }
  const met = matchNsMedian < TRIE_TARGET_NS;
  return { met, text: `${target}: ${met ? 'met' : 'NOT met'}` };
}

export function benchCommand(opts: { json?: boolean; quick?: boolean }): void {
  const quick = opts.quick === true;
  const log = (s: string) => {
    if (!opts.json) process.stderr.write(`${s}\n`);
  };
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
  log(`bench on ${machine.cores} cores (${machine.cpu}), node ${machine.node}${quick ? ' — quick mode, figures not comparable' : ''}`);
  log('kernel: hold model …');
  const kernel = benchKernel(quick ? { pending: 10_000, operations: 300_000 } : {});
  log('trie: building and matching …');
  const trie = benchTrie(quick ? { patterns: 50_000, topics: 20_000 } : {});
  log('seed scenario: simulating …');
  const scenario = loadScenario(SEED_SCENARIO);
  const simulatedMs = quick ? 1000 : 10_000;
  const run = runScenario(scenario, { durationMs: simulatedMs, measureHeap: false, check: false });
  const result = {
    machine,
    quick,
    kernel: { ...kernel, target: 'eventsPerSecond >= 2 × baselineHeapJsEventsPerSecond', met: kernel.ratio >= 2 },
    trie: { ...trie, target: `matchNsMedian < ${TRIE_TARGET_NS} at ${TRIE_TARGET_PATTERNS.toLocaleString('en-US')} patterns`, met: trieVerdict(trie.patterns, trie.matchNsMedian).met },
    seedScenario: {
      simulatedSeconds: run.simulatedSeconds,
      wallSeconds: run.run.wallSeconds,
      speedup: run.run.speedup,
      setupWallSeconds: run.run.setupWallSeconds,
      trafficWallSeconds: run.run.trafficWallSeconds,
      trafficSpeedup: run.run.trafficSpeedup,
      kernelEvents: run.run.kernelEvents,
      kernelEventsPerSecond: run.run.eventsPerSecond,
      publishedPerWallSecond: run.run.publishedPerWallSecond,
      decisionUsP50: run.decisionUs.p50,
      decisionUsP99: run.decisionUs.p99,
      wanMbpsAvg: run.wan.mbpsAvg,
    },
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const k = result.kernel;
  const t = result.trie;
  const s = result.seedScenario;
  process.stdout.write(
    [
      `kernel   ${Math.round(k.eventsPerSecond).toLocaleString('en-US')} events/s vs heap-js ${Math.round(k.baselineHeapJsEventsPerSecond).toLocaleString('en-US')} events/s: ${k.ratio.toFixed(2)}× (target ≥ 2×: ${k.met ? 'met' : 'NOT met'}), ${k.pending.toLocaleString('en-US')} pending`,
      `trie     ${t.patterns.toLocaleString('en-US')} patterns: match median ${t.matchNsMedian} ns, p99 ${t.matchNsP99} ns (${trieVerdict(t.patterns, t.matchNsMedian).text}); ${t.bytesPerPattern} B/pattern measured, ${t.bytesPerPatternCounted} B self-counted`,
      `seed     ${s.simulatedSeconds} s simulated in ${s.wallSeconds.toFixed(1)} s (setup ${s.setupWallSeconds.toFixed(1)} s + traffic ${s.trafficWallSeconds.toFixed(1)} s): speedup ${s.speedup.toFixed(3)}× overall, ${s.trafficSpeedup.toFixed(3)}× during traffic, ${s.publishedPerWallSecond.toLocaleString('en-US')} publishes per wall second`,
      '',
    ].join('\n'),
  );
}
