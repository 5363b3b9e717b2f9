/**
 * [CP-AGENT] The control-plane agent in this process, on real stores: the embedded one, a
 * server that is not there, and a PostgreSQL server of the test's own that it stops and starts
 * (testing.ts). The broker it speaks for is a plain description (AgentSource); the broker
 * processes themselves are in control.process.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../engine/types.ts';
import type { EdgePublish } from '../edge/port.ts';
import { freePorts, until } from '../testing.ts';
import { type AgentSource, ControlAgent, type ControlPlaneConfig } from './agent.ts';
import { ControlStore } from './store.ts';
import { PgServer, pgServerPlan } from './testing.ts';
import { derivedTraceId, parseTraceparent } from './tracecontext.ts';

const log = pino({ level: 'silent' });
const serverPlan = pgServerPlan(process.env);
if (serverPlan.message !== null) process.stderr.write(`${serverPlan.message}\n`);

const config = (over: Partial<ControlPlaneConfig> = {}): ControlPlaneConfig => ({
  url: null,
  heartbeatMs: 200,
  traceSampleEvery: 1,
  traceTopics: [],
  queueLimit: 10_000,
  offlineAfterMs: 10_000,
  ...over,
});

const source = (id: string, connections = 2): AgentSource => ({
  id,
  region: 'us-east-1',
  ipAddress: '127.0.0.1',
  startedAtMs: Date.now(),
  meshAddress: () => '127.0.0.1:7001',
  httpAddress: () => '127.0.0.1:8001',
  connections: () => connections,
  meshLinksUp: () => 1,
});

const open = (target: Parameters<typeof ControlStore.open>[0]) => ControlStore.open(target, { connectTimeoutMs: 2000 });

function env(id: string, over: Partial<Envelope> = {}): Envelope {
  return {
    id,
    source: '/billing',
    type: 'com.acme.order.created',
    specversion: '1.0',
    topic: 'orders/us/1',
    headers: {},
    payload: new TextEncoder().encode('{"amountCents":1}'),
    publishedAtMs: Date.now() - 5,
    path: ['us-0'],
    hopLimit: 15,
    ...over,
  };
}

const publish = (id: string, headers: Record<string, string> = {}): EdgePublish => ({
  id,
  source: '/billing',
  type: 't',
  topic: 'orders/us/1',
  headers,
  payload: new Uint8Array(0),
  guaranteed: false,
});

describe('[CP-TRACE-2] ingress: the broker that takes a publish', () => {
  const agent = new ControlAgent(config({ traceSampleEvery: 0, traceTopics: ['orders/#'] }), '/nonexistent', log, open);

  it('gives a sampled event without a traceparent one: the derived trace id, a fresh span, sampled', () => {
    const out = agent.ingress(publish('e1', { tier: 'gold' }));
    const tp = parseTraceparent(out.headers['traceparent']);
    expect(tp).toMatchObject({ traceId: derivedTraceId('/billing', 'e1'), sampled: true });
    expect(out.headers['tier']).toBe('gold');
    expect(parseTraceparent(agent.ingress(publish('e1')).headers['traceparent'])?.spanId).not.toBe(tp?.spanId);
  });

  it("keeps the publisher's valid traceparent; replaces an invalid one and drops its tracestate", () => {
    const mine = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const kept = publish('e2', { traceparent: mine, tracestate: 'a=1' });
    expect(agent.ingress(kept)).toBe(kept);
    const out = agent.ingress(publish('e3', { traceparent: '00-xyz', tracestate: 'a=1' }));
    expect(parseTraceparent(out.headers['traceparent'])?.traceId).toBe(derivedTraceId('/billing', 'e3'));
    expect(out.headers['tracestate']).toBeUndefined();
  });

  it('leaves an event that is not sampled as it is (no bytes added)', () => {
    const p = { ...publish('e4'), topic: 'audit/x' };
    expect(agent.ingress(p)).toBe(p);
  });
});

describe('[CP-AGENT-1] a store that is not there', () => {
  it('holds the broker up: traces queue to the bound, the rest are dropped and counted, a repeat is not traced twice', async () => {
    const [port] = await freePorts(1);
    const agent = new ControlAgent(config({ url: `postgres://nobody@127.0.0.1:${port}/none`, queueLimit: 5 }), '/nonexistent', log, open);
    agent.start(source('us-1'));
    for (let i = 0; i < 8; i++) agent.delivered(env(`q-${i}`), false, Date.now());
    agent.delivered(env('q-0'), false, Date.now());
    expect(agent.queued).toBe(5);
    expect(agent.counters).toMatchObject({ tracesQueued: 5, tracesDropped: 3 });
    expect(await until(() => agent.lastError !== null, 10_000)).toBe(true);
    expect(agent.connected).toBe(false);
    expect(agent.lastError).toMatch(/ECONNREFUSED/);
    expect(agent.status()).toMatchObject({ backend: 'postgres', connected: false, queued: 5 });
    await agent.close();
  });
});

describe('[CP-AGENT] on the embedded store', () => {
  let dir: string;
  let agent: ControlAgent;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshtwin-agent-'));
  });
  afterAll(async () => {
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers, writes traces and the ACTIVE rules, says DRAINING then OFFLINE', async () => {
    agent = new ControlAgent(config(), dir, log, open);
    agent.start(source('us-1', 4));
    expect(await until(() => agent.connected, 110_000)).toBe(true);
    const store = agent.store as ControlStore;
    expect(await store.getBroker('us-1')).toMatchObject({ status: 'ACTIVE', connections: 4, meshLinksUp: 1, region: 'us-east-1', httpAddress: '127.0.0.1:8001' });
    await store.putRule({ name: 'on', topicPattern: 'a/#', target: { region: 'eu-west-1' } });
    await store.putRule({ name: 'off', topicPattern: 'b/#', target: { region: 'eu-west-1' }, status: 'SUSPENDED' });

    agent.delivered(env('t-1', { path: ['us-0'] }), true, Date.now());
    agent.delivered(env('t-2', { path: ['us-1'], headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } }), false, Date.now());
    expect(await until(() => agent.counters.tracesWritten === 2 && agent.rules.length === 1, 10_000)).toBe(true);
    expect(agent.rules.map((r) => r.name)).toEqual(['on']);
    expect((await store.getTraces('t-1'))[0]).toMatchObject({ path: ['us-0', 'us-1'], deliveredBy: 'us-1', guaranteed: true, traceId: derivedTraceId('/billing', 't-1'), parentSpanId: null });
    expect((await store.getTraces('t-2'))[0]).toMatchObject({ path: ['us-1'], hopCount: 0, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' });

    // [CP-AGENT-2] A trace the database refuses (a NaN publish time) costs only itself; a NUL in an id is stored as U+FFFD.
    agent.delivered(env('bad-time', { publishedAtMs: Number.NaN }), false, Date.now());
    agent.delivered(env('nul\u0000id'), false, Date.now());
    expect(await until(() => agent.counters.tracesWritten === 3 && agent.counters.tracesRejected === 1, 10_000)).toBe(true);
    expect(agent.queued).toBe(0);
    expect((await store.getTraces('nul\uFFFDid')).length).toBe(1);
    expect(await store.getTraces('bad-time')).toEqual([]);

    await agent.draining();
    expect((await store.getBroker('us-1'))?.status).toBe('DRAINING');
    await agent.close();
    const again = await ControlStore.open({ dir: join(dir, 'control') });
    try {
      expect((await again.getBroker('us-1'))?.status).toBe('OFFLINE');
    } finally {
      await again.close();
    }
  }, 150_000);
});

describe.skipIf(serverPlan.skip)('[CP-AGENT-2] a PostgreSQL server that stops and starts again', () => {
  let server: PgServer;
  let agent: ControlAgent;

  beforeAll(async () => {
    server = await PgServer.create(serverPlan.bin);
  }, 120_000);
  afterAll(async () => {
    await agent?.close();
    await server?.destroy();
  });

  it('queues while it is away, then re-registers and writes the queue in order', async () => {
    agent = new ControlAgent(config({ url: server.url, offlineAfterMs: 1500 }), '/nonexistent', log, open);
    agent.start(source('eu-1'));
    expect(await until(() => agent.connected, 20_000)).toBe(true);
    agent.delivered(env('before'), false, Date.now());
    expect(await until(() => agent.counters.tracesWritten === 1, 5000)).toBe(true);

    await server.stop();
    for (let i = 0; i < 20; i++) agent.delivered(env(`during-${i}`), false, Date.now());
    expect(await until(() => agent.lastError !== null, 10_000)).toBe(true);
    expect(agent.queued).toBe(20);
    await server.start();
    const direct = await ControlStore.open({ url: server.url });
    try {
      expect(await until(() => agent.connected && agent.queued === 0, 20_000)).toBe(true);
      expect(agent.counters).toMatchObject({ tracesWritten: 21, tracesDropped: 0 });
      expect(agent.counters.connects).toBeGreaterThanOrEqual(2);
      const row = await direct.getBroker('eu-1');
      expect(row?.status).toBe('ACTIVE');
      expect(row?.heartbeatAgeMs).toBeLessThan(2000);
      // Swept OFFLINE by another broker's agent: its next beat makes it ACTIVE again.
      await direct.setBrokerStatus('eu-1', 'OFFLINE');
      expect(await until(async () => (await direct.getBroker('eu-1'))?.status === 'ACTIVE', 5000)).toBe(true);
      // [CP-4] A broker whose beat stopped (killed, say) is swept OFFLINE by this one.
      await direct.upsertBroker({ ...(await direct.getBroker('eu-1'))!, name: 'ghost', startedAtMs: 0, status: 'ACTIVE' });
      await direct.sql.query("UPDATE broker_nodes SET last_heartbeat_at = NOW() - INTERVAL '1 minute' WHERE broker_name = 'ghost'");
      expect(await until(async () => (await direct.getBroker('ghost'))?.status === 'OFFLINE', 5000)).toBe(true);
      expect((await direct.getBroker('eu-1'))?.status).toBe('ACTIVE');
      const rows = await direct.sql.query<{ message_id: string }>("SELECT message_id FROM message_trace_logs WHERE message_id LIKE 'during-%' ORDER BY trace_id");
      expect(rows.map((r) => r.message_id)).toEqual(Array.from({ length: 20 }, (_, i) => `during-${i}`));
    } finally {
      await direct.close();
    }
  }, 120_000);
});
