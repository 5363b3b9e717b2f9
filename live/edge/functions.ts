/**
 * Function subscriptions (seed 004) [FN-1..6]: a subscription that calls an HTTP endpoint.
 *
 * [FN-1] Each matching event (pattern, optional selector, optional CloudEvents type glob) is
 *        POSTed to `url` as a structured CloudEvent (`application/cloudevents+json`); a 2xx answer
 *        is success. Anything else — another status, a connection error, no answer within
 *        `timeout` — is a failed attempt.
 * [FN-2] A failed attempt is retried after `backoff × 2^(attempt−1)` (capped at `backoffMax`),
 *        up to `maxAttempts` attempts in all.
 * [FN-3] After the last attempt the event is published on the `deadLetter` topic (headers: the
 *        event's, plus `fnname`, `fnattempts`, `fnerror`), as the mesh's own publish [ACL-7]; with
 *        no dead-letter topic it is dropped. Either way it is counted.
 * [FN-4] At most `concurrency` calls are in flight; events wait in the function's queue, bounded
 *        by `queue` (beyond it: dropped, counted) — a slow endpoint never slows other subscribers.
 * [FN-5] Counted per function in /metrics: calls by outcome, retries, dead letters, drops.
 * [FN-6] Stopping the broker stops new calls; events still queued or waiting for a retry are not
 *        carried over (an at-most-once hand-off to the endpoint, at-least-once per attempt).
 */
import type { LocalSubscription } from '../../engine/broker.ts';
import { globRegExp } from '../../engine/acl.ts';
import { INTERNAL } from '../../engine/broker.ts';
import type { Envelope, HeaderValue, Headers } from '../../engine/types.ts';
import { toStructured } from './cloudevent.ts';
import type { EdgeSubscriber, HostPort } from './port.ts';

export interface FunctionSpec {
  readonly name: string;
  readonly pattern: string;
  readonly filter: string | null;
  /** A CloudEvents type glob (`com.acme.order.*`), or null for any type. */
  readonly types: string | null;
  readonly url: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  readonly concurrency: number;
  readonly queue: number;
  readonly deadLetter: string | null;
}

export interface FunctionCounters {
  succeeded: number;
  failed: number;
  timedOut: number;
  retries: number;
  deadLettered: number;
  /** Dropped: the queue was full, or the last attempt failed with no dead-letter topic. */
  dropped: number;
  inFlight: number;
  /** Most calls in flight at once (never above concurrency). */
  inFlightPeak: number;
}

interface Job {
  readonly env: Envelope;
  readonly guaranteed: boolean;
  attempt: number;
}

class FunctionSubscription implements EdgeSubscriber {
  readonly kind = 'function';
  readonly counters: FunctionCounters = { succeeded: 0, failed: 0, timedOut: 0, retries: 0, deadLettered: 0, dropped: 0, inFlight: 0, inFlightPeak: 0 };
  readonly #queue: Job[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #types: RegExp | null;
  sub: LocalSubscription | null = null;
  #stopped = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly port: HostPort,
  ) {
    this.#types = spec.types === null ? null : globRegExp(spec.types);
  }

  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void {
    consumed();
    if (this.#stopped || (this.#types !== null && !this.#types.test(env.type))) return;
    if (this.#queue.length >= this.spec.queue) {
      this.counters.dropped++;
      return;
    }
    this.#queue.push({ env, guaranteed, attempt: 0 });
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.counters.inFlight < this.spec.concurrency && this.#queue.length > 0) void this.#call(this.#queue.shift() as Job);
  }

  async #call(job: Job): Promise<void> {
    const c = this.counters;
    c.inFlight++;
    c.inFlightPeak = Math.max(c.inFlightPeak, c.inFlight);
    job.attempt++;
    let error: string | null = null;
    try {
      const res = await fetch(this.spec.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify(toStructured(job.env, job.guaranteed)),
        signal: AbortSignal.timeout(this.spec.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (e) {
      const timeout = (e as Error).name === 'TimeoutError';
      if (timeout) c.timedOut++;
      error = timeout ? `no answer within ${this.spec.timeoutMs} ms` : (e as Error).message;
    }
    c.inFlight--;
    if (error === null) c.succeeded++;
    else {
      c.failed++;
      this.#failed(job, error);
    }
    this.#pump();
  }

  /** [FN-2][FN-3] */
  #failed(job: Job, error: string): void {
    if (this.#stopped) return;
    const s = this.spec;
    if (job.attempt < s.maxAttempts) {
      this.counters.retries++;
      const wait = Math.min(s.backoffMaxMs, s.backoffMs * 2 ** (job.attempt - 1));
      const t = setTimeout(() => {
        this.#timers.delete(t);
        if (this.#stopped) return;
        this.#queue.unshift(job);
        this.#pump();
      }, wait);
      this.#timers.add(t);
      return;
    }
    if (s.deadLetter === null) {
      this.counters.dropped++;
      return;
    }
    const headers: Record<string, HeaderValue> = Object.assign(Object.create(null), job.env.headers);
    headers['fnname'] = s.name;
    headers['fnattempts'] = job.attempt;
    headers['fnerror'] = error;
    const e = job.env;
    const r = this.port.publishNow({
      id: `${e.id}/dead-letter/${s.name}`,
      source: e.source,
      type: e.type,
      topic: s.deadLetter,
      headers: headers as Headers,
      payload: e.payload,
      guaranteed: job.guaranteed,
      principal: INTERNAL,
    });
    if (r.status === 'accepted') this.counters.deadLettered++;
    else this.counters.dropped++;
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
  }
}

/** The broker's function subscriptions [FN-1..6]. */
export class FunctionHub {
  readonly functions: FunctionSubscription[];

  constructor(
    specs: readonly FunctionSpec[],
    private readonly port: HostPort,
  ) {
    this.functions = specs.map((s) => new FunctionSubscription(s, port));
  }

  /** Subscribes each function (unpaced: it keeps its own bounded queue [FN-4]). */
  start(): void {
    for (const f of this.functions) f.sub = this.port.subscribe(f.spec.pattern, f.spec.filter, f, false);
  }

  stop(): void {
    for (const f of this.functions) {
      f.stop();
      if (f.sub !== null) this.port.unsubscribe(f.sub);
      f.sub = null;
    }
  }

  list(): Array<{ name: string; pattern: string; url: string; counters: FunctionCounters }> {
    return this.functions.map((f) => ({ name: f.spec.name, pattern: f.spec.pattern, url: f.spec.url, counters: { ...f.counters } }));
  }
}
