/**
 * The run's figures from its threads' parts: the same report one thread writes [PAR-3].
 *
 * [PAR-3] A broker's figures are its thread's, a link direction's its sender's thread's (what is
 *         on a wire at the end is the sender's too); counts of events, deliveries and drops are
 *         sums (each happened on exactly one thread); latency figures come from the threads'
 *         HDR histograms added together (their exact maxima kept apart), each second's as well;
 *         the timeline is the threads' control events merged by (time, broker, emission), as
 *         one thread orders it (sim/run.ts canonicalTimeline); traceHash hashes the brokers'
 *         delivery digests in broker order [TRACE-1]. Every deterministic figure is the one
 *         the same run on one thread reports; wall-clock figures are measured here.
 */
import type { ControlEvent } from '../mesh.ts';
import { traceHashOf } from '../mesh.ts';
import { LatencyRecorder, type EncodedLatency } from '../metrics.ts';
import { type BrokerResult, type FaultResult, type LinkResult, type RunResult, aclFigures, round, runFigures, sampleFigures, sum } from '../run.ts';
import type { Partition } from './partition.ts';
import type { ThreadPart } from './protocol.ts';

type Messages = RunResult['messages'];

/** Message counts every thread adds to (the rest are derived or null). */
const SUMMED: ReadonlyArray<keyof Messages> = [
  'published',
  'delivered',
  'dropped',
  'duplicates',
  'rejected',
  'expected',
  'inFlightAtEnd',
  'deliveredToNewSessions',
  'spooled',
  'retransmitted',
  'duplicatesSuppressed',
  'backpressured',
  'droppedSlowConsumer',
  'droppedSpoolFull',
  'denied',
  'invalid',
];

function added(encoded: readonly EncodedLatency[]): LatencyRecorder {
  const r = new LatencyRecorder();
  for (const e of encoded) r.absorb(e);
  return r;
}

/** Adds the number fields of records of the same shape. */
function addRecords<T extends object>(records: readonly T[]): T {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + (v as number);
  return out as T;
}

export interface ParallelWall {
  readonly setup: number;
  readonly traffic: number;
}

/** [PAR-3] One report from the threads' parts. */
export function mergeParts(parts: readonly ThreadPart[], plan: Partition, wall: ParallelWall): RunResult {
  const byThread = [...parts].sort((a, b) => a.me - b.me);
  const first = (byThread[0] as ThreadPart).result;
  const ownerOf = (broker: number): ThreadPart => byThread[plan.owner[broker] as number] as ThreadPart;
  const brokerIndex = new Map(plan.brokers.map((b, i) => [b, i]));
  const senderOf = (dir: number): ThreadPart => byThread.find((p) => p.perSecondBytes[dir] !== undefined) ?? (byThread[0] as ThreadPart);

  const links: LinkResult[] = first.links.map((_, d) => senderOf(d).result.links[d] as LinkResult);
  const brokers: BrokerResult[] = first.brokers.map((b, i) => ownerOf(brokerIndex.get(b.id) as number).result.brokers[i] as BrokerResult);
  const seconds = first.simulatedSeconds;
  const wanDirs = links.map((l, d) => ({ l, d })).filter((x) => x.l.wan);
  const wanBytes = sum(wanDirs.map((x) => x.l.bytes));
  let wanPeakBytes = 0;
  const perSecond = (d: number): readonly number[] => senderOf(d).perSecondBytes[d] ?? [];
  const nSec = Math.max(0, ...wanDirs.map((x) => perSecond(x.d).length));
  for (let s = 0; s < nSec; s++) wanPeakBytes = Math.max(wanPeakBytes, sum(wanDirs.map((x) => perSecond(x.d)[s] ?? 0)));

  const messages: Record<string, number | null> = {};
  for (const k of SUMMED) messages[k] = sum(byThread.map((p) => p.result.messages[k] as number));
  const m = messages as Record<(typeof SUMMED)[number], number>;
  const unaccounted = m.expected - (m.delivered - m.duplicates - m.deliveredToNewSessions + m.dropped + m.inFlightAtEnd);

  const denied = new Map<string, { publish: number; subscribe: number; delivery: number }>();
  for (const p of byThread) {
    for (const [who, d] of Object.entries(p.result.acl.byPrincipal)) {
      const c = denied.get(who) ?? { publish: 0, subscribe: 0, delivery: 0 };
      denied.set(who, { publish: c.publish + d.publish, subscribe: c.subscribe + d.subscribe, delivery: c.delivery + d.delivery });
    }
  }
  const bySubject: Record<string, { validated: number; invalid: number }> = {};
  for (const p of byThread) {
    for (const [subject, c] of Object.entries(p.result.schemas.bySubject)) {
      const t = bySubject[subject] ?? { validated: 0, invalid: 0 };
      bySubject[subject] = { validated: t.validated + c.validated, invalid: t.invalid + c.invalid };
    }
  }

  const series = first.series;
  const secondsCount = series.seconds;
  const localP50: number[] = [];
  const localP99: number[] = [];
  const crossP50: number[] = [];
  const crossP99: number[] = [];
  for (let s = 0; s < secondsCount; s++) {
    const local = added(byThread.map((p) => (p.seconds[s] as { local: EncodedLatency }).local));
    const cross = added(byThread.map((p) => (p.seconds[s] as { cross: EncodedLatency }).cross));
    localP50.push(local.percentile(50));
    localP99.push(local.percentile(99));
    crossP50.push(cross.percentile(50));
    crossP99.push(cross.percentile(99));
  }
  const addSeries = (pick: (r: RunResult) => readonly number[]): number[] => Array.from({ length: secondsCount }, (_, s) => sum(byThread.map((p) => pick(p.result)[s] ?? 0)));

  const timeline: ControlEvent[] = mergeTimelines(
    byThread.map((p) => p.result.timeline),
    (e) => ('broker' in e ? (brokerIndex.get(e.broker) ?? -1) : -1),
  );
  const published = m.published;
  const kernelEvents = sum(byThread.map((p) => p.kernelEvents));
  const drops = addRecords(byThread.map((p) => p.result.drops));
  return {
    ...first,
    messages: { ...first.messages, ...(messages as unknown as Messages), unaccounted, deliveredRatio: null, lost: null },
    acl: aclFigures(first.acl.entries, denied),
    schemas: {
      subjects: first.schemas.subjects,
      validated: sum(byThread.map((p) => p.result.schemas.validated)),
      invalid: sum(byThread.map((p) => p.result.schemas.invalid)),
      bySubject,
      validationUs: sampleFigures(byThread.flatMap((p) => p.validationUs)),
    },
    latencyMs: { local: added(byThread.map((p) => p.local)).block(), crossRegion: added(byThread.map((p) => p.cross)).block() },
    wan: {
      mbpsAvg: round((wanBytes * 8) / seconds / 1e6, 6),
      mbpsPeak: round((wanPeakBytes * 8) / Math.min(1, seconds) / 1e6, 6),
      bytes: wanBytes,
      dataBytes: sum(wanDirs.map((x) => x.l.dataBytes)),
      controlBytes: sum(wanDirs.map((x) => x.l.controlBytes)),
    },
    links,
    brokers,
    drops,
    convergence: {
      warmupMs: first.convergence.warmupMs,
      initialMs: Math.max(...byThread.map((p) => p.result.convergence.initialMs)),
      maxMs: Math.max(...byThread.map((p) => p.result.convergence.maxMs)),
    },
    faults: mergeFaults(byThread, brokerIndex),
    populations: first.populations.map((pop, i) => ownerOf(brokerIndex.get(pop.broker) as number).result.populations[i] as RunResult['populations'][number]),
    decisionUs: sampleFigures(byThread.flatMap((p) => p.decisionUs)),
    run: runFigures(seconds, wall, kernelEvents, published, {
      threads: plan.workers,
      lookaheadMs: plan.lookaheadMs === Infinity ? null : plan.lookaheadMs,
      windows: (byThread[0] as ThreadPart).windows,
    }),
    traceHash: traceHashOf(plan.brokers.map((_, i) => ownerOf(i).traces[i] as string)),
    series: {
      seconds: secondsCount,
      localP50,
      localP99,
      crossP50,
      crossP99,
      published: addSeries((r) => r.series.published),
      delivered: addSeries((r) => r.series.delivered),
      linkMbps: links.map((_, d) => senderOf(d).result.series.linkMbps[d] as number[]),
    },
    timeline,
  };
}

/**
 * [PAR-3] Each fault as one thread reports it: its counts are sums of each thread's own deltas;
 * a route change or detection is the broker's thread's (the last change, the latest of them; the
 * brokers' first reactions listed by time, then broker, as one thread lists them).
 */
function mergeFaults(parts: readonly ThreadPart[], brokerIndex: ReadonlyMap<string, number>): FaultResult[] {
  const first = (parts[0] as ThreadPart).result.faults;
  return first.map((f, k) => {
    const each = parts.map((p) => p.result.faults[k] as FaultResult);
    const changes = each.map((x) => x.convergenceMs).filter((x): x is number => x !== null);
    const detected = each.flatMap((x) => Object.entries(x.detectMs)).sort((a, b) => a[1] - b[1] || (brokerIndex.get(a[0]) ?? -1) - (brokerIndex.get(b[0]) ?? -1));
    const detectMs = Object.fromEntries(detected);
    const values = Object.values(detectMs);
    const add = (key: 'spooled' | 'dropped' | 'retransmitted' | 'duplicatesSuppressed' | 'backpressured'): number => sum(each.map((x) => x[key]));
    return {
      ...f,
      convergenceMs: changes.length === 0 ? null : Math.max(...changes),
      detectMs,
      detectMsMax: values.length === 0 ? null : Math.max(...values),
      spooled: add('spooled'),
      dropped: add('dropped'),
      retransmitted: add('retransmitted'),
      duplicatesSuppressed: add('duplicatesSuppressed'),
      backpressured: add('backpressured'),
    };
  });
}

/** Merges timelines each sorted by (time, broker rank, emission) into one such order [PAR-3]. */
function mergeTimelines(lists: ReadonlyArray<readonly ControlEvent[]>, rank: (e: ControlEvent) => number): ControlEvent[] {
  return lists
    .flatMap((list, t) => list.map((e, i) => ({ e, t, i, r: rank(e) })))
    .sort((a, b) => a.e.at - b.e.at || a.r - b.r || a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}
