/**
 * The control plane store [CP-1]: one database (embedded PGlite in `dataDir/control`, or a
 * PostgreSQL server given a URL), migrated on open, with the repositories over it — the broker
 * directory, routing rules, sampled traces, ACL policy versions and schema versions. Everything
 * here is a method over the same `Sql`, so a caller neither knows nor cares which backend it has.
 */
import { join } from 'node:path';
import { type BrokerBeat, type BrokerNodeRow, type BrokerStatus, getBroker, listBrokers, setBrokerStatus, sweepOffline, upsertBroker } from './brokers.ts';
import { type Migration, MIGRATIONS, type MigrationRun, migrate } from './migrations.ts';
import {
  type AclPolicyVersion,
  aclPolicyVersions,
  type CompatibilityMode,
  latestAclPolicy,
  latestSchema,
  listSubjects,
  putAclPolicy,
  putSchemaVersion,
  type SchemaSubject,
  type SchemaVersion,
  schemaVersion,
  schemaVersions,
  setCompatibility,
} from './registry.ts';
import { deleteRule, listRules, putRule, type RoutingRule, type RoutingRuleInput, type RuleStatus, setRuleStatus } from './rules.ts';
import { type OpenOptions, openSql, type Sql, type SqlTarget } from './sql.ts';
import { type AssembledTrace, assembleTrace, getTraces, insertTraces, type TraceRecord, type TraceRow } from './traces.ts';

/** The embedded database's folder inside a broker's dataDir. */
export const EMBEDDED_DIR = 'control';

/** Where a broker's control plane is: its URL, or the embedded one in its dataDir. */
export function controlTarget(dataDir: string, url: string | null): SqlTarget {
  return url === null ? { dir: join(dataDir, EMBEDDED_DIR) } : { url };
}

export class ControlStore {
  private constructor(
    readonly sql: Sql,
    readonly migrations: MigrationRun,
  ) {}

  /** Opens and migrates. Rejects with a one-line message when unreachable or unusable. */
  static async open(target: SqlTarget, opts: OpenOptions & { readonly migrations?: readonly Migration[] } = {}): Promise<ControlStore> {
    const sql = await openSql(target, opts);
    try {
      return new ControlStore(sql, await migrate(sql, opts.migrations ?? MIGRATIONS));
    } catch (e) {
      await sql.close().catch(() => {});
      throw e;
    }
  }

  get kind(): Sql['kind'] {
    return this.sql.kind;
  }

  get where(): string {
    return this.sql.where;
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  // The broker directory (brokers.ts).
  upsertBroker(b: BrokerBeat): Promise<string> {
    return upsertBroker(this.sql.query, b);
  }
  setBrokerStatus(name: string, status: BrokerStatus): Promise<boolean> {
    return setBrokerStatus(this.sql.query, name, status);
  }
  getBroker(name: string): Promise<BrokerNodeRow | null> {
    return getBroker(this.sql.query, name);
  }
  listBrokers(filter?: { readonly region?: string; readonly status?: BrokerStatus }): Promise<BrokerNodeRow[]> {
    return listBrokers(this.sql.query, filter);
  }
  sweepOffline(olderThanMs: number): Promise<string[]> {
    return sweepOffline(this.sql.query, olderThanMs);
  }

  // Routing rules (rules.ts).
  putRule(input: RoutingRuleInput): Promise<RoutingRule> {
    return putRule(this.sql, input);
  }
  setRuleStatus(name: string, status: RuleStatus): Promise<boolean> {
    return setRuleStatus(this.sql.query, name, status);
  }
  deleteRule(name: string): Promise<boolean> {
    return deleteRule(this.sql.query, name);
  }
  listRules(status?: RuleStatus): Promise<RoutingRule[]> {
    return listRules(this.sql.query, status);
  }

  // Traces (traces.ts).
  insertTraces(records: readonly TraceRecord[]): Promise<void> {
    return insertTraces(this.sql, records);
  }
  getTraces(eventId: string): Promise<TraceRow[]> {
    return getTraces(this.sql.query, eventId);
  }
  /** An event's trace with its hops filled in, or null when no broker wrote one. */
  async trace(eventId: string): Promise<AssembledTrace | null> {
    const rows = await this.getTraces(eventId);
    return rows.length === 0 ? null : assembleTrace(eventId, rows);
  }

  // ACL policies and schemas (registry.ts).
  putAclPolicy(document: unknown, opts?: { readonly policySet?: string; readonly createdBy?: string }): Promise<AclPolicyVersion> {
    return putAclPolicy(this.sql, document, opts);
  }
  latestAclPolicy(policySet?: string): Promise<AclPolicyVersion | null> {
    return latestAclPolicy(this.sql.query, policySet);
  }
  aclPolicyVersions(policySet?: string): Promise<AclPolicyVersion[]> {
    return aclPolicyVersions(this.sql.query, policySet);
  }
  putSchemaVersion(subject: string, schema: unknown, opts?: { readonly compatibility?: CompatibilityMode }): Promise<SchemaVersion & { readonly created: boolean }> {
    return putSchemaVersion(this.sql, subject, schema, opts);
  }
  latestSchema(subject: string): Promise<SchemaVersion | null> {
    return latestSchema(this.sql.query, subject);
  }
  schemaVersion(subject: string, version: number): Promise<SchemaVersion | null> {
    return schemaVersion(this.sql.query, subject, version);
  }
  schemaVersions(subject: string): Promise<SchemaVersion[]> {
    return schemaVersions(this.sql.query, subject);
  }
  listSubjects(): Promise<SchemaSubject[]> {
    return listSubjects(this.sql.query);
  }
  setCompatibility(subject: string, mode: CompatibilityMode): Promise<boolean> {
    return setCompatibility(this.sql.query, subject, mode);
  }
}
