/**
 * Global policies in a simulated run [ACL-1..5][GOV-1]: what a policy refuses is counted per
 * principal in the summary, the CSV and the report, and what it refuses never crosses the WAN.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCsvFiles } from '../reports/csv.ts';
import { humanReport } from '../reports/human.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario, parseScenario, ScenarioError } from '../scenarios/load.ts';
import { runScenario } from '../sim/run.ts';

const file = join(import.meta.dirname, '..', 'scenarios', 'acl-policy.yaml');

describe('a policy in a simulated run', () => {
  const s = loadScenario(file);
  const r = runScenario(s, { durationMs: 2000, measureHeap: false });
  const open = runScenario({ ...s, acl: [] }, { durationMs: 2000, measureHeap: false });

  it('refuses the publisher no entry allows, at its broker, per principal [ACL-3]', () => {
    const legacy = r.acl.byPrincipal['service:legacy-batch'];
    expect(legacy?.publish).toBeGreaterThan(1500); // 1k/s for 2 s
    expect(r.messages.denied).toBe(legacy?.publish);
    expect(r.acl.denied.publish).toBe(r.messages.denied);
    // Without the policy the same publishes are accepted.
    expect(open.messages.denied).toBe(0);
    expect(open.messages.published).toBe(r.messages.published + r.messages.denied);
    expect(r.brokers.find((b) => b.id === 'eu-1')?.published).toBe(0);
  });

  it('keeps refused traffic off the WAN: nothing the legacy publisher sent reaches ap-1 [ACL-3]', () => {
    const euToAp = (x: typeof r) => x.links.find((l) => l.from === 'eu-1' && l.to === 'ap-1')?.dataBytes ?? -1;
    expect(euToAp(r)).toBe(0);
    expect(euToAp(open)).toBeGreaterThan(500_000);
    expect(r.wan.dataBytes).toBeLessThan(open.wan.dataBytes);
  });

  it('refuses a subscription no entry covers: nothing is owed to it [ACL-4]', () => {
    expect(r.acl.byPrincipal['service:dashboard']).toEqual({ publish: 0, subscribe: 5, delivery: 0 });
    expect(r.brokers.find((b) => b.id === 'us-1')?.deliveries).toBe(0);
    expect(open.brokers.find((b) => b.id === 'us-1')?.deliveries).toBeGreaterThan(0);
  });

  it('refuses deliveries by type; each is a drop with its cause, and the books balance [ACL-5][ACCT-1]', () => {
    const byPrincipal = Object.values(r.acl.byPrincipal).reduce((a, d) => a + d.delivery, 0);
    expect(r.drops.denied).toBe(byPrincipal);
    expect(r.acl.byPrincipal['service:analytics']?.delivery).toBeGreaterThan(0); // internal payments
    expect(r.acl.byPrincipal['service:audit-eu']?.delivery).toBeGreaterThan(0); // orders
    expect(r.messages.unaccounted).toBe(0);
    expect(open.drops.denied).toBe(0);
  });

  it('reports it the same everywhere: summary.json, brokers.csv, the text report', () => {
    const summary = toSummary(r) as { acl: typeof r.acl; messages: { denied: number } };
    expect(summary.acl).toEqual(r.acl);
    expect(summary.messages.denied).toBe(r.messages.denied);
    for (const b of r.brokers) expect(b.policyVersion).toBe(1);
    const csv = toCsvFiles(r).find((f) => f.name === 'brokers.csv')?.text ?? '';
    expect(csv.split('\n')[0]).toContain('policyVersion');
    const text = humanReport(r, s);
    expect(text).toContain(`refused ${r.messages.denied.toLocaleString('en-US')} publishes (service:legacy-batch ${r.messages.denied.toLocaleString('en-US')})`);
    expect(text).toContain('version 1 at every broker');
    expect(humanReport(open, { ...s, acl: [] })).not.toContain('Policy ');
  });
});

describe('acl: in a scenario file', () => {
  const base = `name: x
duration: 1s
regions: [{ id: r, brokers: [a] }]
`;
  it('a rule that is neither a filter nor a glob is one line with its place', () => {
    const bad = `${base}acl:\n  - principal: service:x\n    allow:\n      - publish: "orders/#/x"\n`;
    expect(() => parseScenario(bad, 'f.yaml')).toThrow(ScenarioError);
    try {
      parseScenario(bad, 'f.yaml');
    } catch (e) {
      expect((e as Error).message).toMatch(/^f\.yaml:5:\d+: acl\[0\]: expected a policy entry .*found acl\[0\]\.allow\[0\]\.publish: "orders\/#\/x"/);
      expect((e as Error).message.split('\n')).toHaveLength(1);
    }
  });
  it('a rule naming two actions, or an unknown key, is refused by the schema', () => {
    expect(() => parseScenario(`${base}acl:\n  - principal: p\n    allow: [{ publish: a, subscribe: b }]\n`, 'f.yaml')).toThrow(/acl\[0\]\.allow\[0\]/);
    expect(() => parseScenario(`${base}acl:\n  - principal: p\n    permit: [{ publish: a }]\n`, 'f.yaml')).toThrow(/permit/);
  });
  it('publishers and subscribers default to the anonymous principal', () => {
    const s = parseScenario(`${base}publishers: [{ broker: a, rate: 1/s, topic: t, size: 1B }]\nsubscribers: [{ broker: a, pattern: t }]\n`, 'f.yaml');
    expect(s.publishers[0]?.principal).toBe('anonymous');
    expect(s.subscribers[0]?.principal).toBe('anonymous');
    expect(s.acl).toEqual([]);
  });
});
