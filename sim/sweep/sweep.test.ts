/**
 * The sweep's parts without a run: steps row-major and their shards [SWEEP-1][SHARD-1], the
 * default condition [SWEEP-4], the breaking point and a grid's frontier [SWEEP-7].
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../scenarios/load.ts';
import { parseVary } from '../../scenarios/vary.ts';
import { gridSteps, inShard, makeAxes, stepFile, stepLabel, stepText } from './plan.ts';
import { axisInfo, breakingLines, buildReport, type StepRecord, sweepCommand } from './report.ts';
import { defaultCondition, judge, reasonOf } from './until.ts';
import { evaluateAssertion } from '../../scenarios/expect.ts';

const FILE = 'scenarios/seed-global-3-region.yaml';
const SOURCE = readFileSync(FILE, 'utf8');
const seed = loadScenario(FILE);

describe('steps [SWEEP-1]', () => {
  const axes = makeAxes([parseVary('publishers[0].rate=1M/s..3M/s', SOURCE, FILE), parseVary('links[1].bandwidth=10Gbps..1Gbps', SOURCE, FILE)], 3, 'linear');

  it('a grid is row-major: the first --vary outer, the second inner', () => {
    const steps = gridSteps(axes);
    expect(steps.map((s) => s.coords.join(''))).toEqual(['00', '01', '02', '10', '11', '12', '20', '21', '22']);
    expect(stepLabel(axes, steps[5] as (typeof steps)[number])).toBe('publishers[0].rate = 2,000,000/s, links[1].bandwidth = 1.00 Gbps');
    expect(stepFile(5, 9)).toBe('steps/step-6.yaml');
    expect(stepFile(5, 10)).toBe('steps/step-06.yaml');
  });

  it('shard I of N holds the steps k with k mod N = I, and the shards hold every step once [SHARD-1]', () => {
    const all = gridSteps(axes).map((s) => s.index);
    const byShard = [0, 1, 2, 3].map((i) => all.filter((k) => inShard(k, { index: i, count: 4 })));
    expect(byShard).toEqual([
      [0, 4, 8],
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
    expect(all.filter((k) => inShard(k, undefined))).toEqual(all);
  });

  it('a step is the file with its values (and --duration) written in', () => {
    const text = stepText(SOURCE, axes, gridSteps(axes)[5] as ReturnType<typeof gridSteps>[number], { durationMs: 500 });
    expect(text).toContain('duration: 500ms\n');
    expect(text).toContain('rate: 2M/s, topic: "orders/us/c{rand:166667}"');
    expect(text).toContain('{ between: [us-1, eu-1], rtt: 70ms, bandwidth: 1Gbps, jitter: 1ms }');
  });

  it('an --until that needs the invariant checker is added to a step whose file does not run it [SWEEP-2]', () => {
    const step = gridSteps(axes)[0] as ReturnType<typeof gridSteps>[number];
    const text = stepText(SOURCE, axes, step, { until: ['messages.lost == 0'], fileExpect: seed.expect });
    expect(text).toMatch(/expect:\n {2}- "latency\.local\.p99 < 5ms"\n {2}- "messages\.dropped == 0"\n {2}- messages\.lost == 0\n/);
    expect(stepText(SOURCE, axes, step, { until: ['wan.mbpsAvg < 900'], fileExpect: seed.expect })).not.toContain('wan.mbpsAvg');
  });
});

describe('the default condition [SWEEP-4]', () => {
  it("every link direction at most 90% utilized, no drop, and the scenario's latency assertions", () => {
    const c = defaultCondition(seed);
    expect(c.source).toBe('default');
    expect(c.lines).toEqual([
      'links[us-1>us-2].utilizationPeak <= 0.9',
      'links[us-2>us-1].utilizationPeak <= 0.9',
      'links[us-1>eu-1].utilizationPeak <= 0.9',
      'links[eu-1>us-1].utilizationPeak <= 0.9',
      'links[eu-1>ap-1].utilizationPeak <= 0.9',
      'links[ap-1>eu-1].utilizationPeak <= 0.9',
      'links[us-2>ap-1].utilizationPeak <= 0.9',
      'links[ap-1>us-2].utilizationPeak <= 0.9',
      'messages.dropped == 0',
      // The file's own expect: has two lines; only the latency one is a latency assertion.
      'latency.local.p99 < 5ms',
    ]);
  });

  it('judges a summary and says why in words', () => {
    const summary = {
      links: [{ from: 'us-1', to: 'eu-1', utilizationPeak: 0.93 }],
      messages: { dropped: 12 },
      latencyMs: { local: { count: 10, p99: 6.5 } },
    };
    const c = { lines: ['links[us-1>eu-1].utilizationPeak <= 0.9', 'messages.dropped == 0', 'latency.local.p99 < 5ms', 'latency.local.p99 < 10ms'], source: '--until' as const };
    const v = judge(c, summary);
    expect(v.pass).toBe(false);
    expect(v.checks.map((k) => k.reason)).toEqual(['links us-1→eu-1 utilization 0.93 > 0.9', 'messages.dropped = 12, expected == 0', 'latencyMs.local.p99 = 6.5 ms, expected < 5 ms', null]);
    expect(reasonOf(evaluateAssertion('links[us-1>eu-1].utilizationPeak < 0.9', { links: [{ from: 'us-1', to: 'eu-1', utilizationPeak: 0.9 }] }))).toBe('links us-1→eu-1 utilization 0.9 >= 0.9');
  });
});

describe('the breaking point [SWEEP-7]', () => {
  const axes = makeAxes([parseVary('publishers[0].rate=1M/s..3M/s', SOURCE, FILE), parseVary('links[1].bandwidth=10Gbps..1Gbps', SOURCE, FILE)], 3, 'linear');
  const steps = gridSteps(axes);
  // Fails where rate ≥ 2M/s and bandwidth ≤ 5.5 Gbps, and everywhere at 3M/s.
  const fails = (k: number) => k === 4 || k === 5 || k >= 6;
  const record = (k: number): StepRecord => ({
    index: k,
    step: k + 1,
    values: Object.fromEntries(axes.map((a, j) => [a.spec.path, a.values[(steps[k] as (typeof steps)[number]).coords[j] as number] as number])),
    texts: {},
    label: stepLabel(axes, steps[k] as (typeof steps)[number]),
    file: stepFile(k, 9),
    pass: !fails(k),
    checks: [{ assertion: 'x', pass: !fails(k), actual: 0, reason: fails(k) ? `reason ${k + 1}` : null }],
    busiestLink: null,
    figures: {},
    traceHash: '',
    wallSeconds: 0,
  });
  const inputs = {
    file: FILE,
    fileSha256: '',
    scenario: 'seed',
    seed: 42,
    vary: ['publishers[0].rate=1M/s..3M/s', 'links[1].bandwidth=10Gbps..1Gbps'],
    steps: 3,
    scale: 'linear' as const,
    duration: '1s',
    until: [],
  };
  const parts = { command: sweepCommand(inputs), inputs, axes: axes.map(axisInfo), condition: defaultCondition(seed), totalSteps: 9, run: { wallSeconds: 0, parallel: 1, shards: 1 } };

  it('is the first failing step in step order, from records in any order; a grid adds its frontier', () => {
    const r = buildReport(parts, [8, 3, 0, 5, 1, 7, 2, 6, 4].map(record));
    expect(r.steps.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.breakingPoint?.step).toBe(5);
    expect(breakingLines(r)).toEqual([
      'breaking point: publishers[0].rate = 2,000,000/s, links[1].bandwidth = 5.50 Gbps (step 5 of 9): reason 5',
      '  publishers[0].rate = 1,000,000/s: held at every links[1].bandwidth',
      '  publishers[0].rate = 2,000,000/s: breaks at links[1].bandwidth = 5.50 Gbps (step 5): reason 5',
      '  publishers[0].rate = 3,000,000/s: breaks at links[1].bandwidth = 10.0 Gbps (step 7): reason 7',
    ]);
    expect(r.command).toBe(
      "meshtwin sweep scenarios/seed-global-3-region.yaml --vary 'publishers[0].rate=1M/s..3M/s' --vary 'links[1].bandwidth=10Gbps..1Gbps' --steps 3 --scale linear --duration 1s",
    );
  });

  it('none is a result too, said so', () => {
    const held = buildReport(
      parts,
      [0, 1, 2, 3].map((k) => ({ ...record(k), pass: true, checks: [] })),
    );
    expect(held.breakingPoint).toBeNull();
    expect(breakingLines(held)[0]).toBe('breaking point: none — the condition held at every step (4 of 9), up to publishers[0].rate = 2,000,000/s, links[1].bandwidth = 10.0 Gbps');
  });
});
