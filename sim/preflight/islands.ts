/**
 * [PRE-2] Brokers cut off from the rest: a broker with no links, or an island of brokers no link
 * joins to the others, in a mesh of more than one island.
 * Decision: an ERROR when an island has subscribers and another island has publishers — events
 * published over there could never reach them, and the run would silently deliver nothing
 * across the gap (topics are templates, so whether they would match is not decided here: link
 * the islands, or move the publishers). A WARNING otherwise (islands that need nothing from each
 * other: two meshes in one file).
 */
import type { Scenario } from '../../scenarios/types.ts';
import { components } from './cost.ts';
import type { Finding } from './finding.ts';

function brokersOf(s: Scenario, p: { region?: string; broker?: string }): readonly string[] {
  return p.broker !== undefined ? [p.broker] : (s.regions.find((r) => r.id === p.region)?.brokers ?? []);
}

function names(ids: readonly string[], max = 4): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')}, … (${ids.length} brokers)`;
}

export function checkIslands(s: Scenario): Finding[] {
  const comps = components(s);
  if (comps.length <= 1) return [];
  const compOf = new Map(comps.flatMap((c, i) => c.map((b) => [b, i] as const)));
  const pubs = new Set(s.publishers.flatMap((p) => brokersOf(s, p).map((b) => compOf.get(b)!)));
  const subs = new Set(s.subscribers.flatMap((e) => brokersOf(s, e).map((b) => compOf.get(b)!)));
  // The island named: the smallest with subscribers cut off from some publisher.
  const order = comps.map((_c, i) => i).sort((a, b) => comps[a]!.length - comps[b]!.length);
  const pathOf = (b: string): (string | number)[] => {
    const ri = s.regions.findIndex((r) => r.brokers.includes(b));
    return ['regions', ri, 'brokers', s.regions[ri]!.brokers.indexOf(b)];
  };
  for (const i of order) {
    const others = [...pubs].filter((j) => j !== i);
    if (!subs.has(i) || others.length === 0) continue;
    const island = comps[i]!;
    const publishers = others.flatMap((j) => comps[j]!.filter((b) => s.publishers.some((p) => brokersOf(s, p).includes(b))));
    const what = island.length === 1 ? `broker ${island[0]} has no link to the rest of the mesh` : `brokers ${names(island)} have no link to the rest of the mesh`;
    const linked = island.length === 1 && !s.links.some((l) => l.between.includes(island[0]!)) ? ' (it has no links at all)' : '';
    return [
      {
        level: 'error',
        path: pathOf(island[0]!),
        message: `expected every broker with subscribers joined by links to the brokers that publish, found ${what}${linked}: its subscribers can never receive what ${names(publishers)} publish${publishers.length === 1 ? 'es' : ''}; add a link under links:`,
      },
    ];
  }
  const shown =
    comps
      .slice(0, 4)
      .map((c) => `[${names(c, 3)}]`)
      .join(' ') + (comps.length > 4 ? ' …' : '');
  return [
    {
      level: 'warning',
      path: pathOf(comps[order[0]!]![0]!),
      message: `the mesh is ${comps.length} islands with no link between them: ${shown}; no publisher's events need to cross, so it runs as written`,
    },
  ];
}
