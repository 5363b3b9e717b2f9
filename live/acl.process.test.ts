/**
 * [ACL-3..6][AUTH-1..4][GOV-3] Global policies on two linked `meshtwin broker` processes, with
 * real clients: curl-like HTTP publishes with and without API tokens (401, 403, 202), MQTT.js
 * 5.0 and 3.1.1 clients with usernames and passwords (CONNACK 0x86, PUBACK and SUBACK 0x87), a
 * WebSocket and a gRPC subscriber refused by the policy (403, PERMISSION_DENIED) or by their
 * credentials (401, UNAUTHENTICATED); a policy changed at one broker over HTTP reaches the other
 * and is enforced there; refusals are counted per principal in /metrics. Every process is
 * stopped by PID in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainCommand } from '../cli/explain.ts';
import { hashSecret, newToken } from './auth.ts';
import { BrokerProcess, stopAll } from './process.ts';
import { GrpcClient, metric, publish, type TestMesh, until, WsClient, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
const procs = new Map<string, BrokerProcess>();
let billing: string;
let admin: string;
const http = (id: string): number => mesh.broker(id).http;

const ACL = [
  '  - { name: billing, principal: token:billing, allow: [{ publish: "orders/#" }, { subscribe: "orders/#" }] }',
  '  - { name: sensors, principal: "mqtt:sensor-*", allow: [{ publish: "sensors/#" }], deny: [{ publish: "sensors/+/admin" }] }',
  '  - { name: readers, principal: anonymous, allow: [{ subscribe: "sensors/#" }] }',
  '  - { name: ops, principal: token:ops, allow: [{ publish: "#" }, { subscribe: "#" }] }',
  '  - { name: bulk, principal: token:bulk, allow: [{ publish: "#" }] }',
  '  - { name: meters, principal: "mqtt:meter-*", allow: [{ publish: "meters/#" }] }',
];
let bulk: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-acl-'));
  const b = await newToken('billing');
  const o = await newToken('ops');
  billing = b.token;
  admin = o.token;
  const k = await newToken('bulk');
  bulk = k.token;
  const extra = [
    'auth:',
    '  tokens:',
    `    - { name: billing, hash: "${b.hash}" }`,
    `    - { name: ops, hash: "${o.hash}" }`,
    `    - { name: bulk, hash: "${k.hash}" }`,
    '  users:',
    `    - { username: sensor-7, hash: "${await hashSecret('s3cret')}" }`,
    `    - { username: meter-1, hash: "${await hashSecret('m3ter')}" }`,
    '  admins: [token:ops]',
    'limits:',
    '  principals:',
    '    "token:bulk": { publishRate: 1/s }',
    '    "mqtt:meter-1": { publishRate: 2/s, connections: 1 }',
    'acl:',
    ...ACL,
  ];
  mesh = await writeMesh(dir, ['us-1', 'eu-1'], [{ between: ['us-1', 'eu-1'], cost: 10 }], undefined, { mqtt: {}, extra });
  for (const id of ['us-1', 'eu-1']) procs.set(id, new BrokerProcess(mesh.broker(id).config));
  await Promise.all([...procs.values()].map((p) => p.ready));
  const routed = async (id: string) => ((await (await fetch(`http://127.0.0.1:${http(id)}/v1/routes`)).json()) as { routes: unknown[] }).routes.length === 1;
  expect(await until(async () => (await routed('us-1')) && (await routed('eu-1')), 20_000)).toBe(true);
}, 90_000);

afterAll(async () => {
  await stopAll();
  await mesh?.stopRelays();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const event = (topic: string, token?: string) => publish(http('us-1'), { id: `acl-${seq++}`, topic, data: { n: 1 }, ...(token === undefined ? {} : { token }) });

describe('HTTP publish: 401, 403, 202 [AUTH-3][ACL-3]', () => {
  it('a token that does not verify is 401, whatever the policy', async () => {
    const r = await event('orders/us/1', 'billing.not-the-secret');
    expect(r.status).toBe(401);
    expect(String(r.body['error'])).toMatch(/unknown bearer token/);
    expect((await event('orders/us/1', 'nobody.x')).status).toBe(401);
  });

  it('anonymous may not publish orders: 403 naming the principal and the policy version', async () => {
    const r = await event('orders/us/1');
    expect(r.status).toBe(403);
    expect(r.body['error']).toBe('anonymous may not publish com.acme.order.created on orders/us/1: no policy entry allows it (policy v1)');
  });

  it('the billing token may, and its event reaches a subscriber on the other broker', async () => {
    const ws = new WsClient(http('eu-1'), 'orders/#', undefined, billing);
    await ws.open;
    const known = async () => (await (await fetch(`http://127.0.0.1:${http('us-1')}/v1/subscriptions`)).text()).includes('"orders/#"');
    expect(await until(known, 10_000)).toBe(true);
    const r = await event('orders/us/2', billing);
    expect(r.status).toBe(202);
    expect(await until(() => ws.ids().includes(String(r.body['eventId'])), 5000)).toBe(true);
    ws.close();
  });

  it('refusals are counted per principal in /metrics', async () => {
    expect(await metric(http('us-1'), 'meshtwin_denied_publish_total', { principal: 'anonymous' })).toBeGreaterThanOrEqual(1);
    expect(await metric(http('us-1'), 'meshtwin_policy_version')).toBe(1);
  });
});

describe('subscribers refused by the policy or their credentials [ACL-4]', () => {
  it('WebSocket: 403 for a pattern the principal may not read, 401 for a bad token', async () => {
    await expect(new WsClient(http('eu-1'), 'orders/#').open).rejects.toThrow(/HTTP 403/);
    await expect(new WsClient(http('eu-1'), 'orders/#', undefined, 'billing.wrong').open).rejects.toThrow(/HTTP 401/);
    const ok = new WsClient(http('eu-1'), 'sensors/#');
    await ok.open;
    ok.close();
  });

  it('gRPC: PERMISSION_DENIED, and UNAUTHENTICATED for a bad token', async () => {
    const statusOf = (c: GrpcClient) => new Promise<number>((resolve) => c.call.on('status', (s: { code: number }) => resolve(s.code)));
    const denied = new GrpcClient(mesh.broker('eu-1').grpc);
    const deniedStatus = statusOf(denied);
    denied.subscribe('orders/#');
    expect(await deniedStatus).toBe(grpcStatus.PERMISSION_DENIED);
    denied.close();
    const bad = new GrpcClient(mesh.broker('eu-1').grpc, 'ops.wrong');
    const badStatus = statusOf(bad);
    bad.subscribe('orders/#');
    expect(await badStatus).toBe(grpcStatus.UNAUTHENTICATED);
    bad.close();
  });
});

describe('MQTT: credentials and reason codes [AUTH-3][ACL-3][ACL-4]', () => {
  const connect = (protocolVersion: 4 | 5, username?: string, password?: string) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${mesh.broker('us-1').mqtt}`, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000, ...(username === undefined ? {} : { username, password }) });

  /** The PUBACK reason code (MQTT.js rejects on a failure code, with it as `code`). */
  const pubackCode = (c: mqtt.MqttClient, topic: string): Promise<number> =>
    c.publishAsync(topic, 'x', { qos: 1 }).then(
      (r) => (r as { reasonCode?: number } | undefined)?.reasonCode ?? 0,
      (e: { code?: number }) => e.code ?? -1,
    );
  /** The SUBACK granted code (MQTT.js rejects on a failure code, with the SUBACK as `packet`). */
  const subackCode = (c: mqtt.MqttClient, filter: string): Promise<number> =>
    c.subscribeAsync({ [filter]: { qos: 1 } }).then(
      (g) => g[0]?.qos ?? -1,
      (e: { packet?: { granted?: number[] } }) => e.packet?.granted?.[0] ?? -1,
    );

  it('a bad password is CONNACK 0x86 (5.0) and 4 (3.1.1)', async () => {
    await expect(connect(5, 'sensor-7', 'wrong')).rejects.toMatchObject({ code: 0x86 });
    await expect(connect(4, 'sensor-7', 'wrong')).rejects.toMatchObject({ code: 4 });
    await expect(connect(5, 'sensor-8', 's3cret')).rejects.toMatchObject({ code: 0x86 });
  });

  it('sensor-7 may publish sensors/…, not sensors/+/admin (PUBACK 0x87) nor orders; its subscription to orders is SUBACK 0x87', async () => {
    const c = await connect(5, 'sensor-7', 's3cret');
    try {
      const acks: number[] = [];
      for (const topic of ['sensors/tokyo/1', 'sensors/tokyo/admin', 'orders/jp/1']) acks.push(await pubackCode(c, topic));
      expect(acks).toEqual([0, 0x87, 0x87]);
      expect(await subackCode(c, 'orders/#')).toBe(0x87);
    } finally {
      await c.endAsync();
    }
    expect(await metric(http('us-1'), 'meshtwin_denied_publish_total', { principal: 'mqtt:sensor-7' })).toBe(2);
    expect(await metric(http('us-1'), 'meshtwin_denied_subscribe_total', { principal: 'mqtt:sensor-7' })).toBe(1);
  });

  it('3.1.1: a refused publish is acknowledged and dropped; a refused subscription is 0x80', async () => {
    const c = await connect(4, 'sensor-7', 's3cret');
    try {
      expect(await pubackCode(c, 'orders/jp/2')).toBe(0);
      expect(await subackCode(c, 'orders/#')).toBe(0x80);
    } finally {
      await c.endAsync();
    }
  });
});

describe('per-principal limits [LIMIT-1][LIMIT-2]', () => {
  it('HTTP: over the publish rate is 429 with Retry-After, counted per principal', async () => {
    expect((await event('orders/us/1', bulk)).status).toBe(202);
    const res = await fetch(`http://127.0.0.1:${http('us-1')}/v1/events/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'CE-SpecVersion': '1.0', 'CE-Type': 't', 'CE-Source': '/s', 'CE-ID': 'bulk-2', 'CE-Topic': 'orders/us/1', Authorization: `Bearer ${bulk}` },
      body: '{}',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await metric(http('us-1'), 'meshtwin_rate_limited_total', { principal: 'token:bulk' })).toBe(1);
  });

  it('MQTT: CONNACK 0x97 over the connections, DISCONNECT 0x96 over the rate', async () => {
    const url = `mqtt://127.0.0.1:${mesh.broker('us-1').mqtt}`;
    const c = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, username: 'meter-1', password: 'm3ter' });
    await expect(mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, username: 'meter-1', password: 'm3ter' })).rejects.toMatchObject({ code: 0x97 });
    const disconnected = new Promise<number>((resolve) => c.on('disconnect', (p) => resolve(p.reasonCode ?? -1)));
    expect(await c.publishAsync('meters/a/1', 'x', { qos: 1 }).then(() => 0)).toBe(0);
    expect(await c.publishAsync('meters/a/2', 'x', { qos: 1 }).then(() => 0)).toBe(0);
    void c.publishAsync('meters/a/3', 'x', { qos: 1 }).catch(() => {});
    expect(await disconnected).toBe(0x96);
    c.end(true);
    expect(await metric(http('us-1'), 'meshtwin_connections_refused_total', { principal: 'mqtt:meter-1' })).toBe(1);
    // Its connection was released: it may connect again.
    expect(
      await until(async () => {
        const again = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, username: 'meter-1', password: 'm3ter' }).catch(() => null);
        await again?.endAsync();
        return again !== null;
      }, 5000),
    ).toBe(true);
  });
});

describe('meshtwin explain --live asks each broker for its gates [EXPLAIN-7]', () => {
  const live = () => `http://127.0.0.1:${http('us-1')},http://127.0.0.1:${http('eu-1')}`;
  it('names the policy that stops anonymous, then the missing interest for the billing token, then the path', async () => {
    const anon = await explainCommand(undefined, { live: live(), from: 'us-1', topic: 'orders/us/9', type: 'com.acme.order.created', to: 'eu-1' });
    expect(anon.find((l) => l.startsWith('=> '))).toMatch(/stopped at policy \(publish\) on us-1: anonymous publishing com.acme.order.created on orders\/us\/9: no entry allows it \(policy v1\)/);
    const billingNoSub = await explainCommand(undefined, { live: live(), from: 'us-1', topic: 'orders/us/9', principal: 'token:billing', to: 'eu-1' });
    expect(billingNoSub.find((l) => l.startsWith('=> '))).toMatch(/stopped at interest on us-1/);
    const ws = new WsClient(http('eu-1'), 'orders/us/#', undefined, billing);
    await ws.open;
    const known = async () => (await (await fetch(`http://127.0.0.1:${http('us-1')}/v1/subscriptions`)).text()).includes('"orders/us/#"');
    expect(await until(known, 10_000)).toBe(true);
    const through = await explainCommand(undefined, { live: live(), from: 'us-1', topic: 'orders/us/9', principal: 'token:billing', to: 'eu-1' });
    expect(through.find((l) => l.startsWith('=> '))).toBe('=> reaches 1 subscription at eu-1 via us-1 → eu-1');
    ws.close();
  });
  it('a body that is not JSON is a 400 with one line', async () => {
    const r = await fetch(`http://127.0.0.1:${http('us-1')}/v1/explain/origin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'body: not valid JSON' });
  });
});

describe('a policy change at one broker reaches the other [GOV-3][AUTH-4]', () => {
  const put = (id: string, body: unknown, token?: string) =>
    fetch(`http://127.0.0.1:${http(id)}/v1/acl`, { method: 'PUT', headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  it('only an admin may change it (401, 403); entries that do not compile are a 400', async () => {
    expect((await put('us-1', [])).status).toBe(403); // anonymous
    expect((await put('us-1', [], 'ops.wrong')).status).toBe(401);
    expect((await put('us-1', [], billing)).status).toBe(403);
    const bad = await put('us-1', [{ principal: 'x', allow: [{ publish: 'a/#/b' }] }], admin);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/'#' must be the last level/);
  });

  it('version 2 made at us-1 is enforced at eu-1', async () => {
    const next = [
      { principal: 'anonymous', allow: [{ publish: 'orders/#' }] },
      { principal: 'token:ops', allow: [{ publish: '#' }, { subscribe: '#' }] },
    ];
    const r = await put('us-1', next, admin);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ version: 2, origin: 'us-1' });
    expect(await until(async () => (await metric(http('eu-1'), 'meshtwin_policy_version')) === 2, 5000)).toBe(true);
    const at = (await (await fetch(`http://127.0.0.1:${http('eu-1')}/v1/acl`)).json()) as { version: number; origin: string; entries: unknown[] };
    expect(at).toEqual({ version: 2, origin: 'us-1', entries: next });
    // Anonymous may now publish orders at eu-1; the billing token no longer may.
    expect((await publish(http('eu-1'), { id: `acl-${seq++}`, topic: 'orders/eu/1', data: {} })).status).toBe(202);
    expect((await publish(http('eu-1'), { id: `acl-${seq++}`, topic: 'orders/eu/1', data: {}, token: billing })).status).toBe(403);
  });
});
