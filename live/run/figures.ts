/**
 * A live run's report rows [LIVE-R4], from what the run collected: the brokers' counters over
 * their lives (scrape.ts), the window's link totals, the clients' deliveries, the brokers' control
 * events. Pure: the same rows as the simulator's (sim/run.ts LinkResult, BrokerResult,
 * FaultResult), with what live mode cannot measure at 0 and named in `live.notMeasured`.
 */
import type { ControlEvent } from '../../sim/mesh.ts';
import { DROP_CAUSES, emptyDrops, type Drops } from '../../sim/accounts.ts';
import type { BrokerResult, DeniedFigures, FaultResult, LinkResult, SchemaFigures } from '../../sim/run.ts';
import type { Population } from '../../sim/workload.ts';
import type { FaultSpec, Scenario } from '../../scenarios/types.ts';
import type { BrokerCounters } from './scrape.ts';

/** Counters summed over every broker, taken at each fault and at the end. */
export interface Totals {
  spooled: number;
  dropped: number;
  retransmitted: number;
  duplicatesSuppressed: number;
  backpressured: number;
}

/** One fault as it happened: its index, its time after t0 and the totals just before it. */
export interface FaultMark {
  readonly index: number;
  readonly at: number;
  readonly totals: Totals;
}

/** Link totals keyed `from>to|kind|bytes|frames` (the run's #linkTotals). */
export type LinkTotals = Map<string, number>;

export function totalsOf(counters: readonly BrokerCounters[]): Totals {
  const t: Totals = { spooled: 0, dropped: 0, retransmitted: 0, duplicatesSuppressed: 0, backpressured: 0 };
  for (const c of counters) {
    t.spooled += c.total('meshtwin_spooled_total');
    t.retransmitted += c.total('meshtwin_retransmits_total');
    t.duplicatesSuppressed += c.total('meshtwin_duplicates_suppressed_total');
    t.backpressured += c.total('meshtwin_backpressured_total');
    t.dropped += sum([...c.byLabel('meshtwin_dropped_total', 'cause').values()]);
  }
  return t;
}

export function diff(a: LinkTotals, b: LinkTotals): LinkTotals {
  const out = new Map<string, number>();
  for (const [k, v] of a) out.set(k, v - (b.get(k) ?? 0));
  return out;
}

/** Per link direction, what the sending broker counted inside the window [LIVE-X3], + the modeled overhead per frame. */
export function linkFigures(
  s: Scenario,
  seconds: number,
  region: ReadonlyMap<string, string>,
  window: { readonly atStart: LinkTotals; readonly atEnd: LinkTotals; readonly perSecond: readonly LinkTotals[] },
  counters: (id: string) => BrokerCounters,
  linkUp: (a: string, b: string) => boolean,
): { links: LinkResult[]; linkMbps: number[][] } {
  const overhead = s.model.transportOverheadBytes;
  const w = diff(window.atEnd, window.atStart);
  const links: LinkResult[] = [];
  const linkMbps: number[][] = [];
  for (const l of s.links) {
    for (const [from, to] of [l.between, [l.between[1], l.between[0]] as const]) {
      const get = (m: LinkTotals, kind: string, what: string): number => m.get(`${from}>${to}|${kind}|${what}`) ?? 0;
      const dataBytes = get(w, 'data', 'bytes');
      const dataFrames = get(w, 'data', 'frames');
      const controlBytes = get(w, 'control', 'bytes');
      const controlFrames = get(w, 'control', 'frames');
      const wire = dataBytes + controlBytes + overhead * (dataFrames + controlFrames);
      const per = window.perSecond.map((m) => get(m, 'data', 'bytes') + get(m, 'control', 'bytes') + overhead * (get(m, 'data', 'frames') + get(m, 'control', 'frames')));
      const mbpsPeak = (Math.max(0, ...per) * 8) / Math.min(1, seconds) / 1e6;
      linkMbps.push(per.map((b) => round((b * 8) / 1e6, 3)));
      links.push({
        from,
        to,
        wan: region.get(from) !== region.get(to),
        mbpsAvg: round((wire * 8) / seconds / 1e6, 6),
        mbpsPeak: round(mbpsPeak, 6),
        utilizationPeak: round((mbpsPeak * 1e6) / l.bandwidthBps, 4),
        bytes: wire,
        frames: dataFrames + controlFrames,
        dataBytes: dataBytes + overhead * dataFrames,
        dataFrames,
        controlBytes: controlBytes + overhead * controlFrames,
        controlFrames,
        codecDataBytes: dataBytes,
        codecControlBytes: controlBytes,
        warmupBytes: 0,
        bandwidthBps: l.bandwidthBps,
        rttMs: l.rttMs,
        queueWaitMsMean: 0,
        queueWaitMsMax: 0,
        droppedLoss: 0,
        droppedQueue: counters(from).total('meshtwin_link_refused_frames_total', { class: 'realtime', from, to }),
        droppedDown: 0,
        upAtEnd: linkUp(from, to),
      } as LinkResult);
    }
  }
  return { links, linkMbps };
}

/** Per broker, its counters over its lives and the deliveries its populations' clients counted. */
export function brokerFigures(
  s: Scenario,
  ids: readonly string[],
  region: ReadonlyMap<string, string>,
  pops: readonly Population[],
  popDelivered: readonly number[],
  counters: (id: string) => BrokerCounters,
  routesAtEnd: ReadonlyMap<string, ReadonlyMap<string, string>>,
  aliveAtEnd: (id: string) => boolean,
): BrokerResult[] {
  return ids.map((id) => {
    const c = counters(id);
    const onHere = pops.filter((p) => p.broker === id);
    const connections = sum(onHere.map((p) => p.count));
    const drops = c.byLabel('meshtwin_dropped_total', 'cause');
    const peers = s.links.filter((l) => l.between.includes(id)).map((l) => (l.between[0] === id ? l.between[1] : l.between[0]));
    const frames = (from: (peer: string) => string, to: (peer: string) => string) => sum(peers.map((p) => c.total('meshtwin_link_frames_total', { from: from(p), to: to(p), kind: 'data' })));
    return {
      id,
      region: region.get(id) as string,
      routingEntries: c.gauge('meshtwin_routing_entries'),
      routingTableBytes: 0,
      routingTableBytesSource: 'counted',
      routingTableBytesCounted: 0,
      localPatterns: onHere.length,
      remotePatterns: Math.max(0, c.gauge('meshtwin_routing_entries') - onHere.length),
      connections,
      connectionBytes: connections * s.model.connectionBytes,
      published: c.total('meshtwin_published_total'),
      deliveries: sum(onHere.map((p) => popDelivered[p.index] as number)),
      dropped: sum([...drops.values()]),
      dataFramesSent: frames(
        () => id,
        (p) => p,
      ),
      dataFramesReceived: frames(
        (p) => p,
        () => id,
      ),
      filteredAtEdge: c.total('meshtwin_filtered_at_edge_total'),
      droppedNoRoute: drops.get('noRoute') ?? 0,
      droppedLoop: drops.get('loop') ?? 0,
      droppedHopLimit: drops.get('hopLimit') ?? 0,
      protocolErrors: c.total('meshtwin_protocol_errors_total'),
      consumerQueuePeak: 0,
      spoolPeakBytes: c.peak('meshtwin_spool_bytes'),
      ledgerEntries: 0,
      acksSent: 0,
      acksReceived: 0,
      refusedSpoolFull: drops.get('spoolFull') ?? 0,
      groupSharesMoved: 0,
      policyVersion: c.gauge('meshtwin_policy_version'),
      schemasVersion: c.gauge('meshtwin_schemas_version'),
      schemaValidated: c.total('meshtwin_schema_checked_total'),
      invalidData: sum([...c.byLabel('meshtwin_invalid_total', 'subject').values()]),
      routes: [...(routesAtEnd.get(id) ?? new Map<string, string>())].sort(),
      aliveAtEnd: aliveAtEnd(id),
      populations: onHere.length,
    };
  });
}

/** The causes the brokers counted (copies), by the reports' names. */
export function dropsByCause(counters: readonly BrokerCounters[]): Drops {
  const drops = emptyDrops();
  for (const c of counters) for (const [cause, n] of c.byLabel('meshtwin_dropped_total', 'cause')) if ((DROP_CAUSES as readonly string[]).includes(cause)) drops[cause as keyof Drops] += n;
  return drops;
}

/** Per fault, from it to the next: the brokers' reactions (their own control events) and the counters' deltas. */
export function faultFigures(s: Scenario, marks: readonly FaultMark[], control: readonly ControlEvent[], end: Totals): FaultResult[] {
  return [...marks]
    .sort((a, b) => a.at - b.at)
    .map((m, k, all) => {
      const f = s.faults[m.index] as FaultSpec;
      const until = k + 1 < all.length ? (all[k + 1] as FaultMark).at : Infinity;
      const after = k + 1 < all.length ? (all[k + 1] as FaultMark).totals : end;
      let last = Number.NaN;
      const detect: Record<string, number> = {};
      for (const e of control) {
        if (e.at < m.at || e.at >= until || !('broker' in e)) continue;
        if (e.type === 'routes-changed') last = e.at;
        if ((e.type === 'routes-changed' || e.type === 'neighbor-down' || e.type === 'neighbor-up') && detect[e.broker] === undefined) detect[e.broker] = round(e.at - m.at, 3);
      }
      const resub = f.action === 'restart' ? control.find((e) => e.type === 'resubscribed' && e.broker === f.target[0] && e.at >= m.at) : undefined;
      const d = (key: keyof Totals): number => after[key] - m.totals[key];
      const dv = Object.values(detect);
      return {
        index: m.index,
        at: round(m.at, 3),
        action: f.action,
        target: f.target,
        convergenceMs: Number.isNaN(last) ? null : round(last - m.at, 3),
        detectMs: detect,
        detectMsMax: dv.length === 0 ? null : Math.max(...dv),
        spooled: d('spooled'),
        dropped: d('dropped'),
        retransmitted: d('retransmitted'),
        duplicatesSuppressed: d('duplicatesSuppressed'),
        backpressured: d('backpressured'),
        takeoverMs: null,
        rebuildMs: resub === undefined ? null : round(resub.at - m.at, 3),
        forMs: f.forMs ?? null,
      };
    });
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
export const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** [ACL-3..5] Refusals per principal over every broker and life, from their /metrics. */
/** [SCHEMA-7] The schema figures from the brokers' metrics (the check's cost is not measured live). */
export function schemaFiguresLive(subjects: number, counters: readonly BrokerCounters[]): SchemaFigures {
  const bySubject: Record<string, { validated: number; invalid: number }> = {};
  let validated = 0;
  for (const c of counters) {
    validated += c.total('meshtwin_schema_checked_total');
    for (const [subject, n] of c.byLabel('meshtwin_schema_validated_total', 'subject')) (bySubject[subject] ??= { validated: 0, invalid: 0 }).validated += n;
    for (const [subject, n] of c.byLabel('meshtwin_invalid_total', 'subject')) (bySubject[subject] ??= { validated: 0, invalid: 0 }).invalid += n;
  }
  const invalid = sum(Object.values(bySubject).map((x) => x.invalid));
  return { subjects, validated, invalid, bySubject, validationUs: { samples: 0, p50: 0, p99: 0, mean: 0 } };
}

export function deniedByPrincipal(counters: readonly BrokerCounters[]): Map<string, DeniedFigures> {
  const out = new Map<string, { publish: number; subscribe: number; delivery: number }>();
  for (const c of counters) {
    for (const action of ['publish', 'subscribe', 'delivery'] as const) {
      for (const [principal, n] of c.byLabel(`meshtwin_denied_${action}_total`, 'principal')) {
        let d = out.get(principal);
        if (d === undefined) out.set(principal, (d = { publish: 0, subscribe: 0, delivery: 0 }));
        d[action] += n;
      }
    }
  }
  return out;
}
