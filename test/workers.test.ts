/** `meshtwin run --workers N` as a user runs it: real processes, real files [PAR-1..4]. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const summary = (dir: string): Record<string, any> => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

describe('meshtwin run --workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-workers-'));

  it('2 threads write the report 1 thread writes: same traceHash, same figures; the plan and the threads are said', () => {
    const one = meshtwin('run', 'scenarios/global-3-region-small.yaml', '--duration', '1s', '--no-heap', '--out', join(dir, 'one'));
    expect(one.status).toBe(0);
    const two = meshtwin('run', 'scenarios/global-3-region-small.yaml', '--duration', '1s', '--no-heap', '--workers', '2', '--out', join(dir, 'two'));
    expect(two.status).toBe(0);
    expect(two.stderr).toMatch(/threads 2: [\w,-]+ \| [\w,-]+; lookahead \d+(\.\d+)? ms; publishes/);
    expect(two.stdout).toMatch(/on 2 threads \([\d,]+ windows of lookahead [\d.]+ ms\)/);
    const a = summary(join(dir, 'one'));
    const b = summary(join(dir, 'two'));
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.run.threads).toBe(2);
    expect(a.run.threads).toBe(1);
    expect(b.messages).toEqual(a.messages);
    expect(b.links).toEqual(a.links);
    expect(b.brokers).toEqual(a.brokers);
    expect(b.latencyMs).toEqual(a.latencyMs);
    expect(readFileSync(join(dir, 'two', 'series.csv'), 'utf8')).toBe(readFileSync(join(dir, 'one', 'series.csv'), 'utf8'));
    expect(readFileSync(join(dir, 'two', 'timeline.json'), 'utf8')).toBe(readFileSync(join(dir, 'one', 'timeline.json'), 'utf8'));
  });

  it('a bad --workers value, or a scenario a parallel run cannot model, is one line and exit 2', () => {
    for (const bad of ['0', 'two', '65']) {
      const r = meshtwin('run', 'scenarios/global-3-region-small.yaml', '--workers', bad, '--out', join(dir, 'bad'));
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`meshtwin: --workers: expected a whole number of threads from 1 to 64, found "${bad}"`]);
    }
    for (const [file, why] of [
      ['scenarios/failover/broker-crash-ha.yaml', /^meshtwin: --workers 2: failover-broker-crash-ha: faults\[\d+\] is a crash: .*run it without --workers$/],
      ['scenarios/notified-cut.yaml', /^meshtwin: --workers 2: notified-cut: its expect: lines read the invariant checker's figures: .*run it without --workers$/],
    ] as const) {
      const r = meshtwin('run', file, '--workers', '2', '--out', join(dir, 'refused'));
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(why);
    }
  });
});
