/**
 * What the live tests share [LIVE-T]: a folder with a mesh CA, certificates and one broker config
 * per broker (links optionally through a LinkShaper (pass-through), so a test can cut them), free loopback ports,
 * Prometheus text read back as numbers, and clients that record what they receive (WebSocket,
 * gRPC). Every wait is bounded; every process and socket is the caller's to stop (stopAll).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { makeMeshCerts, type MeshCerts } from './certs.ts';
import { loadSubscriptionService, type WireEventEnvelope, type WireSubscriptionRequest } from './edge/grpc.ts';
import { type LinkShape, LinkShaper } from './shaper.ts';

/**
 * `n` distinct ports nobody listens on now: all bound before any is released, so the kernel
 * cannot hand the same one out twice (a port released and then asked for with port 0 can be).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.listen(0, '127.0.0.1', done))));
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return ports;
}

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

export interface MeshLink {
  readonly between: readonly [string, string];
  readonly cost: number;
  /** Through relays (one per dialing direction), so the test can cut it. */
  readonly relayed?: boolean;
  /** The relays shape it (implies relayed). */
  readonly shape?: LinkShape;
}

export interface TestBroker {
  readonly id: string;
  readonly config: string;
  readonly mesh: number;
  readonly http: number;
  readonly grpc: number;
  readonly dataDir: string;
}

export interface TestMesh {
  readonly dir: string;
  readonly certs: MeshCerts;
  readonly brokers: ReadonlyMap<string, TestBroker>;
  /** Per relayed link `a|b`, its two relays (a dialing b, b dialing a). */
  readonly relays: ReadonlyMap<string, readonly LinkShaper[]>;
  broker(id: string): TestBroker;
}

/**
 * Writes certificates and configs for `ids` linked by `links` into `dir`, starting the relays.
 * `options.plaintext` writes `mesh.plaintext: true` (loopback only, for measurement [LINK-8]).
 */
export async function writeMesh(
  dir: string,
  ids: readonly string[],
  links: readonly MeshLink[],
  routing = '{ helloInterval: 200ms, deadInterval: 1s }',
  options: { readonly plaintext?: boolean } = {},
): Promise<TestMesh> {
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const certs = await makeMeshCerts([...ids, 'mallory']);
  writeFileSync(join(dir, 'certs', 'ca.pem'), certs.ca.cert);
  for (const [name, c] of certs.issued) {
    writeFileSync(join(dir, 'certs', `${name}.pem`), c.cert);
    writeFileSync(join(dir, 'certs', `${name}.key`), c.key, { mode: 0o600 });
  }
  // Every port this mesh listens on, brokers' and relays', at once (freePorts).
  const relayed = links.filter((l) => l.relayed === true || l.shape !== undefined).length;
  const free = await freePorts(3 * ids.length + 2 * relayed);
  const ports = new Map<string, { mesh: number; http: number; grpc: number }>();
  for (const id of ids) ports.set(id, { mesh: free.shift() as number, http: free.shift() as number, grpc: free.shift() as number });
  const relays = new Map<string, LinkShaper[]>();
  /** Where `from` dials `to`. */
  const dialTo = new Map<string, number>();
  for (const l of links) {
    const [a, b] = l.between;
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const target = ports.get(to)?.mesh as number;
      if (l.relayed === true || l.shape !== undefined) {
        const r = new LinkShaper('127.0.0.1', target, l.shape);
        await r.start(free.shift());
        relays.set(`${a}|${b}`, [...(relays.get(`${a}|${b}`) ?? []), r]);
        dialTo.set(`${from}>${to}`, r.port);
      } else dialTo.set(`${from}>${to}`, target);
    }
  }
  const brokers = new Map<string, TestBroker>();
  for (const id of ids) {
    const p = ports.get(id) as { mesh: number; http: number; grpc: number };
    const peers = links
      .filter((l) => l.between.includes(id))
      .map((l) => {
        const other = l.between[0] === id ? l.between[1] : l.between[0];
        return `    - { id: ${other}, address: 127.0.0.1:${dialTo.get(`${id}>${other}`)}, cost: ${l.cost} }`;
      });
    const dataDir = join(dir, 'data', id);
    const config = join(dir, `${id}.yaml`);
    writeFileSync(
      config,
      [
        `id: ${id}`,
        `dataDir: ${dataDir}`,
        'mesh:',
        `  listen: 127.0.0.1:${p.mesh}`,
        peers.length === 0 ? '  peers: []' : '  peers:',
        ...peers,
        `  tls: { ca: ${join(dir, 'certs', 'ca.pem')}, cert: ${join(dir, 'certs', `${id}.pem`)}, key: ${join(dir, 'certs', `${id}.key`)} }`,
        ...(options.plaintext === true ? ['  plaintext: true'] : []),
        'edge:',
        `  http: 127.0.0.1:${p.http}`,
        `  grpc: 127.0.0.1:${p.grpc}`,
        `routing: ${routing}`,
        'log: { level: warn }',
        '',
      ].join('\n'),
    );
    brokers.set(id, { id, config, dataDir, ...p });
  }
  return {
    dir,
    certs,
    brokers,
    relays,
    broker: (id) => {
      const b = brokers.get(id);
      if (b === undefined) throw new Error(`no broker ${id}`);
      return b;
    },
  };
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
  e: { id: string; topic: string; data: unknown; delivery?: 'guaranteed' | 'realtime'; type?: string },
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

  constructor(http: number, pattern: string, filter?: string) {
    const q = new URLSearchParams({ pattern, ...(filter === undefined ? {} : { filter }) });
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

  constructor(port: number) {
    const Service = loadSubscriptionService();
    const client = new Service(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      Subscribe(): ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>;
      close(): void;
    };
    this.#client = client;
    this.call = client.Subscribe();
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
