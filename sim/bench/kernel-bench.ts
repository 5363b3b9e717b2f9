/**
 * The kernel benchmark (not a test): the classic hold model, our `Kernel` against the design to
 * beat, a heap-js `Heap` of `{ time, seq, kind, arg }` objects with a (time, seq) comparator.
 *
 * Hold model: fill the queue with `pending` events at exponential random times, then `operations`
 * times: pop the earliest event and schedule one new event at now + exp(mean). Both sides run
 * behind the same shape of API (a registered handler that reschedules itself with `after`),
 * read their delays from one pre-generated Float64Array (RNG cost excluded and identical), are
 * warmed up first, then timed twice each, alternately, and the best run of each side counts.
 * Only the hold phase is timed, not the fill.
 *
 * Run: npx tsx -e "import('./sim/bench/kernel-bench.ts').then(m=>console.log(m.benchKernel()))"
 */
import { Heap } from 'heap-js';
import { Kernel } from '../kernel.ts';
import { createRng } from '../rng.ts';

/** Figures of one benchmark run; rates are hold operations (one pop + one push) per second. */
export interface KernelBenchResult {
  pending: number;
  operations: number;
  eventsPerSecond: number;
  baselineHeapJsEventsPerSecond: number;
  ratio: number;
  /** Each timed round's rate (the figures above are the best): the spread is the run's noise. */
  samples: number[];
  baselineSamples: number[];
}

/** The mean delay of a new event (ms): any fixed mean works for the hold model. */
const MEAN_DELAY_MS = 1;

interface HeapEvent {
  time: number;
  seq: number;
  kind: number;
  arg: number;
}

/** The baseline: the obvious kernel, a heap-js Heap of event objects, one object per push. */
class HeapJsKernel {
  now = 0;
  private seq = 0;
  private stopped = false;
  private readonly handlers: ((now: number, arg: number) => void)[] = [];
  private readonly heap = new Heap<HeapEvent>((a, b) => a.time - b.time || a.seq - b.seq);

  register(h: (now: number, arg: number) => void): number {
    this.handlers.push(h);
    return this.handlers.length - 1;
  }
  at(t: number, kind: number, arg: number): void {
    this.heap.push({ time: t, seq: this.seq++, kind, arg });
  }
  after(delayMs: number, kind: number, arg: number): void {
    this.at(this.now + delayMs, kind, arg);
  }
  stop(): void {
    this.stopped = true;
  }
  run(untilMs: number): number {
    this.stopped = false;
    let n = 0;
    while (!this.stopped) {
      const e = this.heap.peek();
      if (e === undefined || e.time > untilMs) break;
      this.heap.pop();
      this.now = e.time;
      n++;
      this.handlers[e.kind]!(e.time, e.arg);
    }
    return n;
  }
}

/** The API both sides offer the hold model. */
interface HoldTarget {
  register(h: (now: number, arg: number) => void): number;
  at(t: number, kind: number, arg: number): void;
  after(delayMs: number, kind: number, arg: number): void;
  stop(): void;
  run(untilMs: number): number;
}

/** Fills `k` with `pending` events, then times `operations` hold steps; returns ops per second. */
function hold(k: HoldTarget, delays: Float64Array, pending: number, operations: number): number {
  let next = 0;
  let done = 0;
  const kind = k.register((_now, arg) => {
    k.after(delays[next++]!, kind, arg);
    if (++done === operations) k.stop();
  });
  for (let i = 0; i < pending; i++) k.at(delays[next++]!, kind, i);
  const t0 = performance.now();
  const ran = k.run(Infinity);
  const ms = performance.now() - t0;
  if (ran !== operations) throw new Error(`hold: ran ${ran} events, expected ${operations}`);
  return (operations / ms) * 1000;
}

/** Runs the hold-model benchmark; see the module comment. */
export function benchKernel(opts: { pending?: number; operations?: number; seed?: number } = {}): KernelBenchResult {
  const pending = opts.pending ?? 100_000;
  const operations = opts.operations ?? 3_000_000;
  const rng = createRng(opts.seed ?? 1);
  const delays = new Float64Array(pending + operations);
  for (let i = 0; i < delays.length; i++) delays[i] = rng.exp(MEAN_DELAY_MS);

  const kernel = () => hold(new Kernel(), delays, pending, operations);
  const baseline = () => hold(new HeapJsKernel(), delays, pending, operations);

  // Warm-up (JIT) on a shorter run of each side.
  const warmOps = Math.min(operations, 300_000);
  hold(new Kernel(), delays, pending, warmOps);
  hold(new HeapJsKernel(), delays, pending, warmOps);

  const samples: number[] = [];
  const baselineSamples: number[] = [];
  for (let round = 0; round < 2; round++) {
    samples.push(Math.round(kernel()));
    baselineSamples.push(Math.round(baseline()));
  }
  const best = Math.max(...samples);
  const bestBaseline = Math.max(...baselineSamples);
  return {
    pending,
    operations,
    eventsPerSecond: Math.round(best),
    baselineHeapJsEventsPerSecond: Math.round(bestBaseline),
    ratio: Math.round((best / bestBaseline) * 100) / 100,
    samples,
    baselineSamples,
  };
}
