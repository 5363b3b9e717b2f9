/**
 * A mesh written to disk [LIVE-M1]: a CA and one certificate per broker, one broker config per
 * broker, every port taken at once (freePorts), and links either direct or through a
 * LinkShaper per dialing direction (a dialing b, b dialing a: whichever connection the tie-break
 * keeps, its bytes cross a shaper). The tests, `bench --live` and `meshtwin live` all start
 * their meshes from here; the caller starts the broker processes (live/process.ts) and stops
 * them and the shapers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeMeshCerts, type MeshCerts } from '../certs.ts';
import { type LinkShape, LinkShaper } from '../shaper.ts';

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

export interface MeshLink {
  readonly between: readonly [string, string];
  readonly cost: number;
  /** Through shapers (one per dialing direction), so they can be cut. */
  readonly relayed?: boolean;
  /** The shapers shape it (implies relayed). */
  readonly shape?: LinkShape;
}

export interface MeshBroker {
  readonly id: string;
  readonly region: string;
  readonly config: string;
  readonly mesh: number;
  readonly http: number;
  readonly grpc: number;
  /** MQTT over TCP and over TLS (0: none; see MeshOptions.mqtt). */
  readonly mqtt: number;
  readonly mqtts: number;
  readonly dataDir: string;
}

export interface WrittenMesh {
  readonly dir: string;
  readonly certs: MeshCerts;
  readonly brokers: ReadonlyMap<string, MeshBroker>;
  /** Per relayed link `a|b` (as the link names its ends), its two shapers (a dialing b, b dialing a). */
  readonly relays: ReadonlyMap<string, readonly LinkShaper[]>;
  broker(id: string): MeshBroker;
  /** Stops every shaper. */
  stopRelays(): Promise<void>;
}

export interface MeshOptions {
  /** The config's `routing:` value, YAML flow style (default hello 200 ms, dead 1 s). */
  readonly routing?: string;
  /** [LINK-8] `mesh.plaintext: true` (loopback only, for measurement). */
  readonly plaintext?: boolean;
  /** Each broker's region (default: none written). */
  readonly regions?: ReadonlyMap<string, string>;
  /** Broker log level (default warn). */
  readonly logLevel?: string;
  /** edge.queueLimit per broker (default: the config's default). */
  readonly queueLimit?: number;
  /** Client certificates to issue besides the brokers' (default: one for "mallory", the tests' stranger). */
  readonly clients?: readonly string[];
  /** Seed of the shapers' jitter and loss (shaper i gets `seed + i`). */
  readonly seed?: number;
  /**
   * Give each broker an MQTT listener (`edge.mqtt`) and an MQTT-over-TLS one (`edge.mqtts`, its
   * broker certificate, client certificates from the mesh CA asked for, required when
   * `requireClientCert`); `extra` lines are added under `edge:` as they are (e.g.
   * `mqttDenySubscribe: ['secret/#']`).
   */
  readonly mqtt?: { readonly requireClientCert?: boolean; readonly extra?: readonly string[] };
  /** Top-level config lines added as they are (e.g. `auth:` and `acl:` blocks). */
  readonly extra?: readonly string[];
}

/** Writes certificates and configs for `ids` linked by `links` into `dir`, starting the shapers. */
export async function writeMesh(dir: string, ids: readonly string[], links: readonly MeshLink[], routing?: string, options: MeshOptions = {}): Promise<WrittenMesh> {
  const o: MeshOptions = { ...options, routing: routing ?? options.routing };
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const certs = await makeMeshCerts([...ids, ...(o.clients ?? ['mallory'])]);
  writeFileSync(join(dir, 'certs', 'ca.pem'), certs.ca.cert);
  writeFileSync(join(dir, 'certs', 'ca.key'), certs.ca.key, { mode: 0o600 });
  for (const [name, c] of certs.issued) {
    writeFileSync(join(dir, 'certs', `${name}.pem`), c.cert);
    writeFileSync(join(dir, 'certs', `${name}.key`), c.key, { mode: 0o600 });
  }
  const relayed = links.filter((l) => l.relayed === true || l.shape !== undefined).length;
  const mqtt = o.mqtt !== undefined;
  const perBroker = mqtt ? 5 : 3;
  const free = await freePorts(perBroker * ids.length + 2 * relayed);
  const ports = new Map<string, { mesh: number; http: number; grpc: number; mqtt: number; mqtts: number }>();
  for (const id of ids) {
    const [mesh, http, grpc] = free.splice(0, 3) as [number, number, number];
    const [mq, mqs] = mqtt ? (free.splice(0, 2) as [number, number]) : [0, 0];
    ports.set(id, { mesh, http, grpc, mqtt: mq, mqtts: mqs });
  }
  const relays = new Map<string, LinkShaper[]>();
  const all: LinkShaper[] = [];
  /** Where `from` dials `to`. */
  const dialTo = new Map<string, number>();
  try {
    for (const l of links) {
      const [a, b] = l.between;
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const target = ports.get(to)?.mesh as number;
        if (l.relayed === true || l.shape !== undefined) {
          const r = new LinkShaper('127.0.0.1', target, l.shape, o.seed === undefined ? undefined : o.seed + all.length);
          all.push(r);
          await r.start(free.shift());
          relays.set(`${a}|${b}`, [...(relays.get(`${a}|${b}`) ?? []), r]);
          dialTo.set(`${from}>${to}`, r.port);
        } else dialTo.set(`${from}>${to}`, target);
      }
    }
  } catch (e) {
    await Promise.all(all.map((r) => r.stop()));
    throw e;
  }
  const brokers = new Map<string, MeshBroker>();
  for (const id of ids) {
    const p = ports.get(id) as { mesh: number; http: number; grpc: number; mqtt: number; mqtts: number };
    const certFile = (name: string, ext: string): string => join(dir, 'certs', `${name}.${ext}`);
    const peers = links
      .filter((l) => l.between.includes(id))
      .map((l) => {
        const other = l.between[0] === id ? l.between[1] : l.between[0];
        return `    - { id: ${other}, address: 127.0.0.1:${dialTo.get(`${id}>${other}`)}, cost: ${l.cost} }`;
      });
    const dataDir = join(dir, 'data', id);
    const config = join(dir, `${id}.yaml`);
    const region = o.regions?.get(id);
    writeFileSync(
      config,
      [
        `id: ${id}`,
        ...(region === undefined ? [] : [`region: ${region}`]),
        `dataDir: ${dataDir}`,
        'mesh:',
        `  listen: 127.0.0.1:${p.mesh}`,
        peers.length === 0 ? '  peers: []' : '  peers:',
        ...peers,
        `  tls: { ca: ${join(dir, 'certs', 'ca.pem')}, cert: ${join(dir, 'certs', `${id}.pem`)}, key: ${join(dir, 'certs', `${id}.key`)} }`,
        ...(o.plaintext === true ? ['  plaintext: true'] : []),
        'edge:',
        `  http: 127.0.0.1:${p.http}`,
        `  grpc: 127.0.0.1:${p.grpc}`,
        ...(o.queueLimit === undefined ? [] : [`  queueLimit: ${o.queueLimit}`]),
        ...(o.mqtt === undefined
          ? []
          : [
              `  mqtt: 127.0.0.1:${p.mqtt}`,
              `  mqtts: { listen: 127.0.0.1:${p.mqtts}, cert: ${certFile(id, 'pem')}, key: ${certFile(id, 'key')}, ca: ${certFile('ca', 'pem')}, requireClientCert: ${o.mqtt.requireClientCert === true} }`,
              ...(o.mqtt.extra ?? []).map((line) => `  ${line}`),
            ]),
        `routing: ${o.routing ?? '{ helloInterval: 200ms, deadInterval: 1s }'}`,
        `log: { level: ${o.logLevel ?? 'warn'} }`,
        ...(o.extra ?? []),
        '',
      ].join('\n'),
    );
    brokers.set(id, { id, region: region ?? '', config, dataDir, ...p });
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
    stopRelays: async () => {
      await Promise.all(all.map((r) => r.stop()));
    },
  };
}
