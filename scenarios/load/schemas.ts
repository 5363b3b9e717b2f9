/**
 * [LOAD-8] A scenario's `schemas:` (the registry every broker starts with [SCHEMA-3]) and each
 * publisher's `data:` / `invalid:` / `invalidData:`, checked on load against each other:
 * - every schema compiles and each later version of a subject passes its compatibility mode
 *   (engine/schema/registry.ts `bodyOf`), the error on the entry it is about;
 * - a publisher has `size:` or `data:` (the payload's size is then its render's), not both;
 * - its data's first render (every random placeholder at its first value), on each broker it
 *   publishes through, passes every subject that applies to it;
 * - `invalid: F` needs a subject that applies, and data that subject refuses: `invalidData:`, or
 *   by default `data` without the first property the subject's latest schema requires (named
 *   in the error when there is none to leave out).
 */
import { SchemaRegistry, type SubjectSpec } from '../../engine/schema/registry.ts';
import { UsageError } from '../../engine/types.ts';
import { compileData, type DataTemplate } from '../data.ts';
import { compileTemplate, TOPIC_PLACEHOLDERS } from '../template.ts';
import type { PublisherSpec } from '../types.ts';
import { quote, type ScenarioPath } from './errors.ts';
import type { RawScenario } from './raw.ts';
import type { Source } from './source.ts';
import type { Topology } from './topology.ts';

const SAMPLE = (broker: string, region: string) => ({ n: 0, i: 0, region, broker, rand: () => 0 });
const UTF8 = new TextEncoder();

/**
 * A `schemas:` list (a scenario's or a broker config's), checked [SCHEMA-6]: its subjects and the
 * registry they make; throws ScenarioError on the entry at fault.
 */
export function resolveSchemas(src: Source, specs: readonly SubjectSpec[]): { specs: SubjectSpec[]; registry: SchemaRegistry } {
  try {
    return { specs: [...specs], registry: SchemaRegistry.fromBody(SchemaRegistry.bodyOf(specs, 'schemas'), 1) };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // "schemas[1].versions[2]: …" → the node, and what is wrong with it.
    const m = /^schemas\[(\d+)\]((?:\.\w+|\[\d+\])*): (.*)$/.exec(e.message);
    if (m === null) throw src.error(['schemas'], 'value', 'a list of subjects with their schemas', e.message);
    const path: (string | number)[] = ['schemas', Number(m[1])];
    for (const seg of (m[2] ?? '').matchAll(/\.(\w+)|\[(\d+)\]/g)) path.push(seg[1] ?? Number(seg[2]));
    throw src.error(path, 'value', expectedAt(path), m[3] as string);
  }
}

function expectedAt(path: ScenarioPath): string {
  const last = path[path.length - 1];
  if (last === 'subject') return 'a subject: a CloudEvents type, a type glob (com.acme.*) or topic:FILTER, each once';
  if (last === 'compatibility') return 'BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE';
  if (typeof last === 'number' || last === 'schema') return "a JSON Schema that compiles (2020-12 or draft-07) and, after the first version, passes the subject's compatibility";
  return 'a subject with a schema: (or versions:) and an optional compatibility:';
}

/** [LOAD-8] Publishers with their data resolved against `registry`; throws ScenarioError. */
export function resolveData(src: Source, raw: RawScenario, topo: Topology, publishers: readonly PublisherSpec[], registry: SchemaRegistry): PublisherSpec[] {
  return publishers.map((spec, pi) => {
    const p = (raw.publishers ?? [])[pi] ?? { rate: '', topic: '' };
    const at = (...k: (string | number)[]): ScenarioPath => ['publishers', pi, ...k];
    if (p.data === undefined) {
      if (p.size === undefined)
        throw src.error(at('size'), 'container', 'the required key "size" (payload size of each event, e.g. "500B"), or data: (a JSON template)', 'this publisher without either');
      if (p.invalid !== undefined || p.invalidData !== undefined) {
        throw src.error(
          at(p.invalid !== undefined ? 'invalid' : 'invalidData'),
          'key',
          'a publisher with data: (invalid: is the share of its events whose data the schemas refuse)',
          'a publisher with size: only',
        );
      }
      return spec;
    }
    if (p.size !== undefined) throw src.error(at('size'), 'key', 'size: or data:, not both (with data: the payload is its rendered JSON)', `size: ${quote(p.size)} beside data:`);
    const data = template(src, at('data'), p.data);
    const brokers = spec.broker !== undefined ? [spec.broker] : (topo.regions.find((r) => r.id === spec.region)?.brokers ?? []);
    const topicT = compileTemplate(spec.topic, TOPIC_PLACEHOLDERS);
    const samples = brokers.map((b) => {
      const ctx = SAMPLE(b, topo.regionOf.get(b) as string);
      return { ctx, topic: 'error' in topicT ? spec.topic : topicT.render(ctx) };
    });
    // Each broker's first render passes every subject that applies.
    let applies: string | null = null;
    for (const { ctx, topic } of samples) {
      const text = data.render(ctx);
      const n = registry.validate(topic, spec.type, {}, UTF8.encode(text), false);
      if (n < 0) {
        const r = registry.refusal;
        throw src.error(at('data'), 'value', 'data the schemas accept', `${clip(text)}, which subject ${quote(r?.subject ?? '')} v${r?.version} refuses: ${where(r?.error.path)}${r?.error.message}`);
      }
      if (n > 0 && applies === null) applies = registry.subjectsFor(topic, spec.type)[0]?.name ?? null;
    }
    const invalid = p.invalid ?? 0;
    if (invalid === 0) {
      if (p.invalidData !== undefined) throw src.error(at('invalidData'), 'key', 'invalid: (the share of events to publish with it) beside invalidData:', 'invalidData: without invalid:');
      return withData(spec, data, samples[0]?.ctx, { template: p.data, invalid: 0, invalidTemplate: null });
    }
    if (applies === null) {
      throw src.error(
        at('invalid'),
        'value',
        `a publisher whose events a schemas: subject applies to (type ${quote(spec.type)}, topic ${quote(samples[0]?.topic ?? spec.topic)})`,
        `invalid: ${invalid} with no subject applying, so no event could be invalid`,
      );
    }
    let invalidTemplate: unknown = p.invalidData;
    let dropped: string | null = null;
    if (invalidTemplate === undefined) {
      dropped = requiredToDrop(registry, applies, p.data);
      if (dropped === null) {
        throw src.error(
          at('invalid'),
          'value',
          `invalidData: (data subject ${quote(applies)} refuses) beside invalid:, or data holding a property the subject's schema requires (left out of invalid events)`,
          'none to leave out',
        );
      }
      const { [dropped]: _, ...rest } = p.data as Record<string, unknown>;
      invalidTemplate = rest;
    }
    const bad = template(src, at(p.invalidData === undefined ? 'data' : 'invalidData'), invalidTemplate);
    for (const { ctx, topic } of samples) {
      const text = bad.render(ctx);
      if (registry.validate(topic, spec.type, {}, UTF8.encode(text), false) >= 0) {
        const what = dropped === null ? 'invalidData' : `data without ${quote(dropped)}`;
        throw src.error(at(p.invalidData === undefined ? 'invalid' : 'invalidData'), 'value', `data the schemas refuse for invalid events (${what})`, `${clip(text)}, which they accept`);
      }
    }
    return withData(spec, data, samples[0]?.ctx, { template: p.data, invalid, invalidTemplate });
  });
}

function withData(spec: PublisherSpec, data: DataTemplate, ctx: ReturnType<typeof SAMPLE> | undefined, d: PublisherSpec['data'] & object): PublisherSpec {
  const sizeBytes = ctx === undefined ? 0 : UTF8.encode(data.render(ctx)).length;
  return { ...spec, sizeBytes, data: d };
}

function template(src: Source, path: ScenarioPath, value: unknown): DataTemplate {
  const t = compileData(value);
  if ('error' in t) throw src.error([...path, ...t.path], 'value', 'a data template (strings may use {n}, {region}, {broker}, {choice:a|b}, {rand:N})', t.error);
  return t;
}

/** The first property `data` holds that the subject's latest schema requires at its root. */
function requiredToDrop(registry: SchemaRegistry, subject: string, data: unknown): string | null {
  const schema = registry.subject(subject)?.latest?.schema as { required?: unknown } | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !Array.isArray(schema?.required)) return null;
  for (const name of schema.required as unknown[]) if (typeof name === 'string' && Object.hasOwn(data, name)) return name;
  return null;
}

const where = (path: string | undefined): string => (path === undefined || path === '' ? '' : `${path} `);
const clip = (text: string): string => (text.length > 120 ? `${text.slice(0, 117)}...` : text);
