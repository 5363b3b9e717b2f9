/**
 * JSON Schemas compiled to validators by ajv 8 [SCHEMA-2]: the one file of engine/ that imports a
 * package (biome.json names it). ajv turns a schema into a function once (its own code generation,
 * inside the package); validating is then a call, with no I/O, clock or randomness.
 *
 * [SCHEMA-2] Dialects: JSON Schema 2020-12 (no `$schema`, or 2020-12's), and draft-07
 * (`"$schema": "http://json-schema.org/draft-07/schema#"`); any other `$schema` does not compile.
 * ajv runs strict: an unknown keyword (`requried`) or format is an error, not silently ignored;
 * formats are ajv-formats' (date-time, email, uuid, uri, …). References resolve inside the schema
 * only (`#/$defs/…`); nothing is fetched. A schema is compiled without its `$id` registered, so
 * two versions with the same `$id` (the usual case) compile side by side.
 */
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** A compiled schema: call it with parsed JSON; on false its `errors` say why. */
export type Validator = ValidateFunction;

/** The first reason a validator gave, as a client reads it [SCHEMA-8]. */
export interface DataError {
  /** JSON Pointer into the data (`/amountCents`; a missing or extra property's own pointer). */
  readonly path: string;
  /** The keyword that failed (`type`, `required`, `minimum`, …). */
  readonly keyword: string;
  /** ajv's message (`must be integer`). */
  readonly message: string;
  /** Where in the schema (`#/properties/amountCents/type`). */
  readonly schemaPath: string;
}

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;
const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/;

type AjvInstance = Ajv | Ajv2020;
// ajv-formats is CommonJS: its default export is the plugin itself (Node ESM interop).
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvInstance) => void;

const OPTIONS = {
  strict: true,
  // A schema without `type: object` beside `properties` is fine JSON Schema: judged, not refused.
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  allErrors: false,
  logger: false,
} as const;

// One instance per dialect for the process: building one compiles ajv's meta-schemas (tens of
// milliseconds); compiling a schema with it afterwards takes about 1-2 ms.
let ajv2020: Ajv2020 | undefined;
let ajv07: Ajv | undefined;

/** The dialect a schema declares: '2020-12', 'draft-07', or null for a `$schema` we do not take. */
export function dialectOf(schema: unknown): '2020-12' | 'draft-07' | null {
  if (typeof schema !== 'object' || schema === null) return '2020-12';
  const s = (schema as Record<string, unknown>)['$schema'];
  if (s === undefined) return '2020-12';
  if (typeof s !== 'string') return null;
  if (DRAFT_2020.test(s)) return '2020-12';
  if (DRAFT_07.test(s)) return 'draft-07';
  return null;
}

function instanceFor(dialect: '2020-12' | 'draft-07'): AjvInstance {
  if (dialect === 'draft-07') {
    if (ajv07 === undefined) {
      ajv07 = new Ajv(OPTIONS);
      addFormats(ajv07);
    }
    return ajv07;
  }
  if (ajv2020 === undefined) {
    ajv2020 = new Ajv2020(OPTIONS);
    addFormats(ajv2020);
  }
  return ajv2020;
}

/**
 * Compiles a schema (a boolean or an object, already parsed); the validator, or why it does not
 * compile (one line: ajv's message, e.g. `strict mode: unknown keyword: "requried"`).
 */
export function compile(schema: unknown): Validator | { readonly error: string } {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    return { error: 'a schema is a JSON object (or true / false)' };
  }
  const dialect = dialectOf(schema);
  if (dialect === null) return { error: `$schema ${JSON.stringify((schema as Record<string, unknown>)['$schema'])}: expected JSON Schema 2020-12 or draft-07` };
  const ajv = instanceFor(dialect);
  try {
    const v = ajv.compile(schema as object);
    return v;
  } catch (e) {
    // ajv throws plain Errors (and a URI library's, for an `$id` it cannot serialize).
    return { error: firstLine(e instanceof Error ? e.message : String(e)) };
  } finally {
    // Keep the instance free of this schema's `$id`: the next version may reuse it.
    if (typeof schema === 'object') ajv.removeSchema(schema as object);
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

/** JSON Pointer escaping of one property name (RFC 6901). */
function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * [SCHEMA-8] The first error of a validator that just returned false: ajv's data path, where a
 * missing (`required`) or unexpected (`additionalProperties`) property points at the property
 * itself (`/currency`), not at the object that lacks or holds it.
 */
export function firstError(v: Validator): DataError {
  const e = (v.errors ?? [])[0] as ErrorObject | undefined;
  if (e === undefined) return { path: '', keyword: 'false', message: 'the schema accepts nothing', schemaPath: '#' };
  const p = e.params as Record<string, unknown>;
  let path = e.instancePath;
  if (e.keyword === 'required' && typeof p['missingProperty'] === 'string') path += `/${pointerSegment(p['missingProperty'])}`;
  else if (e.keyword === 'additionalProperties' && typeof p['additionalProperty'] === 'string') path += `/${pointerSegment(p['additionalProperty'])}`;
  return { path, keyword: e.keyword, message: e.message ?? 'is invalid', schemaPath: e.schemaPath };
}
