/**
 * A live run (`meshtwin live FILE --viz`) as the view's server shows it: the same snapshots the
 * simulated view draws, made from what the running broker processes say over HTTP, and the
 * fault buttons done on the real processes and shapers through the run's LiveMeshView.
 *
 * [VIZ-LIVE-4] About once a second (scrapeMs) every running broker is asked for /metrics,
 *              /v1/topology and /v1/routes, all at once, each within a timeout. Rates (link
 *              Mbps, published and delivered per second) are counter differences over that
 *              wall time, counters summed over a broker's lives (live/run/scrape.ts [LIVE-X2]).
 * [VIZ-LIVE-5] A direction is drawn up while no fault holds its link down (view.linkUp), both
 *              its brokers run, and its sender reports the connection open (meshtwin_link_up).
 *              Brokers are drawn alive from view.brokers(); processes that exit once the
 *              measured window is over are the run stopping, and the last picture keeps them.
 * [VIZ-LIVE-6] Faults from the page go through view.apply: crash and restart a broker,
 *              link-down and link-up, partition and heal a region; pause, speed and restart are
 *              refused (a live run goes at the wall clock's pace). None is taken once the
 *              measured window is over (the run then drains and stops its processes).
 * [VIZ-LIVE-7] A snapshot goes out when something changed (a scrape, a fault, a process that
 *              exited or started); after `finish` one last one (phase "done"), then none.
 */
import { epochClock } from '../live/host.ts';
import type { LiveMeshView } from '../live/run/run.ts';
import { BrokerCounters, type Sample, scrape } from '../live/run/scrape.ts';
import type { FaultAction, FaultSpec, Scenario } from '../scenarios/types.ts';
import type { Control } from './controls.ts';
import type { LatencyWindow } from './latency.ts';
import { addBuckets, type Buckets, bucketsByScope, bucketsSince, latencyPair, liveTopology, type TopologyBody, wireBytes } from './live-figures.ts';
import { WindowedRate } from './rates.ts';
import { EVENTS_KEPT, HISTORY_MAX, type LiveSnapshot } from './session.ts';
import { type BrokerSnapshot, type DirectionSnapshot, EVENTS_PER_SNAPSHOT, type SeriesPoint, type Topology, type ViewEvent } from './snapshot.ts';
import type { AckReply, Hello, ViewOutput, ViewSource } from './source.ts';

/** Faults a person can cause from the live view [VIZ-LIVE-6]. */
export const LIVE_VIEW_FAULTS: readonly FaultAction[] = ['crash', 'restart', 'link-down', 'link-up', 'partition', 'heal'];
/** Wall ms between two scrapes of every broker [VIZ-LIVE-4]. */
export const SCRAPE_MS = 1000;
/** How long one HTTP request to a broker may take. */
const REQUEST_MS = 800;
const HISTOGRAM = 'meshtwin_publish_to_deliver_seconds';
const ROUTES_MAX = 64;

export const LATENCY_NOTE =
  "live: from the brokers' meshtwin_publish_to_deliver_seconds histograms over the last scrape, interpolated inside buckets (0.1 ms … 10 s, so coarse); cross = published at another broker; one count per subscriber connection";

export interface LiveSourceOptions {
  /** The scenario as the run has it (its duration set). */
  readonly scenario: Scenario;
  readonly seed: number;
  readonly durationMs: number;
  readonly scrapeMs?: number;
}

interface BrokerState {
  readonly counters: BrokerCounters;
  /** The histogram's buckets at the latest scrape of this life, and since the one before. */
  hist: Map<string, Buckets> | undefined;
  windows: { readonly local: Buckets | undefined; readonly remote: Buckets | undefined } | null;
  latency: LatencyWindow | null;
  uptimeMs: number;
  /** Drawn alive [VIZ-LIVE-5]. */
  shown: boolean;
  /** Seen exiting after the window (the run stopping it). */
  stopped: boolean;
  /** The last scrape of this life (gauges). */
  latest: Sample | null;
  routes: Array<readonly [string, string]>;
  routesKey: string | null;
  adjacency: Map<string, boolean>;
}

const wallMs = epochClock;
const linkKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

async function getJson<T>(http: number, path: string, ms = REQUEST_MS): Promise<T | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${http}${path}`, { signal: AbortSignal.timeout(ms) });
    return res.status === 200 ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

export class LiveSource implements ViewSource {
  readonly scenario: Scenario;
  /** Faults done from the page, as specs (`atMs` from t0), for the command's last words. */
  readonly viewFaults: FaultSpec[] = [];
  readonly #opts: LiveSourceOptions;
  readonly #createdAt = wallMs();
  #readyAt = Number.NaN;
  #view: LiveMeshView | null = null;
  #topology: Topology | null = null;
  #out: ViewOutput | undefined;
  readonly #state = new Map<string, BrokerState>();
  #rates: WindowedRate | null = null;
  #rate: number[] = [];
  /** Wire bytes per direction at the first scrape of the traffic (for `bytes`). */
  #baseline: number[] | null = null;
  #history: SeriesPoint[] = [];
  #events: ViewEvent[] = [];
  #pending: ViewEvent[] = [];
  #scrapes = 0;
  #scrapedAt: number | null = null;
  #latencyAll: LatencyWindow | null = null;
  readonly #faultsLogged = new Set<number>();
  readonly #busy = new Set<string>();
  #dirty = true;
  #lastKey = '';
  #finished = false;
  #finishedAt = Number.NaN;
  #finalSent = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #last: LiveSnapshot | null = null;

  constructor(opts: LiveSourceOptions) {
    this.#opts = opts;
    this.scenario = opts.scenario;
  }

  bind(out: ViewOutput): void {
    this.#out = out;
  }

  start(): void {}

  /** The run's mesh is up (LiveOptions.onReady): read its topology, then scrape it. */
  attach(view: LiveMeshView): void {
    if (this.#view !== null) throw new Error('LiveSource.attach: already attached');
    this.#view = view;
    this.#readyAt = wallMs();
    this.#out?.building(`the mesh is up: reading its topology from ${view.brokers().length} brokers…`);
    void this.#init(view);
  }

  async #init(view: LiveMeshView): Promise<void> {
    const brokers = view.brokers();
    const bodies = await Promise.all(
      brokers.map(async (b) => {
        // A broker just started may take a moment to answer.
        for (let i = 0; i < 10 && !this.#stopped; i++) {
          const body = await getJson<TopologyBody>(b.http, '/v1/topology');
          if (body !== null) return body;
          await new Promise((r) => setTimeout(r, 200));
        }
        return null;
      }),
    );
    if (this.#stopped) return;
    const topo = liveTopology(this.scenario, bodies, this.#opts.seed, this.#opts.durationMs);
    for (const b of topo.brokers) {
      const alive = brokers.find((x) => x.id === b.id)?.alive === true;
      this.#state.set(b.id, {
        counters: new BrokerCounters(),
        hist: undefined,
        windows: null,
        latency: null,
        uptimeMs: 0,
        shown: alive,
        stopped: false,
        latest: null,
        routes: [],
        routesKey: null,
        adjacency: new Map(),
      });
    }
    this.#rates = new WindowedRate(2 * topo.directions.length + 2, 0.9 * this.#scrapeMs);
    this.#rate = new Array(2 * topo.directions.length + 2).fill(0);
    await this.#poll(topo);
    this.#topology = topo;
    this.#last = this.#snapshot(topo);
    this.#out?.hello();
    this.#schedule();
  }

  get #scrapeMs(): number {
    return this.#opts.scrapeMs ?? SCRAPE_MS;
  }

  #schedule(): void {
    if (this.#stopped || this.#finished) return;
    const started = wallMs();
    this.#timer = setTimeout(
      async () => {
        const topo = this.#topology;
        if (topo !== null) await this.#poll(topo);
        this.#schedule();
      },
      Math.max(0, this.#scrapeMs - (wallMs() - started)),
    );
  }

  /** Time on the snapshots' axis: ms since t0 (negative, estimated, before it). */
  #t(wall = wallMs()): number {
    if (this.#finished) return this.#finishedAt;
    const view = this.#view;
    if (view === null) return -this.scenario.warmupMs;
    const t0 = view.t0();
    if (Number.isFinite(t0)) return wall - t0;
    return Math.min(-1, wall - this.#readyAt - this.scenario.warmupMs);
  }

  now(): number {
    return this.#t();
  }

  /** One scrape of every running broker [VIZ-LIVE-4]. */
  async #poll(topo: Topology): Promise<void> {
    const view = this.#view as LiveMeshView;
    const first = this.#scrapes === 0;
    await Promise.all(
      view.brokers().map(async (b) => {
        const st = this.#state.get(b.id);
        if (st === undefined) return;
        st.windows = null;
        if (!b.alive) {
          // A process that is gone delivers nothing (its figures from before stay in the counters).
          st.latency = { local: latencyPair(undefined), cross: latencyPair(undefined) };
          return;
        }
        const [sample, body, routes] = await Promise.all([
          scrape(b.http, REQUEST_MS),
          getJson<TopologyBody>(b.http, '/v1/topology'),
          getJson<{ routes: Array<{ dest: string; via: string }> }>(b.http, '/v1/routes'),
        ]);
        if (this.#finished || this.#stopped) return;
        // A process younger than the last one seen is a new life: the last life's counters are kept.
        const newLife = body !== null && typeof body.uptimeMs === 'number' && body.uptimeMs < st.uptimeMs;
        if (body !== null && typeof body.uptimeMs === 'number') st.uptimeMs = body.uptimeMs;
        if (sample !== null) {
          if (newLife) st.counters.retire();
          st.counters.update(sample);
          st.latest = sample;
          const hist = bucketsByScope(sample, HISTOGRAM);
          const prev = newLife ? undefined : st.hist;
          const since = (scope: string): Buckets | undefined => {
            const now = hist.get(scope);
            return now === undefined ? undefined : bucketsSince(now, prev?.get(scope));
          };
          st.windows = { local: since('local'), remote: since('remote') };
          st.latency = { local: latencyPair(st.windows.local), cross: latencyPair(st.windows.remote) };
          st.hist = hist;
        }
        if (routes !== null) {
          const list = routes.routes.map((r) => [r.dest, r.via] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
          const key = list.map(([d, h]) => `${d}>${h}`).join(',');
          if (!first && st.routesKey !== key) this.#event('routes-changed', `${b.id} routes: ${list.map(([d, h]) => (d === h ? d : `${d} via ${h}`)).join(', ') || 'none'}`);
          st.routes = list;
          st.routesKey = key;
        }
        if (body !== null) {
          for (const p of body.peers) {
            const adj = p.adjacency === true;
            const was = st.adjacency.get(p.id);
            if (!first && was !== undefined && was !== adj) this.#event(adj ? 'neighbor-up' : 'neighbor-down', adj ? `${b.id} sees ${p.id} up` : `${b.id} declares ${p.id} down`);
            st.adjacency.set(p.id, adj);
          }
        }
      }),
    );
    if (this.#finished || this.#stopped) return;
    const wall = wallMs();
    const t = this.#t(wall);
    const overhead = this.scenario.model.transportOverheadBytes;
    const counters: number[] = [];
    for (const d of topo.directions) {
      const w = wireBytes((this.#state.get(d.from) as BrokerState).counters, d.from, d.to, overhead);
      counters.push(w.all, w.data);
    }
    let published = 0;
    let delivered = 0;
    for (const st of this.#state.values()) {
      published += st.counters.total('meshtwin_published_total');
      delivered += st.counters.total('meshtwin_delivered_total');
    }
    counters.push(published, delivered);
    const r = (this.#rates as WindowedRate).sample(wall, counters);
    if (!r.some((x) => Number.isNaN(x))) this.#rate = r.map((x) => Math.max(0, x));
    if (t >= 0 && this.#baseline === null) this.#baseline = counters.filter((_, i) => i % 2 === 0).slice(0, topo.directions.length);
    const windows = [...this.#state.values()].map((st) => st.windows);
    const all = (k: 'local' | 'remote') => addBuckets(windows.map((w) => w?.[k]).filter((b): b is Buckets => b !== undefined));
    this.#latencyAll = { local: latencyPair(all('local')), cross: latencyPair(all('remote')) };
    this.#scrapes++;
    this.#scrapedAt = t;
    this.#dirty = true;
    if (t >= 0) this.#addPoint(topo, t);
  }

  #addPoint(topo: Topology, t: number): void {
    const n = topo.directions.length;
    const pair = (p: LatencyWindow['local'] | undefined) => (p === undefined || p.count === 0 ? null : p);
    const p: SeriesPoint = {
      t: Math.round(t) / 1000,
      mbps: topo.directions.map((d, i) => (this.#up(d.from, d.to) ? round3(((this.#rate[2 * i] ?? 0) * 8) / 1e6) : 0)),
      local: pair(this.#latencyAll?.local),
      cross: pair(this.#latencyAll?.cross),
      rates: { published: Math.round(this.#rate[2 * n] ?? 0), delivered: Math.round(this.#rate[2 * n + 1] ?? 0) },
    };
    this.#history.push(p);
    if (this.#history.length > HISTORY_MAX) this.#history = this.#history.filter((_, i) => i % 2 === 1);
  }

  #event(type: string, text: string, at = this.#t()): void {
    const e = { at: Math.round(at), type, text };
    this.#pending.push(e);
    this.#events.push(e);
    if (this.#events.length > EVENTS_KEPT) this.#events.splice(0, this.#events.length - EVENTS_KEPT);
    this.#dirty = true;
  }

  /** Brokers' processes and the scenario's own faults, looked at every tick. */
  #observe(): void {
    const view = this.#view as LiveMeshView;
    const t = this.#t();
    const windowOver = t >= this.#opts.durationMs;
    for (const b of view.brokers()) {
      const st = this.#state.get(b.id);
      if (st === undefined || b.alive === st.shown) continue;
      if (b.alive) {
        st.shown = true;
        st.stopped = false;
        this.#event('process-up', `${b.id}: process running again`);
      } else if (!windowOver) {
        st.shown = false;
        st.routes = [];
        st.routesKey = '';
        st.adjacency.clear();
        this.#event('process-down', `${b.id}: process gone`);
      } else if (!st.stopped) {
        st.stopped = true;
        this.#event('dim', `${b.id}: process stopped (end of the run)`);
      }
    }
    if (Number.isFinite(view.t0()) && !this.#finished) {
      this.scenario.faults.forEach((f, i) => {
        if (this.#faultsLogged.has(i) || f.atMs > this.#opts.durationMs || t < f.atMs) return;
        this.#faultsLogged.add(i);
        this.#event('fault', `${f.action} ${f.target.join(' – ')}`, f.atMs);
      });
    }
  }

  /** [VIZ-LIVE-5] Whether the direction from → to is drawn up. */
  #up(from: string, to: string): boolean {
    const view = this.#view as LiveMeshView;
    const a = this.#state.get(from);
    const b = this.#state.get(to);
    if (a === undefined || b === undefined || !a.shown || !b.shown || !view.linkUp(from, to)) return false;
    // Once the window is over, processes stop and connections close: that is not a fault.
    if (a.stopped || b.stopped || this.#t() >= this.#opts.durationMs) return true;
    return a.latest?.get(`meshtwin_link_up{from="${from}",to="${to}"}`) !== 0;
  }

  hello(): Omit<Hello, 'snapshotHz'> | null {
    const topo = this.#topology;
    if (topo === null || this.#last === null) return null;
    return { topology: topo, history: this.#history, events: this.#events, snapshot: { ...this.#last, events: [], eventsOmitted: 0 } };
  }

  waiting(): string {
    if (this.#view === null) {
      const n = this.scenario.regions.reduce((a, r) => a + r.brokers.length, 0);
      return `starting the live mesh: ${n} broker processes, ${2 * this.scenario.links.length} link shapers, the subscribers…`;
    }
    return 'the mesh is up: reading its topology…';
  }

  tick(): LiveSnapshot | null {
    const topo = this.#topology;
    if (topo === null || this.#view === null || this.#finalSent) return null;
    this.#observe();
    const key = [...this.#state.values()].map((s) => (s.shown ? 1 : 0)).join('') + topo.links.map((l) => (this.#up(l.a, l.b) && this.#up(l.b, l.a) ? 1 : 0)).join('');
    if (!this.#dirty && key === this.#lastKey && !this.#finished) return null;
    this.#dirty = false;
    this.#lastKey = key;
    if (this.#finished) this.#finalSent = true;
    this.#last = this.#snapshot(topo);
    return this.#last;
  }

  #snapshot(topo: Topology): LiveSnapshot {
    const t = this.#t();
    const rate = this.#rate;
    const n = topo.directions.length;
    const overhead = this.scenario.model.transportOverheadBytes;
    const directions: DirectionSnapshot[] = topo.directions.map((d, i) => {
      const from = this.#state.get(d.from) as BrokerState;
      const up = this.#up(d.from, d.to);
      const mbps = ((rate[2 * i] ?? 0) * 8) / 1e6;
      const bytes = wireBytes(from.counters, d.from, d.to, overhead).all;
      return {
        up,
        mbps: up ? mbps : 0,
        dataMbps: up ? ((rate[2 * i + 1] ?? 0) * 8) / 1e6 : 0,
        utilization: up && d.bandwidthBps > 0 ? (mbps * 1e6) / d.bandwidthBps : 0,
        bandwidthBps: d.bandwidthBps,
        queueBytes: from.shown ? (from.latest?.get(`meshtwin_link_queue_bytes{from="${d.from}",to="${d.to}"}`) ?? 0) : 0,
        // Frames between the shapers are not counted anywhere.
        inFlight: 0,
        bytes: Math.max(0, bytes - (this.#baseline?.[i] ?? 0)),
        droppedDown: 0,
        droppedQueue: from.counters.total('meshtwin_link_refused_frames_total', { class: 'realtime', from: d.from, to: d.to }),
      };
    });
    const pops = new Map(topo.brokers.map((b) => [b.id, b.populations]));
    const brokers: BrokerSnapshot[] = topo.brokers.map((b) => {
      const st = this.#state.get(b.id) as BrokerState;
      let mbpsIn = 0;
      let mbpsOut = 0;
      topo.directions.forEach((d, k) => {
        const m = (directions[k] as DirectionSnapshot).mbps;
        if (d.from === b.id) mbpsOut += m;
        if (d.to === b.id) mbpsIn += m;
      });
      const c = st.counters;
      const entries = st.latest?.get('meshtwin_routing_entries') ?? 0;
      const local = pops.get(b.id) ?? 0;
      return {
        id: b.id,
        alive: st.shown,
        mbpsIn,
        mbpsOut,
        routingEntries: entries,
        localPatterns: local,
        remotePatterns: Math.max(0, entries - local),
        routes: st.shown ? st.routes.slice(0, ROUTES_MAX) : [],
        spoolEvents: null,
        spoolBytes: st.latest?.get('meshtwin_spool_bytes') ?? 0,
        consumerQueue: null,
        published: c.total('meshtwin_published_total'),
        deliveries: c.total('meshtwin_delivered_total'),
        dropped: [...c.byLabel('meshtwin_dropped_total', 'cause').values()].reduce((x, y) => x + y, 0),
        latency: st.latency,
      };
    });
    const events = this.#pending.slice(-EVENTS_PER_SNAPSHOT);
    const omitted = this.#pending.length - events.length;
    this.#pending = [];
    let wanMbps = 0;
    directions.forEach((d, k) => {
      if ((topo.directions[k] as Topology['directions'][number]).wan) wanMbps += d.mbps;
    });
    const running = brokers.filter((b) => b.alive).length;
    return {
      t: Math.round(t),
      phase: this.#finished ? 'done' : t < 0 ? 'warmup' : 'traffic',
      directions,
      brokers,
      latency: this.#latencyAll,
      totals: {
        published: brokers.reduce((a, b) => a + b.published, 0),
        delivered: brokers.reduce((a, b) => a + b.deliveries, 0),
        dropped: brokers.reduce((a, b) => a + b.dropped, 0),
        wanMbps,
      },
      events,
      eventsOmitted: omitted,
      run: {
        seed: this.#opts.seed,
        paused: false,
        speed: 1,
        measuredSpeed: t < 0 ? null : 1,
        buildSeconds: Number.isNaN(this.#readyAt) ? 0 : (this.#readyAt - this.#createdAt) / 1000,
        kernelEvents: 0,
      },
      live: {
        processes: brokers.length,
        running,
        finished: this.#finished,
        scrapedAt: this.#scrapedAt === null ? null : Math.round(this.#scrapedAt),
        publishedPerSecond: Math.round(rate[2 * n] ?? 0),
        deliveredPerSecond: Math.round(rate[2 * n + 1] ?? 0),
        latencyNote: LATENCY_NOTE,
      },
    };
  }

  control(c: Control, who: string): AckReply | Promise<AckReply> {
    if (c.kind !== 'fault') return { ok: false, error: `${c.kind}: a live run goes at the wall clock's pace; it cannot be paused, sped up or restarted` };
    return this.#fault(c.action, c.target, who);
  }

  /** Why a fault cannot be done now (null: it can) [VIZ-LIVE-6]. */
  #refusal(action: string, target: readonly string[]): string | null {
    const view = this.#view;
    const topo = this.#topology;
    if (!LIVE_VIEW_FAULTS.includes(action as FaultAction)) return `unknown fault "${action}" (expected one of ${LIVE_VIEW_FAULTS.join(', ')})`;
    if (view === null || topo === null) return 'the live mesh is not up yet';
    if (this.#finished) return 'the live run has finished: its broker processes are stopped';
    if (this.#t() >= this.#opts.durationMs) return 'the measured window is over: the run is draining and stopping its processes';
    const alive = new Map(view.brokers().map((b) => [b.id, b.alive]));
    switch (action) {
      case 'crash':
      case 'restart': {
        const [id] = target;
        if (target.length !== 1 || id === undefined) return `${action} needs one broker id`;
        if (!alive.has(id)) return `no broker "${id}"`;
        if (action === 'crash' && alive.get(id) !== true) return `${id} is already down`;
        if (action === 'restart' && alive.get(id) === true) return `${id} is running`;
        return null;
      }
      case 'link-down':
      case 'link-up': {
        const [a, b] = target;
        if (target.length !== 2 || a === undefined || b === undefined) return `${action} needs two broker ids`;
        if (!topo.links.some((l) => linkKey(l.a, l.b) === linkKey(a, b))) return `no link between "${a}" and "${b}"`;
        const up = view.linkUp(a, b);
        if (action === 'link-down' && !up) return `${a} – ${b} is already down`;
        if (action === 'link-up' && up) return `${a} – ${b} is already up`;
        return null;
      }
      default: {
        // partition, heal: one region, cut off from the rest or joined to it again.
        const [id] = target;
        if (target.length !== 1 || id === undefined) return `${action} needs one region id`;
        const region = topo.regions.find((r) => r.id === id);
        if (region === undefined) return `no region "${id}"`;
        const out = topo.links.filter((l) => region.brokers.includes(l.a) !== region.brokers.includes(l.b));
        if (out.length === 0) return `no link leaves ${id}`;
        if (action === 'partition' && out.every((l) => !view.linkUp(l.a, l.b))) return `${id} is already cut off`;
        if (action === 'heal' && out.every((l) => view.linkUp(l.a, l.b))) return `every link out of ${id} is up`;
        return null;
      }
    }
  }

  async #fault(action: string, target: readonly string[], who: string): Promise<AckReply> {
    const refusal = this.#refusal(action, target);
    if (refusal !== null) return { ok: false, error: refusal };
    const view = this.#view as LiveMeshView;
    const busy = target.length === 2 ? `link ${linkKey(target[0] as string, target[1] as string)}` : `${action === 'partition' || action === 'heal' ? 'region' : 'broker'} ${target[0]}`;
    if (this.#busy.has(busy)) return { ok: false, error: `a fault on ${busy} is under way` };
    this.#busy.add(busy);
    const t = this.#t();
    const spec: FaultSpec = { atMs: Math.round(t), action: action as FaultAction, target: [...target] };
    const what = `${action} ${target.join(' – ')}`;
    this.#event('fault', `${what} (from the view)`, t);
    try {
      await view.apply(spec);
      this.viewFaults.push(spec);
      this.#out?.notice(`${who}: ${what} at ${(t / 1000).toFixed(3)} s`);
      return { ok: true };
    } catch (e) {
      const text = e instanceof Error ? e.message.split('\n')[0] : String(e);
      this.#event('process-down', `${what} failed: ${text}`);
      return { ok: false, error: `${what} failed: ${text}` };
    } finally {
      this.#busy.delete(busy);
      this.#dirty = true;
    }
  }

  /** A line in every browser's log (and on the terminal). */
  notice(text: string): void {
    this.#out?.notice(text);
  }

  /**
   * The run is over (its processes are stopped): one last snapshot, then none; browsers keep
   * it and say `text`.
   */
  finish(text: string): void {
    if (this.#finished) return;
    // The snapshot's time stops where the run's did.
    this.#finishedAt = this.#t();
    this.#finished = true;
    this.#dirty = true;
    clearTimeout(this.#timer);
    this.#out?.finished(text);
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
