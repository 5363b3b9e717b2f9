/**
 * One load run of `meshtwin bench --live` [BENCH-L1]: an open-loop HTTP publisher and a WebSocket
 * subscriber in this process, against broker processes already running.
 *
 * What it measures: publish→deliver latency per event, at the subscriber, from the moment the
 * event was *due* (not from when it was sent), so a broker that slows the publisher down cannot
 * hide its own delay (no coordinated omission). One clock: the publisher writes the due time and
 * the send time (epoch ms, `performance.timeOrigin + performance.now()`, 3 decimals) into the
 * event's JSON data; the subscriber, in the same process, reads the same clock on receipt. The
 * broker's own `publishedat` is not used (it is the accept time, after the HTTP hop).
 *
 * How it offers load: event i is due at `start + i / rate`. A 1 ms timer moves every due event
 * to a pending list; whenever one of `connections` keep-alive HTTP connections is idle, the
 * pending events go out as one CloudEvents batch (`application/cloudevents-batch+json`, at most
 * `maxBatch` events), so when the broker answers slowly the batches grow and the offered rate
 * does not drop — until every connection is busy and the pending list grows: then the generator
 * is behind, and the result says so (`keptUp: false`, the rate it really sent). `rate: 'max'` is
 * the closed-loop variant for the throughput run: each connection sends `maxBatch` events again
 * as soon as the previous answer is in, and latency is from the send.
 *
 * Events of the warm-up are sent and delivered but not counted; the window's events are counted
 * by their due time. After the window the run waits up to `graceMs` for the last deliveries; an
 * event never delivered is lost (realtime may drop under the slow-consumer policy: counted).
 * Why not autocannon: it sees only HTTP answers, not the delivery at a subscriber, and it sends
 * the same request body, where each event here carries its own id and due time.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { epochClock } from '../host.ts';

/** Epoch ms, sub-millisecond: the one clock of publisher and subscriber. */
export const nowMs = epochClock;

export interface LoadOptions {
  /** Broker HTTP port the publisher posts to. */
  readonly publishHttp: number;
  /** Broker HTTP port the subscriber's WebSocket connects to. */
  readonly subscribeHttp: number;
  /** A topic no other run uses (the subscription is made for this run). */
  readonly topic: string;
  readonly guaranteed: boolean;
  /** Events per second offered, or 'max' (closed loop: as fast as answers come back). */
  readonly rate: number | 'max';
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Bytes of each event's JSON data (due, sent, padding). */
  readonly payloadBytes: number;
  readonly connections: number;
  readonly maxBatch: number;
  /** How long to wait for deliveries after the last send. */
  readonly graceMs: number;
  /** Called once the WebSocket subscription is open and before the first publish (e.g. wait until a remote broker knows it). */
  readonly subscribed?: () => Promise<void>;
}

/** Latency percentiles in ms (from µs histograms). */
export interface LatencyMs {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  readonly offeredPerSecond: number | 'max';
  readonly guaranteed: boolean;
  readonly windowSeconds: number;
  /** Events of the window handed to an HTTP request during the window, per second. */
  readonly sentPerSecond: number;
  /** Events of the window answered ACCEPTED, per second of window. */
  readonly acceptedPerSecond: number;
  /** Events of the window delivered to the subscriber, per second of window (closed loop: per second until the last of them arrived). */
  readonly deliveredPerSecond: number;
  /** Payload MiB/s delivered. */
  readonly deliveredMiBPerSecond: number;
  /** Counts over the window. */
  readonly events: { readonly due: number; readonly sent: number; readonly accepted: number; readonly refused: number; readonly delivered: number; readonly lost: number; readonly duplicates: number };
  /** The generator offered the rate (sent ≥ 99% of due within the window, nothing refused, pending drained). */
  readonly keptUp: boolean;
  /** Why not, when it did not. */
  readonly behind: string | null;
  /** Publish→deliver from the due time (open loop) — the figure. */
  readonly latencyMs: LatencyMs;
  /** Publish→deliver from the send (HTTP request written). */
  readonly fromSendMs: LatencyMs;
  /** How late the generator sent (send − due). */
  readonly sendLagMs: LatencyMs;
  /** HTTP requests made and mean events per request. */
  readonly requests: number;
  readonly meanBatch: number;
  /** This process's own event-loop delay p99 (ms): the measurement's noise floor. */
  readonly benchLoopDelayP99Ms: number;
}

/** A µs latency histogram (1 µs to 60 s, 3 significant digits). */
export function newHistogram(): hdr.Histogram {
  // µs from 1 to 60 s, 3 significant digits; plain JS (no wasm to load).
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/** A µs histogram's percentiles in ms. */
export function summary(h: hdr.Histogram): LatencyMs {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN, mean: Number.NaN };
  // A percentile is its bucket's highest equivalent value, which can exceed the exact max by the
  // histogram's precision: never report a p99 above the max.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    count: h.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

const stamp = (ms: number): string => ms.toFixed(3).padStart(17, '0');

/** One event's structured JSON text, its data exactly `payloadBytes` long. */
function eventText(topic: string, delivery: string, i: number, dueMs: number, sentMs: number, pad: string): string {
  // {"due":"<17>","sent":"<17>","i":N,"pad":"…"}: the padding makes up the rest.
  return `{"specversion":"1.0","id":"${topic}-${i}","source":"/bench","type":"bench.event","topic":"${topic}","delivery":"${delivery}","datacontenttype":"application/json","data":{"due":"${stamp(dueMs)}","sent":"${stamp(sentMs)}","i":${i},"pad":"${pad}"}}`;
}

function padFor(payloadBytes: number, i: number): string {
  const fixed = `{"due":"${stamp(0)}","sent":"${stamp(0)}","i":${i},"pad":""}`.length;
  return 'x'.repeat(Math.max(0, payloadBytes - fixed));
}

/** Opens a WebSocket subscription; resolves once open. */
function subscribe(http: number, pattern: string, onMessage: (text: string, atMs: number) => void): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${http}/v1/subscribe?${new URLSearchParams({ pattern })}`, { perMessageDeflate: false });
  ws.on('message', (m) => onMessage(String(m), nowMs()));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`subscribe: HTTP ${res.statusCode}`)));
  });
}

/** [BENCH-L1] One run: subscribe, offer the load, wait for the last deliveries, report. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const closed = o.rate === 'max';
  const rate = closed ? 0 : (o.rate as number);
  if (!closed && !(rate > 0)) throw new RangeError(`rate must be > 0 or 'max', got ${o.rate}`);
  const delivery = o.guaranteed ? 'guaranteed' : 'realtime';
  const latency = newHistogram();
  const fromSend = newHistogram();
  const sendLag = newHistogram();
  const loop = monitorEventLoopDelay({ resolution: 1 });

  // Which events are in the window: by index for the open loop (due times are known), by send
  // time for the closed loop. Per-event state: 0 unsent, 1 sent, 2 accepted, 3 refused; delivered apart.
  let capacity = closed ? 1 << 20 : Math.ceil(((o.warmupMs + o.durationMs) / 1000) * rate) + 1;
  let state = new Uint8Array(capacity);
  let got = new Uint8Array(capacity);
  let inWindow = new Uint8Array(capacity);
  const grow = (n: number): void => {
    if (n < capacity) return;
    while (capacity <= n) capacity *= 2;
    const g = (a: Uint8Array) => {
      const b = new Uint8Array(capacity);
      b.set(a);
      return b;
    };
    state = g(state);
    got = g(got);
    inWindow = g(inWindow);
  };
  let duplicates = 0;
  let delivered = 0;
  let lastWindowDeliveryMs = 0;

  const ws = await subscribe(o.subscribeHttp, o.topic, (text, atMs) => {
    const e = JSON.parse(text) as { data?: { due?: string; sent?: string; i?: number } };
    const d = e.data;
    if (d === undefined || typeof d.i !== 'number') return;
    const i = d.i;
    if (got[i] === 1) {
      duplicates++;
      return;
    }
    got[i] = 1;
    if (inWindow[i] !== 1) return;
    delivered++;
    lastWindowDeliveryMs = atMs;
    latency.recordValue(Math.max(1, Math.round((atMs - Number(d.due)) * 1000)));
    fromSend.recordValue(Math.max(1, Math.round((atMs - Number(d.sent)) * 1000)));
  });
  ws.on('error', () => {});
  await o.subscribed?.();

  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const pads = new Map<number, string>();
  const pad = (i: number): string => {
    const digits = String(i).length;
    let p = pads.get(digits);
    if (p === undefined) {
      p = padFor(o.payloadBytes, i);
      pads.set(digits, p);
    }
    return p;
  };

  const startMs = nowMs() + 5;
  const windowStartMs = startMs + o.warmupMs;
  const endMs = windowStartMs + o.durationMs;
  // Open loop: the window's events by index (float due times would count a boundary one by rounding).
  const firstIndex = closed ? 0 : Math.ceil((o.warmupMs * rate) / 1000);
  const endIndex = closed ? 0 : Math.ceil(((o.warmupMs + o.durationMs) * rate) / 1000);
  let next = 0; // next index to become due (open loop) / to send (closed loop)
  const pending: number[] = [];
  let pendingHead = 0;
  let inflight = 0;
  let requests = 0;
  let batched = 0;
  let stopped = false;
  let errors = 0;
  let firstError = '';
  const dueOf = (i: number): number => startMs + (i * 1000) / rate;
  let windowFirst = -1;
  let windowLast = -1;

  const send = (ids: number[], dues: number[]): void => {
    const sentMs = nowMs();
    const parts: string[] = [];
    for (let k = 0; k < ids.length; k++) {
      const i = ids[k] as number;
      const due = dues[k] as number;
      state[i] = 1;
      if (closed ? due >= windowStartMs && due < endMs : i >= firstIndex && i < endIndex) {
        inWindow[i] = 1;
        sendLag.recordValue(Math.max(1, Math.round((sentMs - due) * 1000)));
      }
      parts.push(eventText(o.topic, delivery, i, due, sentMs, pad(i)));
    }
    const body = `[${parts.join(',')}]`;
    inflight++;
    requests++;
    batched += ids.length;
    const req = request(
      {
        host: '127.0.0.1',
        port: o.publishHttp,
        method: 'POST',
        path: '/v1/events/publish',
        agent,
        headers: { 'content-type': 'application/cloudevents-batch+json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          inflight--;
          const status = res.statusCode ?? 0;
          let answers: Array<{ status?: string }> = [];
          if (status === 202) {
            try {
              answers = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ status?: string }>;
            } catch {
              answers = [];
            }
          }
          for (let k = 0; k < ids.length; k++) state[ids[k] as number] = answers[k]?.status === 'ACCEPTED' ? 2 : 3;
          if (status !== 202 && firstError === '') firstError = `HTTP ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`;
          pump();
        });
      },
    );
    req.on('error', (err) => {
      inflight--;
      errors++;
      if (firstError === '') firstError = err.message;
      for (const i of ids) state[i] = 3;
      pump();
    });
    req.end(body);
  };

  /** Sends pending (open loop) or fresh (closed loop) events on every idle connection. */
  const pump = (): void => {
    if (closed) {
      while (!stopped && inflight < o.connections) {
        const t = nowMs();
        if (t >= endMs) {
          stopped = true;
          break;
        }
        const ids: number[] = [];
        const dues: number[] = [];
        grow(next + o.maxBatch);
        for (let k = 0; k < o.maxBatch; k++) {
          ids.push(next);
          dues.push(t);
          if (t >= windowStartMs) {
            if (windowFirst < 0) windowFirst = next;
            windowLast = next;
          }
          next++;
        }
        send(ids, dues);
      }
      return;
    }
    while (inflight < o.connections && pendingHead < pending.length) {
      const n = Math.min(o.maxBatch, pending.length - pendingHead);
      const ids = pending.slice(pendingHead, pendingHead + n);
      pendingHead += n;
      if (pendingHead > 65_536) {
        pending.splice(0, pendingHead);
        pendingHead = 0;
      }
      send(
        ids,
        ids.map((i) => dueOf(i)),
      );
    }
  };

  loop.enable();
  await new Promise<void>((resolve) => {
    if (closed) {
      const wait = (): void => {
        if (nowMs() < startMs) {
          setTimeout(wait, 1);
          return;
        }
        pump();
        const check = (): void => {
          if (stopped && inflight === 0) resolve();
          else setTimeout(check, 5);
        };
        check();
      };
      wait();
      return;
    }
    const total = Math.ceil(((o.warmupMs + o.durationMs) / 1000) * rate);
    const tick = (): void => {
      const t = nowMs();
      while (next < total && dueOf(next) <= t) pending.push(next++);
      pump();
      if (next < total) setTimeout(tick, 1);
      else {
        // Everything is due; wait for the pending list to drain (bounded by the grace).
        const drainEnd = nowMs() + o.graceMs;
        const drain = (): void => {
          pump();
          if ((pendingHead >= pending.length && inflight === 0) || nowMs() > drainEnd) resolve();
          else setTimeout(drain, 2);
        };
        drain();
      }
    };
    setTimeout(tick, Math.max(0, startMs - nowMs()));
  });
  const pendingLeft = pending.length - pendingHead;

  // Window bounds for the open loop: indices whose due time falls in [windowStart, end).
  if (!closed) {
    windowFirst = firstIndex;
    windowLast = endIndex - 1;
  }
  // Wait for deliveries: until every accepted event of the window arrived, or the grace is over.
  const acceptedInWindow = (): number => {
    let n = 0;
    for (let i = windowFirst; i <= windowLast; i++) if (inWindow[i] === 1 && state[i] === 2) n++;
    return n;
  };
  const graceEnd = nowMs() + o.graceMs;
  const target = acceptedInWindow();
  while (nowMs() < graceEnd && delivered < target) {
    await new Promise((r) => setTimeout(r, 10));
  }
  loop.disable();
  ws.terminate();
  agent.destroy();

  let sentInWindow = 0;
  let accepted = 0;
  let refused = 0;
  let lost = 0;
  for (let i = windowFirst; i <= windowLast && i >= 0; i++) {
    if (inWindow[i] === 1) sentInWindow++;
    if (state[i] === 2) {
      accepted++;
      if (got[i] !== 1) lost++;
    } else if (state[i] === 3) refused++;
  }
  const due = closed ? sentInWindow : windowLast - windowFirst + 1;
  // Sent on time: during the window (lateness shows in sendLag and in the latency from due).
  const windowSeconds = o.durationMs / 1000;
  // Closed loop: the window's deliveries over the time they took (a backlog drains after it).
  const deliverySeconds = closed ? Math.max(windowSeconds, (lastWindowDeliveryMs - windowStartMs) / 1000) : windowSeconds;
  const sentPerSecond = sentInWindow / windowSeconds;
  const reasons: string[] = [];
  if (!closed) {
    if (sentInWindow < 0.99 * due) reasons.push(`sent ${sentInWindow} of ${due} due events`);
    if (pendingLeft > 0) reasons.push(`${pendingLeft} events never sent`);
    const lagP99 = sendLag.totalCount > 0 ? sendLag.getValueAtPercentile(99) / 1000 : 0;
    if (lagP99 > 100) reasons.push(`send lag p99 ${lagP99.toFixed(1)} ms: every connection was busy`);
  }
  if (refused > 0) reasons.push(`${refused} refused${firstError === '' ? '' : ` (${firstError})`}`);
  if (errors > 0 && refused === 0) reasons.push(`${errors} request errors (${firstError})`);
  return {
    offeredPerSecond: closed ? 'max' : rate,
    guaranteed: o.guaranteed,
    windowSeconds,
    sentPerSecond,
    acceptedPerSecond: accepted / windowSeconds,
    deliveredPerSecond: delivered / deliverySeconds,
    deliveredMiBPerSecond: (delivered * o.payloadBytes) / deliverySeconds / (1024 * 1024),
    events: { due, sent: sentInWindow, accepted, refused, delivered, lost, duplicates },
    keptUp: reasons.length === 0,
    behind: reasons.length === 0 ? null : reasons.join('; '),
    latencyMs: summary(latency),
    fromSendMs: summary(fromSend),
    sendLagMs: summary(sendLag),
    requests,
    meanBatch: requests === 0 ? 0 : batched / requests,
    benchLoopDelayP99Ms: Math.round(loop.percentile(99) / 1000) / 1000,
  };
}
