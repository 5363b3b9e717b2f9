import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bandwidthText,
  durationText,
  formatBps,
  formatBytes,
  formatDuration,
  formatRate,
  isParseFailure,
  parseBandwidth,
  parseDuration,
  parseRate,
  parseSize,
  rateText,
  type Parsed,
} from './units.ts';

const close = (got: Parsed, want: number): void => {
  expect(isParseFailure(got)).toBe(false);
  expect(got as number).toBeCloseTo(want, 9);
};

describe('[UNITS-3] durations → ms', () => {
  it.each([
    ['500us', 0.5],
    ['500µs', 0.5],
    ['250ns', 0.00025],
    ['70ms', 70],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['0ms', 0],
    ['.5s', 500],
    [' 70 ms ', 70],
  ])('%s = %d ms', (text, ms) => close(parseDuration(text), ms));

  it.each(['fast', '70', '70 millis', '-5ms', '1e3ms', '', 'ms', '5 s s', '70MS'])('rejects %j', (text) => {
    const r = parseDuration(text);
    expect(isParseFailure(r) && r.expected).toMatch(/^a duration such as "70ms"/);
  });

  it('says a bare number needs a unit', () => {
    expect(parseDuration('70')).toEqual({ expected: expect.stringContaining('a bare number needs a unit') });
  });
});

describe('[UNITS-1] sizes → bytes (KB = 1000, KiB = 1024)', () => {
  it.each([
    ['500B', 500],
    ['4KB', 4000],
    ['4kB', 4000],
    ['4KiB', 4096],
    ['40KB', 40_000],
    ['64MB', 64_000_000],
    ['1GB', 1e9],
    ['1GiB', 1024 ** 3],
    ['2TiB', 2 * 1024 ** 4],
    ['1.5KB', 1500],
    ['0.5KiB', 512],
    ['0B', 0],
  ])('%s = %d B', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each([
    ['500b', 'bits'],
    ['4Kb', 'bits'],
    ['10Mbps', 'bandwidth'],
    ['1.5B', 'whole'],
    ['500', 'a size such as'],
    ['big', 'a size such as'],
  ])('rejects %j (%s)', (text, why) => {
    const r = parseSize(text);
    expect(isParseFailure(r) && r.expected).toContain(why);
  });
});

describe('[UNITS-4] rates → per second', () => {
  it.each([
    ['330000/s', 330_000],
    ['330k/s', 330_000],
    ['330K/s', 330_000],
    ['1M/s', 1_000_000],
    ['1.5M/s', 1_500_000],
    ['100/ms', 100_000],
    ['60/m', 1],
    ['60/min', 1],
    ['3600/h', 1],
    ['0/s', 0],
    ['400000 / s', 400_000],
  ])('%s = %d/s', (text, perSec) => close(parseRate(text), perSec));

  it.each(['330000', 'fast', '1m/s', '/s', '5/d', '-1/s'])('rejects %j', (text) => {
    const r = parseRate(text);
    expect(isParseFailure(r) && r.expected).toMatch(/^a rate such as "330000\/s"/);
  });
});

describe('[UNITS-2] bandwidth → bits/s (decimal)', () => {
  it.each([
    ['10Gbps', 10e9],
    ['100Mbps', 100e6],
    ['512kbps', 512e3],
    ['512Kbps', 512e3],
    ['1.5Gbps', 1.5e9],
    ['800bps', 800],
    ['1Tbps', 1e12],
  ])('%s = %d bps', (text, bps) => close(parseBandwidth(text), bps));

  it.each([
    ['10GB/s', 'bits per second'],
    ['10MBps', 'bits per second'],
    ['10G', 'a bandwidth such as'],
    ['fast', 'a bandwidth such as'],
    ['10gbps', 'a bandwidth such as'],
  ])('rejects %j', (text, why) => {
    const r = parseBandwidth(text);
    expect(isParseFailure(r) && r.expected).toContain(why);
  });
});

describe('formatters', () => {
  it.each([
    [0, '0 B'],
    [500, '500 B'],
    [4000, '4.00 KB'],
    [40_000, '40.0 KB'],
    [64e6, '64.0 MB'],
    [999_600, '1.00 MB'],
    [1.5e9, '1.50 GB'],
    [-2048, '-2.05 KB'],
  ])('formatBytes(%d) = %s', (n, s) => expect(formatBytes(n)).toBe(s));

  it.each([
    [0, '0 ms'],
    [0.5, '500 µs'],
    [0.0005, '500 ns'],
    [12.34, '12.3 ms'],
    [999.99, '1.00 s'],
    [2000, '2.00 s'],
    [90_000, '1.50 min'],
    [7_200_000, '2.00 h'],
  ])('formatDuration(%d) = %s', (n, s) => expect(formatDuration(n)).toBe(s));

  it.each([
    [0, '0/s'],
    [50, '50/s'],
    [12.5, '12.5/s'],
    [330_000, '330k/s'],
    [1e6, '1.00M/s'],
  ])('formatRate(%d) = %s', (n, s) => expect(formatRate(n)).toBe(s));

  it.each([
    [1.04e9, '1.04 Gbps'],
    [960e6, '960 Mbps'],
    [512e3, '512 kbps'],
    [10e9, '10.0 Gbps'],
    [800, '800 bps'],
  ])('formatBps(%d) = %s', (n, s) => expect(formatBps(n)).toBe(s));

  it('prints non-finite values as they are', () => {
    expect(formatBytes(NaN)).toBe('NaN');
    expect(formatBps(Infinity)).toBe('Infinity');
  });
});

describe('[UNITS-5] exact unit strings parse back to the same number', () => {
  it.each([
    [0, '0ms'],
    [20_000, '20s'],
    [90_000, '1.5m'],
    [300, '300ms'],
    [900_000, '15m'],
    [7_200_000, '2h'],
    [70, '70ms'],
    [1.5, '1.5ms'],
    [0.5, '500us'],
    [parseDuration('250ns') as number, '250ns'],
    [1500, '1.5s'],
    [1234, '1.234s'],
    [100.5, '100.5ms'],
  ])('durationText(%d) = %s', (ms, text) => {
    expect(durationText(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    [0, '0/s'],
    [10, '10/s'],
    [330_000, '330k/s'],
    [1e6, '1M/s'],
    [1_500_000, '1.5M/s'],
    [0.5, '0.5/s'],
    [1 / 60, '1/m'],
    [2.5, '2.5/s'],
  ])('rateText(%d) = %s', (perSec, text) => {
    expect(rateText(perSec)).toBe(text);
    expect(parseRate(text)).toBe(perSec);
  });

  it.each([
    [0, '0bps'],
    [10e6, '10Mbps'],
    [10e9, '10Gbps'],
    [1.5e9, '1.5Gbps'],
    [800, '800bps'],
    [1e12, '1Tbps'],
  ])('bandwidthText(%d) = %s', (bps, text) => {
    expect(bandwidthText(bps)).toBe(text);
    expect(parseBandwidth(text)).toBe(bps);
  });

  it('round-trips whatever the parsers produce', () => {
    const numbers = ['0', '1', '2.5', '0.1', '0.3', '.7', '3.', '12.34', '999.999', '1000', '33333', '1.5', '0.001', '7.25'];
    for (const n of numbers) {
      for (const u of ['ns', 'us', 'µs', 'ms', 's', 'm', 'min', 'h']) {
        const ms = parseDuration(`${n}${u}`) as number;
        expect([`${n}${u}`, parseDuration(durationText(ms))]).toEqual([`${n}${u}`, ms]);
      }
      for (const u of ['/ms', '/s', 'k/s', 'M/s', '/m', '/min', '/h', 'k/h']) {
        const r = parseRate(`${n}${u}`) as number;
        expect([`${n}${u}`, parseRate(rateText(r))]).toEqual([`${n}${u}`, r]);
      }
      for (const u of ['bps', 'kbps', 'Mbps', 'Gbps', 'Tbps']) {
        const b = parseBandwidth(`${n}${u}`) as number;
        expect([`${n}${u}`, parseBandwidth(bandwidthText(b))]).toEqual([`${n}${u}`, b]);
      }
    }
  });

  it('refuses negative and non-finite numbers', () => {
    expect(() => durationText(-1)).toThrow(RangeError);
    expect(() => rateText(NaN)).toThrow(RangeError);
    expect(() => bandwidthText(Infinity)).toThrow(RangeError);
  });
});

describe('the schema patterns accept exactly what the parsers accept', () => {
  const schema = JSON.parse(readFileSync(new URL('./scenario.schema.json', import.meta.url), 'utf8')) as {
    $defs: Record<string, { pattern: string }>;
  };
  const inputs = [
    '500us',
    '500µs',
    '70ms',
    '2s',
    '1.5m',
    '2min',
    '1h',
    '70',
    'fast',
    '.5s',
    '3.s',
    ' 5 s ',
    '1e3ms',
    '500B',
    '4KB',
    '4kB',
    '4KiB',
    '64MB',
    '1GiB',
    '500b',
    '4Kb',
    '1.5KB',
    '1.5B',
    '330000/s',
    '330k/s',
    '1M/s',
    '100/ms',
    '60/min',
    '1m/s',
    '330000',
    '5 / h',
    '10Gbps',
    '100Mbps',
    '512kbps',
    '1.5Gbps',
    '10GB/s',
    '10gbps',
    'bps',
    '',
  ];
  const cases: [string, (s: string) => Parsed][] = [
    ['duration', parseDuration],
    ['size', parseSize],
    ['rate', parseRate],
    ['bandwidth', parseBandwidth],
  ];
  it.each(cases)('%s', (def, parse) => {
    const re = new RegExp(schema.$defs[def]!.pattern, 'u');
    for (const text of inputs) {
      // A size of fractional bytes ("1.5B") matches the pattern but is refused by the parser.
      if (def === 'size' && text === '1.5B') continue;
      expect([text, re.test(text)]).toEqual([text, !isParseFailure(parse(text))]);
    }
  });
});
