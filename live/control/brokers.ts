/**
 * `broker_nodes`: the mesh's broker directory (seed 002) [CP-4]. A broker's agent upserts its row
 * on every heartbeat (so a row lost with a database, or swept OFFLINE during an outage, comes back
 * with the next beat); the database's clock stamps `last_heartbeat_at`, so brokers' clocks never
 * meet in one comparison. A broker named only by a trace's path or a rule's destination gets a
 * placeholder row (OFFLINE, address and region empty) until it registers itself.
 */
import type { Query, Row, Tx } from './sql.ts';

export const BROKER_STATUSES = ['ACTIVE', 'DRAINING', 'OFFLINE'] as const;
export type BrokerStatus = (typeof BROKER_STATUSES)[number];

/** What a broker says about itself. */
export interface BrokerBeat {
  readonly name: string;
  readonly ipAddress: string;
  readonly region: string;
  readonly meshAddress: string;
  readonly httpAddress: string;
  readonly status: BrokerStatus;
  /** Client connections: WebSocket subscribers, gRPC streams, MQTT connections. */
  readonly connections: number;
  /** Process CPU over the last interval, percent of one core (0–999.99). */
  readonly cpuUtilization: number;
  readonly meshLinksUp: number;
  /** Epoch ms the broker process started. */
  readonly startedAtMs: number;
}

/** A row of `broker_nodes`, as read. */
export interface BrokerNodeRow {
  readonly id: string;
  readonly name: string;
  readonly ipAddress: string;
  readonly region: string;
  readonly status: BrokerStatus;
  readonly connections: number;
  readonly cpuUtilization: number;
  readonly meshLinksUp: number;
  readonly meshAddress: string;
  readonly httpAddress: string;
  readonly lastHeartbeatAt: Date;
  /** How long ago that was, by the database's clock. */
  readonly heartbeatAgeMs: number;
  readonly startedAt: Date | null;
  readonly createdAt: Date;
}

const COLUMNS = `broker_id, broker_name, ip_address, datacenter_region, broker_status, active_connections_count,
  cpu_utilization::float8 AS cpu_utilization, mesh_links_up, mesh_address, http_address, last_heartbeat_at,
  (EXTRACT(EPOCH FROM (NOW() - last_heartbeat_at)) * 1000)::float8 AS heartbeat_age_ms, started_at, created_at`;

function toRow(r: Row): BrokerNodeRow {
  return {
    id: String(r['broker_id']),
    name: String(r['broker_name']),
    ipAddress: String(r['ip_address']),
    region: String(r['datacenter_region']),
    status: r['broker_status'] as BrokerStatus,
    connections: Number(r['active_connections_count']),
    cpuUtilization: Number(r['cpu_utilization']),
    meshLinksUp: Number(r['mesh_links_up']),
    meshAddress: String(r['mesh_address']),
    httpAddress: String(r['http_address']),
    lastHeartbeatAt: r['last_heartbeat_at'] as Date,
    heartbeatAgeMs: Math.max(0, Number(r['heartbeat_age_ms'])),
    startedAt: (r['started_at'] as Date | null) ?? null,
    createdAt: r['created_at'] as Date,
  };
}

/** [CP-4] Registers or heartbeats a broker (one statement); returns its broker_id. */
export async function upsertBroker(q: Query, b: BrokerBeat): Promise<string> {
  const cpu = Math.min(999.99, Math.max(0, Math.round(b.cpuUtilization * 100) / 100));
  const rows = await q<{ broker_id: string }>(
    `INSERT INTO broker_nodes (broker_name, ip_address, datacenter_region, broker_status, active_connections_count, cpu_utilization,
       mesh_links_up, mesh_address, http_address, started_at, last_heartbeat_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_timestamp($10::float8 / 1000), NOW())
     ON CONFLICT (broker_name) DO UPDATE SET ip_address = EXCLUDED.ip_address, datacenter_region = EXCLUDED.datacenter_region,
       broker_status = EXCLUDED.broker_status, active_connections_count = EXCLUDED.active_connections_count,
       cpu_utilization = EXCLUDED.cpu_utilization, mesh_links_up = EXCLUDED.mesh_links_up, mesh_address = EXCLUDED.mesh_address,
       http_address = EXCLUDED.http_address, started_at = EXCLUDED.started_at, last_heartbeat_at = NOW()
     RETURNING broker_id`,
    [b.name, b.ipAddress.slice(0, 45), b.region.slice(0, 64), b.status, b.connections, cpu, b.meshLinksUp, b.meshAddress, b.httpAddress, b.startedAtMs],
  );
  return String(rows[0]?.broker_id);
}

/** Sets a registered broker's status; false when it has no row. */
export async function setBrokerStatus(q: Query, name: string, status: BrokerStatus): Promise<boolean> {
  const rows = await q('UPDATE broker_nodes SET broker_status = $2 WHERE broker_name = $1 RETURNING broker_id', [name, status]);
  return rows.length > 0;
}

/**
 * The broker_id of each name, entering a placeholder row (OFFLINE, no address) for a broker not
 * registered yet, so a trace or a rule can name it.
 */
export async function brokerIds(tx: Tx, names: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return new Map();
  await tx.query(
    `INSERT INTO broker_nodes (broker_name, ip_address, datacenter_region, broker_status)
     SELECT n, '', '', 'OFFLINE' FROM unnest($1::varchar[]) AS n ON CONFLICT (broker_name) DO NOTHING`,
    [unique],
  );
  const rows = await tx.query<{ broker_id: string; broker_name: string }>('SELECT broker_id, broker_name FROM broker_nodes WHERE broker_name = ANY($1::varchar[])', [unique]);
  return new Map(rows.map((r) => [String(r.broker_name), String(r.broker_id)]));
}

/** The directory, by region then name; optionally one region or status. */
export async function listBrokers(q: Query, filter: { readonly region?: string; readonly status?: BrokerStatus } = {}): Promise<BrokerNodeRow[]> {
  const rows = await q(
    `SELECT ${COLUMNS} FROM broker_nodes WHERE ($1::varchar IS NULL OR datacenter_region = $1) AND ($2::varchar IS NULL OR broker_status = $2)
     ORDER BY datacenter_region, broker_name`,
    [filter.region ?? null, filter.status ?? null],
  );
  return rows.map(toRow);
}

/** One broker's row, or null. */
export async function getBroker(q: Query, name: string): Promise<BrokerNodeRow | null> {
  const rows = await q(`SELECT ${COLUMNS} FROM broker_nodes WHERE broker_name = $1`, [name]);
  return rows[0] === undefined ? null : toRow(rows[0]);
}

/**
 * [CP-4] Marks OFFLINE every broker not ACTIVE-and-beating: its last heartbeat older than
 * `olderThanMs` by the database's clock. Returns the names it marked.
 */
export async function sweepOffline(q: Query, olderThanMs: number): Promise<string[]> {
  const rows = await q<{ broker_name: string }>(
    `UPDATE broker_nodes SET broker_status = 'OFFLINE'
     WHERE broker_status <> 'OFFLINE' AND last_heartbeat_at < NOW() - ($1::float8 * INTERVAL '1 millisecond') RETURNING broker_name`,
    [olderThanMs],
  );
  return rows.map((r) => String(r.broker_name)).sort();
}
