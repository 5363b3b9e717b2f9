/**
 * Runs sweep steps on P worker threads [SWEEP-6].
 *
 * [SWEEP-6] Each step is a whole run in one thread, from its own scenario text and seed, so the
 *           results do not depend on P or on which thread ran which step; they are returned by
 *           step index. P = 1 runs the steps in this thread, one after the other. Workers are
 *           plain `worker_threads` booted through tsx (the sources are TypeScript, run without
 *           a build) and reused across steps; each has V8's default heap limit of its own.
 */
import { Worker } from 'node:worker_threads';
import { tsxThreadCode } from '../thread.ts';
import { runStep, type StepJob, type StepOutcome } from './step.ts';

/** A finished step with the wall time it took (dispatch to result). */
export interface StepDone extends StepOutcome {
  readonly wallSeconds: number;
}

export interface PoolOptions {
  readonly parallel: number;
  /** Called as each step starts and finishes (in finishing order). */
  readonly onStart?: (job: StepJob) => void;
  readonly onDone?: (done: StepDone) => void;
}

const seconds = (t0: number): number => Math.round((performance.now() - t0) / 10) / 100;

/** [SWEEP-6] Runs every job; resolves with the outcomes in job order. */
export async function runSteps(jobs: readonly StepJob[], opts: PoolOptions): Promise<StepDone[]> {
  const parallel = Math.max(1, Math.min(opts.parallel, jobs.length));
  const byIndex = new Map<number, StepDone>();
  if (parallel === 1) {
    for (const job of jobs) {
      opts.onStart?.(job);
      const t0 = performance.now();
      const done = { ...runStep(job), wallSeconds: seconds(t0) };
      byIndex.set(job.index, done);
      opts.onDone?.(done);
      // Let stderr drain between long synchronous runs.
      await new Promise((r) => setImmediate(r));
    }
    return jobs.map((j) => byIndex.get(j.index) as StepDone);
  }
  const code = tsxThreadCode(new URL('./worker.ts', import.meta.url));
  const queue = [...jobs];
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const next = (w: Worker) => {
        const job = queue.shift();
        if (job === undefined) {
          if (running === 0) resolve();
          return;
        }
        running++;
        const t0 = performance.now();
        opts.onStart?.(job);
        w.once('message', (out: StepOutcome) => {
          running--;
          const done = { ...out, wallSeconds: seconds(t0) };
          byIndex.set(out.index, done);
          opts.onDone?.(done);
          if (!failed) next(w);
          if (queue.length === 0 && running === 0) resolve();
        });
        w.postMessage(job);
      };
      for (let i = 0; i < parallel; i++) {
        const w = new Worker(code, { eval: true });
        workers.push(w);
        w.on('error', fail);
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`sweep worker exited with code ${code}`));
        });
        next(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return jobs.map((j) => byIndex.get(j.index) as StepDone);
}
