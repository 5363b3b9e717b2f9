/**
 * Schema compatibility, Confluent's modes over JSON Schema, judged structurally [SCHEMA-4..6].
 *
 * [SCHEMA-4] One question underlies every mode: *does every value the writer's schema accepts
 * validate under the reader's?* ("the reader covers the writer"). BACKWARD: the new version
 * covers the latest (consumers on the new schema read what was written before); FORWARD: the
 * latest covers the new one (consumers still on the old schema read what is written now); FULL:
 * both; the _TRANSITIVE modes ask it against every earlier version, not only the latest; NONE
 * asks nothing. BACKWARD is the default. A subject's first version is never checked.
 *
 * [SCHEMA-5] The judgement is structural and conservative: it may call a compatible pair
 * incompatible, never the reverse (what the mesh enforces is validation, so "compatible" must
 * mean the old data still validates). Node by node, with R the reader and W the writer:
 *  1. R accepting everything (`true`, `{}`, annotations only) covers anything; W `false` is
 *     covered by anything; R `false` covers only W `false`.
 *  2. type: every type W allows R must allow (integer is a number: widening integer → number is
 *     fine, number → integer is not); a W without `type` allows every type.
 *  3. enum / const: when W lists its values, each must validate under R (checked with ajv, exact);
 *     R listing values covers W only when W lists values too (or W is only null / boolean).
 *  4. strings: R's minLength ≤ W's, R's maxLength ≥ W's; R's pattern and format, when set, equal
 *     W's (added or changed narrows; removed widens).
 *  5. numbers: R's lower bound ≤ W's and upper bound ≥ W's (minimum / exclusiveMinimum /
 *     maximum / exclusiveMaximum, exclusive the tighter at equal values); R's multipleOf divides
 *     W's.
 *  6. objects: every name R requires W requires (a new required property — even with a default:
 *     the mesh validates, it does not fill defaults — is incompatible, where Confluent allows one
 *     with a default); for each property name either declares, R's schema for it covers W's, where
 *     an undeclared name's schema is the node's additionalProperties (absent: any value; false:
 *     none). So: adding a property to W's *open* content model (additionalProperties absent) is
 *     incompatible unless R accepts any value there (W's data may already hold that name with any
 *     value — Confluent's PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL); adding an optional property to a
 *     *closed* W is fine; removing a property is fine unless R is closed; closing an open model
 *     is incompatible, opening a closed one fine; minProperties / maxProperties as bounds.
 *  7. arrays: R's items covers W's items; minItems / maxItems as bounds; R's uniqueItems only
 *     if W has it.
 *  8. combinators: W's anyOf / oneOf is covered when each branch (with W's other keywords) is;
 *     W's allOf by merging its branches into W; R's allOf when each branch covers W; R's anyOf
 *     when some branch does. R's oneOf only when W has the identical oneOf: "exactly one" is not
 *     judged structurally.
 *  9. What is not modelled is judged by equality: any other keyword R has (not, if/then/else,
 *     dependentRequired, propertyNames, contains, …) must have the same value in W; `$ref` only to
 *     `#/$defs/…` or `#/definitions/…` with both versions' definitions equal; a node with
 *     patternProperties, unevaluated*, prefixItems, additionalItems or array-form items must be
 *     identical in both versions. Annotations (title, description, default, examples, $comment,
 *     $id, …) never matter. Two versions in different dialects (draft-07, 2020-12) are not judged.
 * Each problem is reported with the JSON Pointer of the schema node it is about.
 */
import { compile, dialectOf } from './ajv.ts';

/** Confluent's compatibility modes [SCHEMA-4]. */
export const COMPATIBILITY_MODES = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type Compatibility = (typeof COMPATIBILITY_MODES)[number];
export const DEFAULT_COMPATIBILITY: Compatibility = 'BACKWARD';

export function isCompatibility(x: unknown): x is Compatibility {
  return typeof x === 'string' && (COMPATIBILITY_MODES as readonly string[]).includes(x);
}

/** An earlier version of a subject, as the check reads it. */
export interface PastVersion {
  readonly version: number;
  readonly schema: unknown;
}

/** At most this many problems are listed (the first ones found). */
export const PROBLEMS_MAX = 20;

/**
 * [SCHEMA-4] Why `candidate` (to be version `next`) may not follow `past` (oldest first) under
 * `mode`; empty when it may.
 */
export function compatibilityProblems(mode: Compatibility, candidate: unknown, past: readonly PastVersion[], next: number): string[] {
  if (mode === 'NONE' || past.length === 0) return [];
  const against = mode.endsWith('_TRANSITIVE') ? [...past].reverse() : [past[past.length - 1] as PastVersion];
  const backward = mode.startsWith('BACKWARD') || mode.startsWith('FULL');
  const forward = mode.startsWith('FORWARD') || mode.startsWith('FULL');
  const out: string[] = [];
  for (const p of against) {
    if (backward) for (const r of readerProblems(candidate, p.schema, `version ${next}`, `version ${p.version}`)) out.push(`version ${next} must accept data written with version ${p.version}: ${r}`);
    if (forward) for (const r of readerProblems(p.schema, candidate, `version ${p.version}`, `version ${next}`)) out.push(`version ${p.version} must accept data written with version ${next}: ${r}`);
    if (out.length >= PROBLEMS_MAX) break;
  }
  return out.slice(0, PROBLEMS_MAX);
}

/** [SCHEMA-5] Why some value `writer` accepts may fail `reader` (labels name them in messages); empty when none can. */
export function readerProblems(reader: unknown, writer: unknown, readerLabel = 'the reader', writerLabel = 'the writer'): string[] {
  const c: Ctx = { r: readerLabel, w: writerLabel, rRoot: reader, wRoot: writer, defsEqual: false, out: [] };
  const dr = dialectOf(reader);
  const dw = dialectOf(writer);
  if (dr !== dw) return [`#: ${readerLabel} is JSON Schema ${dr ?? 'of another dialect'}, ${writerLabel} ${dw ?? 'of another dialect'}: versions in different dialects are not judged`];
  c.defsEqual = deepEqual(prop(reader, '$defs'), prop(writer, '$defs')) && deepEqual(prop(reader, 'definitions'), prop(writer, 'definitions'));
  covers(reader, writer, '#', c);
  return c.out;
}

// ---- the judgement ---------------------------------------------------------------------------

type Obj = Readonly<Record<string, unknown>>;

interface Ctx {
  readonly r: string;
  readonly w: string;
  readonly rRoot: unknown;
  readonly wRoot: unknown;
  defsEqual: boolean;
  readonly out: string[];
}

const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$comment',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$id',
  '$anchor',
  '$schema',
  '$vocabulary',
  '$defs',
  'definitions',
  'contentMediaType',
  'contentEncoding',
  'contentSchema',
]);

const MODELLED = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'anyOf',
  'oneOf',
  'allOf',
]);

/** Keywords whose meaning depends on their siblings: a node holding one is judged by identity [SCHEMA-5.9]. */
const CONTEXTUAL = ['patternProperties', 'unevaluatedProperties', 'unevaluatedItems', 'prefixItems', 'additionalItems', '$dynamicRef', '$dynamicAnchor', '$recursiveRef', '$recursiveAnchor'];

const BASE_TYPES = ['null', 'boolean', 'object', 'array', 'string', 'number'] as const;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const prop = (s: unknown, k: string): unknown => (isObj(s) ? s[k] : undefined);
const show = (x: unknown): string => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};
const pointer = (name: string): string => name.replace(/~/g, '~0').replace(/\//g, '~1');

function acceptsAll(s: unknown): boolean {
  return s === true || (isObj(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k)));
}

function fail(c: Ctx, path: string, reader: string, writer: string): false {
  c.out.push(`${path}: ${c.r} ${reader}, ${c.w} ${writer}`);
  return false;
}

/** The same judgement into a scratch list (to try a branch without reporting it). */
function trial(c: Ctx, r: unknown, w: unknown, path: string): string[] {
  const sub: Ctx = { ...c, out: [] };
  covers(r, w, path, sub);
  return sub.out;
}

function omit(s: Obj, ...keys: string[]): Obj {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** `a` and `b` as one schema (a value must satisfy both), when that is a plain union of keywords; else null. */
function merge(a: Obj, b: unknown): Obj | null {
  if (b === true) return a;
  if (!isObj(b)) return null;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (!(k in out) || deepEqual(out[k], v)) out[k] = v;
    else if (k === 'required' && Array.isArray(v) && Array.isArray(out[k])) out[k] = [...new Set([...(out[k] as unknown[]), ...v])];
    else if (k === 'properties' && isObj(v) && isObj(out[k]) && Object.keys(v).every((p) => !(p in (out[k] as Obj)))) out[k] = { ...(out[k] as Obj), ...v };
    else return null;
  }
  return out;
}

/** [SCHEMA-5] Whether `r` covers `w` at `path`; problems go to `c.out`. */
function covers(r: unknown, w: unknown, path: string, c: Ctx): boolean {
  if (acceptsAll(r) || w === false) return true;
  if (r === false) return fail(c, path, 'accepts no value here', 'accepts some');
  const R = isObj(r) ? r : {};
  const W = isObj(w) ? w : {};

  // 9. Keywords read with their siblings: the node must not change.
  const contextual = CONTEXTUAL.filter((k) => k in R || k in W);
  if (Array.isArray(R['items']) || Array.isArray(W['items'])) contextual.push('items (a list)');
  if (contextual.length > 0) {
    if (deepEqual(R, W) && (c.defsEqual || !hasRef(R))) return true;
    return fail(c, path, `differs here, where ${contextual.join(', ')} make the node's meaning depend on its siblings`, 'is not the same: such nodes are judged by identity only');
  }

  // 8. R's oneOf: the same list in W, or not judged.
  if ('oneOf' in R) {
    if (!deepEqual(R['oneOf'], W['oneOf']) || (!c.defsEqual && hasRef(R['oneOf']))) {
      return fail(c, `${path}/oneOf`, "has a oneOf that is not the writer's", 'differs: "exactly one" is not judged structurally (use anyOf, or compatibility NONE)');
    }
    return covers(omit(R, 'oneOf'), omit(W, 'oneOf'), path, c);
  }

  // 8. W's alternatives: each must be covered (or W without them is, which is wider).
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = W[key];
    if (!Array.isArray(branches)) continue;
    const rest = omit(W, key);
    if (trial(c, R, rest, path).length === 0) return true;
    for (let i = 0; i < branches.length; i++) {
      const piece = merge(rest, branches[i]) ?? branches[i];
      const problems = trial(c, R, piece, path);
      if (problems.length > 0) {
        c.out.push(...problems.map((p) => `${p} (in ${c.w}'s ${key} branch ${i})`));
        return false;
      }
    }
    return true;
  }
  if (Array.isArray(W['allOf'])) {
    const rest = omit(W, 'allOf');
    let merged: Obj = rest;
    for (const b of W['allOf']) merged = merge(merged, b) ?? merged;
    return covers(R, merged, path, c);
  }

  // 8. R's combinators against a W without any.
  if (Array.isArray(R['allOf'])) {
    let ok = covers(omit(R, 'allOf'), W, path, c);
    R['allOf'].forEach((b, i) => {
      ok = covers(b, W, `${path}/allOf/${i}`, c) && ok;
    });
    return ok;
  }
  if (Array.isArray(R['anyOf'])) {
    const ok = covers(omit(R, 'anyOf'), W, path, c);
    const branches = R['anyOf'];
    const tries = branches.map((b, i) => trial(c, b, W, `${path}/anyOf/${i}`));
    if (tries.some((t) => t.length === 0)) return ok;
    c.out.push(`${path}/anyOf: no branch of ${c.r} accepts everything ${c.w} allows here (branch 0: ${tries[0]?.[0] ?? 'none'})`);
    return false;
  }
  return node(R, W, path, c);
}

/** One node without combinators on either side [SCHEMA-5.2..7, 5.9]. */
function node(R: Obj, W: Obj, path: string, c: Ctx): boolean {
  let ok = true;
  // 9. What is not modelled must be the writer's.
  for (const [k, v] of Object.entries(R)) {
    if (ANNOTATIONS.has(k) || MODELLED.has(k)) continue;
    if (k === '$ref') {
      const local = typeof v === 'string' && /^#\/(\$defs|definitions)\//.test(v);
      if (local && c.defsEqual && v === W['$ref']) continue;
      ok = fail(
        c,
        `${path}/$ref`,
        `refers to ${show(v)}`,
        `${W['$ref'] === v ? 'has different definitions' : `refers to ${show(W['$ref'] ?? 'nothing')}`}: a reference is judged equal only to the same #/$defs entry with equal definitions`,
      );
      continue;
    }
    if (deepEqual(v, W[k]) && (c.defsEqual || !hasRef(v))) continue;
    ok = fail(c, `${path}/${pointer(k)}`, `has ${k}: ${show(v)}`, `${k in W ? `has ${show(W[k])}` : 'has none'}: ${k} is not judged structurally, only by equality`);
  }

  // 3. Listed values: exact, each checked against the reader.
  const values = 'const' in W ? [W['const']] : Array.isArray(W['enum']) ? (W['enum'] as unknown[]) : null;
  if (values !== null) {
    const v = readerValidator(R, c);
    if (v === null) return fail(c, path, 'does not compile on its own here', `lists values: ${show(values)}`);
    const refused = values.filter((x) => !v(x));
    if (refused.length > 0) return fail(c, `${path}/enum`, `does not accept ${refused.map(show).join(', ')}`, 'allows it');
    return ok;
  }
  const wTypes = typeSet(W);
  const rTypes = typeSet(R);
  if ('const' in R || 'enum' in R) {
    const only = [...wTypes].every((t) => t === 'null' || t === 'boolean');
    const candidates = [...(wTypes.has('null') ? [null] : []), ...(wTypes.has('boolean') ? [true, false] : [])];
    const v = only ? readerValidator(R, c) : null;
    if (v === null || !candidates.every((x) => v(x)))
      return fail(c, `${path}/${'const' in R ? 'const' : 'enum'}`, `accepts only ${show(R['const'] ?? R['enum'])}`, `allows any ${[...wTypes].join(' or ')}`);
  }

  // 2. Types.
  const refusedTypes: string[] = [];
  for (const t of wTypes) {
    if (rTypes.has(t) || (t === 'integer' && rTypes.has('number'))) continue;
    if (t === 'number' && rTypes.has('integer')) ok = fail(c, `${path}/type`, 'accepts integers only', 'allows any number');
    else refusedTypes.push(t);
  }
  if (refusedTypes.length > 0) {
    ok = fail(c, `${path}/type`, `accepts only ${[...rTypes].join(' or ')}`, `allows ${refusedTypes.join(', ')} as well${W['type'] === undefined ? ' (it has no type: any)' : ''}`);
  }
  const both = (t: string): boolean => (wTypes.has(t) || (t === 'number' && wTypes.has('integer'))) && (rTypes.has(t) || (t === 'number' && rTypes.has('integer')));

  // 4. Strings.
  if (both('string')) {
    ok = lowerBound(c, path, 'minLength', num(R['minLength']) ?? 0, num(W['minLength']) ?? 0) && ok;
    ok = upperBound(c, path, 'maxLength', num(R['maxLength']) ?? Infinity, num(W['maxLength']) ?? Infinity) && ok;
    for (const k of ['pattern', 'format']) {
      if (R[k] !== undefined && R[k] !== W[k]) ok = fail(c, `${path}/${k}`, `requires ${k} ${show(R[k])}`, W[k] === undefined ? `has no ${k}` : `requires ${show(W[k])}`);
    }
  }
  // 5. Numbers.
  if (both('number')) ok = numbers(R, W, wTypes, path, c) && ok;
  // 6. Objects.
  if (both('object')) ok = objects(R, W, path, c) && ok;
  // 7. Arrays.
  if (both('array')) {
    ok = covers(R['items'] ?? true, W['items'] ?? true, `${path}/items`, c) && ok;
    ok = lowerBound(c, path, 'minItems', num(R['minItems']) ?? 0, num(W['minItems']) ?? 0) && ok;
    ok = upperBound(c, path, 'maxItems', num(R['maxItems']) ?? Infinity, num(W['maxItems']) ?? Infinity) && ok;
    if (R['uniqueItems'] === true && W['uniqueItems'] !== true && !((num(W['maxItems']) ?? Infinity) <= 1)) ok = fail(c, `${path}/uniqueItems`, 'requires unique items', 'allows repeats');
  }
  return ok;
}

function objects(R: Obj, W: Obj, path: string, c: Ctx): boolean {
  let ok = true;
  const rProps = isObj(R['properties']) ? R['properties'] : {};
  const wProps = isObj(W['properties']) ? W['properties'] : {};
  const wRequired = new Set(Array.isArray(W['required']) ? (W['required'] as string[]) : []);
  for (const name of Array.isArray(R['required']) ? (R['required'] as string[]) : []) {
    if (!wRequired.has(name)) ok = fail(c, `${path}/required`, `requires ${show(name)}`, 'does not (its data may lack it)');
  }
  const rMore = R['additionalProperties'] ?? true;
  const wMore = W['additionalProperties'] ?? true;
  const names = [...new Set([...Object.keys(rProps), ...Object.keys(wProps)])];
  for (const name of names) {
    const at = `${path}/properties/${pointer(name)}`;
    const rp = name in rProps ? rProps[name] : rMore;
    const wp = name in wProps ? wProps[name] : wMore;
    if (!(name in rProps) && rMore === false && wp !== false) {
      ok = fail(c, at, `does not allow ${show(name)} (additionalProperties false)`, 'allows it');
    } else if (!(name in wProps) && acceptsAll(wMore) && !acceptsAll(rp)) {
      ok = fail(c, at, `declares ${show(name)} as ${show(rp)}`, 'does not declare it and allows other properties, so its data may hold any value there (open content model)');
    } else ok = covers(rp, wp, at, c) && ok;
  }
  if (rMore === false && wMore !== false) ok = fail(c, `${path}/additionalProperties`, 'allows no other properties', 'allows them');
  else ok = covers(rMore, wMore, `${path}/additionalProperties`, c) && ok;
  ok = lowerBound(c, path, 'minProperties', num(R['minProperties']) ?? 0, num(W['minProperties']) ?? 0) && ok;
  ok = upperBound(c, path, 'maxProperties', num(R['maxProperties']) ?? Infinity, num(W['maxProperties']) ?? Infinity) && ok;
  return ok;
}

interface Bound {
  readonly v: number;
  readonly exclusive: boolean;
}

function bound(s: Obj, incl: string, excl: string, lower: boolean): Bound | null {
  const a = num(s[incl]);
  const b = num(s[excl]);
  if (a === undefined && b === undefined) return null;
  if (a === undefined) return { v: b as number, exclusive: true };
  if (b === undefined) return { v: a, exclusive: false };
  // The tighter of the two; at equal values the exclusive one.
  if (a === b) return { v: a, exclusive: true };
  return lower === a > b ? { v: a, exclusive: false } : { v: b, exclusive: true };
}

const showBound = (b: Bound | null, lower: boolean): string => (b === null ? 'no bound' : `${lower ? (b.exclusive ? '>' : '>=') : b.exclusive ? '<' : '<='} ${b.v}`);

function numbers(R: Obj, W: Obj, wTypes: ReadonlySet<string>, path: string, c: Ctx): boolean {
  let ok = true;
  const rLow = bound(R, 'minimum', 'exclusiveMinimum', true);
  const wLow = bound(W, 'minimum', 'exclusiveMinimum', true);
  if (rLow !== null && (wLow === null || rLow.v > wLow.v || (rLow.v === wLow.v && rLow.exclusive && !wLow.exclusive))) {
    ok = fail(c, `${path}/minimum`, `requires ${showBound(rLow, true)}`, `allows ${showBound(wLow, true)}`);
  }
  const rHigh = bound(R, 'maximum', 'exclusiveMaximum', false);
  const wHigh = bound(W, 'maximum', 'exclusiveMaximum', false);
  if (rHigh !== null && (wHigh === null || rHigh.v < wHigh.v || (rHigh.v === wHigh.v && rHigh.exclusive && !wHigh.exclusive))) {
    ok = fail(c, `${path}/maximum`, `requires ${showBound(rHigh, false)}`, `allows ${showBound(wHigh, false)}`);
  }
  const rm = num(R['multipleOf']);
  if (rm !== undefined) {
    const wm = num(W['multipleOf']);
    const integersOnly = !wTypes.has('number');
    const divides = (x: number): boolean => Math.abs(x / rm - Math.round(x / rm)) < 1e-9;
    if (!((wm !== undefined && divides(wm)) || (integersOnly && divides(1))))
      ok = fail(c, `${path}/multipleOf`, `requires multiples of ${rm}`, wm === undefined ? 'has no multipleOf' : `requires multiples of ${wm}`);
  }
  return ok;
}

function lowerBound(c: Ctx, path: string, k: string, r: number, w: number): boolean {
  return r <= w || fail(c, `${path}/${k}`, `requires ${k} ${r}`, `allows ${w}`);
}

function upperBound(c: Ctx, path: string, k: string, r: number, w: number): boolean {
  return r >= w || fail(c, `${path}/${k}`, `requires ${k} ${r}`, `allows ${w === Infinity ? 'any' : w}`);
}

const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

/** The types a node allows: its `type` (integer apart from number), or every type. */
function typeSet(s: Obj): Set<string> {
  const t = s['type'];
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t as string[]);
  return new Set(BASE_TYPES);
}

/** The reader's node as a standalone validator (its root's definitions beside it), or null. */
function readerValidator(R: Obj, c: Ctx): ((x: unknown) => boolean) | null {
  const root = c.rRoot;
  const standalone: Record<string, unknown> = { ...R };
  for (const k of ['$schema', '$defs', 'definitions']) if (prop(root, k) !== undefined && !(k in standalone)) standalone[k] = prop(root, k);
  delete standalone['$id'];
  const v = compile(standalone);
  return 'error' in v ? null : (x) => v(x) as boolean;
}

function hasRef(x: unknown): boolean {
  if (Array.isArray(x)) return x.some(hasRef);
  if (!isObj(x)) return false;
  return Object.entries(x).some(([k, v]) => k === '$ref' || hasRef(v));
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && deepEqual((a as Obj)[k], (b as Obj)[k]));
}
