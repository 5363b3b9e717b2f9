/**
 * [LOAD-2] The JSON Schema check (scenario.schema.json): the earliest offending value in the file
 * wins, unknown keys come with a "did you mean" when a known key is close, and each ajv error
 * becomes one ScenarioError positioned on the offending node. Never a TypeError: the data here is
 * whatever the YAML held (a list entry may be a plain value where a map belongs).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { FAULT_ACTION_NAMES } from '../faults.ts';
import { EXPECTED, isParseFailure, parseBandwidth, parseDuration, parseRate, parseSize, type Parsed } from '../units.ts';
import { article, describe, didYouMean, listOf, quote, type ScenarioError, type ScenarioPath } from './errors.ts';
import type { Source, Where } from './source.ts';

interface SchemaNode {
  readonly title?: string;
  readonly description?: string;
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly enum?: readonly unknown[];
}

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  validator ??= compileSchema(new URL('../scenario.schema.json', import.meta.url));
  return validator;
}

/** A JSON Schema file compiled the way `checkSchema` expects (all errors, verbose). */
export function compileSchema(file: URL): ValidateFunction {
  const schema = JSON.parse(readFileSync(file, 'utf8')) as object;
  return new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema);
}

/** What a shared definition expects, whatever keyword failed inside it. */
const DEF_EXPECTED: Readonly<Record<string, (v: unknown) => string>> = {
  duration: (v) => unitExpected(parseDuration, v, EXPECTED.duration),
  size: (v) => unitExpected(parseSize, v, EXPECTED.size),
  rate: (v) => unitExpected(parseRate, v, EXPECTED.rate),
  bandwidth: (v) => unitExpected(parseBandwidth, v, EXPECTED.bandwidth),
  id: () => 'an id such as "us-1" (letters, digits, ".", "_", "-"; at most 64 characters)',
  brokerPair: () => 'two broker ids such as [us-1, eu-1]',
  probability: () => 'a probability in [0, 1), such as 0.001',
  lossFraction: () => 'a probability in [0, 1], such as 0.05',
  address: () => 'an address such as "127.0.0.1:7001" (host:port)',
};

function unitExpected(parse: (s: string) => Parsed, v: unknown, fallback: string): string {
  if (typeof v !== 'string' && typeof v !== 'number') return fallback;
  const p = parse(String(v));
  return isParseFailure(p) ? p.expected : fallback;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  null: 'an empty value',
};

/** "link-down, link-up, …, degrade or slow-consumer" */
export const ONE_ACTION = `${FAULT_ACTION_NAMES.slice(0, -1).join(', ')} or ${FAULT_ACTION_NAMES[FAULT_ACTION_NAMES.length - 1]!}`;

/** The instance path of an ajv error as keys and indexes (indexes where the data is a list). */
function instancePath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function valueAt(data: unknown, path: ScenarioPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** Lower-case first letter, no final period: a description inside a sentence. */
function clause(s: string | undefined): string {
  if (s === undefined) return '';
  const t = s.replace(/\.$/, '');
  return t.charAt(0).toLowerCase() + t.slice(1);
}

/** Turns one ajv error into a ScenarioError positioned on the offending node. */
function schemaError(src: Source, data: unknown, e: ErrorObject): { error: ScenarioError; path: ScenarioPath; where: Where } {
  const path = instancePath(e.instancePath, data);
  const value = valueAt(data, path);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const def = /^#\/\$defs\/([^/]+)\//.exec(e.schemaPath)?.[1];
  const params = e.params as Record<string, unknown>;
  const make = (p: ScenarioPath, where: Where, expected: string, found: string, hint?: string) => ({
    error: src.error(p, where, expected, found, hint),
    path: p,
    where,
  });

  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const known = Object.keys(parent.properties ?? {});
      const what = parent.title === undefined ? 'this map' : article(parent.title);
      return make([...path, key], 'key', `a key of ${what} (${listOf(known, 12)})`, `unknown key ${quote(key)}`, didYouMean(key, known));
    }
    case 'required': {
      const key = String(params['missingProperty']);
      const about = clause(parent.properties?.[key]?.description);
      const what = parent.title === undefined ? 'this map' : `this ${parent.title}`;
      return make([...path, key], 'container', `the required key ${quote(key)}${about === '' ? '' : ` (${about})`}`, `${what} without it`);
    }
    case 'oneOf': {
      // The value may be anything the YAML held (`faults: ["oops"]`): only a map has keys.
      const obj: Record<string, unknown> = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        const what = parent.title === undefined ? 'a map' : `a map describing ${article(parent.title)}`;
        return make(path, 'value', what, describe(value));
      }
      if (parent.title === 'fault') {
        const actions = FAULT_ACTION_NAMES.filter((k) => k in obj);
        const found = actions.length === 0 ? 'no action' : actions.map(quote).join(' and ');
        return make(path, 'value', `exactly one action: ${ONE_ACTION}`, found);
      }
      const both = 'region' in obj && 'broker' in obj;
      return make(both ? [...path, 'broker'] : path, both ? 'key' : 'value', 'exactly one of "region" or "broker"', both ? 'both' : 'neither');
    }
    case 'anyOf':
      if (parent.title === 'heal target') return make(path, 'value', 'a list of region ids such as [ap-southeast-1], or "all"', describe(value));
      return make(path, 'value', `a value that ${e.message ?? 'matches the schema'}`, describe(value));
    case 'enum': {
      const options = (parent.enum ?? []).map(String);
      const hint = typeof value === 'string' ? didYouMean(value, options) : undefined;
      return make(path, 'value', `one of ${options.map(quote).join(', ')}`, describe(value), hint);
    }
    default:
      break;
  }
  if (def !== undefined && DEF_EXPECTED[def] !== undefined) {
    return make(path, 'value', DEF_EXPECTED[def](value), describe(value));
  }
  switch (e.keyword) {
    case 'type': {
      const types = Array.isArray(params['type']) ? (params['type'] as string[]) : [String(params['type'])];
      let expected = types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      if (types.length === 1 && types[0] === 'object' && parent.title !== undefined) expected = `a map describing ${article(parent.title)}`;
      return make(path, 'value', expected, describe(value));
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const kind = parent.type === 'integer' ? 'a whole number' : 'a number';
      return make(path, 'value', `${kind} ${String(params['comparison'])} ${String(params['limit'])}`, describe(value));
    }
    case 'minItems':
      return make(path, 'value', `a list of at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}`, describe(value));
    case 'maxItems':
      return make(path, 'value', `a list of at most ${String(params['limit'])} items`, describe(value));
    case 'minLength':
      return make(path, 'value', 'a non-empty string', describe(value));
    case 'maxLength':
      return make(path, 'value', `a string of at most ${String(params['limit'])} characters`, describe(value));
    case 'pattern':
      return make(path, 'value', `a string matching ${String(params['pattern'])}`, describe(value));
    default:
      return make(path, 'value', `a value that ${e.message ?? 'matches the schema'}`, describe(value));
  }
}

/**
 * [LOAD-2] The first schema problem in document order (unknown keys before missing ones); by
 * default against the scenario schema, or `validate` (a broker config's, from `compileSchema`).
 */
export function checkSchema(src: Source, data: unknown, validate: ValidateFunction = schemaValidator()): void {
  if (validate(data)) return;
  const errors = (validate.errors ?? []).filter((e) => !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath));
  // A typo'd key also makes the real key "missing"; report the typo (with its suggestion).
  const typoed = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => e.instancePath));
  const mapped = errors.filter((e) => !(e.keyword === 'required' && typoed.has(e.instancePath))).map((e) => schemaError(src, data, e));
  if (mapped.length === 0) throw src.error([], 'value', 'a document the schema accepts', 'a value the schema rejects');
  let best = mapped[0]!;
  for (const m of mapped) {
    if (m.error.line < best.error.line || (m.error.line === best.error.line && m.error.column < best.error.column)) best = m;
  }
  throw best.error;
}
