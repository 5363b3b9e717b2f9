/**
 * [LIVE-2] Three `meshtwin broker` processes on loopback, linked over mutual TLS (us-1–eu-1
 * through relays the test can cut, eu-1–ap-1 and us-1–ap-1 direct), with real clients: a
 * WebSocket subscriber on ap-1 and a gRPC one on eu-1 receive what is published over HTTP on
 * us-1, each exactly once, with its routing path; an event nobody remote wants puts no data bytes
 * on a mesh link (read from /metrics); a remote selector that rejects an event keeps it home;
 * peers with the wrong certificates are refused; a cut link reroutes through the third broker.
 * Every process is stopped by PID in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedLength } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import type { Envelope } from '../engine/types.ts';
import { makeMeshCerts } from './certs.ts';
import { BrokerProcess, stopAll } from './process.ts';
import { GrpcClient, metric, publish, type TestMesh, until, WsClient, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
const procs = new Map<string, BrokerProcess>();
let wsAp: WsClient;
let grpcEu: GrpcClient;

const http = (id: string): number => mesh.broker(id).http;
const dataBytes = (from: string, to: string): Promise<number> => metric(http(from), 'meshtwin_link_bytes_total', { from, to, kind: 'data' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-live-'));
  mesh = await writeMesh(
    dir,
    ['us-1', 'eu-1', 'ap-1'],
    [
      { between: ['us-1', 'eu-1'], cost: 70, relayed: true },
      { between: ['eu-1', 'ap-1'], cost: 120 },
      { between: ['us-1', 'ap-1'], cost: 180 },
    ],
  );
  for (const id of ['us-1', 'eu-1', 'ap-1']) procs.set(id, new BrokerProcess(mesh.broker(id).config));
  await Promise.all([...procs.values()].map((p) => p.ready));
  // Every broker has a route to every other.
  const routed = async (id: string) => ((await (await fetch(`http://127.0.0.1:${http(id)}/v1/routes`)).json()) as { routes: unknown[] }).routes.length === 2;
  expect(await until(async () => (await routed('us-1')) && (await routed('eu-1')) && (await routed('ap-1')), 20_000)).toBe(true);

  wsAp = new WsClient(http('ap-1'), 'orders/ap/#');
  await wsAp.open;
  grpcEu = new GrpcClient(mesh.broker('eu-1').grpc);
  grpcEu.subscribe('orders/+/checkout', 'amountCents > 1000');
  // Both subscriptions known at us-1.
  const remote = async () => ((await (await fetch(`http://127.0.0.1:${http('us-1')}/v1/subscriptions`)).json()) as { remote: Array<{ patterns: number }> }).remote;
  expect(await until(async () => (await remote()).reduce((n, r) => n + r.patterns, 0) >= 2, 10_000)).toBe(true);
}, 90_000);

afterAll(async () => {
  wsAp?.close();
  grpcEu?.close();
  await stopAll();
  for (const rs of mesh?.relays.values() ?? []) for (const r of rs) await r.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('[LIVE-2] three broker processes over mutual TLS', () => {
  it('deliver an HTTP publish on us-1 to a WebSocket subscriber on ap-1 and a gRPC one on eu-1, once each, with the path', async () => {
    const r = await publish(http('us-1'), { id: 'evt-1', topic: 'orders/ap/checkout', data: { amountCents: 4900 } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ eventId: 'evt-1', status: 'ACCEPTED' });
    expect(typeof r.body['brokerTimestamp']).toBe('number');
    expect(await until(() => wsAp.ids().includes('evt-1') && grpcEu.ids().includes('evt-1'), 5000)).toBe(true);
    await new Promise((res) => setTimeout(res, 300));
    expect(wsAp.ids().filter((id) => id === 'evt-1')).toHaveLength(1);
    expect(grpcEu.ids().filter((id) => id === 'evt-1')).toHaveLength(1);
    const ws = wsAp.events.find((e) => e['id'] === 'evt-1');
    expect(ws?.['routingpath']).toBe('us-1,ap-1');
    expect(ws?.['data']).toEqual({ amountCents: 4900 });
    const g = grpcEu.events.find((e) => e.event_id === 'evt-1');
    expect(g?.routing_path).toEqual(['us-1', 'eu-1']);
    expect(g?.topic).toBe('orders/ap/checkout');
    // [EDGE-4] The envelope's headers are the data's fields; JSON is implied, and restored [GRPC-5].
    expect(g?.headers).toEqual({ amountCents: '4900', datacontenttype: 'application/json' });
    expect(await metric(http('us-1'), 'meshtwin_published_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(http('ap-1'), 'meshtwin_delivered_total')).toBeGreaterThanOrEqual(1);
  });

  it('put zero data bytes on the mesh for events no remote subscriber wants', async () => {
    const before = [await dataBytes('us-1', 'eu-1'), await dataBytes('us-1', 'ap-1')];
    for (let i = 0; i < 20; i++) expect((await publish(http('us-1'), { id: `home-${i}`, topic: `orders/us/c${i}`, data: { amountCents: 5000 } })).status).toBe(202);
    await new Promise((res) => setTimeout(res, 300));
    expect([await dataBytes('us-1', 'eu-1'), await dataBytes('us-1', 'ap-1')]).toEqual(before);
    // The counter does move for an event that is wanted (the check above can fail).
    expect((await publish(http('us-1'), { id: 'wanted-1', topic: 'orders/ap/x', data: {} })).status).toBe(202);
    expect(await until(async () => (await dataBytes('us-1', 'ap-1')) > (before[1] as number), 5000)).toBe(true);
  });

  it("keep an event home when the remote subscriber's selector rejects it", async () => {
    const bytes = await dataBytes('us-1', 'eu-1');
    const filtered = await metric(http('us-1'), 'meshtwin_filtered_at_edge_total');
    expect((await publish(http('us-1'), { id: 'small-1', topic: 'orders/eu/checkout', data: { amountCents: 50 } })).status).toBe(202);
    expect(await until(async () => (await metric(http('us-1'), 'meshtwin_filtered_at_edge_total')) > filtered, 5000)).toBe(true);
    expect(await dataBytes('us-1', 'eu-1')).toBe(bytes);
    expect((await publish(http('us-1'), { id: 'big-1', topic: 'orders/eu/checkout', data: { amountCents: 5000 } })).status).toBe(202);
    expect(await until(() => grpcEu.ids().includes('big-1'), 5000)).toBe(true);
    expect(grpcEu.ids()).not.toContain('small-1');
    // [CODEC-SIZE] One data frame, the size of the twin's event with the same fields: nothing the
    // envelope carries is copied into its headers at the edge.
    const twin: Envelope = {
      id: 'big-1',
      source: '/billing',
      type: 'com.acme.order.created',
      specversion: '1.0',
      topic: 'orders/eu/checkout',
      headers: { amountCents: 5000 },
      payload: new TextEncoder().encode('{"amountCents":5000}'),
      publishedAtMs: Date.now(),
      path: ['us-1'],
      hopLimit: 16,
    };
    expect(await dataBytes('us-1', 'eu-1')).toBe(bytes + encodedLength({ kind: FrameKind.Data, dests: ['eu-1'], envelope: twin }));
  });

  it('refuse a peer with a certificate from another CA, naming no configured peer, or with none', async () => {
    const other = await makeMeshCerts(['eu-1'], { caName: 'other-ca' });
    const mine = mesh.certs;
    const refused = () => metric(http('us-1'), 'meshtwin_mesh_refused_total');
    const before = await refused();
    const attempt = (opts: { cert?: string; key?: string }) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: mesh.broker('us-1').mesh, ca: mine.ca.cert, servername: 'us-1', checkServerIdentity: () => undefined, ...opts });
        let got = 0;
        s.on('data', (d: Buffer) => {
          got += d.length;
        });
        s.on('error', (e) => resolve(`error ${e.message} after ${got} bytes`));
        s.on('close', () => resolve(`closed after ${got} bytes`));
        setTimeout(() => {
          s.destroy();
          resolve(`still open after ${got} bytes`);
        }, 3000);
      });
    const otherEu = other.issued.get('eu-1') as { cert: string; key: string };
    const mallory = mine.issued.get('mallory') as { cert: string; key: string };
    const results = [await attempt(otherEu), await attempt(mallory), await attempt({})];
    for (const r of results) {
      expect(r).not.toMatch(/still open/);
      // Not one byte of the link (preamble or engine frame) reaches a refused peer.
      expect(r).toMatch(/after 0 bytes/);
    }
    expect(await until(async () => (await refused()) >= before + 3, 5000)).toBe(true);
    expect(await metric(http('us-1'), 'meshtwin_mesh_refused_total', { reason: 'mallory is not a configured peer of this broker' })).toBe(1);
  });

  it('reroute through the third broker when a link is cut, and return when it heals', async () => {
    const relays = mesh.relays.get('us-1|eu-1') ?? [];
    for (const r of relays) r.cut();
    const via = async (from: string, dest: string) =>
      ((await (await fetch(`http://127.0.0.1:${http(from)}/v1/routes`)).json()) as { routes: Array<{ dest: string; via: string }> }).routes.find((r) => r.dest === dest)?.via;
    // A closed connection is a link-down at once: the route moves well inside the 1 s dead interval's reach.
    expect(await until(async () => (await via('us-1', 'eu-1')) === 'ap-1', 5000)).toBe(true);
    expect(await metric(http('us-1'), 'meshtwin_link_up', { from: 'us-1', to: 'eu-1' })).toBe(0);
    expect((await publish(http('us-1'), { id: 'rerouted-1', topic: 'orders/eu/checkout', data: { amountCents: 7000 } })).status).toBe(202);
    expect(await until(() => grpcEu.ids().includes('rerouted-1'), 5000)).toBe(true);
    expect(grpcEu.events.find((e) => e.event_id === 'rerouted-1')?.routing_path).toEqual(['us-1', 'ap-1', 'eu-1']);
    for (const r of relays) r.heal();
    expect(await until(async () => (await via('us-1', 'eu-1')) === 'eu-1', 15_000)).toBe(true);
    expect((await publish(http('us-1'), { id: 'direct-again', topic: 'orders/eu/checkout', data: { amountCents: 7000 } })).status).toBe(202);
    expect(await until(() => grpcEu.ids().includes('direct-again'), 5000)).toBe(true);
    expect(grpcEu.events.find((e) => e.event_id === 'direct-again')?.routing_path).toEqual(['us-1', 'eu-1']);
  }, 40_000);
});
