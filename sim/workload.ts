/**
 * Publishers and subscriber populations, expanded from a scenario.
 *
 * A publisher entry on a region spreads its rate evenly over the region's brokers (one stream
 * per broker); on a broker it is one stream. Each stream draws inter-arrival times from its own
 * fork of the run's seeded generator: exponential (Poisson arrivals) or a fixed interval with a
 * random phase (constant). One kernel event per publish: the event fires when the publish
 * reaches the broker, and the publish time is that minus the client's one-way delay.
 *
 * A subscriber entry expands its pattern template to `patterns` distinct patterns and spreads
 * `count` over them (and over a region's brokers, round-robin by pattern index); identical
 * subscribers share one routing entry but count as `count` deliveries and connections.
 */
import type { FunctionModelSpec } from './functions.ts';
import { ANONYMOUS } from '../engine/broker.ts';
import type { HeaderValue, Headers } from '../engine/types.ts';
import { compileData, type DataTemplate } from '../scenarios/data.ts';
import { compileTemplate, HEADER_PLACEHOLDERS, isTemplateError, PATTERN_PLACEHOLDERS, TOPIC_PLACEHOLDERS, type CompiledTemplate, type TemplateContext } from '../scenarios/template.ts';
import type { PublisherSpec, Scenario, SubscriberSpec } from '../scenarios/types.ts';
import type { Rng } from './rng.ts';

/** One publishing stream on one broker. */
export class PublishStream {
  /** Events published so far ({n} counts from 0). */
  n = 0;
  readonly payload: Uint8Array;
  readonly meanGapMs: number;
  private readonly ctx: { n: number; i: number; region: string; broker: string; rand: () => number };
  private readonly topicT: CompiledTemplate;
  private readonly headerKeys: string[] = [];
  private readonly headerTs: Array<CompiledTemplate | null> = [];
  private readonly headerConsts: HeaderValue[] = [];
  private readonly constHeaders: Headers | null;
  /** [DATA-1] The payload templates (valid, invalid) and their bytes when constant; null without data:. */
  private readonly dataT: DataTemplate | null;
  private readonly invalidT: DataTemplate | null;
  private readonly dataBytes: Uint8Array | null;
  private readonly invalidBytes: Uint8Array | null;
  private readonly invalidShare: number;
  /**
   * [DATA-3] The data's own source (a fork of the stream's): which events are invalid and what
   * the data's random placeholders draw leave the stream's arrivals, topics and headers as they
   * are, so a run with invalid: 0 and one with 0.2 publish the same events, less the invalid ones.
   */
  private readonly dataRng: Rng;
  private readonly dataCtx: { n: number; i: number; region: string; broker: string; rand: () => number };
  /** Whether the last `nextPayload` was the invalid data. */
  lastInvalid = false;
  readonly source: string;

  constructor(
    readonly index: number,
    readonly spec: PublisherSpec,
    readonly broker: string,
    readonly region: string,
    readonly ratePerSec: number,
    readonly rng: Rng,
  ) {
    this.payload = new Uint8Array(spec.sizeBytes);
    this.meanGapMs = 1000 / ratePerSec;
    this.source = `/meshtwin/${broker}/publisher-${index}`;
    const rand = () => rng.next();
    this.ctx = { n: 0, i: 0, region, broker, rand };
    this.topicT = mustCompile(spec.topic, TOPIC_PLACEHOLDERS);
    // A constant template is rendered once ({{ and }} escapes included); numbers and booleans stay.
    const fixed: Record<string, HeaderValue> = {};
    let allConst = true;
    for (const [k, v] of Object.entries(spec.headers)) {
      const t = typeof v === 'string' ? mustCompile(v, HEADER_PLACEHOLDERS) : null;
      const value = t === null ? v : t.isConstant ? t.render(this.ctx as TemplateContext) : v;
      this.headerKeys.push(k);
      this.headerTs.push(t === null || t.isConstant ? null : t);
      this.headerConsts.push(value);
      fixed[k] = value;
      if (t !== null && !t.isConstant) allConst = false;
    }
    this.constHeaders = allConst ? Object.freeze(fixed) : null;
    const d = spec.data;
    const dataRng = (this.dataRng = rng.fork('data'));
    this.dataCtx = { n: 0, i: 0, region, broker, rand: () => dataRng.next() };
    this.dataT = d === null ? null : mustCompileData(d.template);
    this.invalidT = d === null || d.invalid === 0 ? null : mustCompileData(d.invalidTemplate);
    this.invalidShare = d?.invalid ?? 0;
    this.dataBytes = this.dataT?.isConstant ? UTF8.encode(this.dataT.render(this.dataCtx)) : null;
    this.invalidBytes = this.invalidT?.isConstant ? UTF8.encode(this.invalidT.render(this.dataCtx)) : null;
  }

  /** Gap to the next publish. */
  nextGapMs(): number {
    return this.spec.arrival === 'poisson' ? this.rng.exp(this.meanGapMs) : this.meanGapMs;
  }

  /** Phase of the first publish after the stream's start. */
  firstGapMs(): number {
    return this.spec.arrival === 'poisson' ? this.rng.exp(this.meanGapMs) : this.rng.next() * this.meanGapMs;
  }

  topic(): string {
    this.ctx.n = this.n;
    return this.topicT.render(this.ctx as TemplateContext);
  }

  /**
   * The next event's payload: `payload` (zeros) without data:; else the data rendered, or — for
   * a share `invalid` of events, drawn from the data's own source [DATA-3] — the invalid data
   * [SCHEMA-7]. Draws nothing for a publisher without data: (its runs are unchanged).
   */
  nextPayload(): Uint8Array {
    const t = this.dataT;
    if (t === null) return this.payload;
    if (this.invalidShare > 0 && this.dataRng.next() < this.invalidShare) {
      this.lastInvalid = true;
      if (this.invalidBytes !== null) return this.invalidBytes;
      this.dataCtx.n = this.n;
      return UTF8.encode((this.invalidT as DataTemplate).render(this.dataCtx));
    }
    this.lastInvalid = false;
    if (this.dataBytes !== null) return this.dataBytes;
    this.dataCtx.n = this.n;
    return UTF8.encode(t.render(this.dataCtx));
  }

  headers(): Headers {
    if (this.constHeaders !== null) return this.constHeaders;
    this.ctx.n = this.n;
    const h: Record<string, HeaderValue> = {};
    for (let k = 0; k < this.headerKeys.length; k++) {
      const t = this.headerTs[k];
      h[this.headerKeys[k] as string] = t === null || t === undefined ? (this.headerConsts[k] as HeaderValue) : t.renderValue(this.ctx as TemplateContext);
    }
    return h;
  }
}

/** One subscription population on one broker. */
export interface Population {
  readonly index: number;
  readonly broker: string;
  readonly region: string;
  readonly pattern: string;
  readonly filter: string | null;
  readonly count: number;
  /** Which scenario subscriber entry it came from. */
  readonly entry: number;
  /** Per-subscriber consume rate (undefined: as fast as events arrive). */
  readonly consumeRatePerSec: number | undefined;
  /** Broker-side queue per subscriber before the slow-consumer policy acts. */
  readonly queueLimit: number;
  /** Who subscribes, for the policy. */
  readonly principal: string;
  /** A function subscription's handler (sim/functions.ts), or null. */
  readonly fn: FunctionModelSpec | null;
}

/** Which brokers a region/broker reference names. */
export function brokersOf(scenario: Scenario, ref: { region?: string; broker?: string }): string[] {
  if (ref.broker !== undefined) return [ref.broker];
  const region = scenario.regions.find((r) => r.id === ref.region);
  return region === undefined ? [] : [...region.brokers];
}

export function regionOf(scenario: Scenario, broker: string): string {
  for (const r of scenario.regions) if (r.brokers.includes(broker)) return r.id;
  throw new Error(`broker ${broker} is in no region`);
}

export function expandPublishers(scenario: Scenario, rng: Rng): PublishStream[] {
  const streams: PublishStream[] = [];
  scenario.publishers.forEach((spec, entry) => {
    const brokers = brokersOf(scenario, spec);
    for (const b of brokers) {
      const index = streams.length;
      streams.push(new PublishStream(index, spec, b, regionOf(scenario, b), spec.ratePerSec / brokers.length, rng.fork(`publisher-${entry}-${b}`)));
    }
  });
  return streams;
}

export function expandSubscribers(scenario: Scenario): Population[] {
  const pops: Population[] = [];
  scenario.subscribers.forEach((spec: SubscriberSpec, entry) => {
    const brokers = brokersOf(scenario, spec);
    const t = mustCompile(spec.pattern, PATTERN_PLACEHOLDERS);
    const per = Math.floor(spec.count / spec.patterns);
    const extra = spec.count - per * spec.patterns;
    for (let i = 0; i < spec.patterns; i++) {
      const count = per + (i < extra ? 1 : 0);
      if (count === 0) continue;
      const broker = brokers[i % brokers.length] as string;
      const region = regionOf(scenario, broker);
      const pattern = t.render({ n: 0, i, region, broker, rand: () => 0 });
      pops.push({
        index: pops.length,
        broker,
        region,
        pattern,
        filter: spec.filter ?? null,
        count,
        entry,
        consumeRatePerSec: spec.consumeRatePerSec,
        queueLimit: spec.queueLimit ?? 10_000,
        principal: spec.principal ?? ANONYMOUS,
        fn: spec.function ?? null,
      });
    }
  });
  return pops;
}

const UTF8 = new TextEncoder();

function mustCompileData(value: unknown): DataTemplate {
  const t = compileData(value);
  // The loader already rejected bad data templates with their place; an internal assertion.
  if ('error' in t) throw new Error(`data template at ${JSON.stringify(t.path)}: ${t.error}`);
  return t;
}

function mustCompile(src: string, allowed: readonly string[]): CompiledTemplate {
  const t = compileTemplate(src, allowed);
  // The loader already rejected bad templates with a line number; this is an internal assertion.
  if (isTemplateError(t)) throw new Error(`template ${JSON.stringify(src)}: ${t.error}`);
  return t;
}
