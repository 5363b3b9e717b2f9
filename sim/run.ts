/**
 * Runs a scenario to the end and gathers what it measured, in the shape of DESIGN.md's report
 * contract (summary.json) plus the series and timeline the charts and later tools use.
 */
import type { BrokerStats, BrokerView } from '../engine/broker.ts';
import type { Scenario } from '../scenarios/types.ts';
import { measureRoutingTableBytes } from './heap.ts';
import type { LatencyBlock } from './metrics.ts';
import type { Population } from './workload.ts';
import { assertionsNeedChecker } from '../scenarios/expect.ts';
import { InvariantChecker } from './invariants.ts';
import { Mesh, type ControlEvent, type Totals } from './mesh.ts';
import type { Drops } from './accounts.ts';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
  /** Overrides the scenario's duration (ms). */
  readonly durationMs?: number;
  /** Called between chunks of kernel events, at most every `progressEvents` events. */
  readonly onProgress?: (p: Progress) => void;
  readonly progressEvents?: number;
  /** Measure each broker's routing table on the V8 heap after the run (default true). */
  readonly measureHeap?: boolean;
  /**
   * Run the invariant checker (sim/invariants.ts): exact lost/duplicate/order figures and
   * violations. Default: when an `expect:` line reads a figure only the checker produces
   * (messages.lost, messages.deliveredRatio, invariants.*). Costs memory per event.
   */
  readonly check?: boolean;
  /** Simulated time after `duration` (no new publishes) for in-flight events to land. Default: 5 s when checking, else 0. */
  readonly drainMs?: number;
  /** Called with the mesh before it runs (explore uses it to add observers). */
  readonly onMesh?: (mesh: Mesh) => void;
}

/** One scheduled fault and what followed it, up to the next fault (or the end of the run). */
export interface FaultResult {
  readonly index: number;
  readonly at: number;
  readonly action: string;
  readonly target: readonly string[];
  /** degrade / slow-consumer: how long until it reverts (null: to the end of the run; always null for other actions). */
  readonly forMs: number | null;
  /** Last route change after the fault, minus its time (null: no route changed). */
  readonly convergenceMs: number | null;
  /** Per broker: its first routing reaction (adjacency or route change) after the fault. */
  readonly detectMs: Readonly<Record<string, number>>;
  readonly detectMsMax: number | null;
  readonly spooled: number;
  /** Subscriber deliveries lost from the fault to the next one, every cause [ACCT-1]. */
  readonly dropped: number;
  readonly retransmitted: number;
  readonly duplicatesSuppressed: number;
  readonly backpressured: number;
  /** Crash of an HA primary: the backup's takeover, after the crash (null otherwise). */
  readonly takeoverMs: number | null;
  /** After a takeover or restart: until every client population has re-subscribed. */
  readonly rebuildMs: number | null;
}

export interface Progress {
  readonly simulatedMs: number;
  readonly durationMs: number;
  readonly wallMs: number;
  readonly kernelEvents: number;
  readonly published: number;
}

export interface LinkResult {
  readonly from: string;
  readonly to: string;
  readonly wan: boolean;
  readonly mbpsAvg: number;
  readonly mbpsPeak: number;
  readonly utilizationPeak: number;
  readonly bytes: number;
  readonly frames: number;
  readonly dataBytes: number;
  readonly dataFrames: number;
  readonly controlBytes: number;
  readonly controlFrames: number;
  /**
   * dataBytes and controlBytes as the codec produced them (length prefix included), without the
   * modeled per-frame transport overhead: the figure a live run's mesh connections count.
   */
  readonly codecDataBytes: number;
  readonly codecControlBytes: number;
  readonly warmupBytes: number;
  readonly bandwidthBps: number;
  readonly rttMs: number;
  readonly queueWaitMsMean: number;
  readonly queueWaitMsMax: number;
  readonly droppedLoss: number;
  readonly droppedQueue: number;
  readonly droppedDown: number;
  /** Whether the direction was up when the run ended (report.html draws it). */
  readonly upAtEnd: boolean;
}

export interface BrokerResult {
  readonly id: string;
  readonly region: string;
  readonly routingEntries: number;
  /**
   * V8 heap bytes of a replica of the broker's routing structures when `routingTableBytesSource`
   * is 'measured'; the self-count when it is 'counted'. Only the largest table is weighed (each
   * weighing costs several full GCs of the whole heap); tables under MEASURE_MIN_ENTRIES weigh
   * less than the heap's own noise and are never weighed.
   */
  readonly routingTableBytes: number;
  readonly routingTableBytesSource: 'measured' | 'counted';
  /** The trie's own running count of its bytes (engine-side accounting). */
  readonly routingTableBytesCounted: number;
  readonly localPatterns: number;
  readonly remotePatterns: number;
  /** Subscriber connections held (sum of population counts). */
  readonly connections: number;
  /** Modeled: connections × model.connectionBytes. */
  readonly connectionBytes: number;
  /** Counters below are summed over the broker's lives (restarts, takeovers). */
  readonly published: number;
  /** Subscriber deliveries made here (population deliveries × subscribers). */
  readonly deliveries: number;
  /** Subscriber deliveries lost here or on its outgoing links, every cause [ACCT-1]. */
  readonly dropped: number;
  readonly dataFramesSent: number;
  readonly dataFramesReceived: number;
  readonly filteredAtEdge: number;
  readonly droppedNoRoute: number;
  readonly droppedLoop: number;
  readonly droppedHopLimit: number;
  readonly protocolErrors: number;
  /** Deepest slow-consumer queue at this broker (messages). */
  readonly consumerQueuePeak: number;
  /** Most bytes the spool held (incl. slow subscribers' overflow); modeled record sizes. */
  readonly spoolPeakBytes: number;
  readonly ledgerEntries: number;
  /** Guaranteed-delivery acks sent and received over its links (batched: one ack frame covers several frames). */
  readonly acksSent: number;
  readonly acksReceived: number;
  /** Guaranteed frames it could neither send on nor hold for lack of custody room (their senders retried) [SPOOL-2]. */
  readonly refusedSpoolFull: number;
  /** Events a lagging consumer-group member was skipped for, its share moving to the others [SHARE-3]. */
  readonly groupSharesMoved: number;
  /** The policy version it enforced at the end (0: none) [ACL-2][GOV-1]. */
  readonly policyVersion: number;
  /** The schema registry version it enforced at the end (0: none) [SCHEMA-3]. */
  readonly schemasVersion: number;
  /** Publishes a schema subject applied to here, and those refused for invalid data [SCHEMA-7]. */
  readonly schemaValidated: number;
  readonly invalidData: number;
  readonly routes: ReadonlyArray<readonly [string, string]>;
  /** Whether it was running when the run ended, and its subscriber populations (report.html). */
  readonly aliveAtEnd: boolean;
  readonly populations: number;
}

/** The schema registry's figures in a run [SCHEMA-7]. */
export interface SchemaFigures {
  readonly subjects: number;
  /** Publishes a subject applied to (checked), and of those the ones refused. */
  readonly validated: number;
  readonly invalid: number;
  readonly bySubject: Readonly<Record<string, { readonly validated: number; readonly invalid: number }>>;
  /** The check alone (parse + validate), µs of wall clock per checked event, sampled like decisionUs. */
  readonly validationUs: { readonly samples: number; readonly p50: number; readonly p99: number; readonly mean: number };
}

/** What the policy refused one principal, or all of them. */
export interface DeniedFigures {
  readonly publish: number;
  readonly subscribe: number;
  readonly delivery: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly seed: number;
  readonly simulatedSeconds: number;
  readonly messages: {
    readonly published: number;
    readonly delivered: number;
    /** Subscriber deliveries lost: the sum of every drops.* cause [ACCT-1]. */
    readonly dropped: number;
    readonly duplicates: number;
    readonly rejected: number;
    /** (event, subscriber) pairs the accepted publishes created [ACCT-4]. */
    readonly expected: number;
    /** What copies still on links, in custody, spooled or queued were worth when the run ended [ACCT-1]. */
    readonly inFlightAtEnd: number;
    /** Deliveries to subscriber sessions that began after the event was published (reconnects after a crash) [ACCT-1]. */
    readonly deliveredToNewSessions: number;
    /** expected − (delivered − duplicates − deliveredToNewSessions + dropped + inFlightAtEnd): 0 when every pair is accounted for. */
    readonly unaccounted: number;
    /** Checked runs only (null otherwise): the ratio delivered of the deliveries the checker judged, guaranteed ones lost. */
    readonly deliveredRatio: number | null;
    readonly lost: number | null;
    readonly spooled: number;
    readonly retransmitted: number;
    readonly duplicatesSuppressed: number;
    readonly backpressured: number;
    readonly droppedSlowConsumer: number;
    readonly droppedSpoolFull: number;
    /** Publishes the policy refused at ingress [ACL-3]: not published, not expected, never forwarded (acl.byPrincipal breaks them down). */
    readonly denied: number;
    /** Publishes refused at ingress for data a schema rejects [SCHEMA-7]: not published, not expected, never forwarded (schemas.bySubject breaks them down). */
    readonly invalid: number;
  };
  /**
   * [ACL-1..5] What the policy refused: publishes (events), subscriptions (subscribers) and
   * deliveries (pairs; also drops.denied), in total and per principal.
   */
  readonly acl: {
    readonly entries: number;
    readonly denied: DeniedFigures;
    readonly byPrincipal: Readonly<Record<string, DeniedFigures>>;
  };
  /**
   * [FN-SIM-4] Function subscriptions: per function, its calls (retries included), outcomes,
   * dead letters (published on its dead-letter topic, so also in messages.published), drops,
   * queue peak, and utilization = busy handler time / (concurrency × simulated time).
   */
  readonly functions: ReadonlyArray<{
    readonly broker: string;
    readonly pattern: string;
    readonly calls: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly retries: number;
    readonly deadLettered: number;
    readonly dropped: number;
    readonly queuePeak: number;
    readonly utilization: number;
    /** Calls still running when the run ended (calls = succeeded + failed + this). */
    readonly runningAtEnd: number;
    readonly queuedAtEnd: number;
  }>;
  /**
   * [SCHEMA-1..9] The schema registry: its subjects, the publishes checked at ingress and those
   * refused, per subject, and what a check cost (wall clock per checked event, sampled).
   */
  readonly schemas: SchemaFigures;
  readonly latencyMs: { readonly local: LatencyBlock; readonly crossRegion: LatencyBlock };
  readonly wan: { readonly mbpsAvg: number; readonly mbpsPeak: number; readonly bytes: number; readonly dataBytes: number; readonly controlBytes: number };
  readonly links: readonly LinkResult[];
  readonly brokers: readonly BrokerResult[];
  /**
   * Subscriber deliveries lost, by cause (sim/accounts.ts says what each means); they sum to
   * messages.dropped. lossRetried is apart and in frames: guaranteed frames and acks lost on the
   * wire and sent again — not lost deliveries. links[] keeps per-direction frame counts.
   */
  readonly drops: Drops & { readonly lossRetried: number };
  readonly convergence: { readonly warmupMs: number; readonly initialMs: number; readonly maxMs: number };
  readonly faults: readonly FaultResult[];
  /** Per subscriber population (meshes of up to POPULATION_DETAIL_MAX populations; else empty). */
  readonly populations: ReadonlyArray<{
    readonly index: number;
    readonly broker: string;
    readonly pattern: string;
    readonly count: number;
    readonly delivered: number;
    readonly latencyMs: LatencyBlock;
  }>;
  readonly ha: {
    readonly pairs: number;
    readonly takeovers: ReadonlyArray<{ readonly broker: string; readonly backup: string; readonly at: number; readonly takeoverMs: number | null; readonly rebuildMs: number | null }>;
    /** Worst takeover and rebuild (null: no takeover happened). */
    readonly takeoverMs: number | null;
    readonly rebuildMs: number | null;
  };
  readonly invariants: {
    readonly checked: boolean;
    readonly violations: number;
    readonly list: ReadonlyArray<{ readonly invariant: string; readonly message: string }>;
    readonly checkedPopulations: number | null;
  };
  /** handlePublish wall time, sampled (µs): the routing decision incl. encode of WAN copies. */
  readonly decisionUs: { readonly samples: number; readonly p50: number; readonly p99: number; readonly mean: number };
  /**
   * Wall time: `speedup` is simulated seconds per wall second over the whole run; setup (building
   * brokers, subscribing, the warm-up's control plane) and traffic (0 → duration) are also
   * timed apart, with the traffic phase's own speedup and publishes per wall second.
   */
  readonly run: {
    readonly wallSeconds: number;
    readonly kernelEvents: number;
    readonly eventsPerSecond: number;
    readonly speedup: number;
    readonly setupWallSeconds: number;
    readonly trafficWallSeconds: number;
    readonly trafficSpeedup: number;
    readonly publishedPerWallSecond: number;
    /**
     * [PAR-1] Threads the mesh was simulated on (--workers), the lookahead they ran ahead by
     * (ms, null on one thread) and the windows they synchronised in (null on one thread); all
     * null in a live run.
     */
    readonly threads: number | null;
    readonly lookaheadMs: number | null;
    readonly windows: number | null;
  };
  readonly traceHash: string;
  readonly series: {
    readonly seconds: number;
    readonly localP50: readonly number[];
    readonly localP99: readonly number[];
    readonly crossP50: readonly number[];
    readonly crossP99: readonly number[];
    readonly published: readonly number[];
    readonly delivered: readonly number[];
    /** Per link direction (same order as links): Mbps in each second. */
    readonly linkMbps: ReadonlyArray<readonly number[]>;
  };
  readonly timeline: readonly ControlEvent[];
}

/**
 * The scenario run for `durationMs`: publishers that run to the end of the scenario run to the
 * end of the longer run too (the loader stops them at the scenario's own duration), so
 * `--duration 60s` on a 10 s scenario has traffic for 60 s (meshtwin run and viz).
 */
export function withDuration(scenario: Scenario, durationMs: number): Scenario {
  if (durationMs <= scenario.durationMs) return scenario;
  return {
    ...scenario,
    durationMs,
    publishers: scenario.publishers.map((p) => (p.stopMs === scenario.durationMs ? { ...p, stopMs: durationMs } : p)),
  };
}

export function runScenario(scenario: Scenario, opts: RunOptions = {}): RunResult {
  const seed = opts.seed ?? scenario.seed;
  const durationMs = opts.durationMs ?? scenario.durationMs;
  const wall0 = performance.now();
  const check = opts.check ?? assertionsNeedChecker(scenario.expect);
  const drainMs = opts.drainMs ?? (check ? 5000 : 0);
  const mesh = new Mesh(withDuration(scenario, durationMs), seed, durationMs, drainMs);
  const checker = check ? new InvariantChecker(mesh) : undefined;
  mesh.observer = checker;
  opts.onMesh?.(mesh);
  const chunk = opts.progressEvents ?? 200_000;
  // Warm-up first (subscriptions, adverts, interest exchange), timed apart from the traffic.
  while (mesh.now < 0 && !mesh.done) mesh.runSome(0, chunk);
  const wall1 = performance.now();
  while (!mesh.done) {
    mesh.runSome(mesh.endMs, chunk);
    opts.onProgress?.({ simulatedMs: Math.max(0, mesh.now), durationMs, wallMs: performance.now() - wall0, kernelEvents: mesh.kernel.executed, published: mesh.published });
  }
  const wall2 = performance.now();
  return collect(mesh, scenario, seed, durationMs, { setup: (wall1 - wall0) / 1000, traffic: (wall2 - wall1) / 1000 }, opts.measureHeap ?? true, checker);
}

/** The run's figures from a mesh that has run (a parallel run's thread: from the brokers it ran). */
export function collect(
  mesh: Mesh,
  scenario: Scenario,
  seed: number,
  durationMs: number,
  wall: { setup: number; traffic: number },
  measureHeap: boolean,
  checker: InvariantChecker | undefined,
): RunResult {
  const checked = checker?.finish();
  const totals = mesh.totals();
  const seconds = durationMs / 1000;
  const links: LinkResult[] = mesh.directions.map((d) => {
    const peakBytes = d.perSecondBytes.reduce((m, b) => Math.max(m, b), 0);
    // A window shorter than a second (short runs) is scaled to its true length.
    const windowS = Math.min(1, seconds);
    const mbpsPeak = (peakBytes * 8) / windowS / 1e6;
    return {
      from: d.spec.from,
      to: d.spec.to,
      wan: d.spec.wan,
      mbpsAvg: round((d.bytes * 8) / seconds / 1e6, 6),
      mbpsPeak: round(mbpsPeak, 6),
      utilizationPeak: round((mbpsPeak * 1e6) / d.spec.bandwidthBps, 4),
      bytes: d.bytes,
      frames: d.frames,
      dataBytes: d.dataBytes,
      dataFrames: d.dataFrames,
      controlBytes: d.controlBytes,
      controlFrames: d.controlFrames,
      codecDataBytes: d.codecDataBytes,
      codecControlBytes: d.codecControlBytes,
      warmupBytes: d.warmupBytes,
      bandwidthBps: d.spec.bandwidthBps,
      rttMs: d.spec.rttMs,
      queueWaitMsMean: round(d.frames === 0 ? 0 : d.queueWaitMsSum / d.frames, 4),
      queueWaitMsMax: round(d.queueWaitMsMax, 4),
      droppedLoss: d.droppedLoss,
      droppedQueue: d.droppedQueue,
      droppedDown: d.droppedDown,
      upAtEnd: d.up,
    };
  });
  const wanLinks = links.filter((l) => l.wan);
  const wanDirs = mesh.directions.filter((d) => d.spec.wan);
  const wanBytes = sum(wanLinks.map((l) => l.bytes));
  let wanPeakBytes = 0;
  const nSec = Math.max(0, ...wanDirs.map((d) => d.perSecondBytes.length));
  for (let s = 0; s < nSec; s++) wanPeakBytes = Math.max(wanPeakBytes, sum(wanDirs.map((d) => d.perSecondBytes[s] ?? 0)));

  const inFlightAtEnd = mesh.inFlightAtEnd();
  // [PAR-3] A thread of a parallel run weighs the largest table of the brokers it ran.
  const largest = mesh.nodes.filter((n) => mesh.owns(n.index)).reduce((a, n) => (n.broker.inspect().routingEntries > a.broker.inspect().routingEntries ? n : a));
  const brokers: BrokerResult[] = mesh.nodes.map((node) => {
    const b = node.broker.inspect();
    const st = mesh.brokerStats(node.id) as BrokerStats;
    const connections = sum(node.populations.map((p) => p.count));
    return {
      id: node.id,
      region: node.region,
      routingEntries: b.routingEntries,
      ...routingTable(b, measureHeap && node === largest),
      routingTableBytesCounted: b.routingTableBytesCounted,
      localPatterns: b.localPatterns,
      remotePatterns: b.remotePatterns,
      connections,
      connectionBytes: connections * scenario.model.connectionBytes,
      published: st.published,
      deliveries: st.subscriberDeliveries,
      dropped: mesh.brokerDropped(node.id),
      dataFramesSent: st.dataFramesSent,
      dataFramesReceived: st.dataFramesReceived,
      filteredAtEdge: st.filteredAtEdge,
      droppedNoRoute: st.droppedNoRoute,
      droppedLoop: st.droppedLoop,
      droppedHopLimit: st.droppedHopLimit,
      protocolErrors: st.protocolErrors,
      consumerQueuePeak: mesh.consumerQueuePeak(node.id),
      spoolPeakBytes: b.spoolPeakBytes,
      ledgerEntries: b.ledgerEntries,
      acksSent: st.acksSent,
      acksReceived: st.acksReceived,
      refusedSpoolFull: st.refusedSpoolFull,
      groupSharesMoved: b.groupSharesMoved,
      policyVersion: b.policyVersion,
      schemasVersion: b.schemasVersion,
      schemaValidated: st.schemaValidated,
      invalidData: st.invalidData,
      routes: b.routes(),
      aliveAtEnd: node.alive,
      populations: node.populations.length,
    };
  });
  const acc = mesh.accounts;
  const drops = { ...acc.drops, lossRetried: sum(mesh.directions.map((d) => d.droppedLossRetried)) };
  const dropped = acc.dropped;
  const duplicates = checked?.duplicates ?? mesh.dups.duplicates;
  const faults = faultResults(mesh, totals);
  const takeovers = takeoverResults(mesh);
  const worst = (xs: ReadonlyArray<number | null>): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length === 0 ? null : round(Math.max(...v), 3);
  };
  const lastInitialChange = Math.max(-scenario.warmupMs, ...mesh.control.filter((e) => e.type === 'routes-changed' && e.at < 0).map((e) => e.at));
  const decisionUs = sampleFigures(mesh.decisionUs);
  const kernelEvents = mesh.kernel.executed;
  return {
    scenario: scenario.name,
    seed,
    simulatedSeconds: seconds,
    messages: {
      published: mesh.published,
      delivered: mesh.delivered,
      dropped,
      duplicates,
      rejected: mesh.rejected,
      expected: acc.expected,
      inFlightAtEnd,
      deliveredToNewSessions: acc.newSessions,
      unaccounted: acc.expected - (mesh.delivered - duplicates - acc.newSessions + dropped + inFlightAtEnd),
      deliveredRatio: checked === undefined ? null : round(checked.deliveredRatio, 6),
      lost: checked?.lost ?? null,
      spooled: totals.spooled + totals.spooledSlow,
      retransmitted: totals.retransmitted,
      duplicatesSuppressed: totals.duplicatesSuppressed,
      backpressured: totals.publishBackpressured,
      droppedSlowConsumer: totals.droppedSlowConsumer,
      droppedSpoolFull: totals.droppedSpoolFull,
      denied: totals.deniedPublish,
      invalid: mesh.invalid,
    },
    acl: aclFigures(scenario.acl.length, mesh.denied),
    functions: mesh.functions.flatMap((m, i) => {
      if (m === null) return [];
      const p = mesh.populations[i] as Population;
      const f = m.figures;
      const { busyMs: _, ...counts } = f;
      return [{ broker: p.broker, pattern: p.pattern, ...counts, utilization: round(f.busyMs / (m.spec.concurrency * Math.max(1, mesh.now)), 4), runningAtEnd: m.running, queuedAtEnd: m.queued }];
    }),
    schemas: {
      subjects: scenario.schemas.length,
      validated: totals.schemaValidated,
      invalid: totals.invalidData,
      bySubject: Object.fromEntries(mesh.schemaCounts()),
      validationUs: sampleFigures(mesh.validationUs),
    },
    latencyMs: { local: mesh.local.block(), crossRegion: mesh.cross.block() },
    wan: {
      mbpsAvg: round((wanBytes * 8) / seconds / 1e6, 6),
      mbpsPeak: round((wanPeakBytes * 8) / Math.min(1, seconds) / 1e6, 6),
      bytes: wanBytes,
      dataBytes: sum(wanLinks.map((l) => l.dataBytes)),
      controlBytes: sum(wanLinks.map((l) => l.controlBytes)),
    },
    links,
    brokers,
    drops,
    convergence: { warmupMs: scenario.warmupMs, initialMs: round(lastInitialChange + scenario.warmupMs, 3), maxMs: worst(faults.map((f) => f.convergenceMs)) ?? 0 },
    faults,
    populations: mesh.popLatency.map((rec, i) => {
      const p = mesh.populations[i] as Population;
      return { index: i, broker: p.broker, pattern: p.pattern, count: p.count, delivered: mesh.popDelivered[i] as number, latencyMs: rec.block() };
    }),
    ha: { pairs: mesh.pairs.length, takeovers, takeoverMs: worst(takeovers.map((t) => t.takeoverMs)), rebuildMs: worst(takeovers.map((t) => t.rebuildMs)) },
    invariants: {
      checked: checker !== undefined,
      violations: checker?.violations.length ?? 0,
      list: checker?.violations ?? [],
      checkedPopulations: checked?.checkedPopulations ?? null,
    },
    decisionUs,
    run: runFigures(seconds, wall, kernelEvents, mesh.published, { threads: 1, lookaheadMs: null, windows: null }),
    traceHash: mesh.traceHash(),
    series: {
      seconds: mesh.series.delivered.length,
      localP50: mesh.series.localP50,
      localP99: mesh.series.localP99,
      crossP50: mesh.series.crossP50,
      crossP99: mesh.series.crossP99,
      published: mesh.series.published,
      delivered: mesh.series.delivered,
      linkMbps: mesh.directions.map((d) => d.perSecondBytes.slice(0, mesh.series.delivered.length).map((b) => round((b * 8) / 1e6, 3))),
    },
    timeline: canonicalTimeline(mesh),
  };
}

/**
 * The control events in time order, a time's events by broker number, a broker's in the order it
 * emitted them: the same timeline however the brokers were split over threads [PAR-3].
 */
export function canonicalTimeline(mesh: Mesh): ControlEvent[] {
  const rank = (e: ControlEvent): number => ('broker' in e ? (mesh.byId.get(e.broker)?.index ?? -1) : -1);
  return mesh.control
    .map((e, i) => ({ e, i, r: rank(e) }))
    .sort((a, b) => a.e.at - b.e.at || a.r - b.r || a.i - b.i)
    .map((x) => x.e);
}

/** The report's `run` block: wall times and speeds of a run of `seconds` simulated seconds. */
export function runFigures(
  seconds: number,
  wall: { readonly setup: number; readonly traffic: number },
  kernelEvents: number,
  published: number,
  threads: Pick<RunResult['run'], 'threads' | 'lookaheadMs' | 'windows'>,
): RunResult['run'] {
  const wallSeconds = wall.setup + wall.traffic;
  return {
    wallSeconds: round(wallSeconds, 3),
    kernelEvents,
    eventsPerSecond: Math.round(kernelEvents / wallSeconds),
    speedup: round(seconds / wallSeconds, 4),
    setupWallSeconds: round(wall.setup, 3),
    trafficWallSeconds: round(wall.traffic, 3),
    trafficSpeedup: round(seconds / wall.traffic, 4),
    publishedPerWallSecond: Math.round(published / wall.traffic),
    ...threads,
  };
}

/** Per-fault figures: reactions and counter deltas from the fault to the next one (or the end). */
function faultResults(mesh: Mesh, end: Totals): FaultResult[] {
  const marks = mesh.faultTotals;
  // In canonical order, so a fault's brokers are listed as a parallel run lists them [PAR-3].
  const timeline = canonicalTimeline(mesh);
  return marks.map((m, k) => {
    const fault = mesh.faultSpec(m.index);
    const until = k + 1 < marks.length ? (marks[k + 1] as { at: number }).at : Infinity;
    const after = k + 1 < marks.length ? (marks[k + 1] as { totals: Totals }).totals : end;
    let lastChange = NaN;
    const detect: Record<string, number> = {};
    for (const e of timeline) {
      if (e.at < m.at || e.at >= until) continue;
      if (e.type === 'routes-changed') lastChange = e.at;
      if ((e.type === 'routes-changed' || e.type === 'neighbor-down' || e.type === 'neighbor-up') && detect[e.broker] === undefined) detect[e.broker] = round(e.at - m.at, 3);
    }
    const d = (key: keyof Totals): number => (after[key] as number) - (m.totals[key] as number);
    const ha = fault.action === 'crash' ? takeoverResults(mesh).find((t) => t.broker === fault.target[0] && t.at >= m.at && t.at < until) : undefined;
    let rebuildMs: number | null = ha?.rebuildMs ?? null;
    if (fault.action === 'restart') {
      const r = mesh.control.find((e) => e.type === 'resubscribed' && e.broker === fault.target[0] && e.at >= m.at);
      if (r !== undefined) rebuildMs = round(r.at - m.at, 3);
    }
    const detectValues = Object.values(detect);
    return {
      index: m.index,
      at: m.at,
      action: fault.action,
      target: fault.target,
      forMs: fault.forMs ?? null,
      convergenceMs: Number.isNaN(lastChange) ? null : round(lastChange - m.at, 3),
      detectMs: detect,
      detectMsMax: detectValues.length === 0 ? null : Math.max(...detectValues),
      spooled: d('spooled') + d('spooledSlow'),
      dropped: d('lostPairs'),
      retransmitted: d('retransmitted'),
      duplicatesSuppressed: d('duplicatesSuppressed'),
      backpressured: d('publishBackpressured'),
      takeoverMs: ha?.takeoverMs ?? null,
      rebuildMs,
    };
  });
}

/** HA takeovers: time from the primary's crash, and until its clients had all re-subscribed. */
function takeoverResults(mesh: Mesh): RunResult['ha']['takeovers'] {
  const out: Array<RunResult['ha']['takeovers'][number]> = [];
  for (const e of mesh.control) {
    if (e.type !== 'takeover') continue;
    let crashAt = NaN;
    for (const f of mesh.control) if (f.type === 'fault' && f.at <= e.at && f.fault.action === 'crash' && f.fault.target[0] === e.broker) crashAt = f.at;
    const r = mesh.control.find((x) => x.type === 'resubscribed' && x.broker === e.broker && x.at >= e.at);
    out.push({
      broker: e.broker,
      backup: e.backup,
      at: e.at,
      takeoverMs: Number.isNaN(crashAt) ? null : round(e.at - crashAt, 3),
      rebuildMs: r === undefined ? null : round(r.at - e.at, 3),
    });
  }
  return out;
}

/** Below this many entries a table is smaller than the heap's noise between two readings. */
export const MEASURE_MIN_ENTRIES = 10_000;

function routingTable(view: BrokerView, measure: boolean): { routingTableBytes: number; routingTableBytesSource: 'measured' | 'counted' } {
  if (measure && view.routingEntries >= MEASURE_MIN_ENTRIES) return { routingTableBytes: measureRoutingTableBytes(view.interestImage()), routingTableBytesSource: 'measured' };
  return { routingTableBytes: view.routingTableBytesCounted, routingTableBytesSource: 'counted' };
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Wall-clock samples (µs) as count, p50, p99 and mean. */
export function sampleFigures(samples: readonly number[]): { samples: number; p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number));
  return { samples: sorted.length, p50: round(pct(50), 3), p99: round(pct(99), 3), mean: round(sorted.length === 0 ? 0 : sum(sorted) / sorted.length, 3) };
}
export const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The policy's refusals, in total and per principal (principals in name order). */
export function aclFigures(entries: number, denied: ReadonlyMap<string, DeniedFigures>): RunResult['acl'] {
  const byPrincipal: Record<string, DeniedFigures> = {};
  const total = { publish: 0, subscribe: 0, delivery: 0 };
  for (const principal of [...denied.keys()].sort()) {
    const d = denied.get(principal) as DeniedFigures;
    byPrincipal[principal] = { publish: d.publish, subscribe: d.subscribe, delivery: d.delivery };
    total.publish += d.publish;
    total.subscribe += d.subscribe;
    total.delivery += d.delivery;
  }
  return { entries, denied: total, byPrincipal };
}
