/** `meshtwin test` as CI runs it: real processes, real scenario files, exit codes and JUnit XML. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

/** two-region-basic.yaml, renamed, 2 s long, with these expect lines (none: no expect block). */
function scenario(name: string, expectLines: readonly string[]): string {
  const base = readFileSync('scenarios/two-region-basic.yaml', 'utf8');
  const body = base
    .replace(/^name: .*$/m, `name: ${name}`)
    .replace(/^duration: .*$/m, 'duration: 2s')
    .replace(/^warmup: .*$/m, 'warmup: 1s')
    .replace(/^(# Assertions[^\n]*\n)?expect:[\s\S]*$/m, '');
  if (body.includes('expect:')) throw new Error('the base scenario changed: its expect block was not removed');
  return expectLines.length === 0 ? body : `${body}expect:\n${expectLines.map((l) => `  - ${JSON.stringify(l)}\n`).join('')}`;
}

const PASSING = ['messages.delivered > 0', 'latency.local.p99 < 5ms', 'links[us-1>eu-1].mbpsPeak < 1Gbps'];

/** The table row of one assertion: [scenario, assertion, measured, result]. */
function row(stdout: string, scenarioName: string, assertion: string): string[] | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(scenarioName) && l.includes(assertion));
  if (line === undefined) return undefined;
  const rest = line
    .slice(line.indexOf(assertion) + assertion.length)
    .trim()
    .split(/\s{2,}/);
  return [scenarioName, assertion, ...rest];
}

describe('meshtwin test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-test-'));

  it('one failing assertion, a broken file and a file without assertions: table, errors, exit 1, JUnit', () => {
    const suite = join(dir, 'mixed');
    mkdirSync(suite);
    writeFileSync(join(suite, 'a-pass.yaml'), scenario('t-pass', PASSING));
    writeFileSync(join(suite, 'b-fail.yaml'), scenario('t-fail', ['messages.delivered > 0', 'messages.delivered < 10']));
    writeFileSync(join(suite, 'c-broken.yaml'), scenario('t-broken', ['messages.delivered > 0']).replace('rtt: 70ms', 'rtt: fast'));
    writeFileSync(join(suite, 'd-none.yaml'), scenario('t-none', []));
    writeFileSync(join(suite, 'notes.txt'), 'not a scenario');
    const junit = join(dir, 'reports', 'junit.xml');

    const r = meshtwin('test', suite, '--seed', '7', '--junit', junit);
    expect(r.status, r.stderr).toBe(1);

    // SEED= first for each scenario that runs, as `meshtwin run` prints it.
    expect(r.stderr).toMatch(/^SEED=7 scenario=t-pass duration=2\.00 s /m);
    expect(r.stderr).toMatch(/^SEED=7 scenario=t-fail /m);
    noStack(r.stderr);

    expect(r.stdout).toMatch(/^scenario\s+assertion\s+measured\s+result$/m);
    for (const a of PASSING) {
      const cells = row(r.stdout, 't-pass', a);
      expect(cells, a).toBeDefined();
      expect(cells![2]).toMatch(/^\d/);
      expect(cells![3]).toBe('PASS');
    }
    expect(row(r.stdout, 't-pass', 'latency.local.p99 < 5ms')![2]).toMatch(/^[\d.]+ ms$/);
    expect(row(r.stdout, 't-pass', 'links[us-1>eu-1].mbpsPeak < 1Gbps')![2]).toMatch(/^[\d.]+ Mbps$/);
    const failed = row(r.stdout, 't-fail', 'messages.delivered < 10')!;
    expect(failed[3]).toBe('FAIL');
    const delivered = Number(failed[2]!.replace(/,/g, ''));
    expect(delivered).toBeGreaterThan(10);
    expect(row(r.stdout, 't-fail', 'messages.delivered > 0')![3]).toBe('PASS');

    // The broken file is reported with its own one-line message; the others still ran.
    expect(r.stdout).toMatch(/^c-broken\s+\(c-broken\.yaml not checked\)\s+ERROR$/m);
    expect(r.stdout).toMatch(/^ERROR .*c-broken\.yaml:\d+:\d+: links\[0\]\.rtt: expected .*duration.*, found "fast"$/m);
    expect(r.stdout).toMatch(/^t-none\s+\(no assertions\)\s+ERROR$/m);
    expect(r.stdout).toMatch(/^ERROR .*d-none\.yaml: no assertions/m);
    expect(r.stdout).toMatch(/^5 assertions: 4 passed, 1 failed \(4 scenarios, 2 not checked, \d+\.\d s\)$/m);

    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testsuite /g)).toHaveLength(4);
    expect(xml).toContain('<testsuites name="meshtwin" tests="7" failures="1" errors="2"');
    expect(xml).toContain(`<testcase name="messages.delivered &lt; 10" classname="meshtwin.t-fail"`);
    expect(xml).toContain(`<failure message="messages.delivered = ${failed[2]}, expected &lt; 10" type="assertion">`);
    expect(xml).toMatch(/<error message="[^"]*c-broken\.yaml:\d+:\d+: links\[0\]\.rtt: [^"]*found &quot;fast&quot;" type="ScenarioError"\/>/);
    expect(xml).toMatch(/<error message="[^"]*d-none\.yaml: no assertions[^"]*" type="NoAssertions"\/>/);
    expect(xml).toContain('<property name="seed" value="7"/>');
  });

  it('all assertions pass: exit 0; --out keeps each summary.json, whose figures the table shows', () => {
    const file = join(dir, 'pass.yaml');
    writeFileSync(file, scenario('t-ok', PASSING));
    const out = join(dir, 'out');
    const r = meshtwin('test', file, '--out', out);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^SEED=42 scenario=t-ok .* out=.*t-ok$/m);
    expect(r.stdout).toMatch(/^3 assertions: 3 passed, 0 failed \(1 scenario, \d+\.\d s\)$/m);
    const summaryFile = join(out, 't-ok', 'summary.json');
    expect(existsSync(summaryFile)).toBe(true);
    const s = JSON.parse(readFileSync(summaryFile, 'utf8'));
    expect(row(r.stdout, 't-ok', 'messages.delivered > 0')![2]).toBe(s.messages.delivered.toLocaleString('en-US'));
  });

  it('bad usage is one line and exit 2: a missing path, an empty folder, an unknown flag, a bad seed', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const nope = join(dir, 'nope');
    const cases: Array<[string[], string]> = [
      [[nope], `meshtwin: ${nope}: no such file or folder`],
      [[empty], `meshtwin: ${empty}: no scenario files (*.yaml, *.yml) in this folder`],
      [[empty, '--sede', '4'], "meshtwin: error: unknown option '--sede' (Did you mean --seed?) (run with --help for usage)"],
      [[empty, '--seed', 'x'], 'meshtwin: --seed: expected an integer, found "x"'],
    ];
    for (const [args, message] of cases) {
      const r = meshtwin('test', ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([message]);
      noStack(r.stderr);
    }
  });

  it('--help lists the command', () => {
    const r = meshtwin('test', '--help');
    expect(r.status).toBe(0);
    for (const flag of ['--seed', '--junit', '--out', 'scenarios/failover']) expect(r.stdout).toContain(flag);
  });
});
