/**
 * `--workers N`: the scenario simulated on N worker threads, one report, the same traceHash and
 * figures as on one thread [PAR-1..4].
 *
 * [PAR-4] What a parallel run does not model yet is refused before it starts, in one line
 *         (partition.ts parallelBlocker): crashes and restarts, HA pairs, function subscriptions
 *         and the invariant checker all read or change brokers on other threads at the same
 *         instant. Link faults and slow consumers run (mesh.ts onFault: each thread applies them
 *         to its own part), and guaranteed delivery (the custody left at the end is settled by
 *         each destination's thread: thread.ts, mesh.ts custodyWorth). (A link with no delay would give no lookahead; the loader refuses RTT 0.)
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { UsageError } from '../../engine/types.ts';
import type { Scenario } from '../../scenarios/types.ts';
import type { Progress, RunResult } from '../run.ts';
import { tsxThreadCode } from '../thread.ts';
import { mergeParts } from './merge.ts';
import { type Partition, parallelBlocker, partition } from './partition.ts';
import { Control, type ThreadJob, type ThreadMessage, type ThreadPart } from './protocol.ts';

export interface ParallelOptions {
  /** The scenario file's text and name (each thread loads it as `meshtwin run` does) and the loaded scenario. */
  readonly text: string;
  readonly file: string;
  readonly scenario: Scenario;
  readonly workers: number;
  readonly seed?: number;
  readonly durationMs?: number;
  readonly measureHeap?: boolean;
  readonly onProgress?: (p: Progress) => void;
  /** How often progress is read from the threads (ms of wall time). */
  readonly progressMs?: number;
}

/** The plan a parallel run would use, or a UsageError saying why it cannot run [PAR-4]. */
export function planParallel(scenario: Scenario, workers: number): Partition {
  const blocker = parallelBlocker(scenario);
  if (blocker !== null) throw new UsageError(`--workers ${workers}: ${scenario.name}: ${blocker}`);
  const plan = partition(scenario, workers);
  if (!(plan.lookaheadMs > 0)) throw new UsageError(`--workers ${workers}: a link between brokers on different threads has no delay (rtt 0), so no thread could run ahead; use fewer workers`);
  return plan;
}

/** Runs the scenario on `workers` threads; resolves with the merged report [PAR-3]. */
export async function runParallel(opts: ParallelOptions): Promise<RunResult> {
  const plan = planParallel(opts.scenario, opts.workers);
  const seed = opts.seed ?? opts.scenario.seed;
  const durationMs = opts.durationMs ?? opts.scenario.durationMs;
  const n = plan.workers;
  const control = Control.create(n);
  // A port for every ordered pair: ports[a][b] is a's end of the a–b channel.
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () => new Array<MessagePort | null>(n).fill(null));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const ch = new MessageChannel();
      (ports[a] as Array<MessagePort | null>)[b] = ch.port1;
      (ports[b] as Array<MessagePort | null>)[a] = ch.port2;
    }
  }
  const code = tsxThreadCode(new URL('./thread.ts', import.meta.url));
  const t0 = performance.timeOrigin + performance.now();
  const workers: Worker[] = [];
  const parts: ThreadPart[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (e: unknown): void => {
        control.abort();
        reject(e);
      };
      for (let me = 0; me < n; me++) {
        const mine = ports[me] as Array<MessagePort | null>;
        const job: ThreadJob = {
          text: opts.text,
          file: opts.file,
          seed,
          durationMs,
          measureHeap: opts.measureHeap ?? true,
          me,
          workers: n,
          owner: plan.owner,
          lookaheadMs: plan.lookaheadMs,
          control: control.buffer,
          ports: mine,
        };
        const w = new Worker(code, { eval: true, workerData: job, transferList: mine.filter((p): p is MessagePort => p !== null) });
        workers.push(w);
        w.on('message', (msg: ThreadMessage) => {
          if (msg.type === 'refused') return fail(new UsageError(msg.message));
          parts.push(msg.part);
          if (parts.length === n) resolve();
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`simulation thread ${me} exited with code ${code}`));
        });
      }
      if (opts.onProgress !== undefined) {
        const report = opts.onProgress;
        timer = setInterval(() => {
          const p = control.progress;
          let simulatedMs = Infinity;
          let published = 0;
          let kernelEvents = 0;
          for (let t = 0; t < n; t++) {
            simulatedMs = Math.min(simulatedMs, p[3 * t] as number);
            published += p[3 * t + 1] as number;
            kernelEvents += p[3 * t + 2] as number;
          }
          report({ simulatedMs: Math.max(0, simulatedMs), durationMs, wallMs: performance.timeOrigin + performance.now() - t0, kernelEvents, published });
        }, opts.progressMs ?? 250);
      }
    });
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  // The threads ran in windows, in step: traffic began when the last one reached simulated 0.
  const t1 = Math.max(...parts.map((p) => p.trafficAt));
  const t2 = Math.max(...parts.map((p) => p.endedAt));
  return mergeParts(parts, plan, { setup: (t1 - t0) / 1000, traffic: (t2 - t1) / 1000 });
}
