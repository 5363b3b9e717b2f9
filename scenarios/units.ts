/**
 * Units in scenario files: durations, sizes, rates and bandwidths are strings with units, parsed
 * here into plain numbers (ms, bytes, per second, bits per second), and formatted back for humans.
 *
 * [UNITS-1] Sizes: `KB`, `MB`, `GB`, `TB` are decimal (1 KB = 1000 B, so seed 002's 40 KB per
 * socket is 40,000 B); `KiB`, `MiB`, `GiB`, `TiB` are binary (1 KiB = 1024 B). `B` is bytes; a
 * lowercase `b` (bits) is rejected in sizes.
 * [UNITS-2] Bandwidth is always decimal bits per second: `1Gbps` = 1e9 bit/s.
 *
 * Parsers never throw: they return the number, or a `ParseFailure` whose `expected` completes the
 * sentence "expected …" (the scenario loader puts it in its one-line messages).
 *
 * The patterns in scenario.schema.json ($defs duration/size/rate/bandwidth) accept exactly
 * what these parsers accept; units.test.ts checks the two agree.
 */

/** Why a unit string did not parse: completes "expected …". */
export interface ParseFailure {
  readonly expected: string;
}

/** A parsed number, or why it did not parse. */
export type Parsed = number | ParseFailure;

/** True when a parser returned a failure rather than a number. */
export function isParseFailure(p: Parsed): p is ParseFailure {
  return typeof p !== 'number';
}

// A non-negative decimal: "12", "1.5", "0.25", ".5", "3." (no sign, no exponent).
const NUMBER = String.raw`(\d+(?:\.\d*)?|\.\d+)`;

/** Milliseconds per duration unit. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/** Bytes per size unit. */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** Multipliers for rate counts ("330k/s") and bandwidth prefixes ("10Gbps"). */
const METRIC_PREFIXES: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Seconds per rate unit (the part after the slash). */
const RATE_UNITS: Readonly<Record<string, number>> = { ms: 1e-3, s: 1, m: 60, min: 60, h: 3600 };

const DURATION_RE = new RegExp(String.raw`^\s*${NUMBER}\s*(ns|us|µs|ms|s|min|m|h)\s*$`);
const SIZE_RE = new RegExp(String.raw`^\s*${NUMBER}\s*(B|KB|kB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$`);
const RATE_RE = new RegExp(String.raw`^\s*${NUMBER}\s*([kKMG]?)\s*/\s*(ms|s|min|m|h)\s*$`);
const BANDWIDTH_RE = new RegExp(String.raw`^\s*${NUMBER}\s*([kKMGT]?)bps\s*$`);

/** What each parser expects, as the loader prints it. */
export const EXPECTED = {
  duration: 'a duration such as "70ms" (units: us, ms, s, m, h)',
  size: 'a size such as "500B" or "4KB" (units: B, KB, MB, GB = powers of 1000; KiB, MiB, GiB = powers of 1024)',
  rate: 'a rate such as "330000/s", "330k/s" or "100/ms"',
  bandwidth: 'a bandwidth such as "10Gbps" (units: bps, kbps, Mbps, Gbps, Tbps)',
} as const;

function fail(expected: string): ParseFailure {
  return { expected };
}

/** [UNITS-3] `500us`, `70ms`, `2s`, `1.5m`, `1h` (also `ns`, `µs`, `min`) → milliseconds. */
export function parseDuration(text: string): Parsed {
  const m = DURATION_RE.exec(text);
  if (m === null) {
    if (/^\s*\d+(\.\d*)?\s*$/.test(text)) return fail(`${EXPECTED.duration}; a bare number needs a unit`);
    return fail(EXPECTED.duration);
  }
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/** [UNITS-1] `500B`, `4KB` (4000), `4KiB` (4096), `64MB`, `1GB`, `1GiB` → whole bytes. */
export function parseSize(text: string): Parsed {
  const m = SIZE_RE.exec(text);
  if (m === null) {
    if (/^\s*[\d.]+\s*[kKMGT]?i?b\s*$/.test(text)) {
      return fail(`${EXPECTED.size}; a lowercase "b" means bits, sizes are in bytes ("B")`);
    }
    if (/^\s*[\d.]+\s*[kKMGT]?bps\s*$/.test(text)) return fail(`${EXPECTED.size}; "bps" is a bandwidth`);
    return fail(EXPECTED.size);
  }
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!]!;
  if (m[2] === 'B' && !Number.isInteger(bytes)) return fail(`${EXPECTED.size}; bytes are whole`);
  return Math.round(bytes);
}

/** [UNITS-4] `330000/s`, `330k/s`, `1M/s`, `100/ms`, `60/m`, `3600/h` → events per second. */
export function parseRate(text: string): Parsed {
  const m = RATE_RE.exec(text);
  if (m === null) {
    if (/^\s*[\d.]+\s*[kKMG]?\s*$/.test(text)) return fail(`${EXPECTED.rate}; a rate needs a time unit such as "/s"`);
    return fail(EXPECTED.rate);
  }
  return (Number(m[1]) * METRIC_PREFIXES[m[2]!]!) / RATE_UNITS[m[3]!]!;
}

/** [UNITS-2] `10Gbps`, `100Mbps`, `512kbps`, `1.5Gbps` → bits per second. */
export function parseBandwidth(text: string): Parsed {
  const m = BANDWIDTH_RE.exec(text);
  if (m === null) {
    if (/^\s*[\d.]+\s*[kKMGT]?i?B(\/s|ps)\s*$/.test(text)) {
      return fail(`${EXPECTED.bandwidth}; bandwidth is in bits per second (bytes × 8)`);
    }
    return fail(EXPECTED.bandwidth);
  }
  return Number(m[1]) * METRIC_PREFIXES[m[2]!]!;
}

// ---------------------------------------------------------------------------------------------
// Formatters: three significant figures, decimal prefixes ("1.04 Gbps", "12.3 ms", "64.0 MB").

/** Three significant figures for 1 ≤ |x| < 1000 (and below 1 as two decimals). */
function sig3(x: number): string {
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/**
 * Scales `value` through `steps` (ascending [factor, suffix]) and formats it with three
 * significant figures. A value that rounds up to 1000 of one unit moves to the next unit.
 * `integerBase`: values in the first unit that are whole print without decimals ("500 B").
 */
function scaled(value: number, steps: readonly (readonly [number, string])[], integerBase: boolean): string {
  if (!Number.isFinite(value)) return String(value);
  if (value < 0) return `-${scaled(-value, steps, integerBase)}`;
  if (value === 0) return `0${steps[0]![1]}`;
  let k = 0;
  for (let j = steps.length - 1; j > 0; j--) {
    if (value >= steps[j]![0]) {
      k = j;
      break;
    }
  }
  let x = value / steps[k]![0];
  // toFixed may round 999.6 up to "1000": move to the next unit instead.
  if (Number(sig3(x)) >= 1000 && k + 1 < steps.length) {
    k++;
    x = value / steps[k]![0];
  }
  if (k === 0 && integerBase && Number.isInteger(x)) return `${x}${steps[0]![1]}`;
  return `${sig3(x)}${steps[k]![1]}`;
}

const BYTE_STEPS = [
  [1, ' B'],
  [1e3, ' KB'],
  [1e6, ' MB'],
  [1e9, ' GB'],
  [1e12, ' TB'],
] as const;

const DURATION_STEPS = [
  [1e-6, ' ns'],
  [1e-3, ' µs'],
  [1, ' ms'],
  [1000, ' s'],
] as const;

const RATE_STEPS = [
  [1, '/s'],
  [1e3, 'k/s'],
  [1e6, 'M/s'],
  [1e9, 'G/s'],
] as const;

const BPS_STEPS = [
  [1, ' bps'],
  [1e3, ' kbps'],
  [1e6, ' Mbps'],
  [1e9, ' Gbps'],
  [1e12, ' Tbps'],
] as const;

/** Bytes, decimal units: `formatBytes(64e6)` = "64.0 MB", `formatBytes(500)` = "500 B". */
export function formatBytes(bytes: number): string {
  return scaled(bytes, BYTE_STEPS, true);
}

/**
 * Milliseconds: "500 µs", "12.3 ms", "2.00 s"; a minute or more as "1.50 min", an hour or more
 * as "2.00 h".
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0 ms';
  if (Number.isFinite(ms) && Math.abs(ms) >= 3_600_000) return `${sig3(ms / 3_600_000)} h`;
  if (Number.isFinite(ms) && Math.abs(ms) >= 60_000) return `${sig3(ms / 60_000)} min`;
  return scaled(ms, DURATION_STEPS, false);
}

/** Events per second: "330k/s", "1.00M/s", "50/s". */
export function formatRate(perSec: number): string {
  return scaled(perSec, RATE_STEPS, true);
}

/** Bits per second: "1.04 Gbps", "960 Mbps", "512 kbps". */
export function formatBps(bps: number): string {
  return scaled(bps, BPS_STEPS, true);
}

// ---------------------------------------------------------------------------------------------
// Exact unit strings, for writing scenario files ("20s", "10Mbps", "330k/s").
//
// [UNITS-5] Unlike the formatters above (three significant figures, for reading), these give a
// string that the matching parser turns back into exactly the same number, so a tool can write
// a scenario file that replays what it saw. The unit is the largest in which the number is at
// least 1 ("300ms", "1.5s", "15m", "10Mbps", "330k/s"), as long as the text is exact and short;
// otherwise the shortest exact text.

/** [unit factor, unit text] in order of preference; a group is tried before the next group. */
type UnitGroup = readonly (readonly [factor: number, text: string])[];

/** Significant digits of a plain decimal: "0.016666" → 5, "330" → 3, "1.5" → 2. */
function significantDigits(digits: string): number {
  return digits.replace(/\D/g, '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
}

function exactText(value: number, groups: readonly UnitGroup[], parse: (s: string) => Parsed, zero: string, what: string): string {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what}: expected a finite number >= 0, got ${value}`);
  if (value === 0) return zero;
  let overall: string | undefined;
  for (const group of groups) {
    let natural: string | undefined;
    let shortest: string | undefined;
    for (const [factor, unit] of group) {
      const q = value / factor;
      // Division leaves float noise (0.00025 / 1e-6 = 249.99999999999997): try rounded forms too.
      for (const n of new Set([Number(q.toPrecision(12)), Number(q.toPrecision(15)), q])) {
        const digits = String(n);
        if (/e/i.test(digits)) continue; // the parsers take plain decimals only
        const text = `${digits}${unit}`;
        if (parse(text) !== value) continue;
        if (natural === undefined && n >= 1 && significantDigits(digits) <= 9) natural = text;
        if (shortest === undefined || text.length < shortest.length) shortest = text;
        break;
      }
      if (natural !== undefined) break;
    }
    const best = natural ?? shortest;
    if (best === undefined) continue;
    // A later group only when this one needs a long number ("0.016666666666666666/s" → "1/m").
    if (significantDigits(best) <= 6) return best;
    if (overall === undefined || best.length < overall.length) overall = best;
  }
  if (overall !== undefined) return overall;
  // Not exactly representable (e.g. below a nanosecond): the nearest plain decimal.
  const [factor, unit] = groups[groups.length - 1]![groups[groups.length - 1]!.length - 1]!;
  return `${(value / factor).toFixed(12).replace(/\.?0+$/, '')}${unit}`;
}

const DURATION_TEXT: readonly UnitGroup[] = [
  [
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
    [1e-3, 'us'],
    [1e-6, 'ns'],
  ],
];

const RATE_TEXT: readonly UnitGroup[] = [
  [
    [1e9, 'G/s'],
    [1e6, 'M/s'],
    [1e3, 'k/s'],
    [1, '/s'],
  ],
  [[1 / 60, '/m']],
  [[1 / 3600, '/h']],
  [[1000, '/ms']],
];

const BANDWIDTH_TEXT: readonly UnitGroup[] = [
  [
    [1e12, 'Tbps'],
    [1e9, 'Gbps'],
    [1e6, 'Mbps'],
    [1e3, 'kbps'],
    [1, 'bps'],
  ],
];

/** [UNITS-5] Milliseconds as a duration string that parses back exactly: 20000 → "20s", 1.5 → "1.5ms". */
export function durationText(ms: number): string {
  return exactText(ms, DURATION_TEXT, parseDuration, '0ms', 'durationText');
}

/** [UNITS-5] Events per second as a rate string that parses back exactly: 10 → "10/s", 330000 → "330k/s". */
export function rateText(perSec: number): string {
  return exactText(perSec, RATE_TEXT, parseRate, '0/s', 'rateText');
}

/** [UNITS-5] Bits per second as a bandwidth string that parses back exactly: 1e7 → "10Mbps". */
export function bandwidthText(bps: number): string {
  return exactText(bps, BANDWIDTH_TEXT, parseBandwidth, '0bps', 'bandwidthText');
}
