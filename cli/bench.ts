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
    trie: { ...trie, target: 'matchNsMedian < 2000 at 500,000 patterns', met: trie.matchNsMedian < 2000 && trie.patterns >= 500_000 },
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
  process.stdout.write([
    `kernel   ${Math.round(k.eventsPerSecond).toLocaleString('en-US')} events/s vs heap-js ${Math.round(k.baselineHeapJsEventsPerSecond).toLocaleString('en-US')} events/s: ${k.ratio.toFixed(2)}× (target ≥ 2×: ${k.met ? 'met' : 'NOT met'}), ${k.pending.toLocaleString('en-US')} pending`,
    `trie     ${t.patterns.toLocaleString('en-US')} patterns: match median ${t.matchNsMedian} ns, p99 ${t.matchNsP99} ns (target < 2000 ns: ${t.met ? 'met' : 'NOT met'}); ${t.bytesPerPattern} B/pattern measured, ${t.bytesPerPatternCounted} B self-counted`,
    `seed     ${s.simulatedSeconds} s simulated in ${s.wallSeconds.toFixed(1)} s (setup ${s.setupWallSeconds.toFixed(1)} s + traffic ${s.trafficWallSeconds.toFixed(1)} s): speedup ${s.speedup.toFixed(3)}× overall, ${s.trafficSpeedup.toFixed(3)}× during traffic, ${s.publishedPerWallSecond.toLocaleString('en-US')} publishes per wall second`,
    '',
  ].join('\n'));
}
