/**
 * Loads a scenario file: YAML → schema check → units, defaults, cross-references → `Scenario`.
 *
 * [LOAD-1] Every problem is one `ScenarioError` whose message is one line naming the file, line,
 * column and field, what was expected and what was found:
 *   scenarios/x.yaml:12:5: links[0].rtt: expected a duration such as "70ms" (…), found "fast"
 * Never a stack trace, never a half-built scenario.
 * [LOAD-2] Sources of errors, in the order they are checked: YAML syntax (the yaml package's own
 * position), the JSON Schema (scenario.schema.json; the earliest offending value in the file
 * wins, unknown keys come with a "did you mean" when a known key is close), then units,
 * templates, patterns, selectors and cross-references (see `resolve`).
 * [LOAD-3] Contradictions fail at load time, not mid-run: a fault after the end of the run, a
 * link-up of a link that is up, a heal with nothing partitioned, overlapping degrades of a link,
 * stop before start, a dead interval not above the hello interval, a keepalive not below the
 * takeover time, an ackDelay not below the first retransmission timeout.
 * [LOAD-4] HA backups are ids of their own: never a broker id, never in links or under a
 * publisher or subscriber (clients and links use the primary's id; the backup takes it over),
 * only crash and restart name them. Subscriber patterns may be MQTT shared subscriptions,
 * `$share/GROUP/PATTERN`.
 * [LOAD-5] A slow-consumer fault's pattern names subscribers on its broker: an expansion there of
 * a subscriber entry's pattern, or the entry's template text when it has one expansion there.
 * It is stored expanded, as the broker holds it. Fault keys follow faults.ts [FAULT-1].
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { distance } from 'fastest-levenshtein';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { HeaderValue } from '../engine/types.ts';
import { tryParseSelector } from '../engine/selector/index.ts';
import { isShared, validateShared } from '../engine/share.ts';
import { validatePattern, validateTopic } from '../engine/topic.ts';
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
} from './template.ts';
import { checkAssertionSyntax } from './expect.ts';
import { FAULT_ACTION_NAMES, FAULT_ACTIONS, type FaultOption } from './faults.ts';
import type { DeliveryClass, FaultSpec, LinkSpec, PublisherSpec, RegionSpec, RoutingSpec, Scenario, SubscriberSpec } from './types.ts';
import { EXPECTED, formatDuration, isParseFailure, parseBandwidth, parseDuration, parseRate, parseSize, type Parsed } from './units.ts';

/** A path into the scenario document: keys and list indexes, printed as `links[0].rtt`. */
export type ScenarioPath = readonly (string | number)[];

/** What a ScenarioError carries besides its message. */
export interface ScenarioErrorInit {
  readonly file: string;
  /** 1-based; 0 when the problem has no position (the file could not be read). */
  readonly line: number;
  readonly column: number;
  /** The offending field, e.g. "links[0].rtt"; "" for the document as a whole. */
  readonly path: string;
  /** Completes "expected …". */
  readonly expected: string;
  /** Completes "found …". */
  readonly found: string;
  /** An optional suggestion, e.g. 'did you mean "rtt"?'. */
  readonly hint?: string;
}

/** [LOAD-1] A user's bad scenario file: one line, file:line:column: path: expected …, found …. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  readonly hint: string | undefined;

  constructor(init: ScenarioErrorInit) {
    super(formatMessage(init));
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.path = init.path;
    this.expected = init.expected;
    this.found = init.found;
    this.hint = init.hint;
  }
}

function formatMessage(e: ScenarioErrorInit): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  const path = e.path === '' ? '' : ` ${e.path}:`;
  const hint = e.hint === undefined ? '' : `; ${e.hint}`;
  return oneLine(`${where}:${path} expected ${e.expected}, found ${e.found}${hint}`);
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

/** `links[0].rtt`, `publishers[1].headers["x.y"]`. */
export function formatPath(path: ScenarioPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a value reads in "found …". */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'a map';
  return String(v);
}

function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 80 ? `${q.slice(0, 76)}…"` : q;
}

function listOf(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, …`;
}

/** The known word closest to `word`, if it is close enough to be a typo. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === word.toLowerCase() ? 0.5 : distance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(2, Math.floor(word.length / 3))) ? best : undefined;
}

function didYouMean(word: string, known: readonly string[]): string | undefined {
  const c = closest(word, known);
  return c === undefined ? undefined : `did you mean ${quote(c)}?`;
}

// ---------------------------------------------------------------------------------------------
// Source positions

type Where = 'value' | 'key' | 'container';

/** The parsed document with its line counter: maps a path to a line and column. */
class Source {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
  ) {}

  /**
   * Position of the value at `path` ('value'), of its key ('key'), or — for a missing key — of
   * the map that lacks it, preferring the key that holds that map ('container'). Falls back to
   * the deepest node that exists.
   */
  position(path: ScenarioPath, where: Where): { line: number; column: number } {
    const walk = where === 'container' ? path.slice(0, -1) : path;
    let node: unknown = this.doc.contents;
    let key: Node | undefined;
    let last: Node | undefined = isNode(node) ? node : undefined;
    for (const seg of walk) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (pair === undefined) break;
        key = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
        last = key ?? last;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        key = undefined;
        node = node.items[seg];
      } else break;
      if (isNode(node) && node.range) last = node;
    }
    let at: Node | undefined;
    if (where === 'value') at = isNode(node) && node.range && !isEmptyScalar(node) ? node : (key ?? last);
    else at = key ?? (isNode(node) && node.range ? node : last);
    const offset = at?.range?.[0] ?? 0;
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  error(path: ScenarioPath, where: Where, expected: string, found: string, hint?: string): ScenarioError {
    const { line, column } = this.position(path, where);
    return new ScenarioError({ file: this.file, line, column, path: formatPath(path), expected, found, hint });
  }
}

function keyText(k: unknown): string {
  return isScalar(k) ? String(k.value) : String(k);
}

/** `rtt:` with nothing after it: an empty scalar positioned after the colon; point at the key. */
function isEmptyScalar(n: Node): boolean {
  return isScalar(n) && n.value === null && n.range != null && n.range[0] === n.range[1];
}

// ---------------------------------------------------------------------------------------------
// Schema

interface SchemaNode {
  readonly title?: string;
  readonly description?: string;
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly enum?: readonly unknown[];
}

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = JSON.parse(readFileSync(new URL('./scenario.schema.json', import.meta.url), 'utf8')) as object;
    validator = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema);
  }
  return validator;
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
const ONE_ACTION = `${FAULT_ACTION_NAMES.slice(0, -1).join(', ')} or ${FAULT_ACTION_NAMES[FAULT_ACTION_NAMES.length - 1]!}`;

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

function article(title: string): string {
  return /^[aeiou]/i.test(title) ? `an ${title}` : `a ${title}`;
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
      const obj = (value ?? {}) as Record<string, unknown>;
      if (parent.title === 'fault') {
        const actions = FAULT_ACTION_NAMES.filter((k) => k in obj);
        const found = actions.length === 0 ? 'no action' : actions.map(quote).join(' and ');
        return make(path, 'value', `exactly one action: ${ONE_ACTION}`, found);
      }
      const both = 'region' in obj && 'broker' in obj;
      return make(
        both ? [...path, 'broker'] : path,
        both ? 'key' : 'value',
        'exactly one of "region" or "broker"',
        both ? 'both' : 'neither',
      );
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

/** [LOAD-2] The first schema problem in document order (unknown keys before missing ones). */
function checkSchema(src: Source, data: unknown): void {
  const validate = schemaValidator();
  if (validate(data)) return;
  const errors = (validate.errors ?? []).filter((e) => !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath));
  // A typo'd key also makes the real key "missing"; report the typo (with its suggestion).
  const typoed = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => e.instancePath));
  const mapped = errors
    .filter((e) => !(e.keyword === 'required' && typoed.has(e.instancePath)))
    .map((e) => schemaError(src, data, e));
  if (mapped.length === 0) throw src.error([], 'value', 'a valid scenario', 'a value the schema rejects');
  let best = mapped[0]!;
  for (const m of mapped) {
    if (m.error.line < best.error.line || (m.error.line === best.error.line && m.error.column < best.error.column)) best = m;
  }
  throw best.error;
}

// ---------------------------------------------------------------------------------------------
// Raw data, as the schema guarantees it

interface RawRegion {
  id: string;
  brokers: string[];
  clientRtt?: string;
  location?: { lat: number; lon: number };
  ha?: { primary: string; backup: string }[];
}
interface RawLink {
  between: [string, string];
  rtt: string;
  bandwidth: string;
  jitter?: string;
  loss?: number;
  cost?: number;
  queue?: string;
}
interface RawPublisher {
  region?: string;
  broker?: string;
  rate: string;
  arrival?: 'poisson' | 'constant';
  topic: string;
  size: string;
  headers?: Record<string, HeaderValue>;
  type?: string;
  start?: string;
  stop?: string;
  delivery?: DeliveryClass;
}
interface RawSubscriber {
  region?: string;
  broker?: string;
  count?: number;
  pattern: string;
  patterns?: number;
  filter?: string;
  consume?: string;
  queue?: number;
}
interface RawFault {
  at: string;
  'link-down'?: [string, string];
  'link-up'?: [string, string];
  crash?: string;
  restart?: string;
  partition?: string[];
  heal?: string[] | 'all';
  degrade?: [string, string];
  'slow-consumer'?: string;
  loss?: number;
  rtt?: string;
  jitter?: string;
  bandwidth?: string;
  pattern?: string;
  rate?: string;
  for?: string;
  detect?: 'silent' | 'notified';
}
interface RawRouting {
  helloInterval?: string;
  deadInterval?: string;
  hopLimit?: number;
  retransmit?: string;
  ackDelay?: string;
  ledgerTtl?: string;
  spool?: string;
  keepalive?: string;
  takeover?: string;
  reconnect?: string;
}
interface RawScenario {
  name: string;
  seed?: number;
  duration: string;
  warmup?: string;
  regions: RawRegion[];
  links?: RawLink[];
  publishers?: RawPublisher[];
  subscribers?: RawSubscriber[];
  faults?: RawFault[];
  expect?: string[];
  routing?: RawRouting;
  model?: { connectionBytes?: string; transportOverhead?: string };
}

// ---------------------------------------------------------------------------------------------
// Selectors

/** A subscriber filter's parse error (engine/selector's SelectorError), or null when it parses. */
function checkSelector(source: string): { position: number; reason: string } | null {
  const r = tryParseSelector(source);
  return r.ok ? null : { position: r.error.position, reason: r.error.reason };
}

// ---------------------------------------------------------------------------------------------
// Resolution: units, defaults, cross-references

const SAMPLE_RAND = (): number => 0;

/** [LOAD-3] Units, defaults and every cross-reference; throws at the first problem. */
function resolve(src: Source, raw: RawScenario): Scenario {
  const unit = (path: ScenarioPath, text: string | undefined, dflt: string, parse: (s: string) => Parsed): number => {
    const p = parse(text ?? dflt);
    if (isParseFailure(p)) throw src.error(path, 'value', p.expected, describe(text ?? dflt));
    return p;
  };
  const dur = (path: ScenarioPath, text: string | undefined, dflt: string): number => unit(path, text, dflt, parseDuration);

  const durationMs = dur(['duration'], raw.duration, '0s');
  if (durationMs <= 0) throw src.error(['duration'], 'value', 'a duration above zero, such as "10s"', describe(raw.duration));
  const warmupMs = dur(['warmup'], raw.warmup, '2s');

  // Regions and brokers.
  const regionOf = new Map<string, string>(); // broker → region
  const regionIndex = new Map<string, number>();
  const brokerWhere = new Map<string, string>();
  const regions: RegionSpec[] = raw.regions.map((r, ri) => {
    const prev = regionIndex.get(r.id);
    if (prev !== undefined) {
      throw src.error(['regions', ri, 'id'], 'value', `a region id not used before (regions[${prev}] is ${quote(r.id)})`, quote(r.id));
    }
    regionIndex.set(r.id, ri);
    r.brokers.forEach((b, bi) => {
      const seen = brokerWhere.get(b);
      if (seen !== undefined) {
        throw src.error(['regions', ri, 'brokers', bi], 'value', `a broker id not used before (${seen} is ${quote(b)})`, quote(b));
      }
      brokerWhere.set(b, formatPath(['regions', ri, 'brokers', bi]));
      regionOf.set(b, r.id);
    });
    const spec: RegionSpec = {
      id: r.id,
      brokers: [...r.brokers],
      clientRttMs: dur(['regions', ri, 'clientRtt'], r.clientRtt, '1ms'),
      ...(r.location === undefined ? {} : { location: { lat: r.location.lat, lon: r.location.lon } }),
      ha: (r.ha ?? []).map((pair) => ({ primary: pair.primary, backup: pair.backup })),
    };
    return spec;
  });
  const brokerIds = [...regionOf.keys()];
  const regionIds = regions.map((r) => r.id);
  const brokersOf = new Map(regions.map((r) => [r.id, r.brokers]));

  // [LOAD-4] HA pairs: the primary is a broker of this region with at most one backup; the
  // backup is a new id, used nowhere else (checked after every region's brokers are known).
  const primaryOf = new Map<string, string>(); // backup → primary
  const backupWhere = new Map<string, string>(); // backup → "regions[0].ha[1].backup"
  const pairWhere = new Map<string, string>(); // primary → "regions[0].ha[1]"
  raw.regions.forEach((r, ri) => {
    (r.ha ?? []).forEach((pair, hi) => {
      const at = (k: string): ScenarioPath => ['regions', ri, 'ha', hi, k];
      if (!r.brokers.includes(pair.primary)) {
        const elsewhere = regionOf.get(pair.primary);
        const found = elsewhere === undefined ? quote(pair.primary) : `${quote(pair.primary)}, a broker of region ${quote(elsewhere)}`;
        throw src.error(at('primary'), 'value', `a broker of region ${quote(r.id)} (${listOf(r.brokers)})`, found, elsewhere === undefined ? didYouMean(pair.primary, r.brokers) : undefined);
      }
      const paired = pairWhere.get(pair.primary);
      if (paired !== undefined) {
        throw src.error(at('primary'), 'value', `a primary with at most one backup (${paired} already pairs ${quote(pair.primary)})`, quote(pair.primary));
      }
      const asBroker = brokerWhere.get(pair.backup);
      if (asBroker !== undefined) {
        throw src.error(at('backup'), 'value', `a new id for the standby, not a broker's (${asBroker} is ${quote(pair.backup)})`, quote(pair.backup));
      }
      const asBackup = backupWhere.get(pair.backup);
      if (asBackup !== undefined) {
        throw src.error(at('backup'), 'value', `a backup id not used before (${asBackup} is ${quote(pair.backup)})`, quote(pair.backup));
      }
      pairWhere.set(pair.primary, formatPath(['regions', ri, 'ha', hi]));
      backupWhere.set(pair.backup, formatPath(at('backup')));
      primaryOf.set(pair.backup, pair.primary);
    });
  });

  /** A broker id; an HA backup's id is refused with `why` (e.g. clients attach to the primary). */
  const knownBroker = (path: ScenarioPath, id: string, why = 'a backup stands in for its primary'): void => {
    if (regionOf.has(id)) return;
    const primary = primaryOf.get(id);
    if (primary !== undefined) {
      throw src.error(path, 'value', `a broker declared under regions (${listOf(brokerIds)})`, `${quote(id)}, the HA backup of ${quote(primary)} (${why})`, `use ${quote(primary)}`);
    }
    throw src.error(path, 'value', `a broker declared under regions (${listOf(brokerIds)})`, quote(id), didYouMean(id, brokerIds));
  };
  /** Crash and restart also take HA backups. */
  const knownBrokerOrBackup = (path: ScenarioPath, id: string): void => {
    if (regionOf.has(id) || primaryOf.has(id)) return;
    if (primaryOf.size === 0) knownBroker(path, id);
    const known = [...brokerIds, ...primaryOf.keys()];
    throw src.error(path, 'value', `a broker or HA backup declared under regions (${listOf(known)})`, quote(id), didYouMean(id, known));
  };
  const LINK_WHY = "a backup takes over its primary's links and has none of its own";
  const CLIENT_WHY = "clients attach to the primary's address";
  const knownRegion = (path: ScenarioPath, id: string): void => {
    if (!regionIndex.has(id)) {
      throw src.error(path, 'value', `a region declared under regions (${listOf(regionIds)})`, quote(id), didYouMean(id, regionIds));
    }
  };
  /** Known region ids, each once. */
  const regionList = (path: ScenarioPath, ids: readonly string[]): string[] => {
    ids.forEach((id, j) => {
      knownRegion([...path, j], id);
      const first = ids.indexOf(id);
      if (first < j) throw src.error([...path, j], 'value', `each region once (${formatPath([...path, first])} is ${quote(id)})`, quote(id));
    });
    return [...ids];
  };

  // Links.
  const linkKey = (a: string, b: string): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  const linkIndex = new Map<string, number>();
  const links: LinkSpec[] = (raw.links ?? []).map((l, li) => {
    const at = (k: string): ScenarioPath => ['links', li, k];
    const [a, b] = l.between;
    knownBroker(['links', li, 'between', 0], a, LINK_WHY);
    knownBroker(['links', li, 'between', 1], b, LINK_WHY);
    if (a === b) throw src.error(['links', li, 'between', 1], 'value', `a broker other than ${quote(a)} (a link joins two brokers)`, quote(b));
    const dup = linkIndex.get(linkKey(a, b));
    if (dup !== undefined) {
      throw src.error(at('between'), 'value', `a pair of brokers not linked before (links[${dup}] joins them)`, `[${a}, ${b}]`);
    }
    linkIndex.set(linkKey(a, b), li);
    const rttMs = dur(at('rtt'), l.rtt, '0ms');
    if (rttMs <= 0) throw src.error(at('rtt'), 'value', 'a round-trip time above zero, such as "70ms"', quote(l.rtt));
    const bandwidthBps = unit(at('bandwidth'), l.bandwidth, '0bps', parseBandwidth);
    if (bandwidthBps <= 0) throw src.error(at('bandwidth'), 'value', 'a bandwidth above zero, such as "10Gbps"', quote(l.bandwidth));
    const queueBytes = unit(at('queue'), l.queue, '64MB', parseSize);
    if (queueBytes <= 0) throw src.error(at('queue'), 'value', 'a queue limit above zero, such as "64MB"', describe(l.queue));
    return {
      between: [a, b] as const,
      rttMs,
      bandwidthBps,
      jitterMs: dur(at('jitter'), l.jitter, '0ms'),
      loss: l.loss ?? 0,
      cost: l.cost ?? rttMs,
      queueBytes,
    };
  });

  // Where a publisher/subscriber population sits: exactly one of region/broker, and it exists.
  const placement = (path: ScenarioPath, p: { region?: string; broker?: string }): { brokers: readonly string[]; place: { region: string } | { broker: string } } => {
    if (p.region !== undefined && p.broker !== undefined) {
      throw src.error([...path, 'broker'], 'key', 'exactly one of "region" or "broker"', 'both');
    }
    if (p.broker !== undefined) {
      knownBroker([...path, 'broker'], p.broker, CLIENT_WHY);
      return { brokers: [p.broker], place: { broker: p.broker } };
    }
    if (p.region === undefined) throw src.error(path, 'value', 'exactly one of "region" or "broker"', 'neither');
    knownRegion([...path, 'region'], p.region);
    return { brokers: brokersOf.get(p.region)!, place: { region: p.region } };
  };
  const sample = (broker: string, i = 0) => ({ n: 0, i, region: regionOf.get(broker)!, broker, rand: SAMPLE_RAND });

  // Publishers.
  const publishers: PublisherSpec[] = (raw.publishers ?? []).map((p, pi) => {
    const at = (...k: (string | number)[]): ScenarioPath => ['publishers', pi, ...k];
    const { brokers, place } = placement(['publishers', pi], p);
    const ratePerSec = unit(at('rate'), p.rate, '0/s', parseRate);
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

    const startMs = dur(at('start'), p.start, '0s');
    if (startMs > durationMs) {
      throw src.error(at('start'), 'value', `a start within the run (duration is ${formatDuration(durationMs)})`, quote(p.start ?? ''));
    }
    const stopMs = p.stop === undefined ? durationMs : dur(at('stop'), p.stop, '0s');
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
      sizeBytes: unit(at('size'), p.size, '0B', parseSize),
      headers,
      type: p.type ?? 'com.meshtwin.event',
      startMs,
      stopMs,
      delivery: p.delivery ?? 'realtime',
    };
  });

  // Subscribers.
  const subscriberTemplates: { brokers: readonly string[]; source: string; template: CompiledTemplate; patterns: number }[] = [];
  const subscribers: SubscriberSpec[] = (raw.subscribers ?? []).map((s, si) => {
    const at = (k: string): ScenarioPath => ['subscribers', si, k];
    const { brokers, place } = placement(['subscribers', si], s);
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
      consumeRatePerSec = unit(at('consume'), s.consume, '0/s', parseRate);
      if (consumeRatePerSec <= 0) throw src.error(at('consume'), 'value', 'a consume rate above zero, such as "500/s" (leave it out to consume as fast as messages arrive)', quote(s.consume));
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
    };
  });

  /**
   * [LOAD-5] The population pattern a slow-consumer fault names: one of the expansions at
   * `broker` of a subscriber entry there, or that entry's template text when it expands to one
   * pattern at `broker` (stored expanded, as the broker holds it).
   */
  const populationPattern = (path: ScenarioPath, broker: string, text: string): string => {
    const region = regionOf.get(broker)!;
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
  };

  // Faults: one action with only its own keys, targets exist, times fall inside the run, and the
  // sequence makes sense.
  const faults: FaultSpec[] = (raw.faults ?? []).map((f, fi): FaultSpec => {
    const at = (...k: (string | number)[]): ScenarioPath => ['faults', fi, ...k];
    const action = FAULT_ACTION_NAMES.find((a) => f[a] !== undefined);
    if (action === undefined) throw src.error(['faults', fi], 'value', `exactly one action: ${ONE_ACTION}`, 'no action');
    const rule = FAULT_ACTIONS[action];
    // [FAULT-1] Only the keys this action takes (the schema knows every key, not which goes with which).
    for (const key of Object.keys(f)) {
      if (key === 'at' || key === action || rule.options.includes(key as FaultOption)) continue;
      const takers = FAULT_ACTION_NAMES.filter((a) => FAULT_ACTIONS[a].options.includes(key as FaultOption));
      const whose = takers.length === 0 ? '' : `, which only ${takers.join(' and ')} take${takers.length === 1 ? 's' : ''}`;
      throw src.error(at(key), 'key', `a key of a ${action} fault (${['at', action, ...rule.options].join(', ')})`, `${quote(key)}${whose}`);
    }
    for (const key of rule.required) {
      if (f[key] === undefined) throw src.error(at(key), 'container', `the required key ${quote(key)} of a ${action} fault`, `this ${action} without it`);
    }
    if (rule.oneOf.length > 0 && !rule.oneOf.some((k) => f[k] !== undefined)) {
      throw src.error(at(action), 'key', `a ${action} with at least one of ${rule.oneOf.join(', ')}`, 'none of them');
    }
    const atMs = dur(at('at'), f.at, '0s');
    if (atMs > durationMs) {
      throw src.error(at('at'), 'value', `a time within the run (duration is ${formatDuration(durationMs)})`, quote(f.at));
    }

    let target: string[];
    switch (rule.target) {
      case 'link': {
        const [a, b] = f[action] as [string, string];
        knownBroker(at(action, 0), a, LINK_WHY);
        knownBroker(at(action, 1), b, LINK_WHY);
        if (!linkIndex.has(linkKey(a, b))) throw src.error(at(action), 'value', 'a pair of brokers joined by a link under links', `[${a}, ${b}]`);
        target = [a, b];
        break;
      }
      case 'broker': {
        const id = f[action] as string;
        if (action === 'crash' || action === 'restart') knownBrokerOrBackup(at(action), id);
        else knownBroker(at(action), id, CLIENT_WHY);
        target = [id];
        break;
      }
      case 'regions':
      case 'regions-or-all': {
        const value = f[action] as string[] | 'all';
        target = value === 'all' ? [] : regionList(at(action), value);
        if (action === 'partition' && target.length === regionIds.length) {
          throw src.error(at(action), 'value', `some regions but not all (a partition cuts them off from the rest; there are ${regionIds.length})`, `[${target.join(', ')}]`);
        }
        break;
      }
      default: {
        const never: never = rule.target;
        throw new Error(`unknown fault target kind ${String(never)}`);
      }
    }

    const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { atMs, action, target };
    if (f.for !== undefined) {
      spec.forMs = dur(at('for'), f.for, '0s');
      if (spec.forMs <= 0) throw src.error(at('for'), 'value', 'a duration above zero, such as "10s" (leave it out to last until the end of the run)', quote(f.for));
    }
    if (f.loss !== undefined) spec.loss = f.loss;
    if (f.detect !== undefined) spec.detect = f.detect;
    if (f.rtt !== undefined) {
      spec.rttMs = dur(at('rtt'), f.rtt, '0ms');
      if (spec.rttMs <= 0) throw src.error(at('rtt'), 'value', 'a round-trip time above zero, such as "300ms"', quote(f.rtt));
    }
    if (f.jitter !== undefined) spec.jitterMs = dur(at('jitter'), f.jitter, '0ms');
    if (f.bandwidth !== undefined) {
      spec.bandwidthBps = unit(at('bandwidth'), f.bandwidth, '0bps', parseBandwidth);
      if (spec.bandwidthBps <= 0) throw src.error(at('bandwidth'), 'value', 'a bandwidth above zero, such as "10Mbps"', quote(f.bandwidth));
    }
    if (f.rate !== undefined) {
      spec.ratePerSec = unit(at('rate'), f.rate, '0/s', parseRate);
      if (spec.ratePerSec <= 0) throw src.error(at('rate'), 'value', 'a rate above zero, such as "10/s" (for a stalled consumer, a tiny one such as "1/h")', quote(f.rate));
    }
    if (action === 'slow-consumer') {
      const broker = target[0]!;
      if (!subscriberTemplates.some((e) => e.brokers.includes(broker))) {
        const withSubs = brokerIds.filter((b) => subscriberTemplates.some((e) => e.brokers.includes(b)));
        const where = withSubs.length === 0 ? 'this scenario has none' : listOf(withSubs);
        throw src.error(at(action), 'value', `a broker with subscribers (${where})`, quote(broker));
      }
      if (f.pattern !== undefined) spec.pattern = populationPattern(at('pattern'), broker, f.pattern);
    }
    return spec;
  });
  checkFaultSequence(src, faults);

  // Routing and model.
  const routing = raw.routing ?? {};
  const at = (k: keyof RawRouting): ScenarioPath => ['routing', k];
  const routingMs = (k: keyof RawRouting & string, dflt: string, above?: 'above zero'): number => {
    const text = routing[k] as string | undefined;
    const ms = dur(at(k), text, dflt);
    if (above !== undefined && ms <= 0) throw src.error(at(k), 'value', `${article(k)} above zero, such as ${quote(dflt)}`, quote(text ?? dflt));
    return ms;
  };
  /** [LOAD-3] `short` must be shorter than `long`; blame the one the file set (the long one if both). */
  const shorter = (short: keyof RawRouting & string, shortMs: number, long: keyof RawRouting & string, longMs: number, longDefault: string): void => {
    if (shortMs < longMs) return;
    if (routing[long] === undefined) {
      throw src.error(at(short), 'value', `${article(short)} shorter than ${long} (default ${quote(longDefault)})`, quote(String(routing[short] ?? '')));
    }
    throw src.error(at(long), 'value', `${article(long)} longer than ${short} (${formatDuration(shortMs)})`, quote(String(routing[long])));
  };
  const helloIntervalMs = routingMs('helloInterval', '500ms');
  if (helloIntervalMs <= 0) throw src.error(at('helloInterval'), 'value', 'an interval above zero, such as "500ms"', describe(routing.helloInterval));
  const deadIntervalMs = routingMs('deadInterval', '2s');
  shorter('helloInterval', helloIntervalMs, 'deadInterval', deadIntervalMs, '2s');
  const ackDelayMs = routingMs('ackDelay', '2ms');
  const retransmitMs = routingMs('retransmit', '200ms');
  shorter('ackDelay', ackDelayMs, 'retransmit', retransmitMs, '200ms');
  const keepaliveMs = routingMs('keepalive', '100ms', 'above zero');
  const takeoverMs = routingMs('takeover', '500ms');
  shorter('keepalive', keepaliveMs, 'takeover', takeoverMs, '500ms');
  const routingSpec: RoutingSpec = {
    helloIntervalMs,
    deadIntervalMs,
    hopLimit: routing.hopLimit ?? 16,
    retransmitMs,
    ackDelayMs,
    ledgerTtlMs: routingMs('ledgerTtl', '15m', 'above zero'),
    spoolBytes: unit(at('spool'), routing.spool, '50GB', parseSize),
    keepaliveMs,
    takeoverMs,
    reconnectMs: routingMs('reconnect', '100ms'),
  };
  const model = raw.model ?? {};

  // [EXPECT-1] Assertion syntax and units are checked on load; field names need a run's summary.
  (raw.expect ?? []).forEach((text, i) => {
    const bad = checkAssertionSyntax(text);
    if (bad !== null) throw src.error(['expect', i], 'value', bad.expected, `${bad.found} at column ${bad.column} of ${quote(text)}`);
  });

  return {
    name: raw.name,
    seed: raw.seed ?? 1,
    durationMs,
    warmupMs,
    regions,
    links,
    publishers,
    subscribers,
    faults,
    expect: [...(raw.expect ?? [])],
    routing: routingSpec,
    model: {
      connectionBytes: unit(['model', 'connectionBytes'], model.connectionBytes, '40KB', parseSize),
      transportOverheadBytes: unit(['model', 'transportOverhead'], model.transportOverhead, '62B', parseSize),
    },
    file: src.file,
  };
}

function compileChecked(src: Source, path: ScenarioPath, text: string, allowed: readonly PlaceholderName[], what: string): CompiledTemplate {
  const t = compileTemplate(text, allowed);
  if (isTemplateError(t)) {
    throw src.error(path, 'value', `a ${what} template (placeholders: ${describePlaceholders(allowed)})`, `${quote(text)} (${t.error})`);
  }
  return t;
}

/**
 * [LOAD-3] Walks the faults in time order (file order for equal times): a link goes down only
 * when up and up only when down; a broker (or HA backup) crashes only when running and restarts
 * only when crashed; a heal heals regions that a partition cut off (partitioning a region twice
 * is fine); a link is not degraded again, nor the same subscribers slowed again, while an earlier
 * degrade or slow-consumer fault still holds (back to back is fine). Everything starts up,
 * running, whole and healthy.
 */
function checkFaultSequence(src: Source, faults: readonly FaultSpec[]): void {
  const order = faults.map((f, i) => ({ f, i })).sort((x, y) => x.f.atMs - y.f.atMs || x.i - y.i);
  const downLinks = new Set<string>();
  const crashed = new Set<string>();
  const partitioned = new Set<string>();
  const degraded = new Map<string, { i: number; untilMs: number }>();
  const slowed: { i: number; broker: string; pattern: string | undefined; untilMs: number }[] = [];
  const until = (ms: number): string => (ms === Infinity ? 'to the end of the run' : `until ${formatDuration(ms)}`);
  for (const { f, i } of order) {
    const when = formatDuration(f.atMs);
    const path: ScenarioPath = ['faults', i, f.action];
    switch (f.action) {
      case 'link-down':
      case 'link-up': {
        const [a, b] = f.target as readonly [string, string];
        const key = a < b ? `${a} ${b}` : `${b} ${a}`;
        const down = downLinks.has(key);
        if (f.action === 'link-down' && down) throw src.error(path, 'value', `a link that is up at ${when} (an earlier fault took it down)`, `[${a}, ${b}]`);
        if (f.action === 'link-up' && !down) throw src.error(path, 'value', `a link that is down at ${when} (links start up)`, `[${a}, ${b}]`);
        if (down) downLinks.delete(key);
        else downLinks.add(key);
        break;
      }
      case 'crash':
      case 'restart': {
        const id = f.target[0]!;
        const isCrashed = crashed.has(id);
        if (f.action === 'crash' && isCrashed) throw src.error(path, 'value', `a broker that is running at ${when} (an earlier fault crashed it)`, quote(id));
        if (f.action === 'restart' && !isCrashed) throw src.error(path, 'value', `a crashed broker at ${when} (brokers start running)`, quote(id));
        if (isCrashed) crashed.delete(id);
        else crashed.add(id);
        break;
      }
      case 'partition':
        for (const r of f.target) partitioned.add(r);
        break;
      case 'heal': {
        const shown = f.target.length === 0 ? '"all"' : `[${f.target.join(', ')}]`;
        if (partitioned.size === 0) throw src.error(path, 'value', `a partition to heal at ${when} (no region is partitioned then)`, shown);
        f.target.forEach((r, j) => {
          if (!partitioned.has(r)) throw src.error([...path, j], 'value', `a region partitioned at ${when} (${listOf([...partitioned])})`, quote(r));
        });
        if (f.target.length === 0) partitioned.clear();
        for (const r of f.target) partitioned.delete(r);
        break;
      }
      case 'degrade': {
        const [a, b] = f.target as readonly [string, string];
        const key = a < b ? `${a} ${b}` : `${b} ${a}`;
        const prev = degraded.get(key);
        if (prev !== undefined && prev.untilMs > f.atMs) {
          throw src.error(path, 'value', `a link not degraded at ${when} (faults[${prev.i}] degrades it ${until(prev.untilMs)})`, `[${a}, ${b}]`);
        }
        degraded.set(key, { i, untilMs: f.atMs + (f.forMs ?? Infinity) });
        break;
      }
      case 'slow-consumer': {
        const broker = f.target[0]!;
        const clash = slowed.find(
          (s) => s.broker === broker && s.untilMs > f.atMs && (s.pattern === undefined || f.pattern === undefined || s.pattern === f.pattern),
        );
        if (clash !== undefined) {
          const whom = clash.pattern === undefined ? 'every subscriber' : `the subscribers of ${quote(clash.pattern)}`;
          throw src.error(path, 'value', `subscribers not already slow at ${when} (faults[${clash.i}] slows ${whom} on ${broker} ${until(clash.untilMs)})`, quote(broker));
        }
        slowed.push({ i, broker, pattern: f.pattern, untilMs: f.atMs + (f.forMs ?? Infinity) });
        break;
      }
      default: {
        const never: never = f.action;
        throw new Error(`unknown fault action ${String(never)}`);
      }
    }
  }
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

// ---------------------------------------------------------------------------------------------
// Entry points

/** The key text starting at `offset` (yaml reports a duplicate key by its first character). */
function duplicateKey(text: string, offset: number): string {
  const m = /^("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^:\n]*?)\s*:/.exec(text.slice(offset));
  if (m === null) return 'a key';
  const k = m[1]!;
  return /^["']/.test(k) ? k : quote(k);
}

/** [LOAD-1] Parses scenario YAML `text`; `file` is used in messages. Throws ScenarioError. */
export function parseScenario(text: string, file: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src = new Source(file, doc, lines);

  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const p = lines.linePos(yamlError.pos[0]);
    const dupKey = yamlError.code === 'DUPLICATE_KEY';
    throw new ScenarioError({
      file,
      line: p.line,
      column: p.col,
      path: '',
      expected: dupKey ? 'each key once per map' : 'valid YAML',
      found: dupKey ? `${duplicateKey(text, yamlError.pos[0])} a second time` : `a syntax error (${yamlError.message})`,
    });
  }
  if (doc.contents === null) {
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: 'a scenario (a map with name, duration, regions, …)', found: 'an empty file' });
  }
  let unresolved: Node | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        unresolved = alias;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (unresolved !== undefined) {
    const p = lines.linePos(unresolved.range?.[0] ?? 0);
    throw new ScenarioError({ file, line: p.line, column: p.col, path: '', expected: 'an alias to an anchor defined above it', found: `*${String((unresolved as { source?: string }).source)}` });
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: 'YAML that resolves to plain data', found: `an error (${(e as Error).message})` });
  }
  checkSchema(src, data);
  return resolve(src, data as RawScenario);
}

/** [LOAD-1] Reads and parses a scenario file. Throws ScenarioError (also when unreadable). */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const found = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : `an unreadable file (${code ?? (e as Error).message})`;
    throw new ScenarioError({ file, line: 0, column: 0, path: '', expected: 'a readable scenario file', found });
  }
  return parseScenario(text, file);
}
