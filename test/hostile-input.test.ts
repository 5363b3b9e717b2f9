/**
 * Hostile input, through the real CLI: every case ends within a time limit (the process is killed
 * and the test fails otherwise) with exit 2 and one line on stderr naming what was wrong — never
 * a stack trace, never a V8 abort, never a hang. The pre-flight (sim/preflight) and the loader's
 * bounds (scenarios/load/parse.ts [LOAD-7]) answer them before any work starts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Per case, CLI start-up included (tsx compiles the sources: 2-4 s on this shared machine). */
const LIMIT_MS = 30_000;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function meshtwin(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['bin/meshtwin.js', ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`meshtwin ${args.join(' ')}: still running after ${LIMIT_MS} ms (killed)\n${stderr.slice(0, 2000)}`));
    }, LIMIT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-hostile-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const BASE = `name: hostile
duration: 5s
regions:
  - { id: a, brokers: [a1] }
  - { id: b, brokers: [b1] }
links:
  - { between: [a1, b1], rtt: 10ms, bandwidth: 1Gbps }
`;
const mesh = (pub: string, sub: string, more = ''): string => `${BASE}publishers:\n  - { broker: a1, ${pub} }\nsubscribers:\n  - { broker: b1, ${sub} }\n${more}`;
const ok = { pub: 'rate: 10/s, topic: t, size: 100B', sub: 'pattern: t' };

/** A file of many brokers, far over the loader's size limit (~24 MB). */
function manyBrokers(): string {
  const region = (r: number) => `  - id: r${r}\n    brokers: [${Array.from({ length: 100 }, (_, i) => `b${r}-${i}`).join(', ')}]\n`;
  const one = region(0).length;
  const p = join(dir, 'many-brokers.yaml');
  const parts = ['name: big\nduration: 1s\nregions:\n'];
  for (let r = 0; parts.length * one < 24e6; r++) parts.push(region(r));
  writeFileSync(p, parts.join(''));
  return p;
}

interface Case {
  readonly name: string;
  readonly args: () => string[];
  /** The one line on stderr (without "meshtwin: "). */
  readonly line: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: 'rate 1e12/s',
    args: () => ['validate', file('rate.yaml', mesh('rate: 1000000000000/s, topic: t, size: 100B', ok.sub))],
    line: /rate\.yaml: expected a run this machine can do, found an estimated .* of wall time for 5\.0 s simulated .* above the 6\.00 h bound; run with --force to try anyway$/,
  },
  {
    name: 'rate 1e12/s, written 1e12/s',
    args: () => ['validate', file('rate-e.yaml', mesh('rate: 1e12/s, topic: t, size: 100B', ok.sub))],
    line: /rate-e\.yaml:9:\d+: publishers\[0\]\.rate: expected a rate/,
  },
  {
    name: 'duration 1e9 s',
    args: () => ['run', file('dur.yaml', mesh(ok.pub, ok.sub).replace('duration: 5s', 'duration: 1000000000s'))],
    line: /dur\.yaml: expected a run this machine can do, found an estimated .* of wall time for 31\.7 years simulated/,
  },
  {
    name: 'count 1e12',
    args: () => ['run', file('count.yaml', mesh('rate: 1000/s, topic: t, size: 100B', 'pattern: t, count: 1000000000000'))],
    line: /count\.yaml: expected a run this machine can do, found an estimated 5\.00e\+15 subscriber deliveries/,
  },
  {
    name: 'patterns 1e8',
    args: () => ['run', file('patterns.yaml', mesh(ok.pub, 'pattern: "t/{i}", count: 100000000, patterns: 100000000'))],
    line: /patterns\.yaml: expected a run this machine can do, found an estimated peak heap of .* for the mesh alone .* above .*V8 heap limit/,
  },
  { name: 'a 24 MB file of many brokers', args: () => ['run', manyBrokers()], line: /many-brokers\.yaml: expected a scenario file of at most 1\.0 MiB .*, found \d+\.\d MiB$/ },
  {
    name: 'size 100MB',
    args: () => ['run', file('size.yaml', mesh('rate: 10/s, topic: t, size: 100MB', ok.sub))],
    line: /size\.yaml:9:\d+: publishers\[0\]\.size: expected a payload that fits one wire frame \(at most 16\.00 MiB: the codec's 16\.00 MiB frame limit minus this publisher's envelope\), found 95\.37 MiB$/,
  },
  {
    name: '--out pointing at a file',
    args: () => ['run', 'scenarios/two-region-basic.yaml', '--out', file('not-a-folder', 'x')],
    line: /^--out: expected a folder to write the report into \(or one that can be created\), found ".*not-a-folder", a file$/,
  },
  { name: '--out under a file', args: () => ['run', 'scenarios/two-region-basic.yaml', '--out', join(file('a-file', 'x'), 'sub')], line: /^--out: expected a folder .* which is a file$/ },
  { name: 'test --junit pointing at a folder', args: () => ['test', 'scenarios/failover/wan-retries.yaml', '--junit', dir], line: /^--junit: expected a file to write, found .*, a folder$/ },
  {
    name: 'expect: unknown field',
    args: () => ['validate', file('field.yaml', mesh(ok.pub, ok.sub, 'expect:\n  - "messages.lst == 0"\n'))],
    line: /field\.yaml:13:5: unknown field "messages\.lst" in assertion 1 \("messages\.lst == 0"\); did you mean "messages\.lost"\?$/,
  },
  {
    name: 'expect: unknown broker',
    args: () => ['validate', file('broker.yaml', mesh(ok.pub, ok.sub, 'expect:\n  - "brokers[b2].consumerQueuePeak == 0"\n'))],
    line: /broker\.yaml:13:5: unknown broker "b2" in assertion 1 .*; known brokers: a1, b1$/,
  },
  {
    name: 'expect: unknown link',
    args: () => ['run', file('link.yaml', mesh(ok.pub, ok.sub, 'expect:\n  - "links[a1>c1].mbpsPeak < 1Gbps"\n'))],
    line: /link\.yaml:13:5: unknown link "a1>c1" in assertion 1 .*; known links: a1>b1, b1>a1$/,
  },
  {
    name: 'a broker with no links',
    args: () => ['validate', file('nolinks.yaml', mesh(ok.pub, ok.sub).replace(/links:\n.*\n/, ''))],
    line: /nolinks\.yaml:5:\d+: expected every broker with subscribers joined by links to the brokers that publish, found broker b1 has no link to the rest of the mesh \(it has no links at all\)/,
  },
  {
    name: 'an island of brokers',
    args: () => [
      'explore',
      file(
        'island.yaml',
        `${BASE.replace('[b1]', '[b1, b2]')}  - { between: [b1, b2], rtt: 1ms, bandwidth: 1Gbps }\npublishers:\n  - { broker: b1, ${ok.pub} }\nsubscribers:\n  - { broker: a1, ${ok.sub} }\n`.replace(
          / {2}- \{ between: \[a1, b1\].*\n/,
          '',
        ),
      ),
    ],
    line: /island\.yaml:\d+:\d+: .*found broker a1 has no link to the rest of the mesh.*what b1 publishes/,
  },
  {
    name: 'a list entry that is a plain value',
    args: () => ['validate', file('oops.yaml', `${BASE}publishers: ["oops"]\n`)],
    line: /oops\.yaml:8:\d+: publishers\[0\]: expected a map describing a publisher, found "oops"$/,
  },
  { name: 'faults: [5]', args: () => ['validate', file('faults.yaml', `${BASE}faults: [5]\n`)], line: /faults\.yaml:8:\d+: faults\[0\]: expected a map describing a fault, found 5$/ },
  {
    name: '10,000 aliases',
    args: () => ['validate', file('aliases.yaml', `name: a\nx: &a [1]\ny: [${Array.from({ length: 10_000 }, () => '*a').join(', ')}]\n`)],
    line: /aliases\.yaml:1:1: expected at most 1000 aliases \(\*name\), found 10000$/,
  },
  { name: 'unknown CLI flag', args: () => ['run', 'scenarios/two-region-basic.yaml', '--sede', '4'], line: /^error: unknown option '--sede' \(Did you mean --seed\?\) \(run with --help for usage\)$/ },
  { name: 'nonexistent file', args: () => ['run', join(dir, 'nope.yaml')], line: /nope\.yaml: expected a readable scenario file, found no such file$/ },
  { name: 'a folder as the file', args: () => ['validate', dir], line: /expected a readable scenario file, found a directory$/ },
  {
    name: 'viz of a file over the limits',
    args: () => ['viz', file('viz.yaml', mesh(ok.pub, 'pattern: "t/{i}", count: 100000000, patterns: 100000000')), '--port', '0'],
    line: /viz\.yaml: expected a run this machine can do/,
  },
];

const times: Array<[string, number]> = [];
afterAll(() => {
  // The figures the README and the report quote: how fast each case is refused.
  console.log(times.map(([n, ms]) => `${(ms / 1000).toFixed(2).padStart(6)} s  ${n}`).join('\n'));
});

describe('hostile input: one line on stderr, exit 2, in bounded time', () => {
  for (const c of CASES) {
    it(
      c.name,
      async () => {
        const r = await meshtwin(c.args());
        times.push([c.name, r.ms]);
        expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(r.stderr).not.toMatch(/FATAL ERROR|heap out of memory|TypeError|RangeError/);
        const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('meshtwin: warning: '));
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]!.replace(/^(meshtwin: |error: )/, ''), r.stderr).toMatch(c.line);
        expect(r.status, r.stderr).toBe(2);
      },
      LIMIT_MS + 5_000,
    );
  }
});

describe('found after the start: still no stack trace', () => {
  it(
    'meshtwin test reports an expect: line naming an unknown field as an ERROR row, before running it (exit 1)',
    async () => {
      const f = file('t-field.yaml', mesh(ok.pub, ok.sub, 'expect:\n  - "messages.lst == 0"\n'));
      const r = await meshtwin(['test', f]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/ERROR .*t-field\.yaml:13:5: unknown field "messages\.lst".*did you mean "messages\.lost"\?/);
      expect(r.stderr).not.toContain('SEED=');
      expect(r.stderr + r.stdout).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    },
    LIMIT_MS + 5_000,
  );

  it(
    '--force turns a refusal into a warning and the run goes ahead',
    async () => {
      mkdirSync(join(dir, 'forced'), { recursive: true });
      const f = file('forced.yaml', mesh('rate: 100/s, topic: t, size: 100B', 'pattern: t, count: 100000000000000').replace('duration: 5s', 'duration: 200s'));
      const refused = await meshtwin(['validate', f]);
      expect(refused.status).toBe(2);
      const forced = await meshtwin(['validate', f, '--force']);
      expect(forced.status, forced.stderr).toBe(0);
      expect(forced.stderr).toMatch(/^meshtwin: warning: .*forced\.yaml: expected a run this machine can do, found an estimated .* subscriber deliveries .* \(--force: running anyway\)$/m);
    },
    2 * LIMIT_MS,
  );
});
