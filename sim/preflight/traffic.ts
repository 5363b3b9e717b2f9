/**
 * [PRE-3] Where a scenario's traffic goes, from the scenario alone: for each publishing broker,
 * the share of its events that some subscriber population on each other broker wants, and the
 * weighted deliveries per event. Topics are sampled (TOPIC_SAMPLES renders per publishing
 * broker, seeded), patterns are not expanded: a pattern template with `{i}` is matched as a
 * regular expression whose `{i}` reads the index back, which also gives the broker the
 * population sits on (populations of a region entry go round-robin over its brokers, as
 * sim/workload.ts expands them). Selectors are ignored: the estimate is an upper bound there.
 */
import { createRng } from '../rng.ts';
import { compileTemplate, isTemplateError, PATTERN_PLACEHOLDERS, TOPIC_PLACEHOLDERS, type CompiledTemplate } from '../../scenarios/template.ts';
import type { Scenario } from '../../scenarios/types.ts';

/** Topic renders per publishing broker (fewer on big meshes: at most WORK_MAX matches in all, at least 8 each). */
export const TOPIC_SAMPLES = 256;
const WORK_MAX = 2_000_000;

/** A publisher entry as it lands on one broker. */
export interface Stream {
  readonly broker: string;
  readonly ratePerSec: number;
  /** Events over the run. */
  readonly events: number;
  readonly guaranteed: boolean;
  /** Per destination broker (not this one): the share of events some population there wants. */
  readonly reach: ReadonlyMap<string, number>;
  /** Subscriber deliveries per event (a population of count c counts c). */
  readonly deliveriesPerEvent: number;
}

interface Entry {
  readonly brokers: readonly string[];
  readonly regex: RegExp;
  readonly hasI: boolean;
  readonly patterns: number;
  readonly perPopulation: number;
}

function brokersOf(s: Scenario, p: { region?: string; broker?: string }): readonly string[] {
  return p.broker !== undefined ? [p.broker] : (s.regions.find((r) => r.id === p.region)?.brokers ?? []);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A pattern template as a regex over topics; group 1 is `{i}` when the template has one. */
function patternRegex(t: CompiledTemplate, region: string, broker: string): RegExp {
  const I = '\u0001';
  let text = '';
  for (const part of t.parts) {
    if (part.kind === 'literal') text += part.text;
    else if (part.kind === 'i') text += I;
    else if (part.kind === 'region') text += region;
    else if (part.kind === 'broker') text += broker;
  }
  if (text.startsWith('$share/')) text = text.split('/').slice(2).join('/');
  const levels = text.split('/');
  let re = '';
  let firstI = true;
  levels.forEach((level, k) => {
    const sep = k === 0 ? '' : '/';
    if (level === '#') {
      re += k === 0 ? '.*' : '(?:/.*)?';
      return;
    }
    if (level === '+') {
      re += `${sep}[^/]+`;
      return;
    }
    re +=
      sep +
      level
        .split(I)
        .map(escapeRegex)
        .join(firstI ? '(0|[1-9][0-9]*)' : '(?:0|[1-9][0-9]*)');
    if (level.includes(I)) firstI = false;
  });
  return new RegExp(`^${re}$`, 'u');
}

/** Every publisher entry on every broker it lands on, with where its events go. */
export function streams(s: Scenario): Stream[] {
  const regionOf = new Map(s.regions.flatMap((r) => r.brokers.map((b) => [b, r.id] as const)));
  const entries: Entry[] = s.subscribers.flatMap((e) => {
    const t = compileTemplate(e.pattern, PATTERN_PLACEHOLDERS);
    if (isTemplateError(t)) return [];
    const brokers = brokersOf(s, e);
    // {region}/{broker} render per broker; for a region entry, one regex per broker it spans.
    const perBroker = t.placeholders.includes('broker');
    const targets = perBroker ? brokers.map((b) => [b]) : [brokers];
    return targets.map((bs) => ({
      brokers: perBroker ? brokers : bs,
      regex: patternRegex(t, regionOf.get(bs[0]!) ?? '', bs[0]!),
      hasI: t.placeholders.includes('i'),
      patterns: Math.min(e.patterns, e.count),
      perPopulation: e.count / Math.min(e.patterns, e.count),
    }));
  });
  const out: Stream[] = [];
  const nStreams = s.publishers.reduce((a, p) => a + brokersOf(s, p).length, 0);
  const samples = Math.max(8, Math.min(TOPIC_SAMPLES, Math.floor(WORK_MAX / Math.max(1, nStreams * entries.length))));
  s.publishers.forEach((p, pi) => {
    const t = compileTemplate(p.topic, TOPIC_PLACEHOLDERS);
    if (isTemplateError(t)) return;
    const brokers = brokersOf(s, p);
    for (const b of brokers) {
      // Seeded, so the estimate is the same every time.
      const rng = createRng(0x5eed + pi * 7919 + out.length);
      const rand = (): number => rng.next();
      const hits = new Map<string, number>();
      let deliveries = 0;
      for (let k = 0; k < samples; k++) {
        const topic = t.render({ n: k, i: 0, region: regionOf.get(b) ?? '', broker: b, rand });
        const reached = new Set<string>();
        for (const e of entries) {
          const m = e.regex.exec(topic);
          if (m === null) continue;
          let i = 0;
          if (e.hasI) {
            i = Number(m[1]);
            if (!(i < e.patterns)) continue;
          }
          reached.add(e.brokers[i % e.brokers.length]!);
          deliveries += e.perPopulation;
        }
        reached.delete(b);
        for (const d of reached) hits.set(d, (hits.get(d) ?? 0) + 1);
      }
      const rate = p.ratePerSec / brokers.length;
      const seconds = Math.max(0, Math.min(p.stopMs, s.durationMs) - p.startMs) / 1000;
      out.push({
        broker: b,
        ratePerSec: rate,
        events: rate * seconds,
        guaranteed: p.delivery === 'guaranteed',
        reach: new Map([...hits].map(([d, n]) => [d, n / samples])),
        deliveriesPerEvent: deliveries / samples,
      });
    }
  });
  return out;
}
