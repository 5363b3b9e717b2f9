/** reports/compare.ts on hand-made summaries: tolerances [CMP-1], fault windows [CMP-2], fault lists [CMP-3]. */
import { describe, expect, it } from 'vitest';
import { type CompareRow, CompareError, compareRuns, compareTable, type FaultLike, faultWindowSeconds, parseSeries, type SeriesRow, summaryLine, withinTolerance } from './compare.ts';

type Json = Record<string, unknown>;

const latency = (count: number, p50: number, p99: number): Json => ({ count, mean: p50, p50, p99, p999: p99, max: p99 });

function summary(over: Json = {}): Json {
  return {
    scenario: 's',
    seed: 1,
    simulatedSeconds: 10,
    messages: { published: 10_000, delivered: 20_000, dropped: 0, duplicates: 0, lost: 0 },
    latencyMs: { local: latency(100, 1, 2), crossRegion: latency(100, 35, 40) },
    links: [
      { from: 'a1', to: 'b1', wan: true, dataBytes: 162_000, codecDataBytes: 100_000, dataFrames: 1000, controlBytes: 1_000, codecControlBytes: 500, controlFrames: 8 },
      { from: 'b1', to: 'a1', wan: true, dataBytes: 0, codecDataBytes: 0, dataFrames: 0, controlBytes: 1_000, codecControlBytes: 500, controlFrames: 8 },
    ],
    drops: { linkLoss: 0, queueFull: 0, linkDown: 0 },
    faults: [],
    ha: { pairs: 0, takeovers: [], takeoverMs: null, rebuildMs: null },
    ...over,
  };
}

/** The summary with link a1>b1 changed. */
function withLink(s: Json, change: Json): Json {
  const links = (s.links as Json[]).map((l) => (l.from === 'a1' && l.to === 'b1' ? { ...l, ...change } : l));
  return { ...s, links };
}

const find = (rows: readonly CompareRow[], figure: string, scope?: string): CompareRow | undefined => rows.find((r) => r.figure === figure && (scope === undefined || r.scope === scope));

function series(perSecond: ReadonlyArray<readonly [number, number]>): SeriesRow[] {
  return perSecond.map(([published, delivered], i) => ({ second: i + 1, published, delivered }));
}

const fault = (at: number, action: string, target: string[], more: Json = {}): Json => ({ index: 0, at, action, target, convergenceMs: null, ...more });

describe('[CMP-1] relative tolerance', () => {
  it('|m − p| / max(|p|, tiny) ≤ tol; 0 and 0 is ok; anything from 0 is not', () => {
    expect(withinTolerance(1000, 1015, 0.02)).toBe(true);
    expect(withinTolerance(1000, 1020, 0.02)).toBe(true);
    expect(withinTolerance(1000, 1030, 0.02)).toBe(false);
    expect(withinTolerance(1000, 970, 0.02)).toBe(false);
    expect(withinTolerance(0, 0, 0.02)).toBe(true);
    expect(withinTolerance(0, 1, 0.02)).toBe(false);
    expect(withinTolerance(0.3, 0.33, 0.1)).toBe(true);
  });

  it('data bytes 1.5% apart are ok, 3% apart a MISS, compared as codec bytes', () => {
    const sim = summary();
    const close = compareRuns({ summary: sim }, { summary: withLink(sim, { codecDataBytes: 101_500, dataBytes: 999 }) });
    const ok = find(close.rows, 'data bytes', 'a1>b1');
    expect(ok).toMatchObject({ predicted: 100_000, measured: 101_500, error: 0.015, errorUnit: 'relative', tolerance: 0.02, verdict: 'ok' });
    const far = compareRuns({ summary: sim }, { summary: withLink(sim, { codecDataBytes: 97_000 }) });
    expect(find(far.rows, 'data bytes', 'a1>b1')).toMatchObject({ error: -0.03, verdict: 'MISS' });
    expect(summaryLine(far.rows)).toMatch(/, 1 outside tolerance$/);
  });

  it('data frames within 2%; control bytes are info however far apart', () => {
    const sim = summary();
    const r = compareRuns({ summary: sim }, { summary: withLink(sim, { dataFrames: 1025, codecControlBytes: 5_000 }) });
    expect(find(r.rows, 'data frames', 'a1>b1')?.verdict).toBe('MISS');
    expect(find(r.rows, 'control bytes', 'a1>b1')).toMatchObject({ predicted: 500, measured: 5_000, verdict: 'info', tolerance: null });
  });

  it('a direction with no data on either side is ok (zero and zero)', () => {
    const r = compareRuns({ summary: summary() }, { summary: summary() });
    expect(find(r.rows, 'data bytes', 'b1>a1')).toMatchObject({ predicted: 0, measured: 0, error: 0, errorUnit: 'absolute', verdict: 'ok' });
    expect(find(r.rows, 'data frames', 'b1>a1')?.verdict).toBe('ok');
    expect(r.rows.every((x) => x.verdict !== 'MISS')).toBe(true);
  });

  it('without codecDataBytes, dataBytes is used and the row says so', () => {
    const sim = summary();
    const old = withLink(sim, { codecDataBytes: undefined, dataBytes: 100_500 });
    const r = compareRuns({ summary: old }, { summary: sim });
    expect(find(r.rows, 'data bytes', 'a1>b1')).toMatchObject({ predicted: 100_500, measured: 100_000, verdict: 'ok' });
    expect(find(r.rows, 'data bytes', 'a1>b1')?.note).toMatch(/sim: no codecDataBytes, dataBytes used/);
  });

  it('a link only one run has counts as 0 on the other; a figure one run left null is info', () => {
    const sim = summary();
    const live = { ...sim, links: (sim.links as Json[]).slice(1) };
    const r = compareRuns({ summary: sim }, { summary: live });
    expect(find(r.rows, 'data bytes', 'a1>b1')).toMatchObject({ predicted: 100_000, measured: 0, verdict: 'MISS' });
    expect(find(r.rows, 'data bytes', 'a1>b1')?.note).toMatch(/no such link in the live run/);
    const nulls = compareRuns({ summary: sim }, { summary: withLink(sim, { dataFrames: null }) });
    expect(find(nulls.rows, 'data frames', 'a1>b1')).toMatchObject({ measured: null, error: null, verdict: 'info', note: 'not measured in the live run' });
  });
});

describe('deliveries, drops, latency, convergence, HA', () => {
  it('drops: info rows for the causes nonzero on either side only', () => {
    const r = compareRuns({ summary: summary({ drops: { linkLoss: 5, queueFull: 0, linkDown: 0 } }) }, { summary: summary({ drops: { linkLoss: 0, queueFull: 0, linkDown: 2 } }) });
    const drops = r.rows.filter((x) => x.figure.startsWith('drops: '));
    expect(drops.map((x) => [x.figure, x.predicted, x.measured, x.verdict])).toEqual([
      ['drops: linkLoss', 5, 0, 'info'],
      ['drops: linkDown', 0, 2, 'info'],
    ]);
    expect(find(r.rows, 'drops: linkDown')).toMatchObject({ error: 2, errorUnit: 'absolute' });
  });

  it('totals, lost and duplicates are info', () => {
    const live = summary({ messages: { published: 5_000, delivered: 1, duplicates: 3, lost: null } });
    const r = compareRuns({ summary: summary() }, { summary: live });
    for (const f of ['published (total)', 'delivered (total)', 'duplicates', 'lost']) expect(find(r.rows, f)?.verdict, f).toBe('info');
    expect(find(r.rows, 'lost')).toMatchObject({ predicted: 0, measured: null });
  });

  it('cross-region p50 within 10%, the other latencies info; local in ms with a note', () => {
    const live = summary({ latencyMs: { local: latency(50, 0.3, 0.9), crossRegion: latency(80, 39, 60) } });
    const r = compareRuns({ summary: summary() }, { summary: live });
    expect(find(r.rows, 'latency p50 (ms)', 'cross-region')).toMatchObject({ predicted: 35, measured: 39, tolerance: 0.1, verdict: 'MISS' });
    expect(find(r.rows, 'latency p99 (ms)', 'cross-region')?.verdict).toBe('info');
    const local = find(r.rows, 'latency p50 (ms)', 'local');
    expect(local).toMatchObject({ error: -0.7, errorUnit: 'ms', verdict: 'info' });
    expect(local?.note).toMatch(/client RTT in the sim.*loopback/);
  });

  it('a latency class with no samples on either side has no rows', () => {
    const none = summary({ latencyMs: { local: latency(0, 0, 0), crossRegion: latency(100, 35, 40) } });
    const r = compareRuns({ summary: summary() }, { summary: none });
    expect(r.rows.filter((x) => x.scope === 'local')).toEqual([]);
    expect(find(r.rows, 'latency p50 (ms)', 'cross-region')?.verdict).toBe('ok');
    const nulls = summary({ latencyMs: { local: { count: null, p50: null, p99: null }, crossRegion: latency(100, 35, 40) } });
    expect(compareRuns({ summary: nulls }, { summary: summary() }).rows.filter((x) => x.scope === 'local')).toEqual([]);
  });

  it('convergence: link-down and partition within 25%, their heals info; matched by index', () => {
    const faults = (down: number, up: number, part: number): Json[] => [
      fault(2000, 'link-down', ['a1', 'b1'], { convergenceMs: down }),
      fault(4000, 'link-up', ['b1', 'a1'], { convergenceMs: up }),
      fault(6000, 'partition', ['rb'], { convergenceMs: part }),
      fault(8000, 'heal', ['rb'], { convergenceMs: null }),
    ];
    const r = compareRuns({ summary: summary({ faults: faults(1000, 300, 1000) }) }, { summary: summary({ faults: faults(1200, 900, 1300) }) });
    const conv = r.rows.filter((x) => x.figure === 'convergence (ms)');
    expect(conv.map((x) => [x.scope, x.verdict])).toEqual([
      ['faults[0] link-down a1–b1 at 2 s', 'ok'],
      ['faults[1] link-up b1–a1 at 4 s', 'info'],
      ['faults[2] partition rb at 6 s', 'MISS'],
    ]);
  });

  it('[CMP-3] fault lists that differ are an error, not a table', () => {
    const a = summary({ faults: [fault(2000, 'link-down', ['a1', 'b1'])] });
    expect(() => compareRuns({ summary: a }, { summary: summary() })).toThrow(CompareError);
    expect(() => compareRuns({ summary: a }, { summary: summary() })).toThrow(/the sim run has 1 faults, the live run 0/);
    const b = summary({ faults: [fault(2000, 'crash', ['a1'])] });
    expect(() => compareRuns({ summary: a }, { summary: b })).toThrow(/faults\[0\]: the sim run's is link-down a1–b1 at 2 s, the live run's crash a1 at 2 s/);
  });

  it('HA takeover within 25% when both runs have one; no row otherwise', () => {
    const ha = (takeoverMs: number | null): Json => ({ ha: { pairs: 1, takeovers: [], takeoverMs, rebuildMs: null } });
    expect(find(compareRuns({ summary: summary(ha(400)) }, { summary: summary(ha(480)) }).rows, 'HA takeover (ms)')?.verdict).toBe('ok');
    expect(find(compareRuns({ summary: summary(ha(400)) }, { summary: summary(ha(520)) }).rows, 'HA takeover (ms)')?.verdict).toBe('MISS');
    expect(find(compareRuns({ summary: summary(ha(400)) }, { summary: summary(ha(null)) }).rows, 'HA takeover (ms)')).toBeUndefined();
  });
});

describe('[CMP-2] fault windows', () => {
  const f = (at: number, action: string, target: string[], forMs?: number | null): FaultLike => ({ at, action, target, ...(forMs === undefined ? {} : { forMs }) });
  const seconds = (s: Set<number>) => [...s].sort((a, b) => a - b);

  it('a one-off fault: its second and the next (second k covers (k−1, k] s)', () => {
    expect(seconds(faultWindowSeconds([f(2000, 'restart', ['a1'])], 10))).toEqual([2, 3]);
    expect(seconds(faultWindowSeconds([f(2500, 'restart', ['a1'])], 10))).toEqual([3, 4]);
    expect(seconds(faultWindowSeconds([f(0, 'restart', ['a1'])], 10))).toEqual([1, 2]);
    expect(seconds(faultWindowSeconds([f(9500, 'restart', ['a1'])], 10))).toEqual([10]);
  });

  it('a cut lasts until its repair (matched by action and target), plus the second after', () => {
    const down = [f(2000, 'link-down', ['a1', 'b1']), f(3000, 'link-down', ['a1', 'c1']), f(5000, 'link-up', ['b1', 'a1'])];
    expect(seconds(faultWindowSeconds(down, 10))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]); // a1–c1 never comes back
    expect(seconds(faultWindowSeconds([f(2000, 'crash', ['a1']), f(4000, 'restart', ['a1'])], 10))).toEqual([2, 3, 4, 5]);
    expect(seconds(faultWindowSeconds([f(2000, 'partition', ['ra', 'rb']), f(4000, 'heal', ['ra']), f(6000, 'heal', [])], 10))).toEqual([2, 3, 4, 5, 6, 7]);
    expect(seconds(faultWindowSeconds([f(2000, 'partition', ['ra'])], 6))).toEqual([2, 3, 4, 5, 6]);
  });

  it('a degrade or slow consumer lasts its forMs (null: to the end; unknown: a one-off)', () => {
    expect(seconds(faultWindowSeconds([f(2000, 'degrade', ['a1', 'b1'], 2500)], 10))).toEqual([2, 3, 4, 5, 6]);
    expect(seconds(faultWindowSeconds([f(2000, 'slow-consumer', ['a1'], null)], 5))).toEqual([2, 3, 4, 5]);
    expect(seconds(faultWindowSeconds([f(2000, 'degrade', ['a1', 'b1'])], 10))).toEqual([2, 3]);
  });

  it('published and delivered are compared over the seconds outside every window only', () => {
    const faults = [fault(3000, 'link-down', ['a1', 'b1']), fault(5000, 'link-up', ['a1', 'b1'])];
    const sim = series([
      [100, 200],
      [100, 200],
      [100, 200],
      [100, 200],
      [100, 200],
      [100, 200],
      [100, 200],
      [100, 200],
    ]);
    // The live run lost most of seconds 3 to 6 (inside the window) and delivered 0.5% more elsewhere.
    const live = series([
      [100, 201],
      [100, 201],
      [100, 20],
      [100, 0],
      [100, 0],
      [100, 450],
      [100, 201],
      [100, 201],
    ]);
    const r = compareRuns({ summary: summary({ faults }), series: sim }, { summary: summary({ faults }), series: live });
    expect(find(r.rows, 'delivered (outside fault windows)')).toMatchObject({ scope: '4 of 8 s', predicted: 800, measured: 804, error: 0.005, verdict: 'ok' });
    expect(find(r.rows, 'published (outside fault windows)')).toMatchObject({ predicted: 400, measured: 400, verdict: 'ok' });
    // Without the fault the same series is far outside 1%.
    const plain = compareRuns({ summary: summary(), series: sim }, { summary: summary(), series: live });
    expect(find(plain.rows, 'delivered (outside fault windows)')).toMatchObject({ scope: '8 of 8 s', verdict: 'MISS' });
  });

  it('either run’s faults open a window for both; only the seconds both series have count', () => {
    const sim = summary({ faults: [fault(2000, 'restart', ['a1'])] });
    const live = summary({ faults: [fault(3100, 'restart', ['a1'])] });
    const rows = series([
      [10, 10],
      [10, 10],
      [10, 10],
      [10, 10],
      [10, 10],
      [10, 10],
    ]);
    const r = compareRuns({ summary: sim, series: rows }, { summary: live, series: rows.slice(0, 5) });
    expect(find(r.rows, 'delivered (outside fault windows)')?.scope).toBe('1 of 5 s'); // 2, 3 and 4, 5 are out
  });

  it('without a series (or no second left) the figure is a note, not a row', () => {
    const r = compareRuns({ summary: summary() }, { summary: summary(), series: series([[1, 1]]) });
    expect(find(r.rows, 'delivered (outside fault windows)')).toBeUndefined();
    expect(r.notes).toEqual(['no series.csv in the sim run: published and delivered outside fault windows not compared']);
    expect(compareTable(r)).toContain('note: no series.csv in the sim run');
  });
});

describe('parseSeries', () => {
  it('reads second, published and delivered by name, whatever else is there (quoted headers too)', () => {
    const text = 'second,published,delivered,"a,b Mbps"\n1,10,20,0.5\r\n2,11,21,"0.6"\n';
    expect(parseSeries(text)).toEqual([
      { second: 1, published: 10, delivered: 20 },
      { second: 2, published: 11, delivered: 21 },
    ]);
  });

  it('a missing column or a non-number is a CompareError naming it', () => {
    expect(() => parseSeries('second,published\n1,2\n')).toThrow(/expected a "delivered" column/);
    expect(() => parseSeries('second,published,delivered\n1,x,2\n')).toThrow(/line 2: expected a number for "published", found "x"/);
    expect(() => parseSeries('')).toThrow(CompareError);
  });
});

describe('compareTable', () => {
  it('one line per row, MISS rows name their link, notes numbered once', () => {
    const sim = summary();
    const r = compareRuns({ summary: sim }, { summary: withLink(sim, { codecDataBytes: 110_000 }) });
    const text = compareTable(r);
    expect(text.split('\n')[0]).toMatch(/figure\s+scope\s+sim \(predicted\)\s+live \(measured\)\s+error\s+tolerance\s+verdict/);
    expect(text).toMatch(/data bytes\s+a1>b1\s+100,000\s+110,000\s+\+10\.00%\s+±2%\s+MISS/);
    expect(text.match(/\[1\] local latency/g)).toHaveLength(1);
    expect(text).toMatch(/latency p50 \(ms\)\s+local .* info \[1\]/);
  });
});
