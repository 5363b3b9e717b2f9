/**
 * Faults: one action with only its own keys (scenarios/faults.ts [FAULT-1]), targets that exist,
 * times inside the run, and a sequence that makes sense.
 * [LOAD-3] Contradictions fail at load time, not mid-run: a fault after the end of the run, a
 * link-up of a link that is up, a heal with nothing partitioned, overlapping degrades of a link.
 */
import { FAULT_ACTION_NAMES, FAULT_ACTIONS, type FaultOption } from '../faults.ts';
import type { FaultSpec } from '../types.ts';
import { formatDuration, parseBandwidth, parseRate } from '../units.ts';
import { listOf, quote, type ScenarioPath } from './errors.ts';
import type { RawScenario } from './raw.ts';
import { ONE_ACTION } from './schema.ts';
import type { Source } from './source.ts';
import { CLIENT_WHY, LINK_WHY, linkKey, type Topology } from './topology.ts';
import { populationPattern, type SubscriberTemplate } from './workload.ts';

/** Resolves the faults; throws ScenarioError at the first problem. */
export function resolveFaults(src: Source, raw: RawScenario, topo: Topology, durationMs: number, subscriberTemplates: readonly SubscriberTemplate[]): FaultSpec[] {
  const faults: FaultSpec[] = (raw.faults ?? []).map((f, fi): FaultSpec => {
    const at = (...k: (string | number)[]): ScenarioPath => ['faults', fi, ...k];
    const action = FAULT_ACTION_NAMES.find((a) => f[a] !== undefined);
    if (action === undefined) throw src.error(['faults', fi], 'value', `exactly one action: ${ONE_ACTION}`, 'no action');
    const rule = FAULT_ACTIONS[action];
    // [FAULT-1] Only the keys this action takes (the schema knows every key, not which goes with which).
    for (const key of Object.keys(f)) {
      if (key === 'at' || key === action || rule.options.includes(key as FaultOption)) continue;
      const takers = FAULT_ACTION_NAMES.filter((a) => FAULT_ACTIONS[a].options.includes(key as FaultOption));
      const whose = takers.length === 0 ? '' : `, which only ${takers.join(' and ')} take${takers.length === 1 ? 's' : ''}`;
      throw src.error(at(key), 'key', `a key of a ${action} fault (${['at', action, ...rule.options].join(', ')})`, `${quote(key)}${whose}`);
    }
    for (const key of rule.required) {
      if (f[key] === undefined) throw src.error(at(key), 'container', `the required key ${quote(key)} of a ${action} fault`, `this ${action} without it`);
    }
    if (rule.oneOf.length > 0 && !rule.oneOf.some((k) => f[k] !== undefined)) {
      throw src.error(at(action), 'key', `a ${action} with at least one of ${rule.oneOf.join(', ')}`, 'none of them');
    }
    const atMs = src.dur(at('at'), f.at, '0s');
    if (atMs > durationMs) {
      throw src.error(at('at'), 'value', `a time within the run (duration is ${formatDuration(durationMs)})`, quote(f.at));
    }

    let target: string[];
    switch (rule.target) {
      case 'link': {
        const [a, b] = f[action] as [string, string];
        topo.knownBroker(at(action, 0), a, LINK_WHY);
        topo.knownBroker(at(action, 1), b, LINK_WHY);
        if (!topo.linkIndex.has(linkKey(a, b))) throw src.error(at(action), 'value', 'a pair of brokers joined by a link under links', `[${a}, ${b}]`);
        target = [a, b];
        break;
      }
      case 'broker': {
        const id = f[action] as string;
        if (action === 'crash' || action === 'restart') topo.knownBrokerOrBackup(at(action), id);
        else topo.knownBroker(at(action), id, CLIENT_WHY);
        target = [id];
        break;
      }
      case 'regions':
      case 'regions-or-all': {
        const value = f[action] as string[] | 'all';
        target = value === 'all' ? [] : topo.regionList(at(action), value);
        if (action === 'partition' && target.length === topo.regionIds.length) {
          throw src.error(at(action), 'value', `some regions but not all (a partition cuts them off from the rest; there are ${topo.regionIds.length})`, `[${target.join(', ')}]`);
        }
        break;
      }
      default: {
        const never: never = rule.target;
        throw new Error(`unknown fault target kind ${String(never)}`);
      }
    }

    const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { atMs, action, target };
    if (f.for !== undefined) {
      spec.forMs = src.dur(at('for'), f.for, '0s');
      if (spec.forMs <= 0) throw src.error(at('for'), 'value', 'a duration above zero, such as "10s" (leave it out to last until the end of the run)', quote(f.for));
    }
    if (f.loss !== undefined) spec.loss = f.loss;
    if (f.detect !== undefined) spec.detect = f.detect;
    if (f.rtt !== undefined) {
      spec.rttMs = src.dur(at('rtt'), f.rtt, '0ms');
      if (spec.rttMs <= 0) throw src.error(at('rtt'), 'value', 'a round-trip time above zero, such as "300ms"', quote(f.rtt));
    }
    if (f.jitter !== undefined) spec.jitterMs = src.dur(at('jitter'), f.jitter, '0ms');
    if (f.bandwidth !== undefined) {
      spec.bandwidthBps = src.unit(at('bandwidth'), f.bandwidth, '0bps', parseBandwidth);
      if (spec.bandwidthBps <= 0) throw src.error(at('bandwidth'), 'value', 'a bandwidth above zero, such as "10Mbps"', quote(f.bandwidth));
    }
    if (f.rate !== undefined) {
      spec.ratePerSec = src.unit(at('rate'), f.rate, '0/s', parseRate);
      if (spec.ratePerSec <= 0) throw src.error(at('rate'), 'value', 'a rate above zero, such as "10/s" (for a stalled consumer, a tiny one such as "1/h")', quote(f.rate));
    }
    if (action === 'slow-consumer') {
      const broker = target[0]!;
      if (!subscriberTemplates.some((e) => e.brokers.includes(broker))) {
        const withSubs = topo.brokerIds.filter((b) => subscriberTemplates.some((e) => e.brokers.includes(b)));
        const where = withSubs.length === 0 ? 'this scenario has none' : listOf(withSubs);
        throw src.error(at(action), 'value', `a broker with subscribers (${where})`, quote(broker));
      }
      if (f.pattern !== undefined) spec.pattern = populationPattern(src, topo, subscriberTemplates, at('pattern'), broker, f.pattern);
    }
    return spec;
  });
  checkFaultSequence(src, faults);
  return faults;
}

/**
 * [LOAD-3] Walks the faults in time order (file order for equal times): a link goes down only
 * when up and up only when down; a broker (or HA backup) crashes only when running and restarts
 * only when crashed; a heal heals regions that a partition cut off (partitioning a region twice
 * is fine); a link is not degraded again, nor the same subscribers slowed again, while an earlier
 * degrade or slow-consumer fault still holds (back to back is fine). Everything starts up,
 * running, whole and healthy.
 */
function checkFaultSequence(src: Source, faults: readonly FaultSpec[]): void {
  const order = faults.map((f, i) => ({ f, i })).sort((x, y) => x.f.atMs - y.f.atMs || x.i - y.i);
  const downLinks = new Set<string>();
  const crashed = new Set<string>();
  const partitioned = new Set<string>();
  const degraded = new Map<string, { i: number; untilMs: number }>();
  const slowed: { i: number; broker: string; pattern: string | undefined; untilMs: number }[] = [];
  const until = (ms: number): string => (ms === Infinity ? 'to the end of the run' : `until ${formatDuration(ms)}`);
  for (const { f, i } of order) {
    const when = formatDuration(f.atMs);
    const path: ScenarioPath = ['faults', i, f.action];
    switch (f.action) {
      case 'link-down':
      case 'link-up': {
        const [a, b] = f.target as readonly [string, string];
        const key = a < b ? `${a} ${b}` : `${b} ${a}`;
        const down = downLinks.has(key);
        if (f.action === 'link-down' && down) throw src.error(path, 'value', `a link that is up at ${when} (an earlier fault took it down)`, `[${a}, ${b}]`);
        if (f.action === 'link-up' && !down) throw src.error(path, 'value', `a link that is down at ${when} (links start up)`, `[${a}, ${b}]`);
        if (down) downLinks.delete(key);
        else downLinks.add(key);
        break;
      }
      case 'crash':
      case 'restart': {
        const id = f.target[0]!;
        const isCrashed = crashed.has(id);
        if (f.action === 'crash' && isCrashed) throw src.error(path, 'value', `a broker that is running at ${when} (an earlier fault crashed it)`, quote(id));
        if (f.action === 'restart' && !isCrashed) throw src.error(path, 'value', `a crashed broker at ${when} (brokers start running)`, quote(id));
        if (isCrashed) crashed.delete(id);
        else crashed.add(id);
        break;
      }
      case 'partition':
        for (const r of f.target) partitioned.add(r);
        break;
      case 'heal': {
        const shown = f.target.length === 0 ? '"all"' : `[${f.target.join(', ')}]`;
        if (partitioned.size === 0) throw src.error(path, 'value', `a partition to heal at ${when} (no region is partitioned then)`, shown);
        f.target.forEach((r, j) => {
          if (!partitioned.has(r)) throw src.error([...path, j], 'value', `a region partitioned at ${when} (${listOf([...partitioned])})`, quote(r));
        });
        if (f.target.length === 0) partitioned.clear();
        for (const r of f.target) partitioned.delete(r);
        break;
      }
      case 'degrade': {
        const [a, b] = f.target as readonly [string, string];
        const key = a < b ? `${a} ${b}` : `${b} ${a}`;
        const prev = degraded.get(key);
        if (prev !== undefined && prev.untilMs > f.atMs) {
          throw src.error(path, 'value', `a link not degraded at ${when} (faults[${prev.i}] degrades it ${until(prev.untilMs)})`, `[${a}, ${b}]`);
        }
        degraded.set(key, { i, untilMs: f.atMs + (f.forMs ?? Infinity) });
        break;
      }
      case 'slow-consumer': {
        const broker = f.target[0]!;
        const clash = slowed.find((s) => s.broker === broker && s.untilMs > f.atMs && (s.pattern === undefined || f.pattern === undefined || s.pattern === f.pattern));
        if (clash !== undefined) {
          const whom = clash.pattern === undefined ? 'every subscriber' : `the subscribers of ${quote(clash.pattern)}`;
          throw src.error(path, 'value', `subscribers not already slow at ${when} (faults[${clash.i}] slows ${whom} on ${broker} ${until(clash.untilMs)})`, quote(broker));
        }
        slowed.push({ i, broker, pattern: f.pattern, untilMs: f.atMs + (f.forMs ?? Infinity) });
        break;
      }
      default: {
        const never: never = f.action;
        throw new Error(`unknown fault action ${String(never)}`);
      }
    }
  }
}
