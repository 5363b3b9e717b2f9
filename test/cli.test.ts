/** The `meshtwin` command as a user runs it: real processes, real files. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPeerDir, ns3Installed } from '../sim/bench/peer.ts';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('meshtwin CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-cli-'));

  it('--help lists the commands', () => {
    const r = meshtwin('--help');
    expect(r.status).toBe(0);
    for (const cmd of ['run', 'validate', 'bench']) expect(r.stdout).toContain(cmd);
  });

  it('an unknown flag is one clear line and a non-zero exit', () => {
    const r = meshtwin('run', 'scenarios/two-region-basic.yaml', '--sede', '4');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown option '--sede'");
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    noStack(r.stderr);
  });

  it('a broken scenario names file, line, field, expected and found; exit 2', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\nduration: 10s\nregions:\n  - id: a\n    brokers: [a1]\nlinks:\n  - between: [a1, b1]\n    rtt: fast\n    bandwidth: 1Gbps\n');
    const r = meshtwin('validate', file);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/broken\.yaml:8:\d+: links\[0\]\.rtt: expected .*duration.*, found "fast"/);
    noStack(r.stderr);
  });

  it('a missing file and a bad --duration are one line each, exit 2', () => {
    const a = meshtwin('run', join(dir, 'nope.yaml'));
    expect(a.status).toBe(2);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    const b = meshtwin('run', 'scenarios/two-region-basic.yaml', '--duration', 'soon');
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--duration: expected a duration');
    noStack(a.stderr + b.stderr);
  });

  it('validate accepts every shipped scenario', () => {
    for (const f of ['two-region-basic', 'slow-link', 'edge-filtering', 'seed-global-3-region']) {
      const r = meshtwin('validate', `scenarios/${f}.yaml`);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(': ok');
    }
  });

  it('run writes the report contract and prints the human report', () => {
    const out = join(dir, 'run');
    const r = meshtwin('run', 'scenarios/two-region-basic.yaml', '--seed', '3', '--duration', '1s', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^SEED=3 /);
    for (const f of ['summary.json', 'links.csv', 'brokers.csv', 'latency.csv', 'series.csv', 'timeline.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['scenario', 'seed', 'simulatedSeconds', 'messages', 'latencyMs', 'wan', 'links', 'brokers', 'run', 'traceHash']));
    expect(s.seed).toBe(3);
    expect(s.simulatedSeconds).toBe(1);
    expect(Object.keys(s.messages)).toEqual(expect.arrayContaining(['published', 'delivered', 'dropped', 'duplicates']));
    for (const k of ['local', 'crossRegion']) expect(Object.keys(s.latencyMs[k])).toEqual(expect.arrayContaining(['mean', 'p50', 'p99', 'p999', 'max']));
    expect(Object.keys(s.links[0])).toEqual(expect.arrayContaining(['from', 'to', 'wan', 'mbpsAvg', 'mbpsPeak', 'utilizationPeak', 'bytes', 'frames']));
    expect(Object.keys(s.brokers[0])).toEqual(expect.arrayContaining(['id', 'region', 'routingEntries', 'routingTableBytes', 'connections', 'connectionBytes']));
    expect(typeof s.brokers[0].routingTableBytes).toBe('number');
    expect(s.traceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout).toContain('Seed 002 says vs the twin measured');
    expect(r.stdout).toContain('(modeled)');
  });

  it('bench --json prints the figures the issue names', () => {
    const r = meshtwin('bench', '--json', '--quick');
    expect(r.status, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b.kernel.eventsPerSecond).toBeGreaterThan(0);
    expect(b.kernel.baselineHeapJsEventsPerSecond).toBeGreaterThan(0);
    expect(b.trie.patterns).toBeGreaterThan(0);
    expect(b.trie.matchNsMedian).toBeGreaterThan(0);
    expect(b.trie.bytesPerPattern).toBeGreaterThan(0);
    expect(b.seedScenario.speedup).toBeGreaterThan(0);
    // [PAR-1] The seed again on 2 threads: its speed beside the one-thread run's, the same traceHash.
    expect(b.seedParallel.threads).toBe(2);
    expect(b.seedParallel.trafficSpeedup).toBeGreaterThan(0);
    expect(b.seedParallel.sameTraceHash).toBe(true);
    expect(b.seedParallel.modeledCap['4']).toBeGreaterThan(b.seedParallel.modeledCap['2']);
    // The previous release, from git, in child processes (this is a git checkout with the commit).
    expect(b.baseline.status, b.baseline.reason).toBe('measured');
    expect(b.baseline.trafficSpeedup.previous).toBeGreaterThan(0);
    expect(b.baseline.trafficSpeedup.current).toBeGreaterThan(0);
    expect(b.baseline.peakRssMiB.current).toBeGreaterThan(0);
    // The ns-3 peer: measured when ns-3 and the peer's files are there, n/a with the reason when not.
    const peerThere = ns3Installed() !== null && existsSync(join(defaultPeerDir(process.cwd()), 'run.sh'));
    expect(b.peer.status, b.peer.reason).toBe(peerThere ? 'measured' : 'n/a');
    // Every figure with its direction and noise band, for --compare.
    expect(b.format).toBe('meshtwin-bench/1');
    for (const id of [
      'kernel.ratio',
      'trie.matchNsMedian',
      'seed.trafficSpeedup',
      'seed.parallel.ratio',
      'release.trafficSpeedupRatio',
      'release.peakRssRatio',
      'peer.speedRatio',
      'peer.meshtwin.peakRssMiB',
    ]) {
      expect(b.figures[id], id).toMatchObject({ better: expect.stringMatching(/^(higher|lower)$/), noise: expect.any(Number) });
    }
    expect(b.figures['release.trafficSpeedupRatio'].value).toBeGreaterThan(0);
  }, 480_000);
});
