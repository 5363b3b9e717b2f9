import { describe, expect, it } from 'vitest';
import { BENCH_FORMAT, BenchFileError, compareBench, compareFigures, compareTable, parseBenchFile, regressions } from './compare.ts';
import { type Better, type Figure, figure, median, NOISE_FLOOR, noiseBand, notMeasured } from './figures.ts';

const fig = (value: number, better: Better, noise = NOISE_FLOOR, extra: Partial<Figure> = {}): Figure => ({ label: 'x', unit: 'u', value, better, noise, samples: [value], ...extra });
const file = (figures: Record<string, unknown>, over: Record<string, unknown> = {}) => JSON.stringify({ format: BENCH_FORMAT, quick: false, figures, ...over });
const verdict = (o: Figure, n: Figure) => compareFigures({ f: o }, { f: n })[0]?.verdict;

describe('bench figures: the noise band is the spread of the rounds, at least the floor', () => {
  it('(max − min) / median, floored at 5%; one sample gets the floor', () => {
    expect(noiseBand([90, 100, 110])).toBeCloseTo(0.2);
    expect(noiseBand([100, 101])).toBe(NOISE_FLOOR);
    expect(noiseBand([42])).toBe(NOISE_FLOOR);
    const f = figure('seed', 'sim-s/wall-s', 'higher', [0.1, 0.14, 0.12]);
    expect(f.value).toBe(0.12);
    expect(f.noise).toBeCloseTo(0.04 / 0.12, 4);
    expect(median([0.1306, 0.1186])).toBe(0.1246);
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});

describe('bench --compare [BENCH-C1..4]', () => {
  it('[BENCH-C1] a drop of a higher-is-better figure beyond the band is a REGRESSION; within it, ok', () => {
    expect(verdict(fig(100, 'higher'), fig(90, 'higher'))).toBe('REGRESSION');
    expect(verdict(fig(100, 'higher'), fig(96, 'higher'))).toBe('ok');
    expect(verdict(fig(100, 'higher'), fig(95, 'higher'))).toBe('ok'); // exactly the band is not beyond it
  });

  it('[BENCH-C1] direction: a rise is a regression of a lower-is-better figure and an improvement of a higher-is-better one', () => {
    expect(verdict(fig(1000, 'lower'), fig(1200, 'lower'))).toBe('REGRESSION');
    expect(verdict(fig(1000, 'higher'), fig(1200, 'higher'))).toBe('better');
    expect(verdict(fig(1000, 'lower'), fig(800, 'lower'))).toBe('better');
    expect(verdict(fig(1000, 'higher'), fig(800, 'higher'))).toBe('REGRESSION');
  });

  it('[BENCH-C1] the larger of the two runs’ noise bands is the one held against the change', () => {
    // 20% worse: a regression against 5% bands, noise when either run measured a 25% spread.
    expect(verdict(fig(100, 'higher'), fig(80, 'higher'))).toBe('REGRESSION');
    expect(verdict(fig(100, 'higher', 0.25), fig(80, 'higher'))).toBe('ok');
    expect(verdict(fig(100, 'higher'), fig(80, 'higher', 0.25))).toBe('ok');
    const [r] = compareFigures({ f: fig(100, 'lower', 0.3) }, { f: fig(120, 'lower', 0.1) });
    expect(r?.band).toBe(0.3);
    expect(r?.ratio).toBeCloseTo(1.2);
  });

  it('[BENCH-C2] a reference figure is never a regression, but says when it moved', () => {
    expect(verdict(fig(100, 'higher', 0.05, { reference: true }), fig(50, 'higher', 0.05, { reference: true }))).toBe('ref (moved)');
    expect(verdict(fig(100, 'higher', 0.05, { reference: true }), fig(99, 'higher', 0.05, { reference: true }))).toBe('ref');
  });

  it('[BENCH-C3] figures in one file only are new or gone, n/a in either run is n/a, a changed unit is not compared', () => {
    const rows = compareFigures(
      { kept: fig(1, 'higher'), gone: fig(1, 'higher'), na: fig(1, 'higher'), unit: fig(1, 'lower') },
      { kept: fig(0.5, 'higher'), added: fig(1, 'higher'), na: notMeasured('x', 'u', 'higher', 'no git'), unit: { ...fig(9, 'lower'), unit: 'KiB' } },
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.verdict]))).toEqual({ kept: 'REGRESSION', added: 'new', na: 'n/a', unit: 'unit changed', gone: 'gone' });
    expect(regressions(rows)).toBe(1);
    const table = compareTable(rows, { old: 'a.json', new: 'this run' });
    expect(table).toContain('1 figure regressed');
    expect(table).toMatch(/x\s+u\s+higher\s+1\s+0\.5\s+0\.500×\s+±5\.0%\s+REGRESSION/);
  });

  it('[BENCH-C4] parses a bench file and rejects what is not one, each with one line naming the file and the field', () => {
    const ok = parseBenchFile(file({ a: fig(3, 'lower') }), 'old.json');
    expect(ok.figures['a']?.value).toBe(3);
    const bad: Array<[string, RegExp]> = [
      ['{"format": ', /^old\.json: not JSON \(/],
      ['[1, 2]', /^old\.json: not a meshtwin bench --json file \(expected an object, found an array\)$/],
      ['{"kernel": {}}', /^old\.json: not a meshtwin bench --json file of this version \(no "format" and "figures"/],
      [file({}, { format: 'meshtwin-bench/9' }), /^old\.json: format "meshtwin-bench\/9" is not one this version reads/],
      [file({ a: { ...fig(1, 'higher'), better: 'up' } }), /^old\.json: figures\["a"\]\.better: expected "higher" or "lower", found "up"$/],
      [file({ a: { ...fig(1, 'higher'), value: '12' } }), /^old\.json: figures\["a"\]\.value: expected a number or null, found "12"$/],
      [file({ a: { ...fig(1, 'higher'), noise: -1 } }), /^old\.json: figures\["a"\]\.noise: expected a fraction ≥ 0, found -1$/],
      [file({}, { quick: 'yes' }), /^old\.json: quick: expected true or false/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseBenchFile(text, 'old.json'), text).toThrow(BenchFileError);
      expect(() => parseBenchFile(text, 'old.json'), text).toThrow(message);
    }
  });

  it('[BENCH-C4] a --quick run does not compare with a full one', () => {
    const quick = parseBenchFile(file({ a: fig(1, 'higher') }, { quick: true }), 'q.json');
    const full = parseBenchFile(file({ a: fig(1, 'higher') }), 'f.json');
    expect(() => compareBench(quick, full, { old: 'q.json', new: 'this run' })).toThrow(/^q\.json was measured with --quick and this run without --quick: /);
    expect(compareBench(full, full).map((r) => r.verdict)).toEqual(['ok']);
  });
});
