/**
 * `meshtwin bench`'s figures [BENCH-F1] and the table rows of its same-run comparisons: the
 * previous release (sim/bench/baseline.ts) and the ns-3 peer (sim/bench/peer.ts).
 *
 * Every figure the table prints is in `figures`, keyed by a stable id, with its direction and its
 * noise band from this run's rounds (sim/bench/figures.ts); `--compare` reads only `figures`.
 */
import { type BaselineResult, shortCommit } from '../sim/bench/baseline.ts';
import { type Figure, figure, notMeasured, ratioFigure } from '../sim/bench/figures.ts';
import type { KernelBenchResult } from '../sim/bench/kernel-bench.ts';
import type { PeerResult } from '../sim/bench/peer.ts';
import type { TrieBenchResult } from '../sim/bench/trie-bench.ts';

/** The in-process seed run's figures, as the bench's `seedScenario` block has them. */
export interface SeedScenarioFigures {
  readonly speedup: number;
  readonly setupWallSeconds: number;
  readonly trafficSpeedup: number;
  readonly publishedPerWallSecond: number;
  readonly decisionUsP50: number;
  readonly decisionUsP99: number;
}

const SPEED = 'sim-s/wall-s';

/** The seed run again on threads (sim/parallel/), in the same process, right after the one-thread run. */
export interface SeedParallelFigures {
  readonly threads: number;
  readonly plan: string;
  readonly lookaheadMs: number | null;
  readonly windows: number | null;
  readonly trafficSpeedup: number;
  readonly setupWallSeconds: number;
  /** This run's traffic speed over the one-thread run's. */
  readonly ratio: number;
  readonly sameTraceHash: boolean;
  /** Per thread count: total publish rate over the busiest thread's (the split's cap on the speedup). */
  readonly modeledCap: Readonly<Record<string, number>>;
  readonly brokers: number;
}

/** Every figure of the run, keyed by id, in the table's order. */
export function benchFigures(r: {
  readonly kernel: KernelBenchResult;
  readonly trie: TrieBenchResult;
  readonly seedScenario: SeedScenarioFigures;
  readonly seedParallel: SeedParallelFigures;
  readonly baseline: BaselineResult;
  readonly peer: PeerResult;
}): Record<string, Figure> {
  const { kernel: k, trie: t, seedScenario: s } = r;
  const once = (label: string, unit: string, better: 'higher' | 'lower', x: number) => figure(label, unit, better, [x]);
  const kernelRatios = k.samples.map((x, i) => x / (k.baselineSamples[i] as number));
  return {
    'kernel.eventsPerSecond': figure(`kernel, hold model, ${k.pending.toLocaleString('en-US')} pending (best round)`, 'events/s', 'higher', k.samples, { value: k.eventsPerSecond }),
    'kernel.heapJsEventsPerSecond': figure('kernel baseline: heap-js Heap (best round)', 'events/s', 'higher', k.baselineSamples, { value: k.baselineHeapJsEventsPerSecond, reference: true }),
    'kernel.ratio': figure('kernel / heap-js', '×', 'higher', kernelRatios, { value: k.ratio }),
    'trie.matchNsMedian': once(`trie match median, ${t.patterns.toLocaleString('en-US')} patterns, unique topics`, 'ns', 'lower', t.matchNsMedian),
    'trie.matchNsMedianRepeating': once(`trie match median, ${t.hotTopics.toLocaleString('en-US')} repeating topics`, 'ns', 'lower', t.matchNsMedianRepeating),
    'trie.matchNsP99': once('trie match p99', 'ns', 'lower', t.matchNsP99),
    'trie.bytesPerPattern': once('trie heap per pattern (measured)', 'B', 'lower', t.bytesPerPattern),
    'trie.bytesPerPatternCounted': once('trie bytes per pattern (self-counted)', 'B', 'lower', t.bytesPerPatternCounted),
    'seed.setupWallSeconds': once('seed setup (in process)', 's', 'lower', s.setupWallSeconds),
    'seed.speedup': once('seed speedup overall (in process)', SPEED, 'higher', s.speedup),
    'seed.trafficSpeedup': once('seed traffic speedup (in process)', SPEED, 'higher', s.trafficSpeedup),
    'seed.publishedPerWallSecond': once('seed publishes per wall second', '/s', 'higher', s.publishedPerWallSecond),
    'seed.decisionUsP50': once('routing decision p50 (seed)', 'µs', 'lower', s.decisionUsP50),
    'seed.decisionUsP99': once('routing decision p99 (seed)', 'µs', 'lower', s.decisionUsP99),
    'seed.parallel.trafficSpeedup': once(`seed traffic speedup on ${r.seedParallel.threads} threads (in process)`, SPEED, 'higher', r.seedParallel.trafficSpeedup),
    'seed.parallel.ratio': once(`seed traffic, ${r.seedParallel.threads} threads / 1 thread`, '×', 'higher', r.seedParallel.ratio),
    ...baselineFigures(r.baseline),
    ...peerFigures(r.peer),
  };
}

function baselineFigures(b: BaselineResult): Record<string, Figure> {
  const prev = shortCommit(b.commit);
  const na = b.status === 'measured' ? undefined : `${b.status}: ${b.reason}`;
  const side = (label: string, unit: string, better: 'higher' | 'lower', pick: (r: BaselineResult['rounds'][number]['current']) => number, which: 'current' | 'previous') =>
    na === undefined
      ? figure(
          label,
          unit,
          better,
          b.rounds.map((r) => pick(r[which])),
          which === 'previous' ? { reference: true } : {},
        )
      : notMeasured(label, unit, better, na, { reference: which === 'previous' });
  const speedCur = side('seed traffic, this code (child)', SPEED, 'higher', (r) => r.trafficSpeedup, 'current');
  const speedPrev = side(`seed traffic, ${prev} (child)`, SPEED, 'higher', (r) => r.trafficSpeedup, 'previous');
  const rssCur = side('seed peak RSS, this code (child)', 'MiB', 'lower', (r) => r.peakRssMiB, 'current');
  const rssPrev = side(`seed peak RSS, ${prev} (child)`, 'MiB', 'lower', (r) => r.peakRssMiB, 'previous');
  return {
    'release.current.trafficSpeedup': speedCur,
    'release.previous.trafficSpeedup': speedPrev,
    'release.trafficSpeedupRatio': ratioFigure(
      `seed traffic, this code / ${prev}`,
      'higher',
      speedCur,
      speedPrev,
      b.rounds.map((r) => r.current.trafficSpeedup / r.previous.trafficSpeedup),
      na,
    ),
    'release.current.peakRssMiB': rssCur,
    'release.previous.peakRssMiB': rssPrev,
    'release.peakRssRatio': ratioFigure(
      `seed peak RSS, this code / ${prev}`,
      'lower',
      rssCur,
      rssPrev,
      b.rounds.map((r) => r.current.peakRssMiB / r.previous.peakRssMiB),
      na,
    ),
  };
}

function peerFigures(p: PeerResult): Record<string, Figure> {
  const na = p.status === 'measured' ? undefined : `${p.status}: ${p.reason}`;
  const rounds = p.rounds;
  const mk = (label: string, unit: string, better: 'higher' | 'lower', samples: Array<number | null>, reference: boolean, why = na) =>
    why === undefined && samples.every((x) => x !== null)
      ? figure(label, unit, better, samples as number[], { reference })
      : notMeasured(label, unit, better, why ?? p.notes.join('; '), { reference });
  const mtSpeed = mk(
    'wan-only, meshtwin traffic',
    SPEED,
    'higher',
    rounds.map((r) => r.meshtwin.trafficSpeedup),
    false,
  );
  const ns3Speed = mk(
    `wan-only, ns-3 ${p.ns3Version ?? ''}`.trim(),
    SPEED,
    'higher',
    rounds.map((r) => r.ns3.simPerWall),
    true,
  );
  return {
    'peer.meshtwin.simPerWall': mtSpeed,
    'peer.ns3.simPerWall': ns3Speed,
    'peer.speedRatio': ratioFigure(
      'wan-only, meshtwin / ns-3',
      'higher',
      mtSpeed,
      ns3Speed,
      rounds.map((r) => r.meshtwin.trafficSpeedup / r.ns3.simPerWall),
      na,
    ),
    'peer.meshtwin.peakRssMiB': mk(
      'wan-only, meshtwin peak RSS',
      'MiB',
      'lower',
      rounds.map((r) => r.meshtwin.peakRssMiB),
      false,
    ),
    'peer.ns3.peakRssMiB': mk(
      'wan-only, ns-3 peak RSS',
      'MiB',
      'lower',
      rounds.map((r) => r.ns3.peakRssMiB),
      true,
    ),
  };
}

const fix = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : String(Number(x.toPrecision(3))));
const band = (f: Figure | undefined) => (f === undefined ? '' : ` ±${Math.round(f.noise * 100)}%`);
const metText = (met: boolean) => (met ? 'met' : 'NOT met');
const rounds = (n: number) => `${n} round${n === 1 ? '' : 's'}`;

/** The previous release's rows of the table (two lines), or one line saying why it is n/a. */
export function baselineLines(b: BaselineResult, figures: Readonly<Record<string, Figure>>): string[] {
  const prev = shortCommit(b.commit);
  if (b.status !== 'measured') return [`release: ${b.status === 'failed' ? 'FAILED' : 'n/a'} — seed traffic against ${prev}, the previous release: ${b.reason}`];
  const s = b.trafficSpeedup!;
  const m = b.peakRssMiB!;
  return [
    `release  seed traffic, this code vs ${prev} (the previous release, from git), ${b.simulatedSeconds} s simulated, ${rounds(b.rounds.length)} alternating in child processes:`,
    `         ${fix(s.current)} vs ${fix(s.previous)} sim-s per wall-s → ${s.ratio.toFixed(2)}×${band(figures['release.trafficSpeedupRatio'])} (target ≥ 3×: ${metText(s.met)}); peak RSS ${fix(m.current)} vs ${fix(m.previous)} MiB → ${m.ratio.toFixed(2)}×${band(figures['release.peakRssRatio'])} (target ≤ 0.5×: ${metText(m.met)})`,
  ];
}

/** The ns-3 peer's rows (two lines), or one line saying why it is n/a. */
export function peerLines(p: PeerResult, figures: Readonly<Record<string, Figure>>): string[] {
  if (p.status === 'n/a') return [`peer: ${p.reason}`];
  if (p.status === 'failed') return [`peer: FAILED — ${p.reason}`];
  const ns3 = p.ns3!;
  const mt = p.meshtwin!;
  const t = p.targets!;
  return [
    `peer     ns-3 ${p.ns3Version} vs meshtwin on wan-only.yaml (the seed's WAN workload), ${p.simulatedSeconds} s simulated, ${rounds(p.rounds.length)} alternating in child processes:`,
    `         ns-3 ${fix(ns3.simPerWall)} sim-s per wall-s, peak RSS ${ns3.peakRssMiB === null ? 'n/a' : `${fix(ns3.peakRssMiB)} MiB`}; meshtwin ${fix(mt.simPerWall)}, ${fix(mt.peakRssMiB)} MiB → ${p.speedRatio!.toFixed(2)}× ns-3${band(figures['peer.speedRatio'])} (target ≥ 3×: ${metText(t.speedMet)}); meshtwin peak RSS (target ≤ 150 MiB: ${metText(t.rssMet)})`,
    ...p.notes.map((n) => `         ${n}`),
  ];
}
