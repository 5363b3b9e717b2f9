/**
 * [CP-1] The control plane store's repositories against both backends, one suite run on each
 * (as mqemitter's abstract tests run on every backend): embedded PGlite always, and a PostgreSQL
 * server when MESHTWIN_TEST_PG_URL is set (CI sets it; see testing.ts for skip and fail).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../engine/types.ts';
import type { BrokerBeat } from './brokers.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { openSql, type Sql, SqlError } from './sql.ts';
import { ControlStore } from './store.ts';
import { freshDatabase, pgPlan, requirePgUrl } from './testing.ts';
import type { TraceRecord } from './traces.ts';

const plan = pgPlan(process.env);
if (plan.message !== null) process.stderr.write(`${plan.message}\n`);

interface Backend {
  readonly name: string;
  readonly skip: boolean;
  /** A fresh, empty database: its target and how to remove it. */
  fresh(): Promise<{ readonly target: { dir: string } | { url: string }; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded PGlite',
    skip: false,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'meshtwin-control-'));
      return { target: { dir: join(dir, 'control') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL server',
    skip: plan.skip,
    async fresh() {
      const db = await freshDatabase(requirePgUrl(plan), 'meshtwin_store');
      return { target: { url: db.url }, cleanup: () => db.drop() };
    },
  },
];

const beat = (name: string, over: Partial<BrokerBeat> = {}): BrokerBeat => ({
  name,
  ipAddress: '127.0.0.1',
  region: 'us-east-1',
  meshAddress: '127.0.0.1:7001',
  httpAddress: '127.0.0.1:8001',
  status: 'ACTIVE',
  connections: 3,
  cpuUtilization: 12.345,
  meshLinksUp: 1,
  startedAtMs: 1_770_000_000_000,
  ...over,
});

const trace = (over: Partial<TraceRecord> = {}): TraceRecord => ({
  eventId: 'evt-1',
  source: '/billing',
  topic: 'orders/ap/checkout',
  payloadBytes: 19,
  path: ['us-1', 'ap-1'],
  publishedAtMs: 1_770_000_000_000.5,
  deliveredAtMs: 1_770_000_000_091.25,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  parentSpanId: '00f067aa0ba902b7',
  guaranteed: false,
  sampledBy: 'hash',
  ...over,
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`control store on ${backend.name}`, () => {
    let store: ControlStore;
    let target: { dir: string } | { url: string };
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const f = await backend.fresh();
      target = f.target;
      cleanup = f.cleanup;
      store = await ControlStore.open(target);
    }, 120_000);

    afterAll(async () => {
      await store?.close();
      await cleanup();
    });

    describe('[CP-3] migrations', () => {
      it('applies every migration in order on a new database and records each in schema_migrations', async () => {
        expect(store.migrations).toEqual({ applied: [1, 2], current: 2 });
        const rows = await store.sql.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
        expect(rows.map((r) => [Number(r.version), r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
        const tables = await store.sql.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1');
        expect(tables.map((r) => r.t)).toEqual(['acl_policies', 'broker_nodes', 'event_routing_rules', 'message_trace_logs', 'schema_migrations', 'schema_subjects', 'schema_versions']);
      });

      it('applies nothing to a current database', async () => {
        expect(await migrate(store.sql)).toEqual({ applied: [], current: 2 });
      });

      it('rolls a failing migration back whole and leaves the database at its version', async () => {
        const broken = [...MIGRATIONS, { version: 3, name: 'broken', sql: 'CREATE TABLE half_done (a INT); SELECT no_such_function()' }];
        await expect(migrate(store.sql, broken)).rejects.toThrow(/no_such_function/);
        const t = await store.sql.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
        expect(t).toEqual([]);
        expect(await migrate(store.sql)).toEqual({ applied: [], current: 2 });
      });

      it('refuses a database a newer meshtwin migrated', async () => {
        await expect(migrate(store.sql, MIGRATIONS.slice(0, 1))).rejects.toThrow(/schema version 2, newer than this meshtwin knows \(1\)/);
      });

      it('refuses migrations out of order', async () => {
        await expect(migrate(store.sql, [MIGRATIONS[1]!])).rejects.toThrow(/versions run 1, 2, 3/);
      });
    });

    describe('[CP-4] broker_nodes', () => {
      it('registers a broker and updates its row on each heartbeat, keeping created_at', async () => {
        const id = await store.upsertBroker(beat('us-1'));
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        const first = await store.getBroker('us-1');
        expect(first).toMatchObject({ id, name: 'us-1', ipAddress: '127.0.0.1', region: 'us-east-1', status: 'ACTIVE', connections: 3, cpuUtilization: 12.35, meshLinksUp: 1 });
        expect(first?.startedAt?.getTime()).toBe(1_770_000_000_000);
        expect(first?.heartbeatAgeMs).toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.upsertBroker(beat('us-1', { connections: 7, status: 'DRAINING', cpuUtilization: 5000 }))).toBe(id);
        const second = await store.getBroker('us-1');
        expect(second).toMatchObject({ connections: 7, status: 'DRAINING', cpuUtilization: 999.99 });
        expect(second?.createdAt.getTime()).toBe(first?.createdAt.getTime());
        expect(second!.lastHeartbeatAt.getTime()).toBeGreaterThan(first!.lastHeartbeatAt.getTime());
      });

      it('lists by region and status, and sets a status', async () => {
        await store.upsertBroker(beat('eu-1', { region: 'eu-west-1' }));
        await store.upsertBroker(beat('ap-1', { region: 'ap-southeast-1' }));
        expect((await store.listBrokers({ region: 'eu-west-1' })).map((b) => b.name)).toEqual(['eu-1']);
        expect(await store.setBrokerStatus('ap-1', 'OFFLINE')).toBe(true);
        expect(await store.setBrokerStatus('nobody', 'OFFLINE')).toBe(false);
        expect((await store.listBrokers({ status: 'OFFLINE' })).map((b) => b.name)).toEqual(['ap-1']);
        expect((await store.listBrokers()).map((b) => b.name)).toEqual(['ap-1', 'eu-1', 'us-1']);
      });

      it('sweeps brokers whose heartbeat is older than the limit OFFLINE, by the database clock', async () => {
        await store.upsertBroker(beat('eu-1', { region: 'eu-west-1' }));
        await store.sql.query("UPDATE broker_nodes SET last_heartbeat_at = NOW() - INTERVAL '1 minute' WHERE broker_name = 'eu-1'");
        expect(await store.sweepOffline(30_000)).toEqual(['eu-1']);
        expect((await store.getBroker('eu-1'))?.status).toBe('OFFLINE');
        expect(await store.sweepOffline(30_000)).toEqual([]);
        // A broker that beats again is ACTIVE again.
        await store.upsertBroker(beat('eu-1', { region: 'eu-west-1' }));
        expect((await store.getBroker('eu-1'))?.status).toBe('ACTIVE');
      });

      it('refuses a status the schema does not know', async () => {
        await expect(store.sql.query("UPDATE broker_nodes SET broker_status = 'ASLEEP' WHERE broker_name = 'us-1'")).rejects.toBeInstanceOf(SqlError);
      });
    });

    describe('[CP-5] event_routing_rules', () => {
      it('stores rules toward a broker or a region, highest priority first', async () => {
        const r = await store.putRule({ name: 'ap-orders', topicPattern: 'orders/ap/#', filter: 'amountCents > 1000', target: { broker: 'ap-1' }, priority: 5 });
        expect(r).toMatchObject({ name: 'ap-orders', topicPattern: 'orders/ap/#', filter: 'amountCents > 1000', target: { broker: 'ap-1' }, status: 'ACTIVE', priority: 5 });
        await store.putRule({ name: 'eu-audit', topicPattern: 'audit/+', target: { region: 'eu-west-1' } });
        await store.putRule({ name: 'to-new-broker', topicPattern: 'x/#', target: { broker: 'zz-9' }, status: 'SUSPENDED', priority: 9 });
        expect((await store.listRules()).map((x) => x.name)).toEqual(['to-new-broker', 'ap-orders', 'eu-audit']);
        expect((await store.listRules('ACTIVE')).map((x) => [x.name, x.target])).toEqual([
          ['ap-orders', { broker: 'ap-1' }],
          ['eu-audit', { region: 'eu-west-1' }],
        ]);
        // A broker named only by a rule has a placeholder row until it registers.
        expect(await store.getBroker('zz-9')).toMatchObject({ status: 'OFFLINE', ipAddress: '', region: '' });
      });

      it('replaces a rule by name, suspends and deletes it', async () => {
        const before = (await store.listRules()).find((x) => x.name === 'ap-orders')!;
        const after = await store.putRule({ name: 'ap-orders', topicPattern: 'orders/ap/+', target: { broker: 'ap-1' }, priority: 1 });
        expect(after).toMatchObject({ id: before.id, topicPattern: 'orders/ap/+', filter: null, priority: 1 });
        expect(await store.setRuleStatus('ap-orders', 'SUSPENDED')).toBe(true);
        expect((await store.listRules('ACTIVE')).map((x) => x.name)).toEqual(['eu-audit']);
        expect(await store.setRuleStatus('nope', 'ACTIVE')).toBe(false);
        expect(await store.deleteRule('to-new-broker')).toBe(true);
        expect(await store.deleteRule('to-new-broker')).toBe(false);
      });

      it('refuses a bad pattern, selector, target, name or priority, storing nothing', async () => {
        const n = (await store.listRules()).length;
        const bad = [
          { name: 'r', topicPattern: 'orders/#/x', target: { broker: 'ap-1' } },
          { name: 'r', topicPattern: 'orders/#', filter: 'amountCents >', target: { broker: 'ap-1' } },
          { name: 'r', topicPattern: 'orders/#', target: {} as { region: string } },
          { name: 'r', topicPattern: 'orders/#', target: { broker: 'a', region: 'b' } as unknown as { region: string } },
          { name: 'bad name', topicPattern: 'orders/#', target: { region: 'b' } },
          { name: 'r', topicPattern: 'orders/#', target: { region: 'b' }, priority: 1.5 },
        ];
        for (const input of bad) await expect(store.putRule(input), JSON.stringify(input)).rejects.toBeInstanceOf(UsageError);
        expect((await store.listRules()).length).toBe(n);
      });
    });

    describe('[CP-6] message_trace_logs', () => {
      it('writes traces and reads them back with path, latencies, trace context and placeholder origins', async () => {
        await store.insertTraces([
          trace(),
          trace({ path: ['us-1'], deliveredAtMs: 1_770_000_000_000.9, parentSpanId: null, guaranteed: true, sampledBy: 'topic' }),
          trace({ eventId: 'evt-2', path: ['xx-1', 'eu-1', 'ap-1'] }),
        ]);
        const rows = await store.getTraces('evt-1');
        expect(rows.map((r) => [r.deliveredBy, r.path, r.hopCount])).toEqual([
          ['us-1', ['us-1'], 0],
          ['ap-1', ['us-1', 'ap-1'], 1],
        ]);
        const ap = rows[1]!;
        expect(ap).toMatchObject({
          eventId: 'evt-1',
          source: '/billing',
          topic: 'orders/ap/checkout',
          payloadBytes: 19,
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          parentSpanId: '00f067aa0ba902b7',
          guaranteed: false,
          sampledBy: 'hash',
        });
        expect(ap.totalLatencyMs).toBeCloseTo(90.75, 3);
        expect(ap.hopLatenciesMs).toEqual([ap.totalLatencyMs]);
        expect(ap.publishedAtMs).toBeCloseTo(1_770_000_000_000.5, 3);
        expect(rows[0]).toMatchObject({ parentSpanId: null, guaranteed: true, sampledBy: 'topic', hopLatenciesMs: [] });
        const three = (await store.getTraces('evt-2'))[0]!;
        expect(three.hopLatenciesMs).toEqual([null, null]);
        expect(await store.getBroker('xx-1')).toMatchObject({ status: 'OFFLINE' });
        expect(await store.getTraces('no-such-event')).toEqual([]);
        expect(await store.trace('no-such-event')).toBeNull();
      });

      it('[CP-6-LAT] assembles an event: a hop is measured where both its brokers delivered, else unknown', async () => {
        const base = { eventId: 'evt-3', publishedAtMs: 1000 };
        await store.insertTraces([
          trace({ ...base, path: ['us-1', 'eu-1'], deliveredAtMs: 1036 }),
          trace({ ...base, path: ['us-1', 'eu-1', 'ap-1'], deliveredAtMs: 1100 }),
          trace({ ...base, path: ['us-1', 'eu-1', 'ap-1', 'ap-2'], deliveredAtMs: 1103 }),
        ]);
        const t = await store.trace('evt-3');
        expect(t?.arrivalsMs).toEqual({ 'us-1': 0, 'eu-1': 36, 'ap-1': 100, 'ap-2': 103 });
        expect(t?.deliveries.map((d) => d.hops.map((h) => h.latencyMs))).toEqual([[36], [36, 64], [36, 64, 3]]);
        // Without eu-1's own row its hops are unknown, never guessed.
        await store.insertTraces([trace({ eventId: 'evt-4', path: ['us-1', 'eu-1', 'ap-1'], publishedAtMs: 0, deliveredAtMs: 100 })]);
        expect((await store.trace('evt-4'))?.deliveries[0]?.hops).toEqual([
          { from: 'us-1', to: 'eu-1', latencyMs: null },
          { from: 'eu-1', to: 'ap-1', latencyMs: null },
        ]);
      });

      it('writes batches larger than one statement', async () => {
        const many = Array.from({ length: 450 }, (_, i) => trace({ eventId: `bulk-${i}`, path: ['us-1', `edge-${i % 3}`] }));
        await store.insertTraces(many);
        const n = await store.sql.query<{ n: string | number }>("SELECT COUNT(*) AS n FROM message_trace_logs WHERE message_id LIKE 'bulk-%'");
        expect(Number(n[0]?.n)).toBe(450);
        expect((await store.getTraces('bulk-449'))[0]?.path).toEqual(['us-1', 'edge-2']);
      });
    });

    describe('[CP-7] acl_policies', () => {
      it('stores each put as the next version, per policy set', async () => {
        const v1 = await store.putAclPolicy({ entries: [{ principal: 'alice', allow: ['publish:orders/#'] }] }, { createdBy: 'us-1' });
        expect(v1).toMatchObject({ policySet: 'mesh', version: 1, createdBy: 'us-1' });
        const v2 = await store.putAclPolicy({ entries: [] });
        expect(v2.version).toBe(2);
        expect((await store.putAclPolicy({ other: true }, { policySet: 'edge' })).version).toBe(1);
        expect(await store.latestAclPolicy()).toMatchObject({ version: 2, document: { entries: [] } });
        expect((await store.aclPolicyVersions()).map((p) => [p.version, p.document])).toEqual([
          [1, { entries: [{ principal: 'alice', allow: ['publish:orders/#'] }] }],
          [2, { entries: [] }],
        ]);
        expect(await store.latestAclPolicy('none')).toBeNull();
      });

      it('gives concurrent puts distinct versions', async () => {
        const put = await Promise.all(Array.from({ length: 6 }, (_, i) => store.putAclPolicy({ n: i }, { policySet: 'race' })));
        expect(put.map((p) => p.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      });

      it('refuses what is not JSON', async () => {
        await expect(store.putAclPolicy({ n: 1n })).rejects.toBeInstanceOf(UsageError);
        await expect(store.putAclPolicy(undefined)).rejects.toBeInstanceOf(UsageError);
      });
    });

    describe('[CP-7] schema_subjects / schema_versions', () => {
      const v1 = { type: 'object', properties: { amountCents: { type: 'integer' } }, required: ['amountCents'] };
      const v2 = { type: 'object', properties: { amountCents: { type: 'integer' }, currency: { type: 'string' } }, required: ['amountCents'] };

      it('puts versions, returns the latest for an equal schema, and reads them back', async () => {
        expect(await store.putSchemaVersion('com.acme.order.created', v1)).toMatchObject({ subject: 'com.acme.order.created', version: 1, created: true });
        // Equal as JSON (another key order): the same version.
        const same = await store.putSchemaVersion('com.acme.order.created', { required: ['amountCents'], properties: { amountCents: { type: 'integer' } }, type: 'object' });
        expect(same).toMatchObject({ version: 1, created: false });
        expect(await store.putSchemaVersion('com.acme.order.created', v2)).toMatchObject({ version: 2, created: true });
        expect((await store.latestSchema('com.acme.order.created'))?.schema).toEqual(v2);
        expect((await store.schemaVersion('com.acme.order.created', 1))?.schema).toEqual(v1);
        expect(await store.schemaVersion('com.acme.order.created', 3)).toBeNull();
        expect((await store.schemaVersions('com.acme.order.created')).map((s) => s.version)).toEqual([1, 2]);
        expect(await store.latestSchema('nothing')).toBeNull();
        expect(await store.schemaVersions('nothing')).toEqual([]);
      });

      it('keeps a compatibility mode per subject: BACKWARD by default, set on put or alone', async () => {
        await store.putSchemaVersion('com.acme.payment', true, { compatibility: 'FULL_TRANSITIVE' });
        await store.putSchemaVersion('com.acme.payment', { type: 'object' });
        expect(await store.listSubjects()).toEqual([
          { subject: 'com.acme.order.created', compatibility: 'BACKWARD', latestVersion: 2 },
          { subject: 'com.acme.payment', compatibility: 'FULL_TRANSITIVE', latestVersion: 2 },
        ]);
        expect(await store.setCompatibility('com.acme.order.created', 'NONE')).toBe(true);
        expect(await store.setCompatibility('nothing', 'NONE')).toBe(false);
        expect((await store.listSubjects())[0]?.compatibility).toBe('NONE');
      });

      it('refuses a bad subject, schema or mode', async () => {
        await expect(store.putSchemaVersion('', v1)).rejects.toBeInstanceOf(UsageError);
        await expect(store.putSchemaVersion('s', 'a string')).rejects.toBeInstanceOf(UsageError);
        await expect(store.putSchemaVersion('s', v1, { compatibility: 'SIDEWAYS' as never })).rejects.toBeInstanceOf(UsageError);
        await expect(store.setCompatibility('com.acme.payment', 'SIDEWAYS' as never)).rejects.toBeInstanceOf(UsageError);
        expect(await store.latestSchema('s')).toBeNull();
      });
    });

    it('[CP-1] keeps what was written across a close and reopen', async () => {
      await store.close();
      store = await ControlStore.open(target);
      expect(store.migrations.applied).toEqual([]);
      expect((await store.getBroker('us-1'))?.connections).toBe(7);
      expect((await store.getTraces('evt-1')).length).toBe(2);
    }, 120_000);
  });
}

describe.skipIf(plan.skip)('[CP-3] migrations on a shared PostgreSQL server', () => {
  it('two brokers migrating one new database at once: each migration applied once', async () => {
    const db = await freshDatabase(requirePgUrl(plan), 'meshtwin_race');
    const conns: Sql[] = [];
    try {
      conns.push(await openSql({ url: db.url }), await openSql({ url: db.url }), await openSql({ url: db.url }));
      const runs = await Promise.all(conns.map((c) => migrate(c)));
      expect(runs.flatMap((r) => r.applied).sort()).toEqual([1, 2]);
      expect(runs.every((r) => r.current === 2)).toBe(true);
    } finally {
      for (const c of conns) await c.close();
      await db.drop();
    }
  });

  it('says in one line when the server cannot be reached', async () => {
    const u = new URL(requirePgUrl(plan));
    u.port = '1';
    const e = await openSql({ url: u.toString() }, { connectTimeoutMs: 2000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SqlError);
    expect((e as Error).message).toMatch(/ECONNREFUSED/);
    expect((e as Error).message).not.toContain('\n');
  });
});
