/**
 * Versioned documents of the mesh's governance [CP-7], for the ACL and schema-registry work to
 * build on: `acl_policies` (one JSON policy document per version, per policy set) and
 * `schema_subjects` / `schema_versions` (a JSON Schema per version of a subject, and the
 * subject's compatibility mode). Versions are 1, 2, 3… per set or subject, assigned under a
 * transaction-level advisory lock, so two brokers putting at once get two versions, never one
 * twice. Putting a schema equal (as JSONB: key order and spacing aside) to the subject's latest
 * returns that version instead of adding one, as Confluent's registry does. Whether a new schema
 * is compatible with the old ones is the registry's to check before it puts; this stores the mode.
 */
import { UsageError } from '../../engine/types.ts';
import { COMPATIBILITY_MODES } from './migrations.ts';
import type { Query, Row, Sql, Tx } from './sql.ts';

export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

/** The policy set when none is named. */
export const DEFAULT_POLICY_SET = 'mesh';

export interface AclPolicyVersion {
  readonly policySet: string;
  readonly version: number;
  readonly document: unknown;
  readonly createdBy: string | null;
  readonly createdAt: Date;
}

export interface SchemaVersion {
  readonly subject: string;
  readonly version: number;
  readonly schema: unknown;
  readonly createdAt: Date;
}

export interface SchemaSubject {
  readonly subject: string;
  readonly compatibility: CompatibilityMode;
  readonly latestVersion: number | null;
}

/** The advisory lock of one set or subject: hashtext of a prefixed name. */
async function lockName(tx: Tx, name: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
}

/** A JSON document's text (for a jsonb parameter); UsageError when `v` is not JSON. */
function jsonText(v: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (e) {
    throw new UsageError(`${what}: not a JSON document (${(e as Error).message})`);
  }
  if (text === undefined) throw new UsageError(`${what}: not a JSON document`);
  return text;
}

function toPolicy(r: Row): AclPolicyVersion {
  return {
    policySet: String(r['policy_set']),
    version: Number(r['version']),
    document: r['document'],
    createdBy: (r['created_by'] as string | null) ?? null,
    createdAt: r['created_at'] as Date,
  };
}

/** [CP-7] Stores `document` as the set's next version; returns it. */
export async function putAclPolicy(sql: Sql, document: unknown, opts: { readonly policySet?: string; readonly createdBy?: string } = {}): Promise<AclPolicyVersion> {
  const set = opts.policySet ?? DEFAULT_POLICY_SET;
  const text = jsonText(document, `acl policy ${set}`);
  return sql.transaction(async (tx) => {
    await lockName(tx, `acl:${set}`);
    const rows = await tx.query(
      `INSERT INTO acl_policies (policy_set, version, document, created_by)
       SELECT $1::varchar, COALESCE(MAX(version), 0) + 1, $2::jsonb, $3::varchar FROM acl_policies WHERE policy_set = $1::varchar
       RETURNING *`,
      [set, text, opts.createdBy ?? null],
    );
    return toPolicy(rows[0] as Row);
  });
}

/** The set's latest version, or null when it has none. */
export async function latestAclPolicy(q: Query, policySet = DEFAULT_POLICY_SET): Promise<AclPolicyVersion | null> {
  const rows = await q('SELECT * FROM acl_policies WHERE policy_set = $1 ORDER BY version DESC LIMIT 1', [policySet]);
  return rows[0] === undefined ? null : toPolicy(rows[0]);
}

/** Every version of the set, oldest first. */
export async function aclPolicyVersions(q: Query, policySet = DEFAULT_POLICY_SET): Promise<AclPolicyVersion[]> {
  return (await q('SELECT * FROM acl_policies WHERE policy_set = $1 ORDER BY version', [policySet])).map(toPolicy);
}

function checkSubject(subject: string): void {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256) throw new UsageError(`schema subject ${JSON.stringify(subject)}: expected 1–256 characters`);
}

function checkMode(mode: string): asserts mode is CompatibilityMode {
  if (!(COMPATIBILITY_MODES as readonly string[]).includes(mode)) throw new UsageError(`compatibility ${JSON.stringify(mode)}: expected one of ${COMPATIBILITY_MODES.join(', ')}`);
}

function toSchema(r: Row): SchemaVersion {
  return { subject: String(r['subject']), version: Number(r['version']), schema: r['schema'], createdAt: r['created_at'] as Date };
}

/**
 * [CP-7] Registers `schema` under `subject`: its next version, or the latest when that one is
 * equal (`created: false`). A new subject takes `compatibility` (default BACKWARD); an existing
 * one keeps its mode unless `compatibility` is given.
 */
export async function putSchemaVersion(sql: Sql, subject: string, schema: unknown, opts: { readonly compatibility?: CompatibilityMode } = {}): Promise<SchemaVersion & { readonly created: boolean }> {
  checkSubject(subject);
  if (typeof schema !== 'object' && typeof schema !== 'boolean') throw new UsageError(`schema for ${subject}: a JSON Schema is an object or a boolean`);
  if (opts.compatibility !== undefined) checkMode(opts.compatibility);
  const text = jsonText(schema, `schema for ${subject}`);
  return sql.transaction(async (tx) => {
    await lockName(tx, `schema:${subject}`);
    await tx.query(
      `INSERT INTO schema_subjects (subject, compatibility) VALUES ($1, COALESCE($2::varchar, 'BACKWARD'))
       ON CONFLICT (subject) DO UPDATE SET compatibility = COALESCE($2::varchar, schema_subjects.compatibility),
         updated_at = CASE WHEN $2::varchar IS NULL THEN schema_subjects.updated_at ELSE NOW() END`,
      [subject, opts.compatibility ?? null],
    );
    const latest = await tx.query('SELECT *, schema = $2::jsonb AS same FROM schema_versions WHERE subject = $1 ORDER BY version DESC LIMIT 1', [subject, text]);
    if (latest[0] !== undefined && latest[0]['same'] === true) return { ...toSchema(latest[0]), created: false };
    const rows = await tx.query(
      `INSERT INTO schema_versions (subject, version, schema)
       SELECT $1::varchar, COALESCE(MAX(version), 0) + 1, $2::jsonb FROM schema_versions WHERE subject = $1::varchar
       RETURNING *`,
      [subject, text],
    );
    return { ...toSchema(rows[0] as Row), created: true };
  });
}

/** A subject's latest schema, or null. */
export async function latestSchema(q: Query, subject: string): Promise<SchemaVersion | null> {
  const rows = await q('SELECT * FROM schema_versions WHERE subject = $1 ORDER BY version DESC LIMIT 1', [subject]);
  return rows[0] === undefined ? null : toSchema(rows[0]);
}

/** One version of a subject, or null. */
export async function schemaVersion(q: Query, subject: string, version: number): Promise<SchemaVersion | null> {
  const rows = await q('SELECT * FROM schema_versions WHERE subject = $1 AND version = $2', [subject, version]);
  return rows[0] === undefined ? null : toSchema(rows[0]);
}

/** Every version of a subject, oldest first. */
export async function schemaVersions(q: Query, subject: string): Promise<SchemaVersion[]> {
  return (await q('SELECT * FROM schema_versions WHERE subject = $1 ORDER BY version', [subject])).map(toSchema);
}

/** Every subject with its mode and latest version, by name. */
export async function listSubjects(q: Query): Promise<SchemaSubject[]> {
  const rows = await q(
    `SELECT s.subject, s.compatibility, MAX(v.version) AS latest FROM schema_subjects s LEFT JOIN schema_versions v ON v.subject = s.subject
     GROUP BY s.subject, s.compatibility ORDER BY s.subject`,
  );
  return rows.map((r) => ({ subject: String(r['subject']), compatibility: r['compatibility'] as CompatibilityMode, latestVersion: r['latest'] === null ? null : Number(r['latest']) }));
}

/** Sets a subject's compatibility mode; false when there is no such subject. */
export async function setCompatibility(q: Query, subject: string, mode: CompatibilityMode): Promise<boolean> {
  checkMode(mode);
  const rows = await q('UPDATE schema_subjects SET compatibility = $2, updated_at = NOW() WHERE subject = $1 RETURNING subject', [subject, mode]);
  return rows.length > 0;
}
