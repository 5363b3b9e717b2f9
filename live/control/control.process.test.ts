/**
 * [CP-LIVE] The control plane with real broker processes:
 * - embedded: one broker with its store in its dataDir; an event published over HTTP with a W3C
 *   traceparent header, and one without, reach a WebSocket and an MQTT 5 subscriber with their
 *   traceparent; `meshtwin trace` reads the trace back (over HTTP while the broker runs, from the
 *   dataDir once it is stopped), and the broker's row is OFFLINE after its drain.
 * - PostgreSQL: two linked brokers share a server of the test's own; it is stopped mid-run
 *   (publishing and cross-broker delivery go on, every publish answered 202, the agents queue)
 *   and started again (they re-register, the heartbeat rows are current again, the queued traces
 *   are written, `meshtwin trace --url` prints one published during the outage).
 * Every broker process is stopped by PID in afterAll, the test's PostgreSQL server with pg_ctl.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from '../process.ts';
import { type TestMesh, until, WsClient, writeMesh } from '../testing.ts';
import { ControlStore } from './store.ts';
import { PgServer, pgServerPlan } from './testing.ts';
import { derivedTraceId } from './tracecontext.ts';
import type { AssembledTrace } from './traces.ts';

const BIN = fileURLToPath(new URL('../../bin/meshtwin.js', import.meta.url));
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE}-00f067aa0ba902b7-01`;
const serverPlan = pgServerPlan(process.env);

/** `meshtwin ARGS`: exit code, stdout, stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

/** POST one event in binary mode with extra HTTP headers. */
async function post(http: number, id: string, topic: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${http}/v1/events/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CE-SpecVersion': '1.0', 'CE-Type': 'com.acme.order.created', 'CE-Source': '/billing', 'CE-ID': id, 'CE-Topic': topic, ...headers },
    body: JSON.stringify({ amountCents: 4900 }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function getJson(http: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${http}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const connected = async (http: number): Promise<boolean> => (await getJson(http, '/v1/control/status')).body['connected'] === true;

describe('[CP-LIVE] a broker with the embedded store', () => {
  let dir: string;
  let mesh: TestMesh;
  let a: BrokerProcess;
  let ws: WsClient;
  let sub: mqtt.MqttClient;
  const mqttTraceparents = new Map<string, unknown>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtwin-cp-'));
    mesh = await writeMesh(dir, ['a'], [], undefined, { mqtt: {} });
    appendFileSync(mesh.broker('a').config, 'controlPlane: { traceSampleEvery: 1, heartbeat: 300ms }\n');
    a = new BrokerProcess(mesh.broker('a').config);
    await a.ready;
  }, 60_000);

  afterAll(async () => {
    ws?.close();
    await sub?.endAsync(true);
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('routes and delivers before its store has opened (a first start runs initdb: seconds)', async () => {
    const http = mesh.broker('a').http;
    ws = new WsClient(http, 'orders/#');
    await ws.open;
    sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mesh.broker('a').mqtt}`, { protocolVersion: 5, clientId: 'cp-sub' });
    sub.on('message', (_t, _p, packet) => {
      const up = packet.properties?.userProperties ?? {};
      mqttTraceparents.set(String(up['id']), up['traceparent']);
    });
    await sub.subscribeAsync('orders/#', { qos: 1 });
    expect(await post(http, 'early-1', 'orders/us/1')).toBe(202);
    expect(await until(() => ws.ids().includes('early-1'), 5000)).toBe(true);
    expect(await until(() => connected(http), 110_000)).toBe(true);
  }, 120_000);

  it("[CP-TRACE-2] carries a traceparent to WebSocket and MQTT subscribers: the publisher's, or one the broker made", async () => {
    const http = mesh.broker('a').http;
    expect(await post(http, 'evt-tp', 'orders/us/checkout', { traceparent: TRACEPARENT, tracestate: 'acme=1' })).toBe(202);
    expect(await post(http, 'evt-plain', 'orders/us/checkout')).toBe(202);
    expect(await until(() => ws.ids().includes('evt-plain') && mqttTraceparents.has('evt-plain'), 5000)).toBe(true);
    const byId = new Map(ws.events.map((e) => [String(e['id']), e]));
    expect(byId.get('evt-tp')?.['traceparent']).toBe(TRACEPARENT);
    expect(byId.get('evt-tp')?.['tracestate']).toBe('acme=1');
    expect(String(byId.get('evt-plain')?.['traceparent'])).toMatch(new RegExp(`^00-${derivedTraceId('/billing', 'evt-plain')}-[0-9a-f]{16}-01$`));
    expect(mqttTraceparents.get('evt-tp')).toBe(TRACEPARENT);
    expect(mqttTraceparents.get('evt-plain')).toBe(byId.get('evt-plain')?.['traceparent']);
  });

  it('[CP-6] meshtwin trace --config reads it back from the running broker (over HTTP), as text and JSON', async () => {
    const http = mesh.broker('a').http;
    expect(await until(async () => (await getJson(http, '/v1/control/traces/evt-tp')).status === 200, 10_000)).toBe(true);
    const text = await cli('trace', 'evt-tp', '--config', mesh.broker('a').config);
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    expect(text.out).toContain('event evt-tp  source /billing  topic orders/us/checkout  20 B  realtime');
    expect(text.out).toContain(`trace ${TRACE}  parent span 00f067aa0ba902b7`);
    expect(text.out).toMatch(/at a {2}\+\d+\.\d+ ms {2}path a {2}\(0 hops\)/);
    const json = await cli('trace', 'evt-plain', '--config', mesh.broker('a').config, '--json');
    expect(json.code).toBe(0);
    const t = JSON.parse(json.out) as AssembledTrace;
    expect(t.deliveries).toHaveLength(1);
    expect(t.deliveries[0]).toMatchObject({ eventId: 'evt-plain', path: ['a'], deliveredBy: 'a', traceId: derivedTraceId('/billing', 'evt-plain'), payloadBytes: 20, sampledBy: 'hash' });
    expect(t.deliveries[0]?.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.deliveries[0]!.totalLatencyMs).toBeLessThan(1000);
  });

  it('answers the directory and its status over HTTP', async () => {
    const http = mesh.broker('a').http;
    const brokers = (await getJson(http, '/v1/control/brokers')).body['brokers'] as Array<Record<string, unknown>>;
    expect(brokers.map((b) => [b['name'], b['status'], b['httpAddress']])).toEqual([['a', 'ACTIVE', `127.0.0.1:${http}`]]);
    // The WebSocket and the MQTT subscriber.
    expect(brokers[0]?.['connections']).toBe(2);
    const status = (await getJson(http, '/v1/control/status')).body;
    expect(status).toMatchObject({ backend: 'embedded', connected: true, queued: 0, counters: { tracesDropped: 0 } });
    expect((await getJson(http, '/v1/control/rules')).body).toEqual({ rules: [] });
  });

  it('refuses in one line: bad flags, no store given, its dataDir while it runs; an unknown event is exit 1', async () => {
    const runningDir = await cli('trace', 'evt-tp', '--data-dir', mesh.broker('a').dataDir);
    expect(runningDir.code).toBe(2);
    expect(runningDir.err.trim().split('\n')).toHaveLength(1);
    expect(runningDir.err).toContain(`is in use by broker process ${a.pid}`);
    for (const args of [['trace', 'x', '--bogus'], ['trace', 'x'], ['trace', 'x', '--url', 'http://nope', '--data-dir', dir], ['trace', 'x', '--url', 'mysql://h/db'], ['trace']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err, args.join(' ')).toMatch(/^meshtwin: /);
    }
    const none = await cli('trace', 'never-published', '--config', mesh.broker('a').config);
    expect(none.code).toBe(1);
    expect(none.err.trim()).toMatch(/^meshtwin: no trace of event "never-published" in broker a \(over HTTP\)/);
  });

  it('[CP-AGENT-3] once stopped: its row says OFFLINE, and meshtwin trace opens the store in the dataDir', async () => {
    expect(await a.stop()).toBe(0);
    const byDir = await cli('trace', 'evt-tp', '--data-dir', mesh.broker('a').dataDir, '--json');
    expect(byDir.err).toBe('');
    expect((JSON.parse(byDir.out) as AssembledTrace).deliveries[0]?.traceId).toBe(TRACE);
    const byConfig = await cli('trace', 'evt-tp', '--config', mesh.broker('a').config);
    expect(byConfig.code).toBe(0);
    expect(byConfig.out).toContain(`trace ${TRACE}`);
    const store = await ControlStore.open({ dir: join(mesh.broker('a').dataDir, 'control') });
    try {
      expect((await store.getBroker('a'))?.status).toBe('OFFLINE');
      expect((await store.getTraces('early-1')).length).toBe(1);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe.skipIf(serverPlan.skip)('[CP-LIVE] two brokers on a PostgreSQL server that stops and starts again', () => {
  let dir: string;
  let mesh: TestMesh;
  let server: PgServer;
  const procs = new Map<string, BrokerProcess>();
  let ws: WsClient;
  const http = (id: string): number => mesh.broker(id).http;

  beforeAll(async () => {
    server = await PgServer.create(serverPlan.bin);
    dir = mkdtempSync(join(tmpdir(), 'meshtwin-cp-pg-'));
    mesh = await writeMesh(dir, ['a', 'b'], [{ between: ['a', 'b'], cost: 10 }]);
    for (const id of ['a', 'b']) {
      appendFileSync(mesh.broker(id).config, `controlPlane: { url: "${server.url}", traceSampleEvery: 1, heartbeat: 300ms, offlineAfter: 5s }\n`);
      procs.set(id, new BrokerProcess(mesh.broker(id).config));
    }
    await Promise.all([...procs.values()].map((p) => p.ready));
    expect(await until(async () => (await connected(http('a'))) && (await connected(http('b'))), 30_000)).toBe(true);
    ws = new WsClient(http('b'), 'orders/#');
    await ws.open;
    const remote = async () => ((await (await fetch(`http://127.0.0.1:${http('a')}/v1/subscriptions`)).json()) as { remote: Array<{ patterns: number }> }).remote;
    expect(await until(async () => (await remote()).reduce((n, r) => n + r.patterns, 0) >= 1, 15_000)).toBe(true);
  }, 150_000);

  afterAll(async () => {
    ws?.close();
    await stopAll();
    await server?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('[CP-AGENT-1] keeps publishing and delivering while the store is down, [CP-AGENT-2] catches up when it returns', async () => {
    const statuses: number[] = [];
    const ids: string[] = [];
    let n = 0;
    const publishSome = async (ms: number, prefix: string): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const id = `${prefix}-${n++}`;
        ids.push(id);
        statuses.push(await post(http('a'), id, `orders/eu/${n}`));
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await publishSome(1000, 'up');
    await server.stop();
    const outage: string[] = [];
    const before = ids.length;
    await publishSome(2500, 'down');
    outage.push(...ids.slice(before));
    // Down: every publish was taken and delivered across the mesh; the agents queue and say why.
    expect(statuses.every((s) => s === 202)).toBe(true);
    expect(await until(() => outage.every((id) => ws.ids().includes(id)), 5000)).toBe(true);
    const down = (await getJson(http('b'), '/v1/control/status')).body;
    expect(down).toMatchObject({ connected: false });
    expect(Number(down['queued'])).toBeGreaterThanOrEqual(outage.length);
    expect(String(down['lastError'])).not.toBe('null');
    // The rules the agent read stay served from memory; the directory needs the store.
    expect((await getJson(http('a'), '/v1/control/rules')).status).toBe(200);
    expect((await getJson(http('a'), '/v1/control/brokers')).status).toBe(503);

    await server.start();
    await publishSome(500, 'back');
    expect(await until(async () => (await getJson(http('b'), '/v1/control/status')).body['queued'] === 0 && (await connected(http('a'))) && (await connected(http('b'))), 20_000)).toBe(true);
    expect(ws.ids().filter((id) => ids.includes(id)).length).toBe(ids.length);

    const store = await ControlStore.open({ url: server.url });
    try {
      const brokers = await store.listBrokers();
      expect(brokers.map((b) => [b.name, b.status])).toEqual([
        ['a', 'ACTIVE'],
        ['b', 'ACTIVE'],
      ]);
      for (const b of brokers) expect(b.heartbeatAgeMs, b.name).toBeLessThan(2000);
      // Every event delivered at b has its trace, those of the outage too, path a → b.
      const rows = await store.sql.query<{ message_id: string; routing_path: string[] }>("SELECT message_id, routing_path FROM message_trace_logs WHERE delivered_by = 'b'");
      const traced = new Set(rows.map((r) => r.message_id));
      expect(ids.filter((id) => !traced.has(id))).toEqual([]);
      expect(rows.every((r) => r.routing_path.join(',') === 'a,b')).toBe(true);
    } finally {
      await store.close();
    }
    const status = (await getJson(http('b'), '/v1/control/status')).body as { counters: Record<string, number> };
    expect(status.counters['tracesDropped']).toBe(0);
    expect(status.counters['connects']).toBeGreaterThanOrEqual(2);

    const one = await cli('trace', outage[0] as string, '--url', server.url);
    expect(one.code).toBe(0);
    expect(one.out).toContain('path a → b  (1 hop)');
    expect(one.out).toMatch(/ {6}a → b {2}\d+(\.\d+)? ms/);
  }, 120_000);

  it('[CP-TRACE-2] a traceparent crosses the mesh to the WebSocket subscriber and into the trace', async () => {
    expect(await post(http('a'), 'evt-mesh-tp', 'orders/eu/x', { traceparent: TRACEPARENT })).toBe(202);
    expect(await until(() => ws.ids().includes('evt-mesh-tp'), 5000)).toBe(true);
    expect(ws.events.find((e) => e['id'] === 'evt-mesh-tp')?.['traceparent']).toBe(TRACEPARENT);
    expect(await until(async () => (await getJson(http('a'), '/v1/control/traces/evt-mesh-tp')).status === 200, 5000)).toBe(true);
    const t = (await getJson(http('a'), '/v1/control/traces/evt-mesh-tp')).body as unknown as AssembledTrace;
    expect(t.deliveries.map((d) => [d.deliveredBy, d.path, d.traceId])).toEqual([['b', ['a', 'b'], TRACE]]);
  });

  it('[CP-4] a broker that stops is OFFLINE in the directory, the other stays ACTIVE', async () => {
    expect(await procs.get('a')?.stop()).toBe(0);
    const store = await ControlStore.open({ url: server.url });
    try {
      expect((await store.getBroker('a'))?.status).toBe('OFFLINE');
      expect((await store.getBroker('b'))?.status).toBe('ACTIVE');
    } finally {
      await store.close();
    }
  }, 30_000);
});
