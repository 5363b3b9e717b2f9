/**
 * Regions, brokers, HA pairs and links: ids unique, every cross-reference known, and the
 * lookups the rest of the loader uses to check a broker, region or link id.
 * [LOAD-4] HA backups are ids of their own: never a broker id, never in links or under a
 * publisher or subscriber (clients and links use the primary's id; the backup takes it over),
 * only crash and restart name them.
 */
import type { LinkSpec, RegionSpec } from '../types.ts';
import { parseBandwidth, parseSize } from '../units.ts';
import { describe, didYouMean, formatPath, listOf, quote, type ScenarioPath } from './errors.ts';
import type { RawScenario } from './raw.ts';
import type { Source } from './source.ts';

/** Why an HA backup's id is refused in a link (it has none of its own). */
export const LINK_WHY = "a backup takes over its primary's links and has none of its own";
/** Why an HA backup's id is refused for clients. */
export const CLIENT_WHY = "clients attach to the primary's address";

/** Links are unordered pairs: the key of a pair in either order. */
export function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/** Where a publisher or subscriber population sits: its brokers, and the spec's own key. */
export interface Placement {
  readonly brokers: readonly string[];
  readonly place: { region: string } | { broker: string };
}

/** The resolved topology and the checks the other parts of the loader run against it. */
export interface Topology {
  readonly regions: RegionSpec[];
  readonly links: LinkSpec[];
  readonly brokerIds: readonly string[];
  readonly regionIds: readonly string[];
  /** broker → region */
  readonly regionOf: ReadonlyMap<string, string>;
  /** link key (linkKey) → index in links */
  readonly linkIndex: ReadonlyMap<string, number>;
  /** A broker id; an HA backup's id is refused with `why`. Throws ScenarioError. */
  knownBroker(path: ScenarioPath, id: string, why?: string): void;
  /** A broker or HA backup id (crash and restart). */
  knownBrokerOrBackup(path: ScenarioPath, id: string): void;
  /** Known region ids, each once. */
  regionList(path: ScenarioPath, ids: readonly string[]): string[];
  /** Exactly one of region/broker, and it exists. */
  placement(path: ScenarioPath, p: { region?: string; broker?: string }): Placement;
}

/** Resolves regions, HA pairs and links; throws ScenarioError at the first problem. */
export function resolveTopology(src: Source, raw: RawScenario): Topology {
  // Regions and brokers.
  const regionOf = new Map<string, string>(); // broker → region
  const regionIndex = new Map<string, number>();
  const brokerWhere = new Map<string, string>();
  const regions: RegionSpec[] = raw.regions.map((r, ri) => {
    const prev = regionIndex.get(r.id);
    if (prev !== undefined) {
      throw src.error(['regions', ri, 'id'], 'value', `a region id not used before (regions[${prev}] is ${quote(r.id)})`, quote(r.id));
    }
    regionIndex.set(r.id, ri);
    r.brokers.forEach((b, bi) => {
      const seen = brokerWhere.get(b);
      if (seen !== undefined) {
        throw src.error(['regions', ri, 'brokers', bi], 'value', `a broker id not used before (${seen} is ${quote(b)})`, quote(b));
      }
      brokerWhere.set(b, formatPath(['regions', ri, 'brokers', bi]));
      regionOf.set(b, r.id);
    });
    const spec: RegionSpec = {
      id: r.id,
      brokers: [...r.brokers],
      clientRttMs: src.dur(['regions', ri, 'clientRtt'], r.clientRtt, '1ms'),
      ...(r.location === undefined ? {} : { location: { lat: r.location.lat, lon: r.location.lon } }),
      ha: (r.ha ?? []).map((pair) => ({ primary: pair.primary, backup: pair.backup })),
    };
    return spec;
  });
  const brokerIds = [...regionOf.keys()];
  const regionIds = regions.map((r) => r.id);
  const brokersOf = new Map(regions.map((r) => [r.id, r.brokers]));

  // [LOAD-4] HA pairs: the primary is a broker of this region with at most one backup; the
  // backup is a new id, used nowhere else (checked after every region's brokers are known).
  const primaryOf = new Map<string, string>(); // backup → primary
  const backupWhere = new Map<string, string>(); // backup → "regions[0].ha[1].backup"
  const pairWhere = new Map<string, string>(); // primary → "regions[0].ha[1]"
  raw.regions.forEach((r, ri) => {
    (r.ha ?? []).forEach((pair, hi) => {
      const at = (k: string): ScenarioPath => ['regions', ri, 'ha', hi, k];
      if (!r.brokers.includes(pair.primary)) {
        const elsewhere = regionOf.get(pair.primary);
        const found = elsewhere === undefined ? quote(pair.primary) : `${quote(pair.primary)}, a broker of region ${quote(elsewhere)}`;
        throw src.error(at('primary'), 'value', `a broker of region ${quote(r.id)} (${listOf(r.brokers)})`, found, elsewhere === undefined ? didYouMean(pair.primary, r.brokers) : undefined);
      }
      const paired = pairWhere.get(pair.primary);
      if (paired !== undefined) {
        throw src.error(at('primary'), 'value', `a primary with at most one backup (${paired} already pairs ${quote(pair.primary)})`, quote(pair.primary));
      }
      const asBroker = brokerWhere.get(pair.backup);
      if (asBroker !== undefined) {
        throw src.error(at('backup'), 'value', `a new id for the standby, not a broker's (${asBroker} is ${quote(pair.backup)})`, quote(pair.backup));
      }
      const asBackup = backupWhere.get(pair.backup);
      if (asBackup !== undefined) {
        throw src.error(at('backup'), 'value', `a backup id not used before (${asBackup} is ${quote(pair.backup)})`, quote(pair.backup));
      }
      pairWhere.set(pair.primary, formatPath(['regions', ri, 'ha', hi]));
      backupWhere.set(pair.backup, formatPath(at('backup')));
      primaryOf.set(pair.backup, pair.primary);
    });
  });

  /** A broker id; an HA backup's id is refused with `why` (e.g. clients attach to the primary). */
  const knownBroker = (path: ScenarioPath, id: string, why = 'a backup stands in for its primary'): void => {
    if (regionOf.has(id)) return;
    const primary = primaryOf.get(id);
    if (primary !== undefined) {
      throw src.error(path, 'value', `a broker declared under regions (${listOf(brokerIds)})`, `${quote(id)}, the HA backup of ${quote(primary)} (${why})`, `use ${quote(primary)}`);
    }
    throw src.error(path, 'value', `a broker declared under regions (${listOf(brokerIds)})`, quote(id), didYouMean(id, brokerIds));
  };
  /** Crash and restart also take HA backups. */
  const knownBrokerOrBackup = (path: ScenarioPath, id: string): void => {
    if (regionOf.has(id) || primaryOf.has(id)) return;
    if (primaryOf.size === 0) knownBroker(path, id);
    const known = [...brokerIds, ...primaryOf.keys()];
    throw src.error(path, 'value', `a broker or HA backup declared under regions (${listOf(known)})`, quote(id), didYouMean(id, known));
  };
  const knownRegion = (path: ScenarioPath, id: string): void => {
    if (!regionIndex.has(id)) {
      throw src.error(path, 'value', `a region declared under regions (${listOf(regionIds)})`, quote(id), didYouMean(id, regionIds));
    }
  };
  /** Known region ids, each once. */
  const regionList = (path: ScenarioPath, ids: readonly string[]): string[] => {
    ids.forEach((id, j) => {
      knownRegion([...path, j], id);
      const first = ids.indexOf(id);
      if (first < j) throw src.error([...path, j], 'value', `each region once (${formatPath([...path, first])} is ${quote(id)})`, quote(id));
    });
    return [...ids];
  };

  // Links.
  const linkIndex = new Map<string, number>();
  const links: LinkSpec[] = (raw.links ?? []).map((l, li) => {
    const at = (k: string): ScenarioPath => ['links', li, k];
    const [a, b] = l.between;
    knownBroker(['links', li, 'between', 0], a, LINK_WHY);
    knownBroker(['links', li, 'between', 1], b, LINK_WHY);
    if (a === b) throw src.error(['links', li, 'between', 1], 'value', `a broker other than ${quote(a)} (a link joins two brokers)`, quote(b));
    const dup = linkIndex.get(linkKey(a, b));
    if (dup !== undefined) {
      throw src.error(at('between'), 'value', `a pair of brokers not linked before (links[${dup}] joins them)`, `[${a}, ${b}]`);
    }
    linkIndex.set(linkKey(a, b), li);
    const rttMs = src.dur(at('rtt'), l.rtt, '0ms');
    if (rttMs <= 0) throw src.error(at('rtt'), 'value', 'a round-trip time above zero, such as "70ms"', quote(l.rtt));
    const bandwidthBps = src.unit(at('bandwidth'), l.bandwidth, '0bps', parseBandwidth);
    if (bandwidthBps <= 0) throw src.error(at('bandwidth'), 'value', 'a bandwidth above zero, such as "10Gbps"', quote(l.bandwidth));
    const queueBytes = src.unit(at('queue'), l.queue, '64MB', parseSize);
    if (queueBytes <= 0) throw src.error(at('queue'), 'value', 'a queue limit above zero, such as "64MB"', describe(l.queue));
    return {
      between: [a, b] as const,
      rttMs,
      bandwidthBps,
      jitterMs: src.dur(at('jitter'), l.jitter, '0ms'),
      loss: l.loss ?? 0,
      cost: l.cost ?? rttMs,
      queueBytes,
    };
  });

  // Where a publisher/subscriber population sits: exactly one of region/broker, and it exists.
  const placement = (path: ScenarioPath, p: { region?: string; broker?: string }): Placement => {
    if (p.region !== undefined && p.broker !== undefined) {
      throw src.error([...path, 'broker'], 'key', 'exactly one of "region" or "broker"', 'both');
    }
    if (p.broker !== undefined) {
      knownBroker([...path, 'broker'], p.broker, CLIENT_WHY);
      return { brokers: [p.broker], place: { broker: p.broker } };
    }
    if (p.region === undefined) throw src.error(path, 'value', 'exactly one of "region" or "broker"', 'neither');
    knownRegion([...path, 'region'], p.region);
    return { brokers: brokersOf.get(p.region)!, place: { region: p.region } };
  };
  return { regions, links, brokerIds, regionIds, regionOf, linkIndex, knownBroker, knownBrokerOrBackup, regionList, placement };
}
