/**
 * What the live tests share [LIVE-T]: a folder with a mesh CA, certificates and one broker config
 * per broker (links optionally through a LinkShaper (pass-through), so a test can cut them), free loopback ports,
 * Prometheus text read back as numbers, and clients that record what they receive (WebSocket,
 * gRPC). Every wait is bounded; every process and socket is the caller's to stop (stopAll).
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { credentials, type ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadSubscriptionService, type WireEventEnvelope, type WireSubscriptionRequest } from './edge/grpc.ts';
import { BrokerProcess } from './process.ts';
import type { WrittenMesh } from './run/mesh.ts';
export { freePorts, type MeshBroker as TestBroker, type MeshLink, type WrittenMesh as TestMesh, writeMesh } from './run/mesh.ts';

/** Two ends of one TCP connection on 127.0.0.1 (the dialing end, the accepted end); `close` ends both and the listener. */
export async function tcpPair(): Promise<{ client: Socket; inbound: Socket; close: () => Promise<void> }> {
  let resolveInbound: (s: Socket) => void = () => {};
  const accepted = new Promise<Socket>((resolve) => {
    resolveInbound = resolve;
  });
  const server = createServer((s) => resolveInbound(s));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  const client = createConnection({ host: '127.0.0.1', port: addr.port });
  await new Promise<void>((done) => client.once('connect', () => done()));
  const inbound = await accepted;
  const close = async (): Promise<void> => {
    client.destroy();
    inbound.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  };
  return { client, inbound, close };
}

/** Polls `cond` every 10 ms until it holds or `ms` pass. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/**
 * Starts a `meshtwin broker` process for each of `ids` in a written mesh, and waits (bounded)
 * until each has a route to every other. The caller stops them (`stopAll`).
 */
export async function startMesh(mesh: WrittenMesh, ids: readonly string[], ms = 20_000): Promise<BrokerProcess[]> {
  const procs = ids.map((id) => new BrokerProcess(mesh.broker(id).config));
  await Promise.all(procs.map((p) => p.ready));
  const routed = async (id: string): Promise<boolean> => ((await (await fetch(`http://127.0.0.1:${mesh.broker(id).http}/v1/routes`)).json()) as { routes: unknown[] }).routes.length === ids.length - 1;
  if (!(await until(async () => (await Promise.all(ids.map(routed))).every(Boolean), ms))) throw new Error(`routes among ${ids.join(', ')} did not converge in ${ms} ms`);
  return procs;
}

/** Prometheus text → the value of `name` with exactly these labels (0 when absent). */
export async function metric(http: number, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** POST one event in binary mode; returns the status and body. */
export async function publish(
  http: number,
  e: { id: string; topic: string; data: unknown; delivery?: 'guaranteed' | 'realtime'; type?: string; token?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${http}/v1/events/publish`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'CE-SpecVersion': '1.0',
      'CE-Type': e.type ?? 'com.acme.order.created',
      'CE-Source': '/billing',
      'CE-ID': e.id,
      'CE-Topic': e.topic,
      ...(e.delivery === undefined ? {} : { 'CE-Delivery': e.delivery }),
      ...(e.token === undefined ? {} : { Authorization: `Bearer ${e.token}` }),
    },
    body: JSON.stringify(e.data),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A WebSocket subscriber that keeps every event it receives (parsed). */
export class WsClient {
  readonly events: Array<Record<string, unknown>> = [];
  readonly ws: WebSocket;
  readonly open: Promise<void>;

  constructor(http: number, pattern: string, filter?: string, token?: string) {
    const q = new URLSearchParams({ pattern, ...(filter === undefined ? {} : { filter }), ...(token === undefined ? {} : { token }) });
    this.ws = new WebSocket(`ws://127.0.0.1:${http}/v1/subscribe?${q}`);
    this.ws.on('message', (m) => this.events.push(JSON.parse(String(m)) as Record<string, unknown>));
    this.ws.on('error', () => {});
    this.open = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  ids(): string[] {
    return this.events.map((e) => String(e['id']));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A gRPC SubscriptionService stream that keeps every envelope it receives. */
export class GrpcClient {
  readonly events: WireEventEnvelope[] = [];
  readonly call: ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
  readonly #client: { close(): void };

  constructor(port: number, token?: string) {
    const Service = loadSubscriptionService();
    const client = new Service(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      Subscribe(m: Metadata): ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
      close(): void;
    };
    this.#client = client;
    const metadata = new Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    this.call = client.Subscribe(metadata);
    this.call.on('data', (e: WireEventEnvelope) => this.events.push(e));
    this.call.on('error', () => {});
  }

  subscribe(pattern: string, filter = ''): void {
    this.call.write({ client_id: 'test', action: 'SUBSCRIBE', topic_pattern: pattern, filter_expression: filter });
  }

  ids(): string[] {
    return this.events.map((e) => e.event_id);
  }

  close(): void {
    this.call.cancel();
    this.#client.close();
  }
}
