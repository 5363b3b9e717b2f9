/**
 * report.html's builder: fed the run's result alone (here after a JSON round trip, so nothing
 * live could be reaching back into a Mesh), it carries the figures the CLI prints: the fault
 * timeline and its chart markers, invariants and the Expect table, broker memory with measured
 * and modeled columns named, and "—" for an empty latency block. [REPORT-FAULTS]
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/load.ts';
import { runScenario, type RunResult } from '../sim/run.ts';
import { expectRows } from './human.ts';
import { reportData, reportHtml, reportTables } from './html.ts';

const scenario = loadScenario('scenarios/failover/wan-split.yaml');
const result = JSON.parse(JSON.stringify(runScenario(scenario, { measureHeap: false }))) as RunResult;
const rows = expectRows(result, scenario);

/** The text of the table with this class, rows of cells. */
function table(html: string, cls: string): string[][] {
  const m = new RegExp(`<table class="rt ${cls}">([\\s\\S]*?)</table>`).exec(html);
  if (m === null) throw new Error(`no table ${cls}`);
  return [...(m[1] as string).matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) => [...(r[1] as string).matchAll(/<t[hd]>([\s\S]*?)<\/t[hd]>/g)].map((c) => c[1] as string));
}

describe('report.html from a RunResult', () => {
  const html = reportTables(result, scenario, rows);

  it('has the fault timeline, one numbered row per fault, and a chart marker for each', () => {
    const faults = table(html, 'faults');
    expect(faults[0]).toEqual(['#', 'at', 'fault', 'converged after', 'slowest broker to see it', 'spooled', 'dropped', 'retransmitted', 'dups suppressed', 'pushed back', 'takeover', 'rebuild']);
    expect(faults.slice(1).map((r) => r.slice(0, 3))).toEqual([
      ['1', '4.000 s', 'link-down us-1–ap-1'],
      ['2', '8.000 s', 'link-up us-1–ap-1'],
      ['3', '11.000 s', 'partition ap-southeast-1'],
      ['4', '15.000 s', 'heal ap-southeast-1'],
    ]);
    expect(faults[3]?.[5]).toBe(result.faults[2]?.spooled.toLocaleString('en-US'));
    expect(reportData(result, scenario).faults).toEqual([
      { n: 1, t: 4, label: 'link-down us-1–ap-1' },
      { n: 2, t: 8, label: 'link-up us-1–ap-1' },
      { n: 3, t: 11, label: 'partition ap-southeast-1' },
      { n: 4, t: 15, label: 'heal ap-southeast-1' },
    ]);
  });

  it('has the invariants and the Expect table as the CLI prints them', () => {
    expect(html).toContain('Invariants: all held');
    const ex = table(html, 'expect');
    expect(ex).toHaveLength(1 + scenario.expect.length);
    expect(ex[4]).toEqual(['faults[0].convergenceMs &lt; 1.5s', expect.stringMatching(/^840\.\d+ ms$/), 'PASS']);
    expect(ex.slice(1).every((r) => r[2] === 'PASS')).toBe(true);
  });

  it('a failing assertion shows FAIL, a broken one ERROR', () => {
    const s = { ...scenario, expect: ['messages.duplicates > 5', 'messages.nonsense < 1'] };
    const t = table(reportTables(result, s, expectRows(result, s)), 'expect');
    expect(t[1]?.[2]).toBe('FAIL');
    expect(t[2]?.[2]).toMatch(/^ERROR .*nonsense/);
  });

  it('has broker memory with measured and modeled columns named, as the CLI does', () => {
    const b = table(html, 'brokers');
    expect(b[0]).toEqual(['broker', 'region', 'routing entries', 'table (measured heap)', 'trie alone (self-counted)', 'connections', 'sockets (modeled)']);
    expect(b.slice(1).map((r) => r[0])).toEqual(['us-1', 'eu-1', 'ap-1']);
    expect(b[3]).toEqual(['ap-1', 'ap-southeast-1', '3', 'not measured', '736 B', '120', '4.80 MB']);
    expect(html).toContain('sockets (modeled) = connections × 40.0 KB');
  });

  it('prints "—" for an empty latency block, not 0.000', () => {
    expect(result.latencyMs.local.count).toBe(0);
    const l = table(html, 'latency');
    expect(l[1]).toEqual(['local', '0', '—', '—', '—', '—', '—']);
    expect(l[2]?.[2]).toMatch(/^\d+\.\d{3}$/);
  });

  it("draws the end state from the result: links up, brokers alive, the run's average Mbps", () => {
    const d = reportData(result, scenario);
    expect(d.snapshot.directions.map((x) => x.mbps)).toEqual(result.links.map((l) => l.mbpsAvg));
    expect(d.snapshot.directions.every((x) => x.up)).toBe(true);
    expect(d.snapshot.brokers.every((x) => x.alive)).toBe(true);
    expect(d.topology.links.map((l) => `${l.a}|${l.b}`)).toEqual(scenario.links.map((l) => l.between.join('|')));
    // The whole page builds from the result too.
    expect(reportHtml(result, scenario, rows)).toContain('id="rt-faults"');
  });
});
