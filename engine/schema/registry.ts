/**
 * The schema registry: subjects [SCHEMA-1] with versioned JSON Schemas [SCHEMA-2], changed under
 * a compatibility mode [SCHEMA-4..6], enforced at ingress [SCHEMA-7..8].
 *
 * [SCHEMA-3] The registry is a mesh-wide document, `doc: "schemas"`, flooded like the ACL
 * (governance.ts [GOV-1..5]): every broker holds the same subjects and versions, a change is the
 * document's next version made at one broker, and a broker cut off keeps enforcing the last one
 * it had. Its body (JSON):
 *   {"subjects":[{"subject":"com.acme.order.*","compatibility":"BACKWARD",
 *                 "versions":[{"version":1,"id":1,"schema":{…}}]}]}
 * Subjects keep registration order; versions count from 1 without gaps; a body that breaks any
 * of this, or holds a schema that does not compile, is refused whole [GOV-5].
 *
 * [SCHEMA-6] Registering a schema under a subject: a schema that does not compile is refused; one
 * already registered there (the same JSON) gives its existing version back; otherwise it must
 * pass the subject's compatibility mode against the earlier versions (BACKWARD for a new
 * subject), and becomes the next version. Its id is the one the same schema text has anywhere in
 * the registry, else one more than the largest. A body over REGISTRY_BODY_MAX is refused (a
 * governance frame carries it whole).
 *
 * [SCHEMA-7] An event is checked against every subject that applies to it — the one named by its
 * exact type, then type globs, then topic filters, each in registration order — under each one's
 * latest version; the first that rejects it refuses it. The data is the payload parsed as JSON
 * (UTF-8); a payload that is not JSON, or whose `datacontenttype` header is not a JSON media type,
 * is invalid for any subject. With no subject applying, nothing is parsed or allocated. The
 * mesh's own publishes (principal `$internal`: a retained replication of an event already
 * checked) are not checked again (broker.ts).
 *
 * [SCHEMA-9] Each version is compiled once per broker (a new document version reuses the
 * validators of the schemas it already held), never per event.
 */
import { type Headers, UsageError } from '../types.ts';
import { compile, type DataError, firstError, type Validator } from './ajv.ts';
import { type Compatibility, compatibilityProblems, DEFAULT_COMPATIBILITY, isCompatibility } from './compat.ts';
import { levelsMatch, parseSubject, type SubjectKey } from './subject.ts';

/** The registry's document name [SCHEMA-3]. */
export const SCHEMAS_DOC = 'schemas';

/** Largest registry body (UTF-16 code units as a bound on its bytes / 3): well inside one 16 MiB governance frame. */
export const REGISTRY_BODY_MAX = 4 * 1024 * 1024;

/** Types remembered with the subjects that apply to them; the memo is cleared past this many. */
const TYPE_MEMO_MAX = 4096;

export interface SchemaVersion {
  readonly version: number;
  readonly id: number;
  readonly schema: unknown;
  /** The schema's JSON text (its identity in the registry). */
  readonly text: string;
  readonly validate: Validator;
}

/** A subject with its versions, and what this broker checked against it. */
export class Subject {
  /** Events checked against the latest version here (valid or not), and those it refused [SCHEMA-7]. */
  validated = 0;
  invalid = 0;

  constructor(
    readonly key: SubjectKey,
    readonly compatibility: Compatibility,
    readonly versions: readonly SchemaVersion[],
  ) {}

  get name(): string {
    return this.key.name;
  }

  get latest(): SchemaVersion | undefined {
    return this.versions[this.versions.length - 1];
  }
}

/** Why an event was refused [SCHEMA-8]. */
export interface SchemaRefusal {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly error: DataError;
}

/** The answer to a registration [SCHEMA-6]. */
export type Registration =
  | { readonly kind: 'registered'; readonly subject: string; readonly version: number; readonly id: number; readonly body: string }
  | { readonly kind: 'exists'; readonly subject: string; readonly version: number; readonly id: number }
  | { readonly kind: 'bad-subject'; readonly error: string }
  | { readonly kind: 'invalid-schema'; readonly error: string }
  | { readonly kind: 'incompatible'; readonly compatibility: Compatibility; readonly problems: readonly string[] }
  | { readonly kind: 'too-large'; readonly error: string };

/** A compatibility check without registering [SCHEMA-4]. */
export type CompatibilityCheck =
  | { readonly kind: 'checked'; readonly compatible: boolean; readonly compatibility: Compatibility; readonly problems: readonly string[] }
  | { readonly kind: 'bad-subject'; readonly error: string }
  | { readonly kind: 'invalid-schema'; readonly error: string };

/** A subject as a scenario or broker config writes it: one schema, or its versions in order. */
export interface SubjectSpec {
  readonly subject: string;
  readonly compatibility?: string;
  readonly schema?: unknown;
  readonly versions?: readonly unknown[];
}

interface BodySubject {
  readonly subject: string;
  readonly compatibility: Compatibility;
  readonly versions: ReadonlyArray<{ readonly version: number; readonly id: number; readonly schema: unknown }>;
}

const NO_SUBJECTS: readonly Subject[] = Object.freeze([]);
const UNPARSED = Symbol('unparsed');
const NOT_JSON = Symbol('not JSON');
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** application/json, text/json, anything+json (parameters ignored). */
export function isJsonMedia(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export class SchemaRegistry {
  /** Subjects in registration order. */
  readonly subjects: readonly Subject[];
  readonly #byName = new Map<string, Subject>();
  readonly #exact = new Map<string, Subject>();
  readonly #globs: Subject[] = [];
  readonly #topics: Subject[] = [];
  readonly #byType = new Map<string, readonly Subject[]>();
  /** Validators by schema text, shared along a broker's registry versions [SCHEMA-9]. */
  readonly #compiled: Map<string, Validator>;
  readonly #enforcing: boolean;
  #notJson = '';
  /** The data of the event being checked (UNPARSED between events). */
  #data: unknown = UNPARSED;
  /** Why the last `validate` that returned -1 refused. */
  refusal: SchemaRefusal | null = null;

  private constructor(
    subjects: readonly Subject[],
    /** The document version (0: none installed). */
    readonly version: number,
    compiled: Map<string, Validator>,
  ) {
    this.subjects = subjects;
    this.#compiled = compiled;
    for (const s of subjects) {
      this.#byName.set(s.name, s);
      if (s.versions.length === 0) continue;
      if (s.key.kind === 'type') this.#exact.set(s.key.pattern, s);
      else if (s.key.kind === 'type-glob') this.#globs.push(s);
      else this.#topics.push(s);
    }
    this.#enforcing = this.#exact.size + this.#globs.length + this.#topics.length > 0;
  }

  /** A registry with no subjects (version 0): nothing is checked. */
  static empty(): SchemaRegistry {
    return new SchemaRegistry([], 0, new Map());
  }

  /**
   * [SCHEMA-3] The registry a document body describes; UsageError (naming `where`) when it is not
   * one. `previous` (this broker's last registry) lends its compiled validators and counters.
   */
  static fromBody(body: string, version: number, where = SCHEMAS_DOC, previous?: SchemaRegistry): SchemaRegistry {
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch (e) {
      throw new UsageError(`${where}: not JSON: ${(e as Error).message}`);
    }
    if (!isObj(raw) || !Array.isArray(raw['subjects'])) throw new UsageError(`${where}: expected {"subjects": [...]}`);
    const compiled = previous === undefined ? new Map<string, Validator>() : previous.#compiled;
    const seen = new Set<string>();
    const subjects = (raw['subjects'] as unknown[]).map((s, i) => {
      const at = `${where}.subjects[${i}]`;
      if (!isObj(s)) throw new UsageError(`${at}: expected {"subject", "compatibility", "versions"}`);
      const key = parseSubject(s['subject'] as string);
      if ('error' in key) throw new UsageError(`${at}.subject: ${key.error}`);
      if (seen.has(key.name)) throw new UsageError(`${at}.subject: ${JSON.stringify(key.name)} a second time`);
      seen.add(key.name);
      const mode = s['compatibility'];
      if (!isCompatibility(mode)) throw new UsageError(`${at}.compatibility: expected BACKWARD, FORWARD, FULL, NONE or a _TRANSITIVE mode, found ${JSON.stringify(mode)}`);
      if (!Array.isArray(s['versions'])) throw new UsageError(`${at}.versions: expected a list`);
      const versions = (s['versions'] as unknown[]).map((v, j): SchemaVersion => {
        const vat = `${at}.versions[${j}]`;
        if (!isObj(v) || v['version'] !== j + 1) throw new UsageError(`${vat}: expected version ${j + 1}`);
        const id = v['id'];
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new UsageError(`${vat}.id: expected a positive integer, found ${JSON.stringify(id)}`);
        const text = JSON.stringify(v['schema']) ?? '';
        let validate = compiled.get(text);
        if (validate === undefined) {
          const c = compile(v['schema']);
          if ('error' in c) throw new UsageError(`${vat}.schema: ${c.error}`);
          compiled.set(text, (validate = c));
        }
        return { version: j + 1, id, schema: v['schema'], text, validate };
      });
      const subject = new Subject(key, mode, versions);
      const before = previous?.subject(key.name);
      if (before !== undefined) {
        subject.validated = before.validated;
        subject.invalid = before.invalid;
      }
      return subject;
    });
    return new SchemaRegistry(subjects, version, compiled);
  }

  /**
   * [SCHEMA-3] The body of a registry holding `specs` (each subject's versions registered in
   * order, checked [SCHEMA-6]): a scenario's or a broker config's `schemas:`. UsageError names
   * `where[i]` and the problem.
   */
  static bodyOf(specs: readonly SubjectSpec[], where = 'schemas'): string {
    let r = SchemaRegistry.empty();
    specs.forEach((spec, i) => {
      const at = `${where}[${i}]`;
      const versions = spec.versions ?? (spec.schema === undefined ? [] : [spec.schema]);
      if (spec.versions !== undefined && spec.schema !== undefined) throw new UsageError(`${at}: expected schema: or versions:, not both`);
      if (versions.length === 0) throw new UsageError(`${at}: expected a schema: (or versions:)`);
      if (r.subject(spec.subject) !== undefined) throw new UsageError(`${at}.subject: ${JSON.stringify(spec.subject)} a second time`);
      if (spec.compatibility !== undefined) {
        if (!isCompatibility(spec.compatibility)) throw new UsageError(`${at}.compatibility: expected one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE`);
        const c = r.withCompatibility(spec.subject, spec.compatibility);
        if (typeof c !== 'string') throw new UsageError(`${at}.subject: ${c.error}`);
        r = SchemaRegistry.fromBody(c, r.version + 1, where, r);
      }
      versions.forEach((schema, j) => {
        const vat = spec.versions === undefined ? `${at}.schema` : `${at}.versions[${j}]`;
        const reg = r.register(spec.subject, schema);
        switch (reg.kind) {
          case 'registered':
            r = SchemaRegistry.fromBody(reg.body, r.version + 1, where, r);
            return;
          case 'exists':
            throw new UsageError(`${vat}: the same schema as version ${reg.version}`);
          case 'bad-subject':
            throw new UsageError(`${at}.subject: ${reg.error}`);
          case 'incompatible':
            throw new UsageError(`${vat}: not ${reg.compatibility} compatible: ${reg.problems[0]}`);
          case 'invalid-schema':
          case 'too-large':
            throw new UsageError(`${vat}: ${reg.error}`);
          default: {
            const never: never = reg;
            throw new Error(`unknown registration ${JSON.stringify(never)}`);
          }
        }
      });
    });
    return r.toBody();
  }

  /** No subject has a version: nothing is checked. */
  get empty(): boolean {
    return !this.#enforcing;
  }

  subject(name: string): Subject | undefined {
    return this.#byName.get(name);
  }

  /** The document body [SCHEMA-3]. */
  toBody(): string {
    return bodyText(this.subjects.map(toBodySubject));
  }

  /** [SCHEMA-6] Registers `schema` under subject `name`: the new body to install, or why not. Pure. */
  register(name: string, schema: unknown): Registration {
    const key = parseSubject(name);
    if ('error' in key) return { kind: 'bad-subject', error: key.error };
    const text = JSON.stringify(schema) ?? '';
    const existing = this.#byName.get(name);
    const same = existing?.versions.find((v) => v.text === text);
    if (same !== undefined) return { kind: 'exists', subject: name, version: same.version, id: same.id };
    const validate = this.#compile(schema, text);
    if ('error' in validate) return { kind: 'invalid-schema', error: validate.error };
    const compatibility = existing?.compatibility ?? DEFAULT_COMPATIBILITY;
    const past = existing?.versions ?? [];
    const version = past.length + 1;
    const problems = compatibilityProblems(compatibility, schema, past, version);
    if (problems.length > 0) return { kind: 'incompatible', compatibility, problems };
    const id = this.#idFor(text);
    const entry: BodySubject = { subject: name, compatibility, versions: [...past.map((v) => ({ version: v.version, id: v.id, schema: v.schema })), { version, id, schema }] };
    const body = this.#bodyWith(entry);
    if (body.length > REGISTRY_BODY_MAX)
      return { kind: 'too-large', error: `the registry would hold ${body.length} characters of schemas (at most ${REGISTRY_BODY_MAX}: it travels whole in one governance frame)` };
    this.#compiled.set(text, validate);
    return { kind: 'registered', subject: name, version, id, body };
  }

  /** [SCHEMA-4] Would `schema` pass as the next version of `name`? Pure; registers nothing. */
  checkCompatibility(name: string, schema: unknown): CompatibilityCheck {
    const key = parseSubject(name);
    if ('error' in key) return { kind: 'bad-subject', error: key.error };
    const text = JSON.stringify(schema) ?? '';
    const c = this.#compiled.has(text) ? null : compile(schema);
    if (c !== null && 'error' in c) return { kind: 'invalid-schema', error: c.error };
    const existing = this.#byName.get(name);
    const compatibility = existing?.compatibility ?? DEFAULT_COMPATIBILITY;
    const past = existing?.versions ?? [];
    const problems = compatibilityProblems(compatibility, schema, past, past.length + 1);
    return { kind: 'checked', compatible: problems.length === 0, compatibility, problems };
  }

  /** The body with subject `name`'s compatibility set to `mode` (a subject without versions yet is created). */
  withCompatibility(name: string, mode: Compatibility): string | { readonly error: string } {
    const key = parseSubject(name);
    if ('error' in key) return key;
    const existing = this.#byName.get(name);
    return this.#bodyWith({ subject: name, compatibility: mode, versions: existing === undefined ? [] : toBodySubject(existing).versions });
  }

  /**
   * [SCHEMA-7] Checks an event against every subject that applies to it: how many accepted it
   * (0: none applies), or -1 when one refused it (`refusal` says why). `count` false leaves the
   * subjects' counters alone (a host measuring the cost).
   */
  validate(topic: string, type: string, headers: Headers, payload: Uint8Array, count = true): number {
    if (!this.#enforcing) return 0;
    let n = 0;
    const typed = this.#typed(type);
    for (let i = 0; i < typed.length; i++) {
      if (!this.#judge(typed[i] as Subject, headers, payload, count)) return this.#done(-1);
      n++;
    }
    for (let i = 0; i < this.#topics.length; i++) {
      const s = this.#topics[i] as Subject;
      if (!levelsMatch(s.key.levels as readonly string[], topic)) continue;
      if (!this.#judge(s, headers, payload, count)) return this.#done(-1);
      n++;
    }
    return this.#done(n);
  }

  /** One subject's verdict on the event's data (parsed once per event, at the first subject). */
  #judge(s: Subject, headers: Headers, payload: Uint8Array, count: boolean): boolean {
    const latest = s.latest as SchemaVersion;
    if (this.#data === UNPARSED) this.#data = this.#parse(headers, payload);
    if (count) s.validated++;
    if (this.#data !== NOT_JSON && latest.validate(this.#data)) return true;
    if (count) s.invalid++;
    const error = this.#data === NOT_JSON ? { path: '', keyword: 'json', message: this.#notJson, schemaPath: '#' } : firstError(latest.validate);
    this.refusal = { subject: s.name, version: latest.version, id: latest.id, error };
    return false;
  }

  /** Lets go of the event's parsed data. */
  #done(result: number): number {
    this.#data = UNPARSED;
    return result;
  }

  /** Whether any subject applies to an event (no allocation once `type` is memoized). */
  subjectsApply(topic: string, type: string): boolean {
    if (!this.#enforcing) return false;
    if (this.#typed(type).length > 0) return true;
    for (const s of this.#topics) if (levelsMatch(s.key.levels as readonly string[], topic)) return true;
    return false;
  }

  /** The subjects that apply to an event, in the order they are checked [SCHEMA-7] (a new list: for tools, not per event). */
  subjectsFor(topic: string, type: string): Subject[] {
    return [...this.#typed(type), ...this.#topics.filter((s) => levelsMatch(s.key.levels as readonly string[], topic))];
  }

  /** Subjects that apply to `type`: the exact one, then globs (memoized per type). */
  #typed(type: string): readonly Subject[] {
    let found = this.#byType.get(type);
    if (found !== undefined) return found;
    const exact = this.#exact.get(type);
    const list: Subject[] = exact === undefined ? [] : [exact];
    for (const s of this.#globs) if ((s.key.glob as RegExp).test(type)) list.push(s);
    found = list.length === 0 ? NO_SUBJECTS : list;
    if (this.#byType.size >= TYPE_MEMO_MAX) this.#byType.clear();
    this.#byType.set(type, found);
    return found;
  }

  #parse(headers: Headers, payload: Uint8Array): unknown {
    const ct = headers['datacontenttype'];
    if (typeof ct === 'string' && !isJsonMedia(ct)) {
      this.#notJson = `payload is ${ct}, not JSON`;
      return NOT_JSON;
    }
    try {
      return JSON.parse(UTF8.decode(payload));
    } catch (e) {
      this.#notJson = `payload is not JSON: ${(e as Error).message}`;
      return NOT_JSON;
    }
  }

  #compile(schema: unknown, text: string): Validator | { readonly error: string } {
    return this.#compiled.get(text) ?? compile(schema);
  }

  #idFor(text: string): number {
    let max = 0;
    for (const s of this.subjects) {
      for (const v of s.versions) {
        if (v.text === text) return v.id;
        if (v.id > max) max = v.id;
      }
    }
    return max + 1;
  }

  #bodyWith(entry: BodySubject): string {
    const out = this.subjects.map(toBodySubject);
    const i = out.findIndex((s) => s.subject === entry.subject);
    if (i >= 0) out[i] = entry;
    else out.push(entry);
    return bodyText(out);
  }
}

function toBodySubject(s: Subject): BodySubject {
  return { subject: s.name, compatibility: s.compatibility, versions: s.versions.map((v) => ({ version: v.version, id: v.id, schema: v.schema })) };
}

function bodyText(subjects: readonly BodySubject[]): string {
  return JSON.stringify({ subjects });
}
