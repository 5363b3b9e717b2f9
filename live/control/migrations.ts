/**
 * The control plane's schema, as numbered migrations [CP-3]: applied in order, each in its own
 * transaction together with its row in `schema_migrations`, so a database is always at one
 * version. The same SQL runs on PGlite and on a PostgreSQL server.
 *
 * Several brokers sharing one server start at once: each migration run takes a transaction-level
 * advisory lock first, so one applies what is missing and the others then find it applied.
 * A migration, once shipped, never changes: a change is a new migration.
 *
 * Seed 002's three tables, with what the live mesh needs beside them (each addition named):
 * - `broker_nodes`: + `mesh_address`, `http_address` (where a tool reaches it), `mesh_links_up`,
 *   `started_at`. `OFFLINE` is also what a broker's row becomes when its heartbeat is older than
 *   `offlineAfter` (any broker's agent sweeps) or when it stops.
 * - `event_routing_rules`: + `rule_name` (unique), `destination_region` (a rule targets a broker or
 *   a region: exactly one), `priority` (higher first); `destination_broker_id` is nullable for a
 *   region's rule. Unique per (pattern, broker) as in the seed, and per (pattern, region).
 * - `message_trace_logs`: seed's `trace_id` stays the row's BIGSERIAL key; the W3C trace id is
 *   `w3c_trace_id` (+ `parent_span_id`, the span in the traceparent the event carried).
 *   `processing_latency_ms` is DOUBLE PRECISION, not the seed's INT (a local delivery takes a
 *   fraction of a millisecond); + `source`, `delivered_by` (the broker that wrote it),
 *   `published_at`, `delivered_at`, `hop_latencies_ms` (one per link crossed, NULL when not
 *   measured), `guaranteed`, `sampled_by` ('hash' | 'topic').
 * - `acl_policies` (versioned JSON documents per policy set) and `schema_subjects` /
 *   `schema_versions` (JSON Schemas per subject, versioned, with the subject's compatibility mode).
 */
import type { Sql } from './sql.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Compatibility modes a schema subject may have (Confluent's names). */
export const COMPATIBILITY_MODES = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'seed 002: broker_nodes, event_routing_rules, message_trace_logs',
    sql: `
CREATE TABLE broker_nodes (
    broker_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    broker_name VARCHAR(128) NOT NULL UNIQUE,
    ip_address VARCHAR(45) NOT NULL,
    datacenter_region VARCHAR(64) NOT NULL,
    broker_status VARCHAR(32) NOT NULL DEFAULT 'ACTIVE' CHECK (broker_status IN ('ACTIVE', 'DRAINING', 'OFFLINE')),
    active_connections_count INT NOT NULL DEFAULT 0,
    cpu_utilization DECIMAL(5, 2) NOT NULL DEFAULT 0.00,
    last_heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    mesh_address VARCHAR(128) NOT NULL DEFAULT '',
    http_address VARCHAR(128) NOT NULL DEFAULT '',
    mesh_links_up INT NOT NULL DEFAULT 0,
    started_at TIMESTAMPTZ
);
CREATE INDEX idx_brokers_region_status ON broker_nodes (datacenter_region, broker_status);

CREATE TABLE event_routing_rules (
    rule_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    rule_name VARCHAR(128) NOT NULL UNIQUE,
    source_topic_pattern VARCHAR(256) NOT NULL,
    destination_broker_id UUID REFERENCES broker_nodes(broker_id) ON DELETE CASCADE,
    destination_region VARCHAR(64),
    filter_expression TEXT,
    rule_status VARCHAR(32) NOT NULL DEFAULT 'ACTIVE' CHECK (rule_status IN ('ACTIVE', 'SUSPENDED')),
    priority INT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_topic_broker UNIQUE (source_topic_pattern, destination_broker_id),
    CONSTRAINT uk_topic_region UNIQUE (source_topic_pattern, destination_region),
    CONSTRAINT ck_one_destination CHECK ((destination_broker_id IS NULL) <> (destination_region IS NULL))
);
CREATE INDEX idx_routing_rules_topic ON event_routing_rules (source_topic_pattern);

CREATE TABLE message_trace_logs (
    trace_id BIGSERIAL PRIMARY KEY,
    message_id VARCHAR(128) NOT NULL,
    origin_broker_id UUID NOT NULL REFERENCES broker_nodes(broker_id),
    topic VARCHAR(256) NOT NULL,
    payload_size_bytes INT NOT NULL,
    hop_count INT NOT NULL DEFAULT 1,
    routing_path VARCHAR(256)[] NOT NULL,
    processing_latency_ms DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    source VARCHAR(512) NOT NULL,
    delivered_by VARCHAR(128) NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    hop_latencies_ms DOUBLE PRECISION[] NOT NULL,
    w3c_trace_id VARCHAR(32) NOT NULL,
    parent_span_id VARCHAR(16),
    guaranteed BOOLEAN NOT NULL DEFAULT FALSE,
    sampled_by VARCHAR(16) NOT NULL CHECK (sampled_by IN ('hash', 'topic'))
);
CREATE INDEX idx_trace_lookup ON message_trace_logs (message_id);
CREATE INDEX idx_trace_created ON message_trace_logs (created_at DESC);
CREATE INDEX idx_trace_w3c ON message_trace_logs (w3c_trace_id);
`,
  },
  {
    version: 2,
    name: 'governance: acl_policies, schema_subjects, schema_versions',
    sql: `
CREATE TABLE acl_policies (
    policy_set VARCHAR(128) NOT NULL,
    version INT NOT NULL CHECK (version >= 1),
    document JSONB NOT NULL,
    created_by VARCHAR(128),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (policy_set, version)
);

CREATE TABLE schema_subjects (
    subject VARCHAR(256) PRIMARY KEY,
    compatibility VARCHAR(32) NOT NULL DEFAULT 'BACKWARD' CHECK (compatibility IN (${COMPATIBILITY_MODES.map((m) => `'${m}'`).join(', ')})),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE schema_versions (
    subject VARCHAR(256) NOT NULL REFERENCES schema_subjects(subject) ON DELETE CASCADE,
    version INT NOT NULL CHECK (version >= 1),
    schema JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (subject, version)
);
`,
  },
];

/** The advisory lock key of migration runs ('mshtwnmg' as a number). */
const MIGRATION_LOCK = 0x6d7368_74776e;

/** What a run did: the versions it applied (none when the database was current). */
export interface MigrationRun {
  readonly applied: readonly number[];
  readonly current: number;
}

/**
 * [CP-3] Brings `sql` to the latest version: each missing migration in order, in a transaction
 * with its `schema_migrations` row. Throws SqlError when a migration fails (nothing of it stays),
 * or when the database is at a version this code does not know (a newer meshtwin wrote it).
 */
export async function migrate(sql: Sql, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationRun> {
  for (let i = 0; i < migrations.length; i++) {
    if (migrations[i]?.version !== i + 1) throw new Error(`migration ${i} has version ${migrations[i]?.version}: versions run 1, 2, 3… in order`);
  }
  // Under the lock too: two servers' CREATE TABLE IF NOT EXISTS at once can still collide.
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())');
  });
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const have = await tx.query<{ version: number }>('SELECT version FROM schema_migrations WHERE version = $1', [m.version]);
      if (have.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  const top = await sql.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  const current = Number(top[0]?.v ?? 0);
  if (current > migrations.length) throw new Error(`the control plane database ${sql.where} is at schema version ${current}, newer than this meshtwin knows (${migrations.length})`);
  return { applied, current };
}
