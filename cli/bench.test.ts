import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_FORMAT } from '../sim/bench/compare.ts';
import { trieVerdict } from './bench.ts';

describe('bench: the trie targets apply at their own size only', () => {
  it('are n/a below 500,000 patterns (bench --quick builds 50,000), whatever the figures', () => {
    for (const ns of [100, 5000]) {
      const v = trieVerdict(50_000, ns, ns, 500);
      expect(v.met).toBeNull();
      expect(v.text).toBe('n/a at 50,000 patterns: the targets, ≤ 1000 ns and ≤ 128 B/pattern, are for 500,000');
      expect(v.text).not.toMatch(/NOT met/);
    }
  });

  it('are met only when both medians and the bytes per pattern are within them, at 500,000 patterns and more', () => {
    expect(trieVerdict(500_000, 990, 400, 127)).toEqual({ met: true, text: 'targets at 500,000 patterns: median ≤ 1000 ns met, ≤ 128 B/pattern met' });
    expect(trieVerdict(600_000, 1001, 400, 127)).toEqual({ met: false, text: 'targets at 500,000 patterns: median ≤ 1000 ns NOT met, ≤ 128 B/pattern met' });
    expect(trieVerdict(500_000, 900, 1200, 100).met).toBe(false);
    expect(trieVerdict(500_000, 900, 400, 129)).toEqual({ met: false, text: 'targets at 500,000 patterns: median ≤ 1000 ns met, ≤ 128 B/pattern NOT met' });
  });
});

describe('bench --compare OLD.json --against NEW.json: two files, as a user runs it [BENCH-C1, C4]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-bench-cmp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fig = (value: number, better: 'higher' | 'lower', noise = 0.05) => ({ label: `f ${better}`, unit: 'u', value, better, noise, samples: [value] });
  const write = (name: string, figures: Record<string, unknown>, quick = false) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ format: BENCH_FORMAT, quick, figures }));
    return path;
  };
  const meshtwin = (...args: string[]) => spawnSync(process.execPath, ['bin/meshtwin.js', 'bench', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

  it('exits 1 and flags the figure that regressed beyond the noise; 0 when nothing did', () => {
    const old = write('old.json', { speed: fig(100, 'higher'), rss: fig(1000, 'lower', 0.3) });
    const worse = write('worse.json', { speed: fig(80, 'higher'), rss: fig(1200, 'lower') });
    const r = meshtwin('--compare', old, '--against', worse);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/f higher\s+u\s+higher\s+100\s+80\s+0\.800×\s+±5\.0%\s+REGRESSION/);
    expect(r.stdout).toMatch(/f lower\s+u\s+lower\s+1,000\s+1,200\s+1\.200×\s+±30%\s+ok/);
    expect(r.stdout).toContain('1 figure regressed');
    const same = meshtwin('--compare', old, '--against', old);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toContain('no figure regressed');
  });

  it('a bad or incompatible file is one line and exit 2, without a stack trace', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "meshtwin-bench/1", "quick": false, "figures": {"x": {"value": 1}}}');
    const quick = write('quick.json', {}, true);
    const full = write('full.json', {});
    for (const [args, message] of [
      [['--compare', bad, '--against', full], /^meshtwin: --compare: .*bad\.json: figures\["x"\]\.label: expected a string, found nothing$/],
      [['--compare', join(dir, 'none.json'), '--against', full], /^meshtwin: --compare: cannot read .*none\.json \(no such file\)$/],
      [['--compare', quick, '--against', full], /^meshtwin: --compare: .*quick\.json was measured with --quick and .*full\.json without --quick: /],
      // Before measuring anything: a --quick file against a full run.
      [['--compare', quick], /^meshtwin: --compare: .*quick\.json was measured with --quick and this run is without it: /],
    ] as const) {
      const r = meshtwin(...args);
      expect(r.status, r.stdout).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });
});
