/**
 * `--vary PATH=FROM..TO` [VARY-1..4]: paths into the file's own keys, the kind from the value
 * written there, FROM/TO in that kind's units, the values (linear, log, whole), and the value
 * written in place so the loader reads what a user typing it would have written.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from './load.ts';
import { applyValues, classify, displayValue, parsePath, parseVary, stepValues, VaryError, valueText } from './vary.ts';

const SEED = readFileSync('scenarios/seed-global-3-region.yaml', 'utf8');
const FILE = 'scenarios/seed-global-3-region.yaml';

describe('what a key holds [VARY-2]', () => {
  it.each([
    [400000, { kind: 'number', value: 400000 }],
    ['400000/s', { kind: 'rate', value: 400000 }],
    ['330k/s', { kind: 'rate', value: 330000 }],
    ['10Gbps', { kind: 'bandwidth', value: 1e10 }],
    ['500B', { kind: 'size', value: 500 }],
    ['4KiB', { kind: 'size', value: 4096 }],
    ['70ms', { kind: 'duration', value: 70 }],
    ['1.5m', { kind: 'duration', value: 90000 }],
    ['0.25', { kind: 'number', value: 0.25 }],
  ])('%j', (written, expected) => {
    expect(classify(written)).toEqual(expected);
  });

  it('a topic, a list or a boolean is none of them', () => {
    expect(classify('orders/us/c{rand:166667}')).toBeUndefined();
    expect(classify(true)).toBeUndefined();
    expect(classify(['a'])).toBeUndefined();
  });
});

describe('paths into the file [VARY-1]', () => {
  it('parses keys and indexes', () => {
    expect(parsePath('publishers[0].rate', 'x')).toEqual(['publishers', 0, 'rate']);
    expect(parsePath('faults[12].at', 'x')).toEqual(['faults', 12, 'at']);
    expect(parsePath('model.transportOverhead', 'x')).toEqual(['model', 'transportOverhead']);
    expect(() => parsePath('publishers[x].rate', 'x')).toThrow(/expected "\.key" or "\[index\]" at column 11/);
  });

  it('resolves against the file: kind, value and range', () => {
    const v = parseVary('publishers[0].rate=100000/s..2M/s', SEED, FILE);
    expect(v).toMatchObject({ path: 'publishers[0].rate', kind: 'rate', currentText: '400000/s', current: 400000, from: 100000, to: 2e6, whole: false });
    expect(parseVary('links[1].bandwidth=10Gbps..100Mbps', SEED, FILE)).toMatchObject({ kind: 'bandwidth', from: 1e10, to: 1e8 });
    expect(parseVary('subscribers[0].count=1000..100000', SEED, FILE)).toMatchObject({ kind: 'number', whole: true });
    expect(parseVary('duration=1s..5s', SEED, FILE)).toMatchObject({ kind: 'duration', from: 1000, to: 5000 });
  });

  it('a key the file does not have is an error naming the keys it has, even one with a default', () => {
    expect(() => parseVary('publishers[0].arrival=1..2', SEED, FILE)).toThrow(VaryError);
    expect(() => parseVary('publishers[0].arrival=1..2', SEED, FILE)).toThrow(/has no key "arrival" \(keys: region, rate, topic, size, type; only keys written in the file can be varied\)$/);
    expect(() => parseVary('links[9].rtt=1ms..2ms', SEED, FILE)).toThrow(/links in .* has 4 entries \(links\[0\]\.\.links\[3\]\)$/);
    expect(() => parseVary('regions[0].brokers=1..2', SEED, FILE)).toThrow(/regions\[0\]\.brokers in .* is a list, not a number/);
  });
});

describe('values [VARY-3]', () => {
  it('linear, both ends included, six significant digits', () => {
    expect(stepValues({ text: 'x', from: 100000, to: 2e6, whole: false }, 10, 'linear')).toEqual([100000, 311111, 522222, 733333, 944444, 1.15556e6, 1.36667e6, 1.57778e6, 1.78889e6, 2e6]);
  });

  it('downwards, and geometric with log', () => {
    expect(stepValues({ text: 'x', from: 1e10, to: 1e8, whole: false }, 3, 'log')).toEqual([1e10, 1e9, 1e8]);
    expect(stepValues({ text: 'x', from: 8, to: 2, whole: false }, 4, 'linear')).toEqual([8, 6, 4, 2]);
  });

  it('whole keys stay whole; rounding that repeats a value is an error', () => {
    expect(stepValues({ text: 'x', from: 1000, to: 100000, whole: true }, 4, 'log')).toEqual([1000, 4642, 21544, 100000]);
    expect(() => stepValues({ text: 'count=1..3', from: 1, to: 3, whole: true }, 5, 'linear')).toThrow(/5 steps repeat a value \(2\) once rounded to whole numbers/);
  });

  it('written in the file as the loader reads them back exactly, and shown for people', () => {
    for (const [kind, v] of [
      ['rate', 1366670],
      ['bandwidth', 4.64159e8],
      ['size', 1500],
      ['duration', 12500],
      ['number', 21544],
    ] as const) {
      const text = valueText(kind, v);
      expect(classify(text)?.value ?? Number(text), `${kind} ${text}`).toBe(v);
    }
    expect(valueText('rate', 1.2e6)).toBe('1.2M/s');
    expect(displayValue('rate', 1.2e6)).toBe('1,200,000/s');
    expect(displayValue('bandwidth', 4.64159e8)).toBe('464 Mbps');
  });
});

describe('a value written in place [VARY-4]', () => {
  it('changes that scalar and no other byte; the loader reads the new value', () => {
    const text = applyValues(SEED, [
      { keys: ['publishers', 0, 'rate'], text: '1.2M/s' },
      { keys: ['links', 1, 'bandwidth'], text: '464159kbps' },
    ]);
    const a = SEED.split('\n');
    const b = text.split('\n');
    expect(b).toHaveLength(a.length);
    expect(b.filter((l, i) => l !== a[i])).toEqual([
      '  - { between: [us-1, eu-1], rtt: 70ms, bandwidth: 464159kbps, jitter: 1ms }',
      '  - { region: us-east-1, rate: 1.2M/s, topic: "orders/us/c{rand:166667}", size: 500B, type: com.acme.order.created }',
    ]);
    const s = parseScenario(text, FILE);
    expect(s.publishers[0]?.ratePerSec).toBe(1.2e6);
    expect(s.links[1]?.bandwidthBps).toBe(464159000);
    expect(s.publishers[1]?.ratePerSec).toBe(350000);
  });
});
