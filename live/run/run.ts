/**
 * `meshtwin live FILE` [LIVE-R1..6]: a scenario run on real broker processes, reported in the
 * simulator's own contract (sim/run.ts RunResult, summary.json with `"mode": "live"`).
 *
 * [LIVE-R1] The mesh: a CA and certificates, one broker config per broker (the scenario's
 *           routing timers, hop limit, retransmission, ack delay, ledger TTL and spool), one
 *           `meshtwin broker` process each, on loopback ports; every scenario link through two
 *           userspace shapers (live/shaper.ts) with its RTT/2, jitter, bandwidth, queue and loss.
 * [LIVE-R2] Start: the processes are ready (their "broker ready" line), their routes cover every
 *           other broker, the subscribers' connections are open, and then the scenario's warm-up
 *           passes (interest reaches every broker) before t0.
 * [LIVE-R3] The window [t0, t0 + duration): publishers (publishers.ts) send the simulator's events
 *           at their due times; faults happen at t0 + at (faults.ts); every second each broker's
 *           /metrics is scraped (scrape.ts) for per-second link rates and for totals that survive
 *           a crash. Link bytes and frames count what was sent inside the window, as the
 *           simulator's do. Then a drain (default 5 s when the scenario has assertions, else 2 s,
 *           ending early once deliveries stop for a second) lets in-flight events land.
 * [LIVE-R4] The figures: deliveries, duplicates, losses and invariants from the subscribers
 *           (the simulator's own checker, sim/invariants.ts, fed with what the clients saw and
 *           the brokers' routes at the end); link, spool, retransmission and drop counters from
 *           /metrics; convergence from the brokers' own `routes-changed` log lines (their clock
 *           is this machine's). What live mode cannot measure is listed in `live.notMeasured`.
 * [LIVE-R5] Accounting: `messages.dropped` is every (event, subscriber) pair the scenario's
 *           populations were owed (the demand oracle, sim/demand.ts) and did not receive by the
 *           end of the drain; `drops` by cause are what the brokers counted (copies, one per
 *           subscriber connection or link frame, not weighted by `count`).
 * [LIVE-R6] Every process and shaper started is stopped on return, on error and on Ctrl-C (the
 *           caller's signal handler calls `abort()`), by PID.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BrokerEvent } from '../../engine/broker.ts';
import type { Envelope } from '../../engine/types.ts';
import type { FaultSpec, Scenario } from '../../scenarios/types.ts';
import { DemandOracle } from '../../sim/demand.ts';
import { InvariantChecker, type CheckedMesh, type CheckedNode } from '../../sim/invariants.ts';
import type { ControlEvent } from '../../sim/mesh.ts';
import { LatencyRecorder, SecondSeries } from '../../sim/metrics.ts';
import { aclFigures, type RunResult } from '../../sim/run.ts';
import { withDuration } from '../../sim/run.ts';
import { expandSubscribers, regionOf } from '../../sim/workload.ts';
import { BrokerProcess } from '../process.ts';
import { shapeOf } from '../shaper.ts';
import { LiveFaults } from './faults.ts';
import { brokerFigures, deniedByPrincipal, diff, dropsByCause, faultFigures, linkFigures, round, schemaFiguresLive, sum, type Totals, totalsOf } from './figures.ts';
import { writeMesh, type WrittenMesh } from './mesh.ts';
import { nowMs, type GeneratorReport, ScenarioPublishers } from './publishers.ts';
import { BrokerCounters, scrape } from './scrape.ts';
import { type Delivery, ScenarioSubscribers } from './subscribers.ts';

/** Most subscriber populations a live run opens connections for. */
export const LIVE_MAX_POPULATIONS = 200;

export interface LiveOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Where certificates, configs, data and logs go. */
  readonly workDir: string;
  /** Check invariants (default: when the scenario has assertions). */
  readonly check?: boolean;
  readonly drainMs?: number;
  /** Progress lines for the user. */
  readonly say?: (line: string) => void;
  /** Called once the mesh is up and subscribed, before the warm-up (the browser view attaches here). */
  readonly onReady?: (view: LiveMeshView) => void;
}

/** What a watcher (the browser view) may see and do while a live run goes. */
export interface LiveMeshView {
  readonly scenario: Scenario;
  /** Epoch ms of t0 (NaN before the traffic starts). */
  t0(): number;
  brokers(): Array<{ readonly id: string; readonly region: string; readonly http: number; readonly alive: boolean }>;
  /** Whether the link between a and b is up (no fault holds it down). */
  linkUp(a: string, b: string): boolean;
  /** Does a fault now, as a scenario's `faults:` entry would (its `at` is ignored). */
  apply(f: FaultSpec): Promise<void>;
}

/** What a live run adds to the simulator's result (summary.json `live`). */
export interface LiveInfo {
  readonly network: 'loopback';
  readonly shaper: 'userspace';
  readonly processes: ReadonlyArray<{ readonly broker: string; readonly pids: readonly number[] }>;
  readonly generator: GeneratorReport;
  readonly subscribers: {
    readonly connections: number;
    readonly note: string;
  };
  readonly accounting: string;
  readonly notMeasured: readonly string[];
  readonly startupMs: number;
  readonly drainMs: number;
}

export type LiveResult = RunResult & { readonly mode: 'live'; readonly live: LiveInfo };

/** Why a scenario cannot run live (null: it can). */
export function liveRefusal(s: Scenario): string | null {
  const ha = s.regions.findIndex((r) => r.ha.length > 0);
  if (ha >= 0) return `regions[${ha}].ha: live mode does not run HA pairs yet (the live broker has no standby mode); simulate this scenario instead`;
  if (s.acl.length > 0) return 'acl: live mode does not give its load generator and subscribers principals yet (live brokers take policies from their own config); simulate this scenario instead';
  if (s.routes.length > 0) return 'routes: live brokers take operator routing rules from their control plane (controlPlane:, event_routing_rules); simulate this scenario instead';
  const fn = s.subscribers.findIndex((x) => x.function !== undefined);
  if (fn >= 0) return `subscribers[${fn}].function: a simulated handler; live, a function subscription calls a real endpoint (the broker config's functions:); simulate this scenario instead`;
  if (s.schemas.length > 0 || s.publishers.some((p) => p.data !== null)) {
    return "schemas: and data: live mode's load generator sends padded payloads, not rendered data, yet (live brokers take schemas from their own config); simulate this scenario instead";
  }
  const pops = expandSubscribers(s).length;
  if (pops > LIVE_MAX_POPULATIONS) return `live mode opens one connection per subscriber population; this scenario has ${pops} (at most ${LIVE_MAX_POPULATIONS})`;
  return null;
}

const NOT_MEASURED = [
  'links[].queueWaitMsMean/Max (the shapers do not time their queues)',
  'links[].droppedLoss (a loss on a TCP stream is a stall, never a dropped frame)',
  'brokers[].routingTableBytes (heap of another process)',
  'brokers[].ledgerEntries, acksSent, acksReceived, consumerQueuePeak, groupSharesMoved',
  'decisionUs (the routing decision runs in the broker processes)',
  'run.kernelEvents (no simulation kernel)',
];

interface Running {
  proc: BrokerProcess | null;
  readonly pids: number[];
  readonly counters: BrokerCounters;
}

/** A live run; `run()` once. `abort()` stops it from a signal handler. */
export class LiveRun {
  readonly scenario: Scenario;
  #mesh: WrittenMesh | undefined;
  readonly #running = new Map<string, Running>();
  /** Control events, `at` in epoch ms until the end re-bases them on t0. */
  readonly #events: ControlEvent[] = [];
  #publishers: ScenarioPublishers | undefined;
  #subscribers: ScenarioSubscribers | undefined;
  #faults: LiveFaults | undefined;
  #aborted = false;
  #t0 = 0;
  readonly #say: (line: string) => void;

  readonly opts: LiveOptions;

  constructor(scenario: Scenario, opts: LiveOptions) {
    this.scenario = withDuration(scenario, opts.durationMs);
    // The brokers run in it and read their configs by absolute path.
    this.opts = { ...opts, workDir: resolve(opts.workDir) };
    this.#say = opts.say ?? (() => {});
  }

  /** Stops every process and shaper (idempotent). */
  async abort(): Promise<void> {
    this.#aborted = true;
    this.#faults?.clear();
    this.#publishers?.close();
    this.#subscribers?.close();
    await Promise.all([...this.#running.values()].map((r) => r.proc?.stop(3000)));
    await this.#mesh?.stopRelays();
  }

  async run(): Promise<LiveResult> {
    try {
      return await this.#run();
    } finally {
      await this.abort();
    }
  }

  async #run(): Promise<LiveResult> {
    const s = this.scenario;
    const o = this.opts;
    const wall0 = nowMs();
    const ids = s.regions.flatMap((r) => r.brokers);
    const region = new Map(ids.map((id) => [id, regionOf(s, id)]));
    const pops = expandSubscribers(s);
    rmSync(o.workDir, { recursive: true, force: true });
    mkdirSync(o.workDir, { recursive: true });
    const r = s.routing;
    const routing = `{ helloInterval: ${r.helloIntervalMs}ms, deadInterval: ${r.deadIntervalMs}ms, hopLimit: ${r.hopLimit}, retransmit: ${r.retransmitMs}ms, ackDelay: ${r.ackDelayMs}ms, ledgerTtl: ${r.ledgerTtlMs}ms, spool: ${r.spoolBytes}B }`;
    this.#mesh = await writeMesh(
      o.workDir,
      ids,
      s.links.map((l) => ({ between: l.between, cost: l.cost, shape: shapeOf(l) })),
      routing,
      { regions: region, logLevel: 'info', clients: [], seed: o.seed, queueLimit: Math.max(1, ...pops.map((p) => p.queueLimit)) },
    );
    const mesh = this.#mesh;
    this.#say(`starting ${ids.length} broker processes and ${2 * s.links.length} link shapers on loopback (work dir ${o.workDir})`);
    for (const id of ids) this.#running.set(id, { proc: null, pids: [], counters: new BrokerCounters() });
    await Promise.all(ids.map((id) => this.#start(id)));
    if (!(await this.#until(() => this.#routesComplete(ids), 30_000))) throw new Error('the brokers did not find routes to each other within 30 s');

    // Subscribers, then the scenario's warm-up for their interest to reach every broker.
    const oracle = new DemandOracle(pops);
    for (const p of pops) oracle.connect(p.index);
    const httpOf = (id: string): number | null => (this.#running.get(id)?.proc?.alive === true ? mesh.broker(id).http : null);
    const series = new SecondSeries();
    const local = new LatencyRecorder();
    const cross = new LatencyRecorder();
    const popLatency = pops.map(() => new LatencyRecorder());
    const popDelivered = pops.map(() => 0);
    let delivered = 0;
    let lastDeliveryAt = 0;
    const perSecond = { delivered: [] as number[], published: [] as number[] };
    const bump = (a: number[], sec: number, n: number): void => {
      while (a.length <= sec) a.push(0);
      a[sec] = (a[sec] as number) + n;
    };
    let checker: InvariantChecker | undefined;
    const onDelivery = (d: Delivery): void => {
      lastDeliveryAt = d.atMs;
      const [si, n] = parseId(d.env.id);
      const pub = this.#publishers as ScenarioPublishers;
      const due = pub.dueAt(si, n);
      const ms = d.atMs - due;
      const count = d.pop.count;
      const first = d.env.path[0] as string;
      const isLocal = first === d.pop.broker || region.get(first) === d.pop.region;
      if (Number.isFinite(ms)) {
        (isLocal ? local : cross).record(ms, count);
        (popLatency[d.pop.index] as LatencyRecorder).record(ms, count);
        (isLocal ? series.local : series.cross).record(ms, count);
      }
      delivered += count;
      popDelivered[d.pop.index] = (popDelivered[d.pop.index] as number) + count;
      bump(perSecond.delivered, Math.max(0, Math.floor((d.atMs - this.#t0) / 1000)), count);
      checker?.deliver(d.atMs - this.#t0, d.pop, d.env as Envelope, d.guaranteed);
    };
    this.#subscribers = new ScenarioSubscribers(pops, httpOf, onDelivery, s.routing.reconnectMs);
    await this.#subscribers.open();
    for (const c of this.#subscribers.clients) {
      // The demand oracle owes a population nothing while its client is away.
      const pop = c.pop;
      const watch = (): void => {
        c.ws?.once('close', () => {
          oracle.disconnect(pop.index);
          const back = setInterval(() => {
            if (c.ws?.readyState === 1) {
              oracle.connect(pop.index);
              this.#events.push({ type: 'resubscribed', at: nowMs(), broker: pop.broker, populations: 1 });
              clearInterval(back);
              watch();
            }
          }, 5);
        });
      };
      watch();
    }
    const faults = new LiveFaults({
      scenario: s,
      shapers: (a, b) => mesh.relays.get(`${a}|${b}`) ?? mesh.relays.get(`${b}|${a}`) ?? [],
      crash: (id) => this.#crash(id),
      restart: (id) => this.#start(id),
      slow: (id, pattern, rate) => this.#subscribers?.slow(id, pattern, rate),
    });
    this.#faults = faults;
    o.onReady?.({
      scenario: s,
      t0: () => (this.#t0 === 0 ? Number.NaN : this.#t0),
      brokers: () => ids.map((id) => ({ id, region: region.get(id) as string, http: mesh.broker(id).http, alive: this.#running.get(id)?.proc?.alive === true })),
      linkUp: (a, b) => faults.linkUp(a, b),
      apply: (f) => faults.apply(f),
    });
    this.#say(`${pops.length} subscriber connections open; warm-up ${s.warmupMs} ms`);
    await sleep(s.warmupMs);

    // The window.
    let published = 0;
    let rejected = 0;
    let backpressured = 0;
    let expected = 0;
    const publishers = new ScenarioPublishers(s, o.seed, o.durationMs, httpOf, (ev, fate, at) => {
      const input = {
        id: `${ev.stream.index}-${ev.n}`,
        source: ev.stream.source,
        type: ev.stream.spec.type,
        topic: ev.topic,
        headers: ev.headers,
        payload: ev.stream.payload,
        publishedAtMs: 0,
        guaranteed: ev.stream.spec.delivery === 'guaranteed',
      };
      if (fate === 'accepted') {
        published++;
        expected += oracle.demand(input);
        bump(perSecond.published, Math.max(0, Math.floor(((this.#publishers?.dueAt(ev.stream.index, ev.n) ?? at) - this.#t0) / 1000)), 1);
      } else if (fate === 'backpressure') backpressured++;
      else rejected++;
      checker?.publish(at - this.#t0, ev.stream, ev.n, input, fate === 'accepted' ? 'accepted' : fate === 'backpressure' ? 'backpressure' : 'broker-down');
    });
    this.#publishers = publishers;
    const routesAtEnd = new Map<string, Map<string, string>>();
    const spoolFull = new Map<string, number>();
    const liveMesh: CheckedMesh = {
      scenario: s,
      durationMs: o.durationMs,
      streams: publishers.streams,
      populations: pops,
      node: (id): CheckedNode | undefined =>
        this.#running.has(id)
          ? {
              alive: this.#running.get(id)?.proc?.alive === true,
              broker: { inspect: () => ({ nextHop: (dest: string) => routesAtEnd.get(id)?.get(dest), stats: { droppedSpoolFull: spoolFull.get(id) ?? 0 } }) },
            }
          : undefined,
      linkUp: (a, b) => faults.linkUp(a, b),
    };
    if (o.check ?? s.expect.length > 0) checker = new InvariantChecker(liveMesh);

    const startupMs = nowMs() - wall0;
    this.#t0 = nowMs() + 20;
    await this.#scrapeAll();
    const atStart = this.#linkTotals();
    const perSecondLinks: Array<Map<string, number>> = [];
    let prevLinks = atStart;
    publishers.start(this.#t0);
    this.#say(`t0: publishing ${fmtRate(publishers.offeredPerSecond)} for ${o.durationMs / 1000} s`);
    const marks: Array<{ index: number; at: number; totals: Totals }> = [];
    const faultTimers: NodeJS.Timeout[] = [];
    const faultDone: Array<Promise<void>> = [];
    s.faults.forEach((f, index) => {
      if (f.atMs > o.durationMs) return;
      faultDone.push(
        new Promise((resolve) => {
          faultTimers.push(
            setTimeout(
              async () => {
                if (this.#aborted) return resolve();
                // Totals first (a crash takes the process's counters with it), then the fault.
                await this.#scrapeAll();
                const at = nowMs() - this.#t0;
                marks.push({ index, at, totals: this.#totals() });
                this.#events.push({ type: 'fault', at: at + this.#t0, fault: f, index });
                this.#say(`${(at / 1000).toFixed(3)} s: ${faultText(f)}`);
                try {
                  await faults.apply(f);
                } catch (e) {
                  this.#say(`fault ${index} failed: ${(e as Error).message}`);
                }
                resolve();
              },
              Math.max(0, this.#t0 + f.atMs - nowMs()),
            ),
          );
        }),
      );
    });
    // Per-second scrapes through the window.
    for (let sec = 1; sec * 1000 <= o.durationMs && !this.#aborted; sec++) {
      await sleep(this.#t0 + sec * 1000 - nowMs());
      await this.#scrapeAll();
      const now = this.#linkTotals();
      perSecondLinks.push(diff(now, prevLinks));
      prevLinks = now;
      series.deliveredNow = perSecond.delivered[sec - 1] ?? 0;
      series.publishedNow = perSecond.published[sec - 1] ?? 0;
      series.close();
    }
    await sleep(this.#t0 + o.durationMs - nowMs());
    await this.#scrapeAll();
    const atEnd = this.#linkTotals();
    if (o.durationMs % 1000 !== 0) perSecondLinks.push(diff(atEnd, prevLinks));
    publishers.stop();
    await Promise.all(faultDone.filter((_, i) => (s.faults[i]?.atMs ?? 0) <= o.durationMs));
    for (const t of faultTimers) clearTimeout(t);
    await publishers.settle(5000);
    const window = publishers.report();
    if (!window.keptUp) this.#say(`the load generator fell behind: ${window.behind}; it sent ${fmtRate(window.achievedPerSecond)} of ${fmtRate(window.offeredPerSecond)}`);

    // Drain: until deliveries stop for a second, at most drainMs.
    const drainMs = o.drainMs ?? (s.expect.length > 0 ? 5000 : 2000);
    const drain0 = nowMs();
    while (nowMs() - drain0 < drainMs && nowMs() - lastDeliveryAt < 1000) await sleep(100);
    const drained = nowMs() - drain0;
    await this.#scrapeAll();
    for (const id of ids) {
      const run = this.#running.get(id) as Running;
      spoolFull.set(id, run.counters.total('meshtwin_dropped_total', { cause: 'spoolFull' }));
      const routes = await this.#routes(id);
      if (routes !== null) routesAtEnd.set(id, routes);
    }
    const checked = checker?.finish();
    const wallSeconds = (nowMs() - wall0) / 1000;

    const seconds = o.durationMs / 1000;
    const counters = (id: string): BrokerCounters => (this.#running.get(id) as Running).counters;
    const { links, linkMbps } = linkFigures(s, seconds, region, { atStart, atEnd, perSecond: perSecondLinks }, counters, (a, b) => faults.linkUp(a, b));
    const wanLinks = links.filter((l) => l.wan);
    const wanBytes = sum(wanLinks.map((l) => l.bytes));
    let wanPeak = 0;
    for (let k = 0; k < perSecondLinks.length; k++) wanPeak = Math.max(wanPeak, sum(links.map((l, i) => (l.wan ? ((linkMbps[i] as number[])[k] ?? 0) : 0))));
    const totals = this.#totals();
    const brokers = brokerFigures(s, ids, region, pops, popDelivered, counters, routesAtEnd, (id) => this.#running.get(id)?.proc?.alive === true);
    const drops = dropsByCause(ids.map(counters));
    const aclLive = aclFigures(s.acl.length, deniedByPrincipal(ids.map(counters)));
    const schemasLive = schemaFiguresLive(s.schemas.length, ids.map(counters));
    const duplicates = checked?.duplicates ?? 0;
    const missing = Math.max(0, expected - (delivered - duplicates));
    // Faults and convergence, from the brokers' own events.
    const control = this.#events.map((e) => ({ ...e, at: round(e.at - this.#t0, 3) }) as ControlEvent).sort((a, b) => a.at - b.at);
    const faultResults = faultFigures(s, marks, control, totals);
    const initial = control.filter((e) => e.type === 'routes-changed' && e.at < 0);
    const worst = faultResults.map((f) => f.convergenceMs).filter((x): x is number => x !== null);
    for (let k = series.delivered.length; k < Math.ceil(seconds); k++) {
      series.deliveredNow = perSecond.delivered[k] ?? 0;
      series.publishedNow = perSecond.published[k] ?? 0;
      series.close();
    }

    return {
      mode: 'live',
      scenario: s.name,
      seed: o.seed,
      simulatedSeconds: seconds,
      messages: {
        published,
        delivered,
        dropped: missing,
        duplicates,
        rejected,
        expected,
        inFlightAtEnd: 0,
        deliveredToNewSessions: 0,
        unaccounted: expected - (delivered - duplicates + missing),
        deliveredRatio: checked === undefined ? null : round(checked.deliveredRatio, 6),
        lost: checked?.lost ?? null,
        spooled: totals.spooled,
        retransmitted: totals.retransmitted,
        duplicatesSuppressed: totals.duplicatesSuppressed,
        backpressured,
        droppedSlowConsumer: drops.slowConsumer,
        droppedSpoolFull: drops.spoolFull,
        denied: aclLive.denied.publish,
        invalid: schemasLive.invalid,
      },
      acl: aclLive,
      functions: [],
      schemas: schemasLive,
      latencyMs: { local: local.block(), crossRegion: cross.block() },
      wan: {
        mbpsAvg: round((wanBytes * 8) / seconds / 1e6, 6),
        mbpsPeak: round(wanPeak / Math.min(1, seconds), 6),
        bytes: wanBytes,
        dataBytes: sum(wanLinks.map((l) => l.dataBytes)),
        controlBytes: sum(wanLinks.map((l) => l.controlBytes)),
      },
      links,
      brokers,
      drops: { ...drops, lossRetried: 0 },
      convergence: {
        warmupMs: s.warmupMs,
        initialMs: initial.length === 0 ? 0 : round(Math.max(...initial.map((e) => e.at)) - Math.min(...initial.map((e) => e.at)), 3),
        maxMs: worst.length === 0 ? 0 : round(Math.max(...worst), 3),
      },
      faults: faultResults,
      populations: pops.map((p, i) => ({
        index: i,
        broker: p.broker,
        pattern: p.pattern,
        count: p.count,
        delivered: popDelivered[i] as number,
        latencyMs: (popLatency[i] as LatencyRecorder).block(),
      })),
      ha: { pairs: 0, takeovers: [], takeoverMs: null, rebuildMs: null },
      invariants: {
        checked: checker !== undefined,
        violations: checker?.violations.length ?? 0,
        list: checker?.violations ?? [],
        checkedPopulations: checked?.checkedPopulations ?? null,
      },
      decisionUs: { samples: 0, p50: 0, p99: 0, mean: 0 },
      run: {
        wallSeconds: round(wallSeconds, 3),
        kernelEvents: 0,
        eventsPerSecond: 0,
        speedup: round(seconds / wallSeconds, 4),
        setupWallSeconds: round(startupMs / 1000, 3),
        trafficWallSeconds: seconds,
        trafficSpeedup: 1,
        publishedPerWallSecond: Math.round(published / seconds),
        threads: null,
        lookaheadMs: null,
        windows: null,
      },
      traceHash: '',
      series: {
        seconds: series.delivered.length,
        localP50: series.localP50,
        localP99: series.localP99,
        crossP50: series.crossP50,
        crossP99: series.crossP99,
        // Counted at the end: an answer or a delivery can land after its second closed.
        published: series.published.map((_, k) => perSecond.published[k] ?? 0),
        delivered: series.delivered.map((_, k) => perSecond.delivered[k] ?? 0),
        linkMbps,
      },
      timeline: control,
      live: {
        network: 'loopback',
        shaper: 'userspace',
        processes: ids.map((id) => ({ broker: id, pids: (this.#running.get(id) as Running).pids })),
        generator: window,
        subscribers: {
          connections: pops.length,
          note: 'one WebSocket subscriber per population; each event it receives counts as `count` deliveries',
        },
        accounting: 'messages.dropped: (event, subscriber) pairs owed and not received by the end of the drain (lost, or still in flight); drops by cause: copies the brokers counted',
        notMeasured: NOT_MEASURED,
        startupMs: round(startupMs, 1),
        drainMs: round(drained, 1),
      },
    } as LiveResult;
  }

  async #start(id: string): Promise<void> {
    const mesh = this.#mesh as WrittenMesh;
    const run = this.#running.get(id) as Running;
    const proc = new BrokerProcess(mesh.broker(id).config, { cwd: this.opts.workDir });
    run.proc = proc;
    run.pids.push(proc.pid);
    let seen = 0;
    const pump = (): void => {
      for (; seen < proc.logs.length; seen++) {
        const rec = proc.logs[seen] as Record<string, unknown>;
        const type = rec['type'];
        if ((type === 'routes-changed' || type === 'neighbor-up' || type === 'neighbor-down') && typeof rec['at'] === 'number') {
          this.#events.push({ ...(rec as unknown as BrokerEvent), broker: id, at: rec['at'] as number });
        }
      }
    };
    proc.child.stdout?.on('data', () => setImmediate(pump));
    await proc.ready;
  }

  async #crash(id: string): Promise<void> {
    const run = this.#running.get(id) as Running;
    const http = (this.#mesh as WrittenMesh).broker(id).http;
    const sample = await scrape(http, 500);
    if (sample !== null) run.counters.update(sample);
    await run.proc?.kill();
    run.counters.retire();
  }

  async #scrapeAll(): Promise<void> {
    const mesh = this.#mesh as WrittenMesh;
    await Promise.all(
      [...this.#running].map(async ([id, run]) => {
        if (run.proc?.alive !== true) return;
        const sample = await scrape(mesh.broker(id).http);
        if (sample !== null) run.counters.update(sample);
      }),
    );
  }

  /** `from>to|kind|bytes|frames` → window-able totals, counted by the sending broker. */
  #linkTotals(): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of this.scenario.links) {
      for (const [from, to] of [l.between, [l.between[1], l.between[0]] as const]) {
        const c = (this.#running.get(from) as Running).counters;
        for (const kind of ['data', 'control']) {
          out.set(`${from}>${to}|${kind}|bytes`, c.total('meshtwin_link_bytes_total', { from, to, kind }));
          out.set(`${from}>${to}|${kind}|frames`, c.total('meshtwin_link_frames_total', { from, to, kind }));
        }
      }
    }
    return out;
  }

  #totals(): Totals {
    return totalsOf([...this.#running.values()].map((r) => r.counters));
  }

  async #routes(id: string): Promise<Map<string, string> | null> {
    if (this.#running.get(id)?.proc?.alive !== true) return null;
    try {
      const res = await fetch(`http://127.0.0.1:${(this.#mesh as WrittenMesh).broker(id).http}/v1/routes`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { routes: Array<{ dest: string; via: string }> };
      return new Map(body.routes.map((r) => [r.dest, r.via]));
    } catch {
      return null;
    }
  }

  async #routesComplete(ids: readonly string[]): Promise<boolean> {
    const all = await Promise.all(ids.map((id) => this.#routes(id)));
    return all.every((r) => r !== null && r.size === ids.length - 1);
  }

  async #until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
    const end = nowMs() + ms;
    while (nowMs() < end && !this.#aborted) {
      if (await cond()) return true;
      await sleep(50);
    }
    return false;
  }
}

function parseId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function fmtRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(perSecond % 1000 === 0 ? 0 : 1)}k events/s` : `${perSecond} events/s`;
}

function faultText(f: FaultSpec): string {
  return `${f.action} ${f.target.join(', ') || 'all'}${f.detect === undefined ? '' : ` (${f.detect})`}`;
}
