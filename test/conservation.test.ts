/**
 * [ACCT-1] Every (event, interested subscriber) pair ends delivered, dropped for a named cause, or
 * still in flight when the run ends — on every shipped scenario. `expected` comes from the demand
 * oracle (sim/demand.ts: the scenario's populations, not any broker's routing state); the other
 * side from what the mesh saw happen. Also: one figure per counter everywhere, and per-broker
 * figures (summed over the brokers' lives) add up to the mesh totals.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario, loadScenario } from '../scenarios/load.ts';
import { runScenario, type RunResult } from '../sim/run.ts';
import { DROP_CAUSES, sumDrops } from '../sim/accounts.ts';
import { conservationLine, humanReport } from '../reports/human.ts';
import { toSummary } from '../reports/summary.ts';
import { toCsvFiles } from '../reports/csv.ts';
import { Mesh } from '../sim/mesh.ts';
import { SnapshotBuilder } from '../viz/snapshot.ts';

const dir = join(import.meta.dirname, '..', 'scenarios');
const shipped = [
  ...readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f)),
  ...readdirSync(join(dir, 'failover'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, 'failover', f)),
];

/** Failover scenarios run whole (their faults are the point); the big ones a slice of traffic. */
function durationFor(file: string, own: number): number {
  if (file.includes('failover')) return own;
  if (file.includes('seed-global')) return 200;
  return Math.min(own, 2000);
}

function checkBooks(r: RunResult): void {
  const m = r.messages;
  // [ACCT-1] The conservation line, each side measured on its own.
  expect(m.expected).toBeGreaterThan(0);
  expect(m.unaccounted).toBe(0);
  expect(m.delivered - m.duplicates - m.deliveredToNewSessions + m.dropped + m.inFlightAtEnd).toBe(m.expected);
  // messages.dropped is every cause that loses a delivery; lossRetried (frames sent again) is not one.
  expect(m.dropped).toBe(sumDrops(r.drops));
  for (const c of DROP_CAUSES) expect(r.drops[c]).toBeGreaterThanOrEqual(0);
  // Per-broker figures add up to the mesh's.
  const sum = (k: 'published' | 'deliveries' | 'dropped') => r.brokers.reduce((a, b) => a + b[k], 0);
  expect(sum('published')).toBe(m.published);
  expect(sum('deliveries')).toBe(m.delivered);
  expect(sum('dropped')).toBe(m.dropped);
}

describe('[ACCT-1] conservation on every shipped scenario', () => {
  it('ships scenarios to check', () => expect(shipped.length).toBeGreaterThanOrEqual(9));
  for (const file of shipped) {
    it(file.slice(dir.length + 1), () => {
      const s = loadScenario(file);
      const r = runScenario(s, { durationMs: durationFor(file, s.durationMs), measureHeap: false });
      checkBooks(r);
      expect(humanReport(r, s)).toContain(conservationLine(r));
      expect(conservationLine(r)).toMatch(/✓ every pair accounted for$/);
    }, 180_000);
  }
});

const CUT = (notes: string) => `
name: silent-cut
seed: 3
duration: 4s
warmup: 2s
regions:
  - { id: us, brokers: [us-1] }
  - { id: eu, brokers: [eu-1] }
  - { id: ap, brokers: [ap-1] }
links:
  - { between: [us-1, eu-1], rtt: 70ms, bandwidth: 1Gbps }
  - { between: [eu-1, ap-1], rtt: 120ms, bandwidth: 1Gbps }
  - { between: [us-1, ap-1], rtt: 180ms, bandwidth: 1Gbps }
publishers:
  - { broker: us-1, rate: 2000/s, topic: "orders/ap/{n}", size: 200B }
subscribers:
  - { broker: ap-1, count: 5, pattern: "orders/ap/#" }
faults:
${notes}
`;

describe('[ACCT-1] a silent cut', () => {
  const s = parseScenario(CUT('  - { at: 2s, link-down: [us-1, ap-1] }'), 'silent-cut.yaml');
  const r = runScenario(s, { measureHeap: false });

  it('its losses are link-down drops, in the headline, the cause line, the fault table and summary.json alike', () => {
    checkBooks(r);
    expect(r.drops.linkDown).toBeGreaterThan(0);
    expect(r.messages.dropped).toBe(r.drops.linkDown + r.drops.noRoute);
    const text = humanReport(r, s);
    expect(text).toContain(`dropped ${r.messages.dropped.toLocaleString('en-US')}`);
    expect(text).toMatch(new RegExp(`link down ${r.drops.linkDown.toLocaleString('en-US')}`));
    // One fault: everything lost after it is its figure.
    expect(r.faults[0]?.dropped).toBe(r.messages.dropped);
    const summary = toSummary(r) as { messages: { dropped: number }; drops: Record<string, number> };
    expect(summary.messages.dropped).toBe(r.messages.dropped);
    const brokersCsv = toCsvFiles(r).find((f) => f.name === 'brokers.csv')?.text ?? '';
    const header = (brokersCsv.split('\n')[0] ?? '').split(',');
    const col = header.indexOf('dropped');
    expect(col).toBeGreaterThanOrEqual(0);
    const csvDropped = brokersCsv
      .trim()
      .split('\n')
      .slice(1)
      .reduce((a, line) => a + Number(line.split(',')[col]), 0);
    expect(csvDropped).toBe(r.messages.dropped);
  });

  it('the live view says the same number at the end', () => {
    const mesh = new Mesh(s, s.seed, s.durationMs);
    const view = new SnapshotBuilder(mesh);
    while (!mesh.done) mesh.runSome(mesh.endMs, 100_000);
    const snap = view.snapshot();
    expect(snap.totals.dropped).toBe(r.messages.dropped);
    expect(snap.brokers.reduce((a, b) => a + b.dropped, 0)).toBe(r.messages.dropped);
  });
});

describe('[ACCT-1] a crash and a restart', () => {
  const s = parseScenario(CUT('  - { at: 1s, crash: us-1 }\n  - { at: 1.5s, restart: us-1 }\n  - { at: 2.5s, crash: ap-1 }\n  - { at: 3s, restart: ap-1 }'), 'crash-restart.yaml');
  const r = runScenario(s, { measureHeap: false });
  it("a broker's counters are the sum of its lives, and the books still balance", () => {
    checkBooks(r);
    expect(r.messages.rejected).toBeGreaterThan(0);
    expect(r.drops.crash).toBeGreaterThan(0);
    // us-1 published before its crash and after its restart: both lives count.
    const us1 = r.brokers.find((b) => b.id === 'us-1');
    expect(us1?.published).toBe(r.messages.published);
  });
});
