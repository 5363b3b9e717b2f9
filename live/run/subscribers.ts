/**
 * The scenario's subscriber populations as real WebSocket clients [LIVE-S1..4].
 *
 * [LIVE-S1] One connection per population (`count` identical subscribers share one routing entry
 *           in the simulator; live, one real subscriber stands for them): each event it receives
 *           counts `count` deliveries, as the simulator counts it. The report says so.
 * [LIVE-S2] Latency is measured here, on receipt, against the event's due time (the moment the
 *           simulator publishes it), on the run's one clock: publisher and subscriber share this
 *           process. Local or cross-region as the simulator decides: by the region of the first
 *           broker on the event's routing path against the population's.
 * [LIVE-S3] A consume rate (`consume:` or a slow-consumer fault) is a client that reads slowly: a
 *           token bucket of that many events per second; when it runs dry the socket is paused
 *           (TCP's window closes, the broker's send callback waits and its bounded queue, under
 *           the slow-consumer policy, takes the backlog), and resumed as tokens return.
 * [LIVE-S4] A connection that closes (its broker crashed) is opened again every `reconnectMs`
 *           until the broker answers, as the simulator's clients reconnect.
 */
import WebSocket from 'ws';
import type { Envelope, HeaderValue } from '../../engine/types.ts';
import type { Population } from '../../sim/workload.ts';
import { nowMs } from './publishers.ts';

export interface Delivery {
  readonly pop: Population;
  readonly env: Envelope;
  readonly guaranteed: boolean;
  readonly atMs: number;
}

/** One population's connection. */
class PopulationClient {
  ws: WebSocket | null = null;
  /** Events per second this client reads (Infinity: as fast as they come). */
  rate: number;
  #tokens = 0;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  connects = 0;
  readonly #queue: string[] = [];

  constructor(
    readonly pop: Population,
    readonly httpOf: () => number | null,
    readonly onEvent: (text: string) => void,
    readonly reconnectMs: number,
  ) {
    this.rate = pop.consumeRatePerSec ?? Infinity;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const port = this.httpOf();
      if (port === null || this.#closed) {
        reject(new Error(`broker ${this.pop.broker} is not running`));
        return;
      }
      const q = new URLSearchParams({ pattern: this.pop.pattern, ...(this.pop.filter === null ? {} : { filter: this.pop.filter }) });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/subscribe?${q}`, { perMessageDeflate: false });
      this.ws = ws;
      ws.on('message', (m) => this.#receive(String(m)));
      ws.once('open', () => {
        this.connects++;
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`subscribe ${this.pop.pattern} on ${this.pop.broker}: HTTP ${res.statusCode}`)));
      ws.on('error', (e) => reject(e));
      ws.once('close', () => {
        if (this.ws === ws) this.ws = null;
        if (!this.#closed) this.#reopenLater();
      });
    });
  }

  #reopenLater(): void {
    setTimeout(() => {
      if (this.#closed || this.ws !== null) return;
      this.open().catch(() => {
        if (this.ws === null) this.#reopenLater();
      });
    }, this.reconnectMs).unref();
  }

  #receive(text: string): void {
    if (this.rate === Infinity && this.#queue.length === 0) {
      this.onEvent(text);
      return;
    }
    this.#queue.push(text);
    this.#drain();
  }

  /** [LIVE-S3] Hands out queued events as tokens allow; pauses the socket while the queue waits. */
  #drain(): void {
    const now = nowMs();
    if (this.rate === Infinity) {
      while (this.#queue.length > 0) this.onEvent(this.#queue.shift() as string);
    } else {
      this.#tokens = Math.min(Math.max(1, this.rate / 10), this.#tokens + ((now - this.#last) * this.rate) / 1000);
      while (this.#queue.length > 0 && this.#tokens >= 1) {
        this.#tokens--;
        this.onEvent(this.#queue.shift() as string);
      }
    }
    this.#last = now;
    if (this.#queue.length > 0) {
      this.ws?.pause();
      if (this.#timer === undefined) {
        this.#timer = setTimeout(
          () => {
            this.#timer = undefined;
            this.#drain();
          },
          Math.max(1, 1000 / this.rate),
        );
      }
    } else this.ws?.resume();
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.#drain();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.ws?.terminate();
  }
}

/** Every population's client, and what they received. */
export class ScenarioSubscribers {
  readonly clients: PopulationClient[];
  /** Per population: events received (not weighted by count). */
  readonly received: number[];
  malformed = 0;

  constructor(
    readonly populations: readonly Population[],
    httpOf: (broker: string) => number | null,
    readonly onDelivery: (d: Delivery) => void,
    reconnectMs: number,
  ) {
    this.received = populations.map(() => 0);
    this.clients = populations.map(
      (pop) =>
        new PopulationClient(
          pop,
          () => httpOf(pop.broker),
          (text) => this.#event(pop, text),
          reconnectMs,
        ),
    );
  }

  async open(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.open()));
  }

  /** [LIVE-S3] Sets the consume rate of populations on `broker` (those with exactly `pattern`, or all). */
  slow(broker: string, pattern: string | undefined, rate: number | undefined): void {
    for (const c of this.clients) if (c.pop.broker === broker && (pattern === undefined || c.pop.pattern === pattern)) c.setRate(rate ?? c.pop.consumeRatePerSec ?? Infinity);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  #event(pop: Population, text: string): void {
    const at = nowMs();
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.malformed++;
      return;
    }
    this.received[pop.index] = (this.received[pop.index] as number) + 1;
    const data = e['data'];
    const headers: Record<string, HeaderValue> = {};
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      for (const [k, v] of Object.entries(data)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') headers[k] = v;
    }
    const env: Envelope = {
      id: String(e['id']),
      source: String(e['source']),
      type: String(e['type']),
      specversion: '1.0',
      topic: String(e['topic']),
      headers,
      payload: new Uint8Array(0),
      publishedAtMs: Number(e['publishedat']),
      path: String(e['routingpath'] ?? '').split(','),
      hopLimit: 0,
    };
    this.onDelivery({ pop, env, guaranteed: e['delivery'] === 'guaranteed', atMs: at });
  }
}
