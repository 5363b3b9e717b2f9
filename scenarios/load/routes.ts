/** [LOAD-9] `routes:` (operator routing rules [RULE-1]): patterns, selectors, destinations resolved to brokers. */
import type { RoutingRuleSpec } from '../../engine/broker.ts';
import { tryParseSelector } from '../../engine/selector/index.ts';
import { validatePattern } from '../../engine/topic.ts';
import type { RegionSpec } from '../types.ts';
import { quote } from './errors.ts';
import type { Source } from './source.ts';

export function resolveRoutes(src: Source, routes: ReadonlyArray<{ name: string; pattern: string; filter?: string; to: string }>, regions: readonly RegionSpec[]): RoutingRuleSpec[] {
  return routes.map((r, i) => {
    const bad = validatePattern(r.pattern);
    if (bad !== null) throw src.error(['routes', i, 'pattern'], 'value', 'a topic pattern such as "orders/#"', `${quote(r.pattern)} (${bad})`);
    if (r.filter !== undefined) {
      const s = tryParseSelector(r.filter);
      if (!s.ok) throw src.error(['routes', i, 'filter'], 'value', 'a selector such as "amountCents > 1000"', `${quote(r.filter)} (${s.error.message})`);
    }
    const region = regions.find((g) => g.id === r.to);
    const dests = region !== undefined ? [...region.brokers] : regions.some((g) => g.brokers.includes(r.to)) ? [r.to] : null;
    if (dests === null) throw src.error(['routes', i, 'to'], 'value', 'a broker or region of this scenario', quote(r.to));
    return { name: r.name, pattern: r.pattern, filter: r.filter ?? null, dests };
  });
}
