/**
 * `meshtwin compare` end to end: two real simulator runs into temporary folders, one of them
 * dressed as a live run, compared as a user would (real processes, real files).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

type Json = Record<string, any>;
const readSummary = (dir: string): Json => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
const writeSummary = (dir: string, s: Json) => writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);

/** A copy of a run's folder with its summary changed, as a live run would write it. */
function asLive(from: string, to: string, change: (s: Json) => void = () => {}): string {
  cpSync(from, to, { recursive: true });
  const s = readSummary(to);
  s.mode = 'live';
  change(s);
  writeSummary(to, s);
  return to;
}

describe('meshtwin compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-compare-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');

  beforeAll(() => {
    for (const [out, seed] of [
      [a, '42'],
      [b, '42'],
    ] as const) {
      const r = meshtwin('run', 'scenarios/two-region-basic.yaml', '--duration', '2s', '--seed', seed, '--out', out);
      expect(r.status, r.stderr).toBe(0);
    }
  }, 120_000);

  it('two runs of one scenario and seed: every figure ok or info, exit 0; --json writes the rows', () => {
    const live = asLive(b, join(dir, 'live-same'));
    const json = join(dir, 'rows.json');
    const r = meshtwin('compare', a, live, '--json', json);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^two-region-basic — sim: seed 42, 2 s .* — live: seed 42, 2 s/);
    expect(r.stdout).toMatch(/data bytes\s+us-1>eu-1\s+[\d,]+\s+[\d,]+\s+0\.00%\s+±2%\s+ok/);
    expect(r.stdout).toMatch(/delivered \(outside fault windows\)\s+2 of 2 s/);
    expect(r.stdout).not.toContain('MISS');
    expect(lines.at(-1)).toMatch(/^\d+ figures: \d+ ok, \d+ info, 0 outside tolerance$/);
    const rows = JSON.parse(readFileSync(json, 'utf8'));
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.every((x: Json) => x.verdict === 'ok' || x.verdict === 'info')).toBe(true);
    expect(rows.find((x: Json) => x.figure === 'data bytes' && x.scope === 'us-1>eu-1')).toMatchObject({ error: 0, tolerance: 0.02, verdict: 'ok' });
  });

  it('a link 10% off in codec data bytes: exit 1, the row names the link', () => {
    const live = asLive(b, join(dir, 'live-off'), (s) => {
      const link = s.links.find((l: Json) => l.from === 'us-1' && l.to === 'eu-1');
      link.codecDataBytes = Math.round(link.codecDataBytes * 1.1);
    });
    const r = meshtwin('compare', a, live);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const miss = r.stdout.split('\n').filter((l) => l.includes('MISS'));
    expect(miss).toHaveLength(1);
    expect(miss[0]).toMatch(/data bytes\s+us-1>eu-1 .*\+10\.00%\s+±2%\s+MISS/);
    expect(r.stdout).toMatch(/, 1 outside tolerance\n$/);
  });

  it('warns, one line each, about seeds, durations, a lagging generator and a sim run given as live', () => {
    const live = asLive(b, join(dir, 'live-warn'), (s) => {
      s.seed = 7;
      s.simulatedSeconds = 3;
      s.live = { network: 'loopback, shaped', generator: { keptUp: false, achievedPerSecond: 8123.4, offeredPerSecond: 10000 } };
    });
    const r = meshtwin('compare', a, live);
    expect(r.stdout.split('\n')[0]).toMatch(/live: seed 7, 3 s, on loopback, shaped/);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toEqual([
      'meshtwin: warning: the seeds differ: sim 42, live 7',
      'meshtwin: warning: the durations differ: sim 2 s, live 3 s',
      "meshtwin: warning: the live run's load generator fell behind: it published 8,123/s of the 10,000/s offered; its time-shaped figures are not the scenario's",
    ]);
    const plain = meshtwin('compare', a, b);
    expect(plain.stderr.trim().split('\n')).toEqual([`meshtwin: warning: ${b} is not a live run (no "mode": "live"): comparing two simulated runs`]);
    expect(plain.status).toBe(0);
  });

  it('bad input is one line and exit 2: a missing folder, bad JSON, another scenario, other faults', () => {
    const cases: Array<[string[], RegExp]> = [];
    cases.push([[join(dir, 'nope'), a], /^meshtwin: SIM_DIR: expected a run's folder, found ".*nope" missing$/]);
    cases.push([[a, join(dir, 'nope')], /^meshtwin: LIVE_DIR: expected a run's folder/]);
    const broken = join(dir, 'broken');
    cpSync(a, broken, { recursive: true });
    writeFileSync(join(broken, 'summary.json'), '{ "scenario": "two-region-basic", ');
    cases.push([[a, broken], /^meshtwin: .*broken\/summary\.json: invalid JSON \(/]);
    cases.push([[a, asLive(b, join(dir, 'other'), (s) => (s.scenario = 'other'))], /^meshtwin: the runs are of different scenarios: .* ran "two-region-basic", .* ran "other"$/]);
    cases.push([
      [a, asLive(b, join(dir, 'faulty'), (s) => (s.faults = [{ at: 1000, action: 'crash', target: ['eu-1'], convergenceMs: null }]))],
      /^meshtwin: the fault lists differ: the sim run has 0 faults, the live run 1$/,
    ]);
    const badSeries = asLive(b, join(dir, 'bad-series'));
    writeFileSync(join(badSeries, 'series.csv'), 'second,published\n1,2\n');
    cases.push([[a, badSeries], /^meshtwin: .*bad-series\/series\.csv: expected a "delivered" column/]);
    for (const [args, message] of cases) {
      const r = meshtwin('compare', ...args);
      expect(r.status, args.join(' ')).toBe(2);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('warning:'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe('');
      noStack(r.stderr);
    }
  });
});
