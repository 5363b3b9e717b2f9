/**
 * [SCHEMA-3][SCHEMA-7][SCHEMA-8][SCHEMA-10] The schema registry on two linked `meshtwin broker`
 * processes with real clients: schemas from the broker config (version 1 at both); a schema
 * registered over HTTP at us-1 reaches eu-1, where an invalid publish is a 400 with the data path
 * and a valid one a 202; an incompatible registration is a 409, a schema that does not compile a
 * 422, a non-admin a 401/403; a compatibility change floods too; MQTT.js 5.0 gets PUBACK 0x99
 * with the reason (3.1.1: acknowledged and dropped); refusals counted per subject in /metrics.
 * Every process is stopped by PID in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken } from './auth.ts';
import { stopAll } from './process.ts';
import { metric, publish, startMesh, type TestMesh, until, WsClient, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
let admin: string;
let reader: string;
const http = (id: string): number => mesh.broker(id).http;
const url = (id: string, path: string): string => `http://127.0.0.1:${http(id)}${path}`;

const SENSORS = { type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] };
const ORDER = { type: 'object', properties: { orderId: { type: 'string' }, amountCents: { type: 'integer', minimum: 0 } }, required: ['orderId', 'amountCents'] };
const ORDERS = encodeURIComponent('com.acme.order.*');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-schemas-'));
  const o = await newToken('ops');
  const r = await newToken('reader');
  admin = o.token;
  reader = r.token;
  const extra = [
    'auth:',
    '  tokens:',
    `    - { name: ops, hash: "${o.hash}" }`,
    `    - { name: reader, hash: "${r.hash}" }`,
    '  admins: [token:ops]',
    'schemas:',
    `  - { subject: "topic:sensors/#", schema: ${JSON.stringify(SENSORS)} }`,
  ];
  mesh = await writeMesh(dir, ['us-1', 'eu-1'], [{ between: ['us-1', 'eu-1'], cost: 10 }], undefined, { mqtt: {}, extra });
  await startMesh(mesh, ['us-1', 'eu-1']);
}, 90_000);

afterAll(async () => {
  await stopAll();
  await mesh?.stopRelays();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const post = (id: string, path: string, body: unknown, token?: string, method = 'POST') =>
  fetch(url(id, path), {
    method,
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const get = async (id: string, path: string): Promise<{ status: number; body: unknown }> => {
  const r = await fetch(url(id, path));
  return { status: r.status, body: await r.json() };
};

let seq = 0;

describe('schemas from the broker config [SCHEMA-3]', () => {
  it('are version 1 at both brokers', async () => {
    for (const id of ['us-1', 'eu-1']) {
      expect(await get(id, '/v1/schemas')).toEqual({ status: 200, body: { version: 1, subjects: [{ subject: 'topic:sensors/#', compatibility: 'BACKWARD', versions: [1] }] } });
      expect(await metric(http(id), 'meshtwin_schemas_version')).toBe(1);
    }
    expect(await get('eu-1', `/v1/schemas/${encodeURIComponent('topic:sensors/#')}/versions/1`)).toEqual({
      status: 200,
      body: { subject: 'topic:sensors/#', version: 1, id: 1, compatibility: 'BACKWARD', schema: SENSORS },
    });
  });
});

describe('registration over HTTP [SCHEMA-6][SCHEMA-10]', () => {
  it('only an admin may register (401, 403)', async () => {
    expect((await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schema: ORDER })).status).toBe(403);
    expect((await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schema: ORDER }, 'ops.wrong')).status).toBe(401);
    expect((await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schema: ORDER }, reader)).status).toBe(403);
  });

  it('a registration at us-1 reaches eu-1', async () => {
    const r = await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schema: ORDER }, admin);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ id: 2, version: 1 });
    expect(await until(async () => (await get('eu-1', `/v1/schemas/${ORDERS}/versions/latest`)).status === 200, 5000)).toBe(true);
    expect(await get('eu-1', `/v1/schemas/${ORDERS}/versions/latest`)).toEqual({ status: 200, body: { subject: 'com.acme.order.*', version: 1, id: 2, compatibility: 'BACKWARD', schema: ORDER } });
    expect(await get('eu-1', `/v1/schemas/${ORDERS}/versions`)).toEqual({ status: 200, body: [1] });
    expect(await metric(http('eu-1'), 'meshtwin_schemas_version')).toBe(2);
    // The same schema again: its id and version, nothing new.
    const again = await post('eu-1', `/v1/schemas/${ORDERS}/versions`, { schema: ORDER }, admin);
    expect(await again.json()).toEqual({ id: 2, version: 1 });
  });

  it('an incompatible schema is a 409 with the reason; a check says so without registering', async () => {
    const narrowed = { ...ORDER, properties: { ...ORDER.properties, currency: { type: 'string' } }, required: [...ORDER.required, 'currency'] };
    const r = await post('eu-1', `/v1/schemas/${ORDERS}/versions`, { schema: narrowed }, admin);
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: string; compatibility: string; problems: string[] };
    expect(body.compatibility).toBe('BACKWARD');
    expect(body.error).toMatch(
      /^schema is not BACKWARD compatible with subject "com\.acme\.order\.\*": version 2 must accept data written with version 1: #\/required: version 2 requires "currency", version 1 does not/,
    );
    const check = await post('us-1', `/v1/schemas/${ORDERS}/compatibility`, { schema: narrowed });
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ is_compatible: false, compatibility: 'BACKWARD', messages: body.problems });
    const fine = await post('us-1', `/v1/schemas/${ORDERS}/compatibility`, { schema: { ...ORDER, description: 'orders' } });
    expect(await fine.json()).toEqual({ is_compatible: true, compatibility: 'BACKWARD', messages: [] });
    expect(await get('us-1', `/v1/schemas/${ORDERS}/versions`)).toEqual({ status: 200, body: [1] });
  });

  it('a schema that does not compile is a 422, a body that is not one a 400, an unknown version a 404', async () => {
    const bad = await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schema: { type: 'object', requried: ['x'] } }, admin);
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ error: 'schema does not compile: strict mode: unknown keyword: "requried"' });
    expect((await post('us-1', `/v1/schemas/${ORDERS}/versions`, '{nope', admin)).status).toBe(400);
    expect((await post('us-1', `/v1/schemas/${ORDERS}/versions`, { schemer: {} }, admin)).status).toBe(400);
    expect((await get('us-1', `/v1/schemas/${ORDERS}/versions/7`)).status).toBe(404);
    expect((await get('us-1', '/v1/schemas/nothing.here/versions')).status).toBe(404);
  });
});

describe('enforcement at the edges [SCHEMA-7][SCHEMA-8]', () => {
  it('HTTP: an invalid publish at eu-1 is a 400 with the path; a valid one is delivered', async () => {
    const ws = new WsClient(http('us-1'), 'orders/#');
    await ws.open;
    const known = async () => (await (await fetch(url('eu-1', '/v1/subscriptions'))).text()).includes('"orders/#"');
    expect(await until(known, 10_000)).toBe(true);
    const invalid = await publish(http('eu-1'), { id: `s-${seq++}`, topic: 'orders/eu/1', data: { orderId: 'o-1', amountCents: '12' } });
    expect(invalid).toEqual({
      status: 400,
      body: {
        error: 'data does not match schema "com.acme.order.*" v1: /amountCents must be integer',
        subject: 'com.acme.order.*',
        version: 1,
        id: 2,
        path: '/amountCents',
        keyword: 'type',
        message: 'must be integer',
        schemaPath: '#/properties/amountCents/type',
      },
    });
    const missing = await publish(http('eu-1'), { id: `s-${seq++}`, topic: 'orders/eu/1', data: { amountCents: 12 } });
    expect(missing).toMatchObject({ status: 400, body: { path: '/orderId', keyword: 'required' } });
    const ok = await publish(http('eu-1'), { id: `ok-${seq++}`, topic: 'orders/eu/1', data: { orderId: 'o-1', amountCents: 12 } });
    expect(ok.status).toBe(202);
    expect(await until(() => ws.ids().includes(String(ok.body['eventId'])), 5000)).toBe(true);
    expect(ws.ids().filter((x) => x.startsWith('s-'))).toEqual([]);
    ws.close();
    expect(await metric(http('eu-1'), 'meshtwin_invalid_total', { subject: 'com.acme.order.*' })).toBe(2);
    expect(await metric(http('eu-1'), 'meshtwin_schema_validated_total', { subject: 'com.acme.order.*' })).toBe(3);
    expect(await metric(http('eu-1'), 'meshtwin_schema_checked_total')).toBe(3);
  });

  it('HTTP batch: the invalid event is INVALID_DATA and publishing stops there', async () => {
    const ev = (id: string, amountCents: unknown) => ({ specversion: '1.0', id, source: '/t', type: 'com.acme.order.paid', topic: 'orders/eu/2', data: { orderId: 'o', amountCents } });
    const r = await fetch(url('eu-1', '/v1/events/publish'), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([ev('b-1', 1), ev('b-2', -5), ev('b-3', 3)]),
    });
    expect(r.status).toBe(202);
    const answers = (await r.json()) as Array<{ eventId: string; status: string; error?: string }>;
    expect(answers.map((a) => a.status)).toEqual(['ACCEPTED', 'INVALID_DATA', 'NOT_PUBLISHED']);
    expect(answers[1]?.error).toBe('data does not match schema "com.acme.order.*" v1: /amountCents must be >= 0');
  });

  it('MQTT 5.0: PUBACK 0x99 with the reason; 3.1.1: acknowledged and dropped', async () => {
    const connect = (protocolVersion: 4 | 5) => mqtt.connectAsync(`mqtt://127.0.0.1:${mesh.broker('us-1').mqtt}`, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mesh.broker('eu-1').mqtt}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const got: string[] = [];
    sub.on('message', (_t, payload) => got.push(payload.toString()));
    await sub.subscribeAsync('sensors/#', { qos: 1 });
    const known = async () => (await (await fetch(url('us-1', '/v1/subscriptions'))).text()).includes('"sensors/#"');
    expect(await until(known, 10_000)).toBe(true);
    const v5 = await connect(5);
    const v311 = await connect(4);
    const acks: Array<{ reasonCode: number | undefined; reason: unknown }> = [];
    v5.on('packetreceive', (p) => {
      if (p.cmd === 'puback') acks.push({ reasonCode: p.reasonCode, reason: p.properties?.reasonString });
    });
    try {
      const refused = await v5.publishAsync('sensors/tokyo/1', JSON.stringify({ celsius: 'hot' }), { qos: 1 }).then(
        () => ({ code: 0, message: '' }),
        (e: { code?: number; message?: string }) => ({ code: e.code ?? -1, message: e.message ?? '' }),
      );
      expect(refused.code).toBe(0x99);
      expect(acks).toEqual([{ reasonCode: 0x99, reason: 'data does not match schema "topic:sensors/#" v1: /celsius must be number' }]);
      expect(
        await v5.publishAsync('sensors/tokyo/1', 'not json', { qos: 1 }).then(
          () => 0,
          (e: { code?: number }) => e.code,
        ),
      ).toBe(0x99);
      await v5.publishAsync('sensors/tokyo/1', JSON.stringify({ celsius: 21.5 }), { qos: 1 });
      // 3.1.1 has no refusal code: acknowledged, and never delivered.
      await v311.publishAsync('sensors/tokyo/2', JSON.stringify({ celsius: 'cold' }), { qos: 1 });
      await v311.publishAsync('sensors/tokyo/2', JSON.stringify({ celsius: 3 }), { qos: 1 });
      expect(await until(() => got.length >= 2, 5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual(['{"celsius":21.5}', '{"celsius":3}']);
      expect(await metric(http('us-1'), 'meshtwin_invalid_total', { subject: 'topic:sensors/#' })).toBe(3);
    } finally {
      await Promise.all([v5.endAsync(), v311.endAsync(), sub.endAsync()]);
    }
  });
});

describe('a compatibility change at one broker reaches the other [SCHEMA-10][GOV-3]', () => {
  it('PUT config FULL at us-1 is the mode at eu-1, and FULL then refuses a new optional property there', async () => {
    const r = await post('us-1', `/v1/schemas/${ORDERS}/config`, { compatibility: 'FULL' }, admin, 'PUT');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ compatibility: 'FULL' });
    expect(await until(async () => ((await get('eu-1', `/v1/schemas/${ORDERS}/config`)).body as { compatibility: string }).compatibility === 'FULL', 5000)).toBe(true);
    expect((await post('us-1', `/v1/schemas/${ORDERS}/config`, { compatibility: 'SIDEWAYS' }, admin, 'PUT')).status).toBe(400);
    const withNote = { ...ORDER, properties: { ...ORDER.properties, note: { type: 'string' } } };
    const refused = await post('eu-1', `/v1/schemas/${ORDERS}/versions`, { schema: withNote }, admin);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { compatibility: string }).compatibility).toBe('FULL');
  });
});
