/**
 * Publishers and subscribers: placement, rates, topic and pattern templates (rendered on every
 * broker they land on, so a template that renders a bad topic fails at load time), selectors.
 * Subscriber patterns may be MQTT shared subscriptions, `$share/GROUP/PATTERN` [LOAD-4].
 * [LOAD-5] A slow-consumer fault's pattern names subscribers on its broker: an expansion there of
 * a subscriber entry's pattern, or the entry's template text when it has one expansion there.
 * It is stored expanded, as the broker holds it.
 */
import { ANONYMOUS } from '../../engine/broker.ts';
import type { HeaderValue } from '../../engine/types.ts';
import { tryParseSelector } from '../../engine/selector/index.ts';
import { isShared, validateShared } from '../../engine/share.ts';
import { validatePattern, validateTopic } from '../../engine/topic.ts';
import {
  compileTemplate,
  describePlaceholders,
  HEADER_PLACEHOLDERS,
  isTemplateError,
  PATTERN_PLACEHOLDERS,
  TOPIC_PLACEHOLDERS,
  type CompiledTemplate,
  type PlaceholderName,
  type TemplateContext,
} from '../template.ts';
import type { FunctionModelSpec } from '../../sim/functions.ts';
import type { PublisherSpec, SubscriberSpec } from '../types.ts';
import { formatDuration, parseRate, parseSize } from '../units.ts';
import { didYouMean, listOf, quote, type ScenarioPath } from './errors.ts';
import type { RawScenario } from './raw.ts';
import type { Source } from './source.ts';
import type { Topology } from './topology.ts';

const SAMPLE_RAND = (): number => 0;

/** A subscriber entry as a template, for slow-consumer faults that name its patterns. */
export interface SubscriberTemplate {
  readonly brokers: readonly string[];
  readonly source: string;
  readonly template: CompiledTemplate;
  readonly patterns: number;
}

/** Resolves the publishers; throws ScenarioError at the first problem. */
export function resolvePublishers(src: Source, raw: RawScenario, topo: Topology, durationMs: number): PublisherSpec[] {
  const sample = (broker: string, i = 0) => ({ n: 0, i, region: topo.regionOf.get(broker)!, broker, rand: SAMPLE_RAND });
  return (raw.publishers ?? []).map((p, pi) => {
    const at = (...k: (string | number)[]): ScenarioPath => ['publishers', pi, ...k];
    const { brokers, place } = topo.placement(['publishers', pi], p);
    const ratePerSec = src.unit(at('rate'), p.rate, '0/s', parseRate);
    if (ratePerSec <= 0) throw src.error(at('rate'), 'value', 'a rate above zero, such as "1000/s"', quote(p.rate));

    const topic = compileChecked(src, at('topic'), p.topic, TOPIC_PLACEHOLDERS, 'topic');
    for (const part of topic.parts) {
      if (part.kind !== 'choice') continue;
      for (const option of part.options) {
        const reason = validateTopic(option);
        if (reason !== null) throw src.error(at('topic'), 'value', 'a topic template without wildcards', `${quote(p.topic)} (option ${quote(option)}: ${reason})`);
      }
    }
    for (const b of brokers) {
      const rendered = topic.render(sample(b));
      const reason = validateTopic(rendered);
      if (reason !== null) {
        const shown = rendered === p.topic ? quote(p.topic) : `${quote(p.topic)}, which renders as ${quote(rendered)}`;
        throw src.error(at('topic'), 'value', 'a topic without wildcards, such as "orders/{region}/{n}"', `${shown} (${reason})`);
      }
    }

    const headers: Record<string, HeaderValue> = {};
    for (const [k, v] of Object.entries(p.headers ?? {})) {
      if (typeof v === 'string') compileChecked(src, at('headers', k), v, HEADER_PLACEHOLDERS, 'header value');
      headers[k] = v;
    }

    const startMs = src.dur(at('start'), p.start, '0s');
    if (startMs > durationMs) {
      throw src.error(at('start'), 'value', `a start within the run (duration is ${formatDuration(durationMs)})`, quote(p.start ?? ''));
    }
    const stopMs = p.stop === undefined ? durationMs : src.dur(at('stop'), p.stop, '0s');
    if (stopMs > durationMs) {
      throw src.error(at('stop'), 'value', `a stop within the run (duration is ${formatDuration(durationMs)})`, quote(p.stop ?? ''));
    }
    if (stopMs < startMs) {
      throw src.error(at('stop'), 'value', `a stop at or after start (${formatDuration(startMs)})`, quote(p.stop ?? ''));
    }
    return {
      ...place,
      ratePerSec,
      arrival: p.arrival ?? 'poisson',
      topic: p.topic,
      // With data: (scenarios/load/data.ts) the size is its render's.
      sizeBytes: p.size === undefined ? 0 : src.unit(at('size'), p.size, '0B', parseSize),
      headers,
      type: p.type ?? 'com.meshtwin.event',
      startMs,
      stopMs,
      delivery: p.delivery ?? 'realtime',
      principal: p.principal ?? ANONYMOUS,
      data: null,
    };
  });
}

/** Resolves the subscribers and their templates; throws ScenarioError at the first problem. */
export function resolveSubscribers(src: Source, raw: RawScenario, topo: Topology): { subscribers: SubscriberSpec[]; templates: SubscriberTemplate[] } {
  const sample = (broker: string, i = 0) => ({ n: 0, i, region: topo.regionOf.get(broker)!, broker, rand: SAMPLE_RAND });
  const subscriberTemplates: SubscriberTemplate[] = [];
  const subscribers: SubscriberSpec[] = (raw.subscribers ?? []).map((s, si) => {
    const at = (k: string): ScenarioPath => ['subscribers', si, k];
    const { brokers, place } = topo.placement(['subscribers', si], s);
    const count = s.count ?? 1;
    const patterns = s.patterns ?? 1;
    const pattern = compileChecked(src, at('pattern'), s.pattern, PATTERN_PLACEHOLDERS, 'pattern');
    for (const b of brokers) {
      const rendered = pattern.render(sample(b));
      const bad = checkSubscription(rendered);
      if (bad !== null) {
        const shown = rendered === s.pattern ? quote(s.pattern) : `${quote(s.pattern)}, which renders as ${quote(rendered)}`;
        throw src.error(at('pattern'), 'value', bad.expected, `${shown} (${bad.reason})`);
      }
    }
    if (patterns > 1 && !pattern.placeholders.includes('i')) {
      throw src.error(at('pattern'), 'value', `a pattern with {i}, so that patterns: ${patterns} yields distinct patterns`, quote(s.pattern));
    }
    if (count < patterns) {
      const where = at(s.count === undefined ? 'patterns' : 'count');
      throw src.error(where, 'value', `a count of at least patterns (${patterns}): each pattern needs a subscriber`, `count ${count}`);
    }
    if (s.filter !== undefined) {
      const bad = checkSelector(s.filter);
      if (bad !== null) {
        throw src.error(at('filter'), 'value', `a selector such as "amountCents > 10000"`, `${quote(s.filter)} (at character ${bad.position + 1}: ${bad.reason})`);
      }
    }
    let consumeRatePerSec: number | undefined;
    if (s.consume !== undefined) {
      consumeRatePerSec = src.unit(at('consume'), s.consume, '0/s', parseRate);
      if (consumeRatePerSec <= 0) throw src.error(at('consume'), 'value', 'a consume rate above zero, such as "500/s" (leave it out to consume as fast as messages arrive)', quote(s.consume));
    }
    let fn: FunctionModelSpec | undefined;
    if (s.function !== undefined) {
      const f = s.function;
      if (count !== 1 || patterns !== 1)
        throw src.error(at('function'), 'value', 'a function on a population of count 1 and one pattern (its parallelism is concurrency:)', `count ${count}, patterns ${patterns}`);
      if (f.deadLetter !== undefined && validateTopic(f.deadLetter) !== null) throw src.error(['subscribers', si, 'function', 'deadLetter'], 'value', 'a topic without wildcards', quote(f.deadLetter));
      fn = {
        serviceTimeMs: src.dur(['subscribers', si, 'function', 'serviceTime'], f.serviceTime, '0ms'),
        failure: f.failure ?? 0,
        maxAttempts: f.retry?.maxAttempts ?? 3,
        backoffMs: src.dur(['subscribers', si, 'function', 'retry', 'backoff'], f.retry?.backoff, '200ms'),
        concurrency: f.concurrency ?? 4,
        queue: f.queue ?? 10_000,
        deadLetter: f.deadLetter ?? null,
      };
    }
    subscriberTemplates.push({ brokers, source: s.pattern, template: pattern, patterns });
    return {
      ...place,
      count,
      pattern: s.pattern,
      patterns,
      ...(s.filter === undefined ? {} : { filter: s.filter }),
      ...(consumeRatePerSec === undefined ? {} : { consumeRatePerSec }),
      queueLimit: s.queue ?? 10_000,
      principal: s.principal ?? ANONYMOUS,
      ...(fn === undefined ? {} : { function: fn }),
    };
  });
  return { subscribers, templates: subscriberTemplates };
}

/**
 * [LOAD-5] The population pattern a slow-consumer fault names: one of the expansions at
 * `broker` of a subscriber entry there, or that entry's template text when it expands to one
 * pattern at `broker` (stored expanded, as the broker holds it).
 */
export function populationPattern(src: Source, topo: Topology, subscriberTemplates: readonly SubscriberTemplate[], path: ScenarioPath, broker: string, text: string): string {
  const region = topo.regionOf.get(broker)!;
  const entries = subscriberTemplates.filter((e) => e.brokers.includes(broker));
  const ctx = (i: number) => ({ n: 0, i, region, broker, rand: SAMPLE_RAND });
  const expansions = (e: (typeof entries)[number]): number => (e.template.placeholders.includes('i') ? e.patterns : 1);
  for (const e of entries) {
    if (isExpansion(e.template, expansions(e), ctx, text)) return text;
  }
  for (const e of entries) {
    if (e.source !== text) continue;
    if (expansions(e) === 1) return e.template.render(ctx(0));
    throw src.error(
      path,
      'value',
      `one pattern of the subscribers on ${broker}, such as ${quote(e.template.render(ctx(0)))} (leave pattern out for all of them)`,
      `${quote(text)}, which expands to ${expansions(e)} patterns`,
    );
  }
  const known = [...new Set(entries.map((e) => (expansions(e) === 1 ? e.template.render(ctx(0)) : e.source)))];
  throw src.error(path, 'value', `the pattern of subscribers on ${broker} (${listOf(known.map(quote))})`, quote(text), didYouMean(text, known));
}

/** A subscriber filter's parse error (engine/selector's SelectorError), or null when it parses. */
function checkSelector(source: string): { position: number; reason: string } | null {
  const r = tryParseSelector(source);
  return r.ok ? null : { position: r.error.position, reason: r.error.reason };
}

function compileChecked(src: Source, path: ScenarioPath, text: string, allowed: readonly PlaceholderName[], what: string): CompiledTemplate {
  const t = compileTemplate(text, allowed);
  if (isTemplateError(t)) {
    throw src.error(path, 'value', `a ${what} template (placeholders: ${describePlaceholders(allowed)})`, `${quote(text)} (${t.error})`);
  }
  return t;
}

/**
 * [LOAD-4] A subscription: a pattern (engine/topic.ts validatePattern), or an MQTT shared
 * subscription `$share/GROUP/PATTERN` (engine/share.ts validateShared).
 * Null when valid, else what was expected and why it is not that.
 */
function checkSubscription(text: string): { expected: string; reason: string } | null {
  if (!isShared(text)) {
    const reason = validatePattern(text);
    return reason === null ? null : { expected: 'a valid pattern ("+" a whole level, "#" the whole last level)', reason };
  }
  const reason = validateShared(text);
  return reason === null ? null : { expected: 'a shared subscription "$share/GROUP/PATTERN" (GROUP one level without wildcards, PATTERN a valid pattern)', reason };
}

/** Whether `text` is what `t` renders for some i in 0..count-1 (the other placeholders fixed by `ctx`). */
function isExpansion(t: CompiledTemplate, count: number, ctx: (i: number) => TemplateContext, text: string): boolean {
  if (!t.placeholders.includes('i')) return t.render(ctx(0)) === text;
  // Read i off the text: the first {i} is the first run of digits where the template has it.
  let re = '^';
  for (const part of t.parts) {
    if (part.kind === 'i') re += '(0|[1-9][0-9]*)';
    else if (part.kind === 'literal') re += escapeRegExp(part.text);
    else re += escapeRegExp(String(ctx(0)[part.kind as 'region' | 'broker']));
  }
  const m = new RegExp(`${re}$`, 'u').exec(text);
  if (m === null) return false;
  const i = Number(m[1]);
  return i < count && t.render(ctx(i)) === text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
