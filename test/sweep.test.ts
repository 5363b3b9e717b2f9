/**
 * `meshtwin sweep` as a user runs it: the knee where queueing theory puts it [SWEEP-4][SWEEP-7],
 * the same sweep.json whatever --parallel [SWEEP-6][SWEEP-8], a step's file replayed by
 * `meshtwin run` to the same figures [SWEEP-2][SWEEP-5], the files it writes, and bad usage as
 * one line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import { SPECVERSION } from '../engine/types.ts';
import { parseScenario, ScenarioError } from '../scenarios/load.ts';
import { createRng } from '../sim/rng.ts';
import { stepFigures, type SummaryFigures } from '../sim/sweep/figures.ts';
import type { SweepReport } from '../sim/sweep/report.ts';
import { UTILIZATION_LIMIT } from '../sim/sweep/until.ts';
import { expandPublishers } from '../sim/workload.ts';
import { CliError } from '../cli/options.ts';
import { shardOption } from '../cli/shard.ts';
import { planSweep, type SweepCommandOptions } from '../cli/sweep.ts';

function meshtwin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
const dir = mkdtempSync(join(tmpdir(), 'meshtwin-sweep-'));
const readReport = (out: string) => JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepReport;

/** sweep.json without what is not a function of the inputs [SWEEP-8]: `run` and each step's wall time. */
function inputsOnly(r: SweepReport): unknown {
  const { run: _, ...rest } = r;
  return { ...rest, steps: r.steps.map(({ wallSeconds: __, ...s }) => s) };
}

/** One publisher over one WAN link of known bandwidth, every event wanted on the far side. */
function oneLink(arrival: 'constant' | 'poisson'): string {
  return `name: md1-knee
seed: 11
duration: 3s
warmup: 1s
regions:
  - { id: west, brokers: [w1], clientRtt: 1ms }
  - { id: east, brokers: [e1], clientRtt: 1ms }
links:
  - { between: [w1, e1], rtt: 40ms, bandwidth: 5Mbps }
publishers:
  - { broker: w1, rate: 500/s, arrival: ${arrival}, topic: "q/x", size: 500B }
subscribers:
  - { broker: e1, count: 1, pattern: "q/#" }
`;
}

describe('the breaking point where queueing theory puts it', () => {
  it.each(['constant', 'poisson'] as const)('%s arrivals: sweeping the rate over one 5 Mbps link breaks where ρ = λ·S crosses 0.9, within one step', (arrival) => {
    const file = join(dir, `md1-${arrival}.yaml`);
    writeFileSync(file, oneLink(arrival));
    const out = join(dir, `md1-${arrival}`);
    const r = meshtwin('sweep', file, '--vary', 'publishers[0].rate=400/s..1300/s', '--steps', '10', '--parallel', '2', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const report = readReport(out);

    // The service time D of one event on the link, from how the simulator charges it
    // (sim/network.ts): the codec's frame bytes plus the scenario's per-frame transport overhead,
    // over the bandwidth. The frame is the one the engine sends: a data frame for e1 carrying the
    // publisher's envelope as the simulated workload fills it in.
    const scenario = parseScenario(oneLink(arrival), file);
    const stream = expandPublishers(scenario, createRng(scenario.seed))[0];
    if (stream === undefined) throw new Error('no publisher');
    const link = scenario.links[0];
    if (link === undefined) throw new Error('no link');
    const serviceSeconds = (lastId: number): number => {
      const frame = encodeFrame({
        kind: FrameKind.Data,
        dests: ['e1'],
        envelope: {
          id: `${stream.index}-${lastId}`,
          source: stream.source,
          type: stream.spec.type,
          specversion: SPECVERSION,
          topic: 'q/x',
          headers: {},
          payload: new Uint8Array(stream.spec.sizeBytes),
          publishedAtMs: 2999.5,
          path: ['w1'],
          hopLimit: scenario.routing.hopLimit,
        },
      });
      return ((frame.length + scenario.model.transportOverheadBytes) * 8) / link.bandwidthBps;
    };
    // M/D/1: utilization ρ = λ·D. The busiest second carries the run's last (longest) ids.
    const rates = report.axes[0]?.values ?? [];
    const rho = rates.map((lambda) => lambda * serviceSeconds(Math.ceil(lambda * 3)));
    const expected = rho.findIndex((p) => p > UTILIZATION_LIMIT);
    expect(expected, `ρ per step: ${rho.map((p) => p.toFixed(3)).join(', ')}`).toBeGreaterThan(0);

    const found = report.breakingPoint;
    if (found === null) throw new Error(`no breaking point; expected step ${expected + 1} (ρ ${rho[expected]})`);
    expect(Math.abs(found.index - expected), `found step ${found.step}, M/D/1 says step ${expected + 1}`).toBeLessThanOrEqual(1);
    expect(found.reasons[0]).toMatch(/^links w1→e1 utilization [\d.]+ > 0\.9$/);
    // The measured utilization tracks λ·D below the knee (constant arrivals: the busiest second is the mean one).
    const measured = report.steps.map((s) => s.figures['links[w1>e1].utilizationPeak'] as number);
    if (arrival === 'constant') for (const [i, m] of measured.entries()) expect(m, `step ${i + 1}`).toBeCloseTo(Math.min(1, rho[i] as number), 1);
    expect(r.stdout).toContain(`breaking point: publishers[0].rate = ${rates[found.index]?.toLocaleString('en-US')}/s (step ${found.step} of 10): links w1→e1 utilization`);
  });
});

const GRID = ['scenarios/slow-link.yaml', '--vary', 'publishers[0].rate=1200/s..2400/s', '--vary', 'links[0].rtt=100ms..300ms', '--steps', '3', '--duration', '2s'];

describe('meshtwin sweep: reproducible, replayable, its files', () => {
  const p1 = join(dir, 'p1');
  const p2 = join(dir, 'p2');
  let a: ReturnType<typeof meshtwin>;
  let b: ReturnType<typeof meshtwin>;
  beforeAll(() => {
    a = meshtwin('sweep', ...GRID, '--parallel', '1', '--out', p1);
    b = meshtwin('sweep', ...GRID, '--parallel', '2', '--out', p2);
  });

  it('runs a grid, prints progress on stderr and a table with the breaking step marked on stdout', () => {
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/^SEED=7 scenario=slow-link vary=publishers\[0\]\.rate:1\.2k\/s\.\.2\.4k\/s × links\[0\]\.rtt:100ms\.\.300ms steps=9 \(linear\) parallel=1 duration=2\.00 s /);
    expect(a.stderr).toMatch(/^sweep: 9\/9 steps done \(\d+ s\): step 9 /m);
    const rows = a.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
    expect(rows).toHaveLength(9);
    expect(rows.filter((l) => l.includes('◀ breaking point'))).toHaveLength(1);
    expect(a.stdout).toMatch(/^breaking point: publishers\[0\]\.rate = 2,400\/s, links\[0\]\.rtt = 100 ms \(step 7 of 9\): links us-1→ap-1 utilization/m);
    // The frontier: each rate's own breaking point along the RTT.
    expect(a.stdout).toMatch(/^ {2}publishers\[0\]\.rate = 1,200\/s: held at every links\[0\]\.rtt$/m);
  });

  it('gives the same sweep.json, sweep.csv and step files with 1 or 2 threads [SWEEP-6][SWEEP-8]', () => {
    expect(b.status, b.stderr).toBe(0);
    const r1 = readReport(p1);
    const r2 = readReport(p2);
    expect(r1.run.parallel).toBe(1);
    expect(r2.run.parallel).toBe(2);
    expect(inputsOnly(r2)).toEqual(inputsOnly(r1));
    const csv = (d: string) =>
      readFileSync(join(d, 'sweep.csv'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.replace(/,[^,]*$/, ''));
    expect(csv(p2)).toEqual(csv(p1));
    const files = readdirSync(join(p1, 'steps'));
    expect(files).toHaveLength(9);
    for (const f of files) expect(readFileSync(join(p2, 'steps', f), 'utf8')).toBe(readFileSync(join(p1, 'steps', f), 'utf8'));
    // Different steps are different runs.
    expect(new Set(r1.steps.map((s) => s.traceHash)).size).toBe(9);
  });

  it("writes a step's scenario that `meshtwin run --no-heap` replays to the same figures [SWEEP-2][SWEEP-5]", () => {
    const r = readReport(p1);
    const step = r.steps[7];
    if (step === undefined) throw new Error('no step 8');
    const text = readFileSync(join(p1, step.file), 'utf8');
    expect(text).toMatch(/^# meshtwin sweep, step 8 of 9: publishers\[0\]\.rate = 2,400\/s, links\[0\]\.rtt = 200 ms \(the file has publishers\[0\]\.rate: 1600\/s, links\[0\]\.rtt: 180ms\)\n/);
    // The file's own text with two values (and the duration) written in, every other line as it was.
    const own = text.split('\n').filter((l) => !l.startsWith('# meshtwin sweep') && !l.startsWith('# of: ') && !l.startsWith('# Replay: '));
    const original = readFileSync('scenarios/slow-link.yaml', 'utf8').split('\n');
    expect(own).toHaveLength(original.length);
    const changed = own.map((l, i) => [l, original[i]]).filter(([x, y]) => x !== y);
    expect(changed).toEqual([
      ['duration: 2s', 'duration: 10s'],
      ['    rtt: 200ms', '    rtt: 180ms'],
      ['    rate: 2.4k/s', '    rate: 1600/s'],
    ]);
    const out = join(dir, 'replay');
    const run = meshtwin('run', join(p1, step.file), '--no-heap', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as SummaryFigures;
    expect(summary.traceHash).toBe(step.traceHash);
    expect(stepFigures(summary)).toEqual(step.figures);
  });

  it('writes sweep.csv (a row per step, every figure by its summary.json name) and a self-contained sweep.html', () => {
    const r = readReport(p1);
    const [header, ...rows] = readFileSync(join(p1, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(9);
    const cols = (header ?? '').split(',');
    expect(cols.slice(0, 8)).toEqual(['step', 'publishers[0].rate', 'publishers[0].rate (as written)', 'links[0].rtt', 'links[0].rtt (as written)', 'pass', 'breakingPoint', 'busiestLink']);
    for (const k of [
      'wan.mbpsAvg',
      'max links[].utilizationPeak',
      'latencyMs.crossRegion.p99',
      'drops.queueFull',
      'links[us-1>ap-1].utilizationPeak',
      'brokers[ap-1].spoolPeakBytes',
      'max brokers[].routingTableBytes',
    ]) {
      expect(cols).toContain(k);
    }
    expect(cols[cols.length - 1]).toBe('wallSeconds');
    const breaking = rows.filter((l) => l.split(',')[6] === 'true');
    expect(breaking).toHaveLength(1);
    expect(breaking[0]?.split(',')[0]).toBe(String(r.breakingPoint?.step));
    const utilization = cols.indexOf('links[us-1>ap-1].utilizationPeak');
    expect(rows.map((l) => Number(l.split(',')[utilization]))).toEqual(r.steps.map((s) => s.figures['links[us-1>ap-1].utilizationPeak']));

    const html = readFileSync(join(p1, 'sweep.html'), 'utf8');
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).toMatch(/d3js\.org v7/);
    expect(html).toContain('id="sweep-data"');
    expect(html).toContain('breaking point: publishers[0].rate = 2,400/s, links[0].rtt = 100 ms (step 7 of 9)');
    expect(html.match(/<tr class="breaking"/g)).toHaveLength(1);
  });
});

/** What planSweep (the command's checks, before anything runs) says about these options. */
function refusal(opts: Partial<SweepCommandOptions> & { vary: string[] }): string {
  try {
    planSweep('scenarios/slow-link.yaml', opts);
  } catch (e) {
    if (e instanceof CliError || e instanceof ScenarioError) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('meshtwin sweep: bad usage is one line naming what was wrong [VARY-1..3]', () => {
  it.each([
    [
      { vary: ['publishers[3].rate=1/s..2/s'] },
      /^--vary publishers\[3\]\.rate=1\/s\.\.2\/s: unknown path publishers\[3\]\.rate: publishers in scenarios\/slow-link\.yaml has 1 entry \(publishers\[0\]\.\.publishers\[0\]\)$/,
    ],
    [
      { vary: ['publishers[0].rat=1/s..2/s'] },
      /unknown path publishers\[0\]\.rat: publishers\[0\] in scenarios\/slow-link\.yaml has no key "rat"; did you mean "rate"\? \(keys: broker, rate, arrival, topic, size;/,
    ],
    [{ vary: ['links.bandwidth=1Mbps..2Mbps'] }, /: links in scenarios\/slow-link\.yaml is not a map, so it has no key "bandwidth" \(a list: select an entry, e\.g\. links\[0\]\.bandwidth\)$/],
    [{ vary: ['publishers[0].topic=1..2'] }, /: publishers\[0\]\.topic in scenarios\/slow-link\.yaml is "telemetry\/\{broker\}\/\{rand:100\}", not a number, rate, size, duration or bandwidth$/],
    [{ vary: ['publishers[0].rate=1Gbps..2Gbps'] }, /: FROM must be a rate like publishers\[0\]\.rate \("1600\/s" in scenarios\/slow-link\.yaml\), e\.g\. "100000\/s"; found "1Gbps", a bandwidth$/],
    [{ vary: ['links[0].bandwidth=1Gbps..20ms'] }, /: TO must be a bandwidth like links\[0\]\.bandwidth .* found "20ms", a duration$/],
    [{ vary: ['publishers[0].rate=100000'] }, /: expected a range FROM\.\.TO after "=", found "100000"$/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s'], steps: '1' }, /^--steps: expected a whole number of steps from 2 to 10000, found "1"$/],
    [{ vary: ['publishers[0].rate=1000/s..1000/s'] }, /FROM and TO are the same value/],
    [{ vary: ['publishers[0].rate=0/s..1000/s'], scale: 'log' }, /--scale log needs FROM and TO above zero$/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s'], scale: 'cubic' }, /^--scale: expected linear or log, found "cubic"$/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s', 'publishers[0].rate=1/s..2/s'] }, /^--vary: publishers\[0\]\.rate is varied twice/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s', 'publishers[0].size=1B..2B', 'links[0].rtt=1ms..2ms'] }, /^--vary: at most two \(two give a grid\), found 3$/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s'], until: ['links[us-1>eu-1].utilizationPeak < 0.8'] }, /^--until: unknown link "us-1>eu-1" in assertion 1 .*; known links: us-1>ap-1, ap-1>us-1$/],
    [{ vary: ['publishers[0].rate=1000/s..2000/s'], until: ['wan.mbpsAvgg < 5'] }, /^--until: unknown field "wan\.mbpsAvgg" in assertion 1 \("wan\.mbpsAvgg < 5"\); did you mean "wan\.mbpsAvg"\?$/],
    // A value the loader refuses: its message, with the file's line as if typed there, and the step.
    [
      { vary: ['publishers[0].rate=0/s..100/s'], steps: '3' },
      /^scenarios\/slow-link\.yaml:23:11: publishers\[0\]\.rate: expected a rate above zero, such as "1000\/s", found "0\/s" \(sweep step 1 of 3: publishers\[0\]\.rate = 0\/s\)$/,
    ],
    [
      { vary: ['publishers[0].size=500B..20MB'], steps: '3' },
      /^scenarios\/slow-link\.yaml:26:11: publishers\[0\]\.size: expected a payload that fits one wire frame .* \(sweep step 3 of 3: publishers\[0\]\.size = 20\.0 MB\)$/,
    ],
    [{ vary: ['duration=1s..2s'], duration: '3s' }, /^--duration: the sweep varies duration itself/],
  ])('%j', (opts, message) => {
    const m = refusal(opts);
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });

  it('--shard is I/N with 0 <= I < N', () => {
    expect(() => shardOption('3/3')).toThrow(/^--shard: expected an index from 0 to 2 \(shards are numbered from 0\), found 3 in "3\/3"$/);
    expect(() => shardOption('1')).toThrow(/^--shard: expected I\/N/);
    expect(shardOption('2/3')).toEqual({ index: 2, count: 3 });
  });

  it('through the CLI: one line on stderr, nothing on stdout, exit 2, no stack', () => {
    for (const args of [
      ['--vary', 'publishers[0].rate=1Gbps..2Gbps'],
      ['--vary', 'publishers[0].rate=1000/s..2000/s', '--shard', '3/3'],
    ]) {
      const r = meshtwin('sweep', 'scenarios/slow-link.yaml', ...args);
      expect(r.status, r.stdout + r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^meshtwin: (--vary|--shard)/);
      noStack(r.stderr);
      expect(r.stdout).toBe('');
    }
  });
});
