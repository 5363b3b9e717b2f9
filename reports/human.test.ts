import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/load.ts';
import { runScenario } from '../sim/run.ts';
import { humanReport } from './human.ts';

describe('human report: fault timeline, invariants, assertions [REPORT-FAULTS]', () => {
  const scenario = loadScenario('scenarios/failover/wan-split.yaml');
  const r = runScenario(scenario, { measureHeap: false });
  const text = humanReport(r, scenario);
  const lines = text.split('\n');

  it('has one timeline row per fault with its measured convergence and costs', () => {
    const start = lines.indexOf('Faults (measured; counts run until the next fault)');
    expect(start).toBeGreaterThan(0);
    expect(r.faults).toHaveLength(4);
    r.faults.forEach((f, i) => {
      const row = lines[start + 2 + i] as string;
      expect(row).toContain(f.action);
      expect(row).toContain(f.convergenceMs === null ? '—' : `${f.convergenceMs.toFixed(1)} ms`);
      expect(row).toContain(f.spooled.toLocaleString('en-US'));
    });
    expect(text).toContain(`worst ${r.convergence.maxMs.toFixed(1)} ms after a fault`);
  });

  it('says the invariants held and prints each assertion with its measured value', () => {
    expect(r.invariants.violations).toBe(0);
    expect(text).toContain('Invariants  all held');
    expect(text).toMatch(/faults\[0\]\.convergenceMs < 1\.5s +840\.\d+ ms +PASS/);
    expect(lines.filter((l) => / PASS$/.test(l))).toHaveLength(scenario.expect.length);
    expect(text).toContain(`guaranteed lost ${r.messages.lost}`);
  });

  it('a run without faults or assertions has none of these sections', () => {
    const plain = { ...loadScenario('scenarios/two-region-basic.yaml'), expect: [] };
    const t = humanReport(runScenario(plain, { measureHeap: false, durationMs: 500 }), plain);
    expect(t).not.toContain('Faults (');
    expect(t).not.toContain('Invariants');
    expect(t).not.toContain('Expect (');
  });
});
