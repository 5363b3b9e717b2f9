/**
 * A broker's control-plane agent [CP-AGENT]: registers the broker in `broker_nodes` and
 * heartbeats it (status, client connections, mesh links up, CPU), reads the ACTIVE routing
 * rules, writes the traces of sampled events this broker delivers, and sweeps brokers whose
 * heartbeat stopped to OFFLINE (once it has itself been connected for `offlineAfter`, so an
 * outage of the store does not sweep brokers that had no way to beat).
 *
 * [CP-AGENT-1] A control plane, not a data path: nothing on the publish or delivery path waits
 * for the store. A delivery only appends a trace to a bounded queue in memory (full: the trace is
 * dropped and counted, `tracesDropped`); the queue is written by one loop, one heartbeat
 * interval apart (sooner while it has a backlog), never more than one write at a time. The
 * broker starts, routes and delivers whether or not the store is there.
 * [CP-AGENT-2] When a write fails the store is taken as gone: the agent logs it once, closes
 * it, keeps the unwritten traces (to the queue's bound) and tries again each interval. When it
 * is back the next beat re-registers the broker (an upsert: a row swept OFFLINE meanwhile, or a
 * database that lost it, gets it back), and the queued traces follow, oldest first.
 * [CP-AGENT-3] Stopping: `draining()` writes DRAINING as soon as it can (the drain waits for it,
 * bounded); `close()` writes what is queued and OFFLINE (bounded), then closes the store.
 */
import type { Logger } from 'pino';
import type { Envelope, Headers } from '../../engine/types.ts';
import type { EdgePublish } from '../edge/port.ts';
import type { BrokerBeat, BrokerStatus } from './brokers.ts';
import type { RoutingRule } from './rules.ts';
import { isStatementError, redactUrl, sqlMessage } from './sql.ts';
import { type ControlStore, controlTarget } from './store.ts';
import { derivedTraceId, formatTraceparent, newSpanId, parseTraceparent, TRACEPARENT, TRACESTATE, TraceSampler } from './tracecontext.ts';
import type { TraceRecord } from './traces.ts';

/** A broker config's `controlPlane:`, resolved. */
export interface ControlPlaneConfig {
  /** A PostgreSQL server; null: the embedded store in the broker's dataDir. */
  readonly url: string | null;
  readonly heartbeatMs: number;
  /** 1 in N events by id hash (0: none by hash). */
  readonly traceSampleEvery: number;
  /** Patterns whose events are all traced. */
  readonly traceTopics: readonly string[];
  /** Traces held in memory while the store is slow or away. */
  readonly queueLimit: number;
  /** A broker whose heartbeat is older than this is swept OFFLINE. */
  readonly offlineAfterMs: number;
}

/** What the agent reads of its broker. */
export interface AgentSource {
  readonly id: string;
  readonly region: string;
  readonly ipAddress: string;
  readonly startedAtMs: number;
  /** host:port of the mesh listener and of the HTTP edge, as bound (read at each beat). */
  meshAddress(): string;
  httpAddress(): string;
  /** Client connections now (WebSocket, gRPC streams, MQTT). */
  connections(): number;
  meshLinksUp(): number;
}

export interface AgentCounters {
  /** Traces queued for writing. */
  tracesQueued: number;
  tracesWritten: number;
  /** Traces dropped because the queue was full [CP-AGENT-1]. */
  tracesDropped: number;
  /** Traces the database refused (a value it cannot store): dropped, so they block nothing [CP-AGENT-2]. */
  tracesRejected: number;
  heartbeats: number;
  /** Writes that failed (the store was then taken as gone). */
  failures: number;
  /** Times the store was opened (first connect and every reconnect). */
  connects: number;
}

/** Traces per transaction, and transactions per loop turn while there is a backlog. */
const BATCH = 500;
const BATCHES_PER_TURN = 8;
/** Events remembered as traced here, so a second local delivery of one writes no second row. */
const RECENT = 4096;
/** Longest a drain or a stop waits for the store. */
const STOP_WAIT_MS = 3000;

type Opener = (target: ReturnType<typeof controlTarget>) => Promise<ControlStore>;

export class ControlAgent {
  readonly sampler: TraceSampler;
  readonly counters: AgentCounters = { tracesQueued: 0, tracesWritten: 0, tracesDropped: 0, tracesRejected: 0, heartbeats: 0, failures: 0, connects: 0 };
  /** The ACTIVE routing rules, as last read (kept while the store is away): for the engine to honor. */
  rules: readonly RoutingRule[] = [];
  /** The open store, or null while it is being opened or is away. */
  store: ControlStore | null = null;
  /** Why the store is away (one line), or null. */
  lastError: string | null = null;
  lastHeartbeatAtMs: number | null = null;

  #queue: TraceRecord[] = [];
  readonly #recent = new Set<string>();
  #source: AgentSource | null = null;
  #timer: NodeJS.Timeout | null = null;
  #turn: Promise<void> | null = null;
  #status: BrokerStatus = 'ACTIVE';
  #closed = false;
  #announced = false;
  /** When the current connection's first write succeeded (performance.now()), or null while away. */
  #connectedAtMs: number | null = null;
  #downSinceMs: number | null = null;
  #cpu = { usage: process.cpuUsage(), at: performance.now() };

  constructor(
    readonly config: ControlPlaneConfig,
    readonly dataDir: string,
    private readonly log: Logger,
    private readonly open: Opener,
  ) {
    this.sampler = new TraceSampler(config.traceSampleEvery, config.traceTopics);
  }

  /** Where the store is, for messages. */
  get where(): string {
    const t = controlTarget(this.dataDir, this.config.url);
    return 'url' in t ? redactUrl(t.url) : t.dir;
  }

  get connected(): boolean {
    return this.store !== null && this.lastError === null;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Starts the loop; the first turn opens the store. Returns at once [CP-AGENT-1]. */
  start(source: AgentSource): void {
    this.#source = source;
    this.#kick(0);
  }

  #kick(delayMs: number): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#runTurn().finally(() => this.#kick(this.#queue.length >= BATCH ? 10 : this.config.heartbeatMs));
    }, delayMs);
    this.#timer.unref();
  }

  /** One turn at a time; a caller that comes while one runs waits for it. */
  #runTurn(): Promise<void> {
    this.#turn ??= this.#turnBody().finally(() => {
      this.#turn = null;
    });
    return this.#turn;
  }

  async #turnBody(): Promise<void> {
    if (this.#source === null) return;
    if (this.store === null) {
      try {
        const store = await this.open(controlTarget(this.dataDir, this.config.url));
        // A stop that came while it opened (an embedded first start takes seconds) closes it.
        if (this.#closed) {
          await store.close().catch(() => {});
          return;
        }
        this.store = store;
        this.counters.connects++;
      } catch (e) {
        this.#down(e);
        return;
      }
    }
    try {
      await this.#write(this.store);
      if (this.#downSinceMs !== null) {
        const outageMs = Math.round(performance.now() - this.#downSinceMs);
        this.log.info({ store: this.store.where, outageMs, queued: this.#queue.length, written: this.counters.tracesWritten }, 'control plane reconnected');
        this.#downSinceMs = null;
      } else if (!this.#announced) this.log.info({ store: this.store.where }, 'control plane connected');
      this.#announced = true;
      this.lastError = null;
    } catch (e) {
      this.counters.failures++;
      this.#down(e);
      const s = this.store;
      this.store = null;
      await s?.close().catch(() => {});
    }
  }

  #down(e: unknown): void {
    this.#connectedAtMs = null;
    const msg = sqlMessage(e);
    if (this.#downSinceMs === null) {
      this.#downSinceMs = performance.now();
      this.log.warn({ err: msg, queued: this.#queue.length }, 'control plane store unreachable: routing goes on, traces are queued');
    }
    this.lastError = msg;
  }

  /** The heartbeat, then queued traces oldest first, then the rules and the sweep. */
  async #write(store: ControlStore): Promise<void> {
    await store.upsertBroker(this.#beat());
    this.counters.heartbeats++;
    this.lastHeartbeatAtMs = Date.now();
    for (let i = 0; i < BATCHES_PER_TURN && this.#queue.length > 0; i++) {
      const batch = this.#queue.slice(0, BATCH);
      try {
        await store.insertTraces(batch);
        this.counters.tracesWritten += batch.length;
      } catch (e) {
        if (!isStatementError(e)) throw e;
        await this.#oneByOne(store, batch);
      }
      // Only now: a failed write (the store away) leaves its traces queued.
      this.#queue.splice(0, batch.length);
    }
    if (this.#closed) return;
    this.rules = await store.listRules('ACTIVE');
    // Only once this agent has itself been connected for offlineAfter: after an outage of the
    // store every broker's last beat is old, and each gets that long to beat again.
    this.#connectedAtMs ??= performance.now();
    if (performance.now() - this.#connectedAtMs < this.config.offlineAfterMs) return;
    const swept = await store.sweepOffline(this.config.offlineAfterMs);
    if (swept.length > 0) this.log.info({ brokers: swept }, 'brokers without a heartbeat marked OFFLINE');
  }

  /**
   * [CP-AGENT-2] The database refused a batch itself (the store is there: the heartbeat just went
   * in): each trace alone, so one it cannot take (a value out of its range) costs only itself,
   * counted in `tracesRejected`, and never blocks the queue behind it.
   */
  async #oneByOne(store: ControlStore, batch: readonly TraceRecord[]): Promise<void> {
    for (const t of batch) {
      try {
        await store.insertTraces([t]);
        this.counters.tracesWritten++;
      } catch (e) {
        if (!isStatementError(e)) throw e;
        this.counters.tracesRejected++;
        this.log.warn({ eventId: t.eventId, err: sqlMessage(e) }, 'control plane store refused a trace: dropped');
      }
    }
  }

  #beat(): BrokerBeat {
    const s = this.#source as AgentSource;
    const now = performance.now();
    const usage = process.cpuUsage(this.#cpu.usage);
    const cpu = now > this.#cpu.at ? ((usage.user + usage.system) / 1000 / (now - this.#cpu.at)) * 100 : 0;
    this.#cpu = { usage: process.cpuUsage(), at: now };
    return {
      name: s.id,
      ipAddress: s.ipAddress,
      region: s.region,
      meshAddress: s.meshAddress(),
      httpAddress: s.httpAddress(),
      status: this.#status,
      connections: s.connections(),
      cpuUtilization: cpu,
      meshLinksUp: s.meshLinksUp(),
      startedAtMs: s.startedAtMs,
    };
  }

  /**
   * [CP-TRACE-2] At the broker that takes a publish: a sampled event without a valid traceparent
   * gets one (an invalid one is replaced and its tracestate dropped). Anything else passes as is.
   */
  ingress(input: EdgePublish): EdgePublish {
    if (this.sampler.sampled(input.id, input.topic) === null) return input;
    const sent = input.headers[TRACEPARENT];
    if (parseTraceparent(sent) !== null) return input;
    const headers: Record<string, Headers[string]> = Object.assign(Object.create(null), input.headers);
    headers[TRACEPARENT] = formatTraceparent({ traceId: derivedTraceId(input.source, input.id), spanId: newSpanId(), sampled: true });
    if (sent !== undefined) delete headers[TRACESTATE];
    return { ...input, headers: headers as Headers };
  }

  /**
   * [CP-6] A local delivery: a sampled event's trace is queued (once per event at this broker).
   * `nowMs`: the broker's clock, the one it stamps publishes with.
   */
  delivered(env: Envelope, guaranteed: boolean, nowMs: number): void {
    const sampledBy = this.sampler.sampled(env.id, env.topic);
    if (sampledBy === null || this.#closed) return;
    const self = this.#source?.id;
    if (self === undefined) return;
    const key = `${env.source}\0${env.id}`;
    if (this.#recent.has(key)) return;
    this.#recent.add(key);
    if (this.#recent.size > RECENT) this.#recent.delete(this.#recent.values().next().value as string);
    if (this.#queue.length >= this.config.queueLimit) {
      this.counters.tracesDropped++;
      return;
    }
    const tp = parseTraceparent(env.headers[TRACEPARENT]);
    this.#queue.push({
      eventId: env.id,
      source: env.source,
      topic: env.topic,
      payloadBytes: env.payload.byteLength,
      path: env.path[env.path.length - 1] === self ? [...env.path] : [...env.path, self],
      publishedAtMs: env.publishedAtMs,
      deliveredAtMs: nowMs,
      traceId: tp?.traceId ?? derivedTraceId(env.source, env.id),
      parentSpanId: tp?.spanId ?? null,
      guaranteed,
      sampledBy,
    });
    this.counters.tracesQueued++;
  }

  /** [CP-AGENT-3] The broker is draining: say so in its row (waits, bounded, for the write). */
  async draining(): Promise<void> {
    this.#status = 'DRAINING';
    await this.#soon();
  }

  /** Runs a turn now (after the one in progress), waiting at most STOP_WAIT_MS. */
  async #soon(): Promise<void> {
    if (this.#source === null) return;
    const turn = (async () => {
      await this.#turn;
      await this.#runTurn();
    })();
    await Promise.race([turn, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
  }

  /** [CP-AGENT-3] Writes what is queued and OFFLINE (bounded), then closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#status = 'OFFLINE';
    if (this.store !== null) await this.#soon();
    this.#closed = true;
    // A turn still running (a store still opening, or slow) ends by itself and closes what it opened.
    await Promise.race([this.#turn, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    const s = this.store;
    this.store = null;
    await s?.close().catch(() => {});
    if (this.#queue.length > 0) this.log.warn({ traces: this.#queue.length }, 'control plane: traces not written at stop');
  }

  /** What GET /v1/control/status shows. */
  status(): Record<string, unknown> {
    return {
      backend: this.config.url === null ? 'embedded' : 'postgres',
      store: this.store?.where ?? null,
      connected: this.connected,
      lastError: this.lastError,
      lastHeartbeatAt: this.lastHeartbeatAtMs === null ? null : new Date(this.lastHeartbeatAtMs).toISOString(),
      status: this.#status,
      queued: this.#queue.length,
      queueLimit: this.config.queueLimit,
      traceSampleEvery: this.config.traceSampleEvery,
      traceTopics: this.config.traceTopics,
      rules: this.rules.length,
      counters: { ...this.counters },
    };
  }
}
