/**
 * Fixtures for trie tests and benchmarks: realistic subscription patterns and topics that hit
 * some of them. Everything random draws from the `rand` passed in (a [0,1) generator), so a
 * seeded generator gives the same fixtures every time.
 *
 * Grammar (all ids from fixed spaces, so topics from makeTopics hit patterns from makePatterns):
 *   orders/{region}/c{customer}              payments/{region}/m{merchant}/{status}
 *   sensors/b{building}/f{floor}/{metric}    devices/d{device}/telemetry/{metric}[/core{k}]
 */

const REGIONS = ['us', 'eu', 'ap', 'sa', 'me', 'af'] as const;
const METRICS = ['temp', 'humidity', 'co2', 'power', 'door', 'motion', 'light', 'noise'] as const;
const STATUSES = ['authorized', 'settled', 'refunded', 'failed'] as const;
const CUSTOMERS = 100_000;
const MERCHANTS = 50_000;
const BUILDINGS = 2_000;
const FLOORS = 40;
const DEVICES = 100_000;
const CORES = 8;

function int(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[int(rand, xs.length)] as T;
}

function exactPattern(rand: () => number): string {
  switch (int(rand, 4)) {
    case 0:
      return `orders/${pick(rand, REGIONS)}/c${int(rand, CUSTOMERS)}`;
    case 1:
      return `sensors/b${int(rand, BUILDINGS)}/f${int(rand, FLOORS)}/${pick(rand, METRICS)}`;
    case 2:
      return `devices/d${int(rand, DEVICES)}/telemetry/${pick(rand, METRICS)}`;
    default:
      return `payments/${pick(rand, REGIONS)}/m${int(rand, MERCHANTS)}/${pick(rand, STATUSES)}`;
  }
}

function plusPattern(rand: () => number): string {
  switch (int(rand, 6)) {
    case 0:
      return `orders/+/c${int(rand, CUSTOMERS)}`;
    case 1:
      return `sensors/b${int(rand, BUILDINGS)}/+/${pick(rand, METRICS)}`;
    case 2:
      return `sensors/+/+/${pick(rand, METRICS)}`;
    case 3:
      return `devices/d${int(rand, DEVICES)}/+/${pick(rand, METRICS)}`;
    case 4:
      return `devices/+/telemetry/${pick(rand, METRICS)}/core${int(rand, CORES)}`;
    default:
      return `payments/+/m${int(rand, MERCHANTS)}/+`;
  }
}

function hashPattern(rand: () => number): string {
  switch (int(rand, 5)) {
    case 0:
      return `orders/${pick(rand, REGIONS)}/#`;
    case 1:
      return `sensors/b${int(rand, BUILDINGS)}/f${int(rand, FLOORS)}/#`;
    case 2:
      return `devices/d${int(rand, DEVICES)}/#`;
    case 3:
      return `payments/${pick(rand, REGIONS)}/m${int(rand, MERCHANTS)}/#`;
    default:
      return `orders/${pick(rand, REGIONS)}/c${int(rand, CUSTOMERS)}/#`;
  }
}

/**
 * `n` distinct patterns: about 70% exact, 20% with `+` levels, 10% ending in `#`. The kind is
 * drawn first and a duplicate is redrawn within its kind, so the mix holds even when some
 * templates run out of distinct patterns. Throws if the grammar cannot supply `n` distinct
 * patterns (it holds a few million).
 */
export function makePatterns(n: number, rand: () => number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < n) {
    const r = rand();
    const make = r < 0.7 ? exactPattern : r < 0.9 ? plusPattern : hashPattern;
    for (let tries = 0; ; tries++) {
      if (tries === 1000) throw new Error(`makePatterns: cannot find ${n} distinct patterns`);
      const p = make(rand);
      if (seen.has(p)) continue;
      seen.add(p);
      out.push(p);
      break;
    }
  }
  return out;
}

/** `n` topics (3 to 5 levels, duplicates possible) from the same id spaces as makePatterns. */
export function makeTopics(n: number, rand: () => number): string[] {
  const out: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    switch (int(rand, 5)) {
      case 0:
        out[i] = `orders/${pick(rand, REGIONS)}/c${int(rand, CUSTOMERS)}`;
        break;
      case 1:
        out[i] = `sensors/b${int(rand, BUILDINGS)}/f${int(rand, FLOORS)}/${pick(rand, METRICS)}`;
        break;
      case 2:
        out[i] = `devices/d${int(rand, DEVICES)}/telemetry/${pick(rand, METRICS)}`;
        break;
      case 3:
        out[i] = `devices/d${int(rand, DEVICES)}/telemetry/${pick(rand, METRICS)}/core${int(rand, CORES)}`;
        break;
      default:
        out[i] = `payments/${pick(rand, REGIONS)}/m${int(rand, MERCHANTS)}/${pick(rand, STATUSES)}`;
    }
  }
  return out;
}

/** A small seeded [0,1) generator (mulberry32) for tests and benchmarks that need one. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
