/**
 * Routing, guaranteed-delivery and HA settings (`routing:`) and modeled figures (`model:`), with
 * their defaults.
 *
 * [LOAD-6] The defaults are ONE table, `ROUTING_DEFAULTS` (and `MODEL_DEFAULTS`): the loader
 * reads its defaults from it, and routing.test.ts checks it against the JSON Schema's `default`
 * of every key (scenario.schema.json) and against the engine's own defaults
 * (engine/broker.ts GUARANTEED_DEFAULTS), so the three cannot drift apart.
 * [LOAD-3] Contradictions fail at load time: a dead interval not above the hello interval, a
 * keepalive not below the takeover time, an ackDelay not below the first retransmission timeout.
 */
import type { ModelSpec, RoutingSpec } from '../types.ts';
import { formatDuration, parseDuration, parseSize, type Parsed } from '../units.ts';
import { article, describe, quote, type ScenarioPath } from './errors.ts';
import type { RawRouting, RawScenario } from './raw.ts';
import type { Source } from './source.ts';

/** One routing key: its YAML default, its unit, the RoutingSpec field it fills, the engine's name for it. */
export interface RoutingDefault {
  /** The default as the schema writes it ("500ms", "50GB", 16). */
  readonly text: string | number;
  readonly kind: 'duration' | 'size' | 'count';
  readonly spec: keyof RoutingSpec;
  /** The key of engine/broker.ts GUARANTEED_DEFAULTS that holds the engine's own default, if any. */
  readonly engine?: 'retransmitMs' | 'ackDelayMs' | 'ledgerTtlMs' | 'spoolBytes' | 'keepaliveMs';
  /** The value must be above zero. */
  readonly positive: boolean;
}

/** [LOAD-6] Every `routing:` key, in schema order. */
export const ROUTING_DEFAULTS: Readonly<Record<keyof RawRouting, RoutingDefault>> = {
  helloInterval: { text: '500ms', kind: 'duration', spec: 'helloIntervalMs', positive: true },
  deadInterval: { text: '2s', kind: 'duration', spec: 'deadIntervalMs', positive: false },
  hopLimit: { text: 16, kind: 'count', spec: 'hopLimit', positive: true },
  retransmit: { text: '200ms', kind: 'duration', spec: 'retransmitMs', engine: 'retransmitMs', positive: false },
  ackDelay: { text: '2ms', kind: 'duration', spec: 'ackDelayMs', engine: 'ackDelayMs', positive: false },
  ledgerTtl: { text: '15m', kind: 'duration', spec: 'ledgerTtlMs', engine: 'ledgerTtlMs', positive: true },
  spool: { text: '50GB', kind: 'size', spec: 'spoolBytes', engine: 'spoolBytes', positive: false },
  keepalive: { text: '100ms', kind: 'duration', spec: 'keepaliveMs', engine: 'keepaliveMs', positive: true },
  takeover: { text: '500ms', kind: 'duration', spec: 'takeoverMs', positive: false },
  reconnect: { text: '100ms', kind: 'duration', spec: 'reconnectMs', positive: false },
};

/** [LOAD-6] Every `model:` key. */
export const MODEL_DEFAULTS: Readonly<Record<'connectionBytes' | 'transportOverhead', { readonly text: string; readonly spec: keyof ModelSpec }>> = {
  connectionBytes: { text: '40KB', spec: 'connectionBytes' },
  transportOverhead: { text: '62B', spec: 'transportOverheadBytes' },
};

/** A default's value in the RoutingSpec's unit (ms, bytes or a count). */
export function defaultValue(d: RoutingDefault): number {
  if (typeof d.text === 'number') return d.text;
  const p: Parsed = d.kind === 'size' ? parseSize(d.text) : parseDuration(d.text);
  if (typeof p !== 'number') throw new Error(`bad default ${d.text}`);
  return p;
}

/** The defaults alone, as a RoutingSpec. */
export function defaultRouting(): RoutingSpec {
  const out: Record<string, number> = {};
  for (const d of Object.values(ROUTING_DEFAULTS)) out[d.spec] = defaultValue(d);
  return out as unknown as RoutingSpec;
}

/** Resolves `routing:`; throws ScenarioError at the first problem. */
export function resolveRouting(src: Source, raw: RawScenario): RoutingSpec {
  const routing = raw.routing ?? {};
  const at = (k: keyof RawRouting): ScenarioPath => ['routing', k];
  const dflt = (k: keyof RawRouting): string => String(ROUTING_DEFAULTS[k].text);
  const routingMs = (k: keyof RawRouting): number => {
    const text = routing[k] as string | undefined;
    const ms = src.dur(at(k), text, dflt(k));
    if (ROUTING_DEFAULTS[k].positive && ms <= 0) {
      if (k === 'helloInterval') throw src.error(at(k), 'value', `an interval above zero, such as ${quote(dflt(k))}`, describe(text));
      throw src.error(at(k), 'value', `${article(k)} above zero, such as ${quote(dflt(k))}`, quote(text ?? dflt(k)));
    }
    return ms;
  };
  /** [LOAD-3] `short` must be shorter than `long`; blame the one the file set (the long one if both). */
  const shorter = (short: keyof RawRouting, shortMs: number, long: keyof RawRouting, longMs: number): void => {
    if (shortMs < longMs) return;
    if (routing[long] === undefined) {
      throw src.error(at(short), 'value', `${article(short)} shorter than ${long} (default ${quote(dflt(long))})`, quote(String(routing[short] ?? '')));
    }
    throw src.error(at(long), 'value', `${article(long)} longer than ${short} (${formatDuration(shortMs)})`, quote(String(routing[long])));
  };
  const helloIntervalMs = routingMs('helloInterval');
  const deadIntervalMs = routingMs('deadInterval');
  shorter('helloInterval', helloIntervalMs, 'deadInterval', deadIntervalMs);
  const ackDelayMs = routingMs('ackDelay');
  const retransmitMs = routingMs('retransmit');
  shorter('ackDelay', ackDelayMs, 'retransmit', retransmitMs);
  const keepaliveMs = routingMs('keepalive');
  const takeoverMs = routingMs('takeover');
  shorter('keepalive', keepaliveMs, 'takeover', takeoverMs);
  return {
    helloIntervalMs,
    deadIntervalMs,
    hopLimit: routing.hopLimit ?? (ROUTING_DEFAULTS.hopLimit.text as number),
    retransmitMs,
    ackDelayMs,
    ledgerTtlMs: routingMs('ledgerTtl'),
    spoolBytes: src.unit(at('spool'), routing.spool, dflt('spool'), parseSize),
    keepaliveMs,
    takeoverMs,
    reconnectMs: routingMs('reconnect'),
  };
}

/** Resolves `model:`; throws ScenarioError at the first problem. */
export function resolveModel(src: Source, raw: RawScenario): ModelSpec {
  const model = raw.model ?? {};
  return {
    connectionBytes: src.unit(['model', 'connectionBytes'], model.connectionBytes, MODEL_DEFAULTS.connectionBytes.text, parseSize),
    transportOverheadBytes: src.unit(['model', 'transportOverhead'], model.transportOverhead, MODEL_DEFAULTS.transportOverhead.text, parseSize),
  };
}
