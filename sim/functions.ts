/**
 * Simulated function subscriptions [FN-SIM-1..4]: the live function subscription (an HTTP
 * endpoint called per event, live/edge/functions.ts) as a handler with a service time and a
 * failure probability, so a planner sees the retry traffic, the dead letters and the queue.
 *
 * [FN-SIM-1] Each event delivered to the population waits in the function's queue (bounded by
 *            `queue`: beyond it, dropped and counted) for one of `concurrency` handler slots.
 * [FN-SIM-2] A call takes `serviceTime` and fails with probability `failure` (the run's seeded
 *            RNG); a failed call is retried after backoff × 2^(attempt−1), up to `maxAttempts`.
 * [FN-SIM-3] After the last failed attempt the event is published on `deadLetter` from the
 *            function's broker (a real publish: routed, counted, on the WAN if someone elsewhere
 *            subscribes), or dropped and counted without one.
 * [FN-SIM-4] Figures per function: calls, successes, failures, retries, dead letters, drops, the
 *            queue's peak, and utilization (handler-busy time over slots × run time).
 */
import type { Envelope } from '../engine/types.ts';
import type { Rng } from './rng.ts';

export interface FunctionModelSpec {
  readonly serviceTimeMs: number;
  readonly failure: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly concurrency: number;
  readonly queue: number;
  readonly deadLetter: string | null;
}

export interface FunctionFigures {
  calls: number;
  succeeded: number;
  failed: number;
  retries: number;
  deadLettered: number;
  dropped: number;
  queuePeak: number;
  busyMs: number;
}

interface Job {
  readonly model: FunctionModel;
  readonly env: Envelope;
  readonly guaranteed: boolean;
  attempt: number;
  /** Running a call (true) or waiting to be retried (false). */
  running: boolean;
}

/** Every function's jobs, by id: the kernel carries one number per event. */
export class FunctionPool {
  readonly #jobs = new Map<number, Job>();
  #next = 0;

  constructor(
    /** Schedules `onEvent(job)` at `atMs`. */
    private readonly schedule: (atMs: number, job: number) => void,
  ) {}

  add(job: Job, atMs: number): void {
    const id = this.#next++;
    this.#jobs.set(id, job);
    this.schedule(atMs, id);
  }

  onEvent(now: number, id: number): void {
    const job = this.#jobs.get(id);
    if (job === undefined) return;
    this.#jobs.delete(id);
    if (job.running) job.model.done(now, job);
    else job.model.retry(now, job);
  }
}

export class FunctionModel {
  readonly figures: FunctionFigures = { calls: 0, succeeded: 0, failed: 0, retries: 0, deadLettered: 0, dropped: 0, queuePeak: 0, busyMs: 0 };
  readonly #queue: Job[] = [];
  #inFlight = 0;

  constructor(
    readonly spec: FunctionModelSpec,
    private readonly rng: Rng,
    private readonly pool: FunctionPool,
    /** Publishes a dead letter; returns whether the broker accepted it. */
    private readonly deadLetter: (now: number, env: Envelope, guaranteed: boolean, attempts: number) => boolean,
  ) {}

  /** [FN-SIM-1] */
  deliver(now: number, env: Envelope, guaranteed: boolean): void {
    if (this.#queue.length >= this.spec.queue) {
      this.figures.dropped++;
      return;
    }
    this.#queue.push({ model: this, env, guaranteed, attempt: 0, running: false });
    this.figures.queuePeak = Math.max(this.figures.queuePeak, this.#queue.length);
    this.#pump(now);
  }

  #pump(now: number): void {
    while (this.#inFlight < this.spec.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      job.attempt++;
      job.running = true;
      this.#inFlight++;
      this.figures.calls++;
      this.figures.busyMs += this.spec.serviceTimeMs;
      this.pool.add(job, now + this.spec.serviceTimeMs);
    }
  }

  /** [FN-SIM-2][FN-SIM-3] A call ends. */
  done(now: number, job: Job): void {
    this.#inFlight--;
    if (this.rng.next() >= this.spec.failure) this.figures.succeeded++;
    else {
      this.figures.failed++;
      if (job.attempt < this.spec.maxAttempts) {
        this.figures.retries++;
        job.running = false;
        this.pool.add(job, now + this.spec.backoffMs * 2 ** (job.attempt - 1));
      } else if (this.spec.deadLetter !== null && this.deadLetter(now, job.env, job.guaranteed, job.attempt)) this.figures.deadLettered++;
      else this.figures.dropped++;
    }
    this.#pump(now);
  }

  /** Calls running now (calls = succeeded + failed + running). */
  get running(): number {
    return this.#inFlight;
  }

  /** Events queued now (not counting those waiting out a backoff). */
  get queued(): number {
    return this.#queue.length;
  }

  /** A backoff ended: the job goes to the front of the queue. */
  retry(now: number, job: Job): void {
    this.#queue.unshift(job);
    this.#pump(now);
  }
}
