/**
 * The scenario's publishers as real HTTP clients [LIVE-P1..4].
 *
 * [LIVE-P1] The same events as the simulator: the publisher streams are expanded from the
 *           scenario with the same seeded generator forks (sim/workload.ts), so stream i's n-th
 *           event has the same id (`i-n`), source, type, topic, headers and due time in both, and
 *           the mesh codec encodes it to the same bytes. Headers travel as the scalar fields of
 *           the event's JSON data (the edge's selector headers, cloudevent.ts [EDGE-4]); the data
 *           is padded with a non-scalar field (`"pad":["xx…"]`, never a header) to the scenario's
 *           `size`, so the payload is exactly as long as the simulator's.
 * [LIVE-P2] Open loop: event n of a stream is due at t0 + its simulated publish time. A 1 ms tick
 *           moves due events into the stream's pending list; whenever the stream has fewer than
 *           its `connections` requests in flight, the pending events go out as one CloudEvents
 *           batch. A slow answer makes batches grow, not the offered rate drop. A guaranteed
 *           stream has one request in flight at a time, as an ordered producer does: two
 *           concurrent requests could be accepted in either order, and the broker's order of
 *           acceptance is the publish order it keeps.
 * [LIVE-P3] Each event's answer is its fate: ACCEPTED is published; BACKPRESSURE is the
 *           simulator's backpressure; UNAVAILABLE, NOT_PUBLISHED, a refused connection (a
 *           crashed broker) or an HTTP error is rejected. Nothing is retried (the simulator's
 *           clients do not retry either).
 * [LIVE-P4] Falling behind is reported, not hidden: every event's send lag (send − due) is
 *           recorded; `keptUp` is false when the p99 lag exceeds LAG_LIMIT_MS or events were still
 *           unsent when the window closed, and `achievedPerSecond` is what was really sent.
 */
import { Agent, request } from 'node:http';
import * as hdr from 'hdr-histogram-js';
import { epochClock } from '../host.ts';
import type { Headers } from '../../engine/types.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { expandPublishers, type PublishStream } from '../../sim/workload.ts';
import { createRng } from '../../sim/rng.ts';

/**
 * Send lag (p99) past which the generator says it fell behind: above this VM's own event-loop
 * noise under load (tens of ms), well under the RTTs the scenarios' figures are about.
 */
export const LAG_LIMIT_MS = 100;

/** Epoch ms, sub-millisecond: the one clock of the run (the brokers' own, live/host.ts). */
export const nowMs = epochClock;

export type PublishFate = 'accepted' | 'backpressure' | 'rejected';

export interface PublishedEvent {
  readonly stream: PublishStream;
  readonly n: number;
  readonly topic: string;
  readonly headers: Headers;
}

export interface GeneratorReport {
  readonly offeredPerSecond: number;
  readonly achievedPerSecond: number;
  readonly due: number;
  readonly sent: number;
  readonly requests: number;
  readonly meanBatch: number;
  readonly sendLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly keptUp: boolean;
  readonly behind: string | null;
}

interface Pending {
  readonly si: number;
  readonly n: number;
  readonly text: string;
  readonly ev: PublishedEvent;
}

/** One stream's queue of due events and its requests in flight. */
interface BrokerLane {
  readonly http: () => number | null;
  readonly pending: Pending[];
  /** Requests it may have in flight: 1 keeps a guaranteed stream's publish order [LIVE-P2]. */
  readonly connections: number;
  busy: number;
}

/** The scenario's streams, with their events' due times (ms after t0) and answers. */
export class ScenarioPublishers {
  readonly streams: PublishStream[];
  /** Per stream: due time (ms after t0) of event n (for n below counts[stream]). */
  readonly dueMs: Float64Array[] = [];
  /** Per stream: events made so far. */
  readonly counts: number[] = [];
  /** One lane per stream. */
  readonly #lanes: BrokerLane[] = [];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #lag = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  readonly #nextDue: number[] = [];
  readonly #stop: number[] = [];
  #t0 = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #requests = 0;
  #inflight = 0;
  #idle: (() => void) | null = null;

  constructor(
    scenario: Scenario,
    seed: number,
    readonly durationMs: number,
    /** Where a broker takes publishes now (null: not running). */
    httpOf: (broker: string) => number | null,
    readonly onAnswer: (ev: PublishedEvent, fate: PublishFate, atMs: number) => void,
    readonly connections = 4,
    readonly maxBatch = 500,
  ) {
    this.streams = expandPublishers(scenario, createRng(seed).fork('publishers'));
    for (const s of this.streams) {
      // The simulator draws every stream's first gap up front, then per event: topic, headers, next gap.
      this.#nextDue.push(s.spec.startMs + s.firstGapMs());
      this.#stop.push(Math.min(s.spec.stopMs, durationMs));
      this.dueMs.push(new Float64Array(Math.ceil((s.ratePerSec * durationMs) / 1000 + 64)));
      this.counts.push(0);
      this.#lanes.push({ http: () => httpOf(s.broker), pending: [], busy: 0, connections: s.spec.delivery === 'guaranteed' ? 1 : connections });
    }
  }

  get offeredPerSecond(): number {
    return this.streams.reduce((a, s) => a + s.ratePerSec, 0);
  }

  /** Epoch ms of event n of stream si's due time. */
  dueAt(si: number, n: number): number {
    return this.#t0 + (this.dueMs[si]?.[n] ?? Number.NaN);
  }

  /** Starts publishing with t0 = `t0` (epoch ms). */
  start(t0: number): void {
    this.#t0 = t0;
    this.#timer = setInterval(() => this.#tick(), 1);
  }

  /** Stops taking new events (those already due keep going out until `settle`). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once every request made has been answered (bounded by `ms`). */
  async settle(ms: number): Promise<void> {
    if (this.#inflight === 0) return;
    await Promise.race([new Promise<void>((r) => (this.#idle = r)), new Promise((r) => setTimeout(r, ms))]);
  }

  close(): void {
    this.stop();
    this.#agent.destroy();
  }

  report(): GeneratorReport {
    // Events the window holds: those made, and those the stopped generator never reached.
    let due = 0;
    for (let si = 0; si < this.streams.length; si++) {
      const s = this.streams[si] as PublishStream;
      due += this.counts[si] as number;
      for (let t = this.#nextDue[si] as number; t < (this.#stop[si] as number); t += s.nextGapMs()) due++;
    }
    const unsent = due - this.#sent;
    const p99 = this.#lag.totalCount === 0 ? 0 : this.#lag.getValueAtPercentile(99) / 1000;
    const behind = unsent > 0 ? `${unsent} of ${due} events were never sent` : p99 > LAG_LIMIT_MS ? `events went out late: send lag p99 ${p99.toFixed(1)} ms` : null;
    return {
      offeredPerSecond: this.offeredPerSecond,
      achievedPerSecond: Math.round(this.#sent / (this.durationMs / 1000)),
      due,
      sent: this.#sent,
      requests: this.#requests,
      meanBatch: this.#requests === 0 ? 0 : Math.round((this.#sent / this.#requests) * 10) / 10,
      sendLagMs: {
        p50: this.#lag.totalCount === 0 ? 0 : this.#lag.getValueAtPercentile(50) / 1000,
        p99,
        max: this.#lag.totalCount === 0 ? 0 : this.#lag.maxValue / 1000,
      },
      keptUp: behind === null,
      behind,
    };
  }

  #tick(): void {
    const now = nowMs() - this.#t0;
    let more = false;
    for (let si = 0; si < this.streams.length; si++) {
      const s = this.streams[si] as PublishStream;
      const stop = this.#stop[si] as number;
      const lane = this.#lanes[si] as BrokerLane;
      let due = this.#nextDue[si] as number;
      while (due <= now && due < stop) {
        const n = this.counts[si] as number;
        this.#record(si, n, due);
        s.n = n;
        const ev: PublishedEvent = { stream: s, n, topic: s.topic(), headers: s.headers() };
        lane.pending.push({ si, n, text: eventText(s, ev), ev });
        this.counts[si] = n + 1;
        due += s.nextGapMs();
      }
      this.#nextDue[si] = due;
      if (due < stop) more = true;
    }
    if (!more) this.stop();
    for (const lane of this.#lanes) while (lane.pending.length > 0 && lane.busy < lane.connections) this.#send(lane);
  }

  #record(si: number, n: number, due: number): void {
    let a = this.dueMs[si] as Float64Array;
    if (n >= a.length) {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      this.dueMs[si] = a = b;
    }
    a[n] = due;
  }

  #send(lane: BrokerLane): void {
    const batch = lane.pending.splice(0, this.maxBatch);
    const sentAt = nowMs();
    for (const p of batch) this.#lag.recordValue(Math.max(1, Math.round((sentAt - this.dueAt(p.si, p.n)) * 1000)));
    this.#sent += batch.length;
    const port = lane.http();
    const answer = (fates: PublishFate[] | PublishFate): void => {
      const at = nowMs();
      batch.forEach((p, i) => this.onAnswer(p.ev, Array.isArray(fates) ? (fates[i] ?? 'rejected') : fates, at));
    };
    if (port === null) {
      answer('rejected');
      return;
    }
    lane.busy++;
    this.#inflight++;
    this.#requests++;
    const body = `[${batch.map((p) => p.text).join(',')}]`;
    const done = (): void => {
      lane.busy--;
      this.#inflight--;
      if (this.#inflight === 0 && this.#idle !== null) {
        this.#idle();
        this.#idle = null;
      }
      while (lane.pending.length > 0 && lane.busy < lane.connections) this.#send(lane);
    };
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/events/publish',
        agent: this.#agent,
        headers: { 'content-type': 'application/cloudevents-batch+json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          answer(fatesOf(res.statusCode ?? 0, text, batch.length));
          done();
        });
        res.on('error', () => {
          answer('rejected');
          done();
        });
      },
    );
    req.on('error', () => {
      answer('rejected');
      done();
    });
    req.end(body);
  }
}

function fatesOf(status: number, text: string, n: number): PublishFate[] | PublishFate {
  if (status !== 202) return status === 503 && /BACKPRESSURE|spool/i.test(text) ? 'backpressure' : 'rejected';
  try {
    const answers = JSON.parse(text) as Array<{ status: string }>;
    if (!Array.isArray(answers) || answers.length !== n) return 'rejected';
    return answers.map((a) => (a.status === 'ACCEPTED' ? 'accepted' : a.status === 'BACKPRESSURE' ? 'backpressure' : 'rejected'));
  } catch {
    return 'rejected';
  }
}

/** [LIVE-P1] One event as structured CloudEvents JSON, its data `size` bytes long when re-serialized. */
function eventText(s: PublishStream, ev: PublishedEvent): string {
  const head = JSON.stringify(ev.headers);
  const open = head === '{}' ? '{' : `${head.slice(0, -1)},`;
  // `{…headers,"pad":["…"]}`: the padding makes up the rest of the scenario's size.
  const fixed = Buffer.byteLength(open) + '"pad":[""]}'.length;
  const data = `${open}"pad":["${'x'.repeat(Math.max(0, s.spec.sizeBytes - fixed))}"]}`;
  const delivery = s.spec.delivery === 'guaranteed' ? ',"delivery":"guaranteed"' : '';
  return `{"specversion":"1.0","id":"${s.index}-${ev.n}","source":${JSON.stringify(s.source)},"type":${JSON.stringify(s.spec.type)},"topic":${JSON.stringify(ev.topic)}${delivery},"data":${data}}`;
}
