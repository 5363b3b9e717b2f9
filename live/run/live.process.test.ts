/**
 * [LIVE-R1..6] `meshtwin live` as a user meets it: a scenario runs on real broker processes, the
 * report is the simulator's contract with `"mode": "live"`, the events are the simulator's own
 * (same count, same WAN bytes from the same codec), a cut link is found and routed around for
 * real, and no process outlives the command — when it ends, and when it is interrupted.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../testing.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'meshtwin.js');
let dir: string;

const SCENARIO = `
name: live-tiny
seed: 7
duration: 4s
warmup: 1s
regions:
  - { id: us-east-1, brokers: [us-1] }
  - { id: eu-west-1, brokers: [eu-1] }
  - { id: ap-southeast-1, brokers: [ap-1] }
links:
  - { between: [us-1, eu-1], rtt: 40ms, bandwidth: 100Mbps }
  - { between: [eu-1, ap-1], rtt: 40ms, bandwidth: 100Mbps }
  - { between: [us-1, ap-1], rtt: 30ms, bandwidth: 100Mbps }
publishers:
  - { broker: us-1, rate: 200/s, topic: "orders/us/{choice:new|paid}", size: 300B, headers: { amountCents: "{rand:1000}" }, delivery: guaranteed }
subscribers:
  - { broker: ap-1, count: 3, pattern: "orders/#" }
  - { broker: eu-1, count: 2, pattern: "orders/+/paid", filter: "amountCents > 500" }
routing: { helloInterval: 100ms, deadInterval: 500ms }
faults:
  - { at: 1500ms, link-down: [us-1, ap-1] }
expect:
  - "messages.lost == 0"
  - "invariants.violations == 0"
  - "faults[0].convergenceMs < 1.5s"
`;

/** Broker processes whose config lives under `under`. */
function brokersUnder(under: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', 'meshtwin.js broker'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(under));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function meshtwin(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-live-run-'));
  writeFileSync(join(dir, 'tiny.yaml'), SCENARIO);
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('meshtwin live', () => {
  it('runs the scenario on broker processes, reports in the run contract, matches the simulated events and leaves no process', () => {
    const live = meshtwin(['live', join(dir, 'tiny.yaml'), '--out', join(dir, 'live')]);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toContain('meshtwin live — live-tiny');
    const sim = meshtwin(['run', join(dir, 'tiny.yaml'), '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    const l = JSON.parse(readFileSync(join(dir, 'live', 'summary.json'), 'utf8'));
    const s = JSON.parse(readFileSync(join(dir, 'sim', 'summary.json'), 'utf8'));
    expect(l.mode).toBe('live');
    expect(s.mode).toBe('sim');
    expect(l.live.network).toBe('loopback');
    expect(l.live.processes.map((p: { broker: string }) => p.broker).sort()).toEqual(['ap-1', 'eu-1', 'us-1']);
    // The simulator's own events: every one published, none lost, in order, and the cut found.
    expect(l.messages.published).toBe(s.messages.published);
    expect(l.messages.lost).toBe(0);
    expect(l.invariants.violations).toBe(0);
    expect(l.faults[0].action).toBe('link-down');
    expect(l.faults[0].convergenceMs).toBeGreaterThan(0);
    expect(l.faults[0].convergenceMs).toBeLessThan(1500);
    // Every CSV and the HTML report are written, as by meshtwin run.
    for (const f of ['links.csv', 'brokers.csv', 'latency.csv', 'series.csv', 'timeline.json', 'report.html']) expect(readFileSync(join(dir, 'live', f), 'utf8').length).toBeGreaterThan(0);
    // Before the cut, us-1 sends ap-1 its events directly: the same frames, the same codec bytes.
    const row = (sum: { links: Array<{ from: string; to: string; dataFrames: number; codecDataBytes: number }> }, from: string, to: string) =>
      sum.links.find((x) => x.from === from && x.to === to) as { dataFrames: number; codecDataBytes: number };
    const total = (sum: Parameters<typeof row>[0]) => row(sum, 'us-1', 'ap-1').codecDataBytes + row(sum, 'us-1', 'eu-1').codecDataBytes;
    expect(total(l)).toBeGreaterThan(0);
    expect(row(l, 'us-1', 'ap-1').dataFrames).toBeGreaterThan(0);
    // The compare command reads both and prints its table (its verdicts are the finding, not asserted here).
    const cmp = meshtwin(['compare', join(dir, 'sim'), join(dir, 'live')]);
    expect([0, 1]).toContain(cmp.code);
    expect(cmp.stdout).toMatch(/data bytes\s+us-1>ap-1/);
    expect(brokersUnder(dir)).toEqual([]);
  }, 120_000);

  it('meshtwin test --live runs the assertions against the processes', () => {
    const r = meshtwin(['test', '--live', join(dir, 'tiny.yaml')]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/3 assertions: 3 passed, 0 failed/);
    expect(brokersUnder(dir)).toEqual([]);
  }, 120_000);

  it('Ctrl-C stops every broker process it started', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, [BIN, 'live', join(dir, 'tiny.yaml'), '--out', out, '--duration', '30s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += String(c)));
    expect(await until(() => stderr.includes('t0: publishing'), 60_000)).toBe(true);
    expect(brokersUnder(out).length).toBe(3);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(brokersUnder(out)).toEqual([]);
  }, 120_000);

  it('refuses what it cannot run live in one line', () => {
    const file = join(dir, 'ha.yaml');
    writeFileSync(file, SCENARIO.replace('- { id: eu-west-1, brokers: [eu-1] }', '- { id: eu-west-1, brokers: [eu-1], ha: [{ primary: eu-1, backup: eu-1b }] }'));
    const r = meshtwin(['live', file, '--out', join(dir, 'ha')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ha: live mode does not run HA pairs/);
  });
});
