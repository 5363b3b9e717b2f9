/**
 * One live broker process [LIVE-2]: the engine on a LiveHost, its durable store on disk, its mesh
 * links, and its edges (HTTP with CloudEvents ingest, WebSocket subscribe and introspection;
 * gRPC), assembled from a broker config and taken down in order.
 *
 * Start: the store is opened and recovered first (a restart resumes its spool, ledger and
 * sequences), then the broker starts, then the mesh listener and dialers, then the edges. Any
 * failure (an unreadable dataDir, a certificate that does not load, a port in use) is a
 * `StartError` with one line naming the setting and the cause; what was started is stopped.
 *
 * [LIVE-4] Drain (SIGTERM): the edges stop taking publishes (503) and connections, the store
 * syncs what was written, acks waiting on it leave, then the mesh links close and the store is
 * closed. A drained broker has acknowledged nothing it has not written to disk.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import { ACL_DOC, durableConfigFor, SCHEMAS_DOC, SchemaRegistry } from '../engine/broker.ts';
import { Authenticator } from './auth.ts';
import { PrincipalLimits } from './limits.ts';
import type { LiveBrokerConfig } from './config.ts';
import { type GrpcEdge, startGrpcEdge } from './edge/grpc.ts';
import { edgeHttp, PUBLISH_PATH } from './edge/http.ts';
import { HostPort } from './edge/port.ts';
import { SessionHub } from './edge/sessions.ts';
import { attachSubscribe } from './edge/ws.ts';
import { introspection } from './edge/introspect.ts';
import { policyRoutes } from './edge/policy.ts';
import { schemaRoutes } from './edge/schemas.ts';
import { FunctionHub } from './edge/functions.ts';
import { explainRoutes } from './edge/explain.ts';
import { MqttEdge } from './edge/mqtt/edge.ts';
import { LiveHost } from './host.ts';
import { MeshLinks } from './mesh/links.ts';
import type { MeshTls } from './mesh/tls.ts';
import { BrokerMetrics } from './metrics.ts';
import { ControlAgent } from './control/agent.ts';
import { controlRoutes } from './control/http.ts';
import { TracingPort, traceparentFromHttp } from './control/ingress.ts';
import { ControlStore } from './control/store.ts';
import { lockDataDir } from './store/lock.ts';
import { type LogStore, type OpenedLog, openLogStore } from './store/log.ts';

/** A broker that could not start: one line naming what and why. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

function listenError(what: string, addr: { host: string; port: number }, e: unknown): StartError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'address in use'
      : code === 'EADDRNOTAVAIL'
        ? 'no such local address'
        : code === 'EACCES'
          ? 'permission denied'
          : (code ?? ((e as Error).message ?? String(e)).split('\n')[0]);
  return new StartError(`${what} ${addr.host}:${addr.port}: ${why}`);
}

function readTls(config: LiveBrokerConfig): MeshTls {
  const read = (key: 'ca' | 'cert' | 'key'): string => {
    const file = config.mesh.tls[key];
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new StartError(`mesh.tls.${key} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

/** Listens `server` on `addr`; rejects with the listen error. */
function listen(server: Server, addr: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(a !== null && typeof a === 'object' ? a.port : addr.port);
    });
  });
}

export class BrokerNode {
  #draining = false;
  readonly #closers: Array<() => Promise<void> | void> = [];
  /** Ports actually bound (a config may ask for port 0). */
  readonly ports = { mesh: 0, http: 0, grpc: 0, mqtt: 0, mqtts: 0 };
  host!: LiveHost;
  store!: LogStore;
  sessions!: SessionHub;
  /** Rejects when the broker cannot go on (its store broke [DUR-5]); the process exits. */
  readonly failed: Promise<never>;
  #failed: (e: Error) => void = () => {};
  port!: HostPort;
  metrics!: BrokerMetrics;
  links!: MeshLinks;
  /** The MQTT edge, when the config has an MQTT listener (edge.mqtt or edge.mqtts). */
  mqtt: MqttEdge | null = null;
  /** Function subscriptions (live/edge/functions.ts). */
  functions: FunctionHub | null = null;
  /** Who clients are (live/auth.ts). */
  readonly auth: Authenticator;
  /** The control-plane agent (live/control/), when the config has `controlPlane:`. */
  control: ControlAgent | null = null;
  /** Client connections now: WebSocket subscribers, gRPC streams, MQTT connections. */
  clientConnections: () => number = () => 0;

  /** Lifecycle lines (ready with its ports, draining, drained) are written whatever the log level: supervisors read them. */
  readonly #lifecycle: Logger;

  private constructor(
    readonly config: LiveBrokerConfig,
    readonly log: Logger,
  ) {
    this.auth = new Authenticator(config.auth);
    this.#lifecycle = log.child({}, { level: 'info' });
    this.failed = new Promise<never>((_, reject) => {
      this.#failed = reject;
    });
    this.failed.catch(() => {});
  }

  #fail(e: Error): void {
    this.log.fatal({ err: e.message }, 'durable store failed: stopping');
    this.#failed(e);
  }

  /** Starts a broker from its config. Throws StartError (one line) after stopping what had started. */
  static async start(config: LiveBrokerConfig, log: Logger): Promise<BrokerNode> {
    const node = new BrokerNode(config, log);
    try {
      await node.#start();
    } catch (e) {
      await node.#close();
      if (e instanceof StartError) throw e;
      throw new StartError((e as Error).message);
    }
    return node;
  }

  async #start(): Promise<void> {
    const c = this.config;
    const tls = readTls(c);
    let opened: OpenedLog;
    try {
      const unlock = await lockDataDir(c.dataDir);
      this.#closers.push(unlock);
      opened = await openLogStore(c.dataDir, durableConfigFor(c.broker), c.id);
    } catch (e) {
      throw new StartError((e as Error).message.split('\n')[0] as string);
    }
    const { state, store } = opened;
    this.store = store;
    this.#closers.push(() => store.close());
    if (opened.recovered.ops > 0) this.log.info({ ...opened.recovered, spooled: state.spool.length, sessions: state.sessions.size }, 'recovered durable state');
    let port: HostPort | undefined;
    const cp = c.controlPlane;
    // [CP-AGENT-1] Opened in the background: the broker never waits for its control plane.
    const control = cp === null ? null : new ControlAgent(cp, c.dataDir, this.log, (target) => ControlStore.open(target, { onIdleError: () => {} }));
    this.control = control;
    if (control !== null) {
      // [RULE-2] The operator's ACTIVE rules, as the engine's static routes (set again when they change).
      let last = '';
      control.onRules = (rules, regions) => {
        const specs = rules.map((r) => ({ name: r.name, pattern: r.topicPattern, filter: r.filter, dests: 'broker' in r.target ? [r.target.broker] : [...(regions.get(r.target.region) ?? [])] }));
        const key = JSON.stringify(specs);
        if (key === last) return;
        try {
          this.host.broker.setRoutingRules(specs);
          last = key;
          this.log.info({ rules: specs.map((s) => s.name) }, 'routing rules set');
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'routing rules refused');
        }
      };
    }
    const host = new LiveHost(
      c.broker,
      {
        deliver: (sub, env, guaranteed) => {
          this.metrics.delivered(env, guaranteed, host.now());
          port?.deliver(sub, env, guaranteed);
          control?.delivered(env, guaranteed, host.now());
        },
        event: ({ broker: _, ...e }) => this.log.info(e, e.type),
      },
      { durable: state, store, writeBufferBytes: c.mesh.writeBufferBytes },
    );
    this.host = host;
    port = control === null ? new HostPort(host, store, c.edge.queueLimit, (e) => this.#fail(e)) : new TracingPort(control, host, store, c.edge.queueLimit, (e) => this.#fail(e));
    port.limits = new PrincipalLimits(c.limits);
    this.port = port;
    // [GOV-1] The configured policy is version 1 (origin ""): a newer one from the mesh replaces it.
    if (c.acl.length > 0) host.broker.offerDocument(host.now(), { doc: ACL_DOC, origin: '', version: 1, body: JSON.stringify(c.acl) });
    // [SCHEMA-3] The configured schemas likewise: configs that disagree settle on one body [GOV-2].
    if (c.schemas.length > 0) host.broker.offerDocument(host.now(), { doc: SCHEMAS_DOC, origin: '', version: 1, body: SchemaRegistry.bodyOf(c.schemas) });
    host.start();
    this.#closers.push(() => host.stop());
    if (control !== null) {
      control.start({
        id: c.id,
        region: c.region,
        ipAddress: c.mesh.listen.host,
        startedAtMs: host.now(),
        meshAddress: () => `${c.mesh.listen.host}:${this.ports.mesh}`,
        httpAddress: () => `${c.edge.http.host}:${this.ports.http}`,
        connections: () => this.clientConnections(),
        meshLinksUp: () => host.connected().length,
      });
      // Closed after the edges and links (closers run in reverse): its last beat says OFFLINE.
      this.#closers.push(() => control.close());
    }
    // [SESS-5] Sessions subscribe again before the mesh links: interest never lapses.
    this.sessions = new SessionHub(host, state, store);
    this.sessions.resume();
    // [FN-1..6] Function subscriptions: subscribed like clients, before the mesh links.
    const functions = new FunctionHub(c.functions, port);
    this.functions = functions;
    functions.start();
    this.#closers.push(() => functions.stop());

    this.links = new MeshLinks({ self: c.id, listen: c.mesh.listen, peers: c.mesh.peers, tls, host, log: this.log, plaintext: c.mesh.plaintext });
    const m = c.edge.mqtt;
    if (m.listen !== null || m.tls !== null) this.mqtt = new MqttEdge(port, m, c.dataDir, () => host.now(), this.auth);
    this.metrics = new BrokerMetrics({
      host,
      edge: port.counters,
      ...(this.mqtt === null ? {} : { mqtt: this.mqtt }),
      refused: this.links.refused,
      limits: port.limits,
      functions,
      store: {
        get fsyncs() {
          return store.counters.fsyncs;
        },
        get bytesWritten() {
          return store.counters.bytes;
        },
      },
    });
    try {
      this.ports.mesh = await this.links.start();
    } catch (e) {
      throw listenError('mesh.listen', c.mesh.listen, e);
    }
    this.#closers.push(() => this.links.stop());

    const app = express();
    app.disable('x-powered-by');
    app.use(introspection({ config: c, host, metrics: this.metrics, draining: () => this.#draining, startedAtMs: host.now(), sessions: () => this.sessions.list() }));
    const edgeLog = ({ msg, ...obj }: Record<string, unknown>): void => this.log.info(obj, String(msg ?? 'edge'));
    app.use(this.sessions.routes());
    app.get('/v1/functions', (_req, res) => {
      res.json({ functions: functions.list() });
    });
    app.get('/v1/mqtt', (_req, res) => {
      const m = this.mqtt;
      if (m === null) {
        res.status(404).json({ error: 'this broker has no MQTT listener (edge.mqtt, edge.mqtts)' });
        return;
      }
      res.json({ ports: m.ports, connections: m.connections.size, retained: m.retained.size, counters: m.counters, sessions: m.list() });
    });
    app.use(policyRoutes(host, this.auth, c.edge.maxEventBytes));
    app.use(schemaRoutes(host, this.auth, c.edge.maxEventBytes));
    app.use(explainRoutes(host, c.region));
    app.use(controlRoutes(() => this.control));
    app.use(PUBLISH_PATH, traceparentFromHttp);
    app.use(edgeHttp(port, { maxEventBytes: c.edge.maxEventBytes, log: edgeLog, authenticate: (req) => this.auth.bearer(req.headers.authorization) }));
    const http = createServer(app);
    const ws = attachSubscribe(http, port, { log: edgeLog, sessions: this.sessions, authenticate: (authorization) => this.auth.bearer(authorization) });
    try {
      this.ports.http = await listen(http, c.edge.http);
    } catch (e) {
      throw listenError('edge.http', c.edge.http, e);
    }
    this.#closers.push(
      () =>
        new Promise<void>((done) => {
          http.close(() => done());
          http.closeAllConnections();
        }),
      () => ws.close(),
    );
    const mqtt = this.mqtt;
    if (mqtt !== null) {
      try {
        await mqtt.start(http);
      } catch (e) {
        const what = (e as { what?: string }).what ?? 'edge.mqtt';
        throw listenError(what, what === 'edge.mqtts' ? (m.tls?.listen ?? { host: '?', port: 0 }) : (m.listen ?? { host: '?', port: 0 }), e);
      }
      this.ports.mqtt = mqtt.ports.mqtt;
      this.ports.mqtts = mqtt.ports.mqtts;
      this.#closers.push(() => mqtt.close());
    }
    if (c.edge.grpc !== null) {
      const addr = c.edge.grpc;
      let grpc: GrpcEdge;
      try {
        grpc = await startGrpcEdge(port, `${addr.host}:${addr.port}`, { authenticate: (authorization) => this.auth.bearer(authorization) });
      } catch (e) {
        throw listenError('edge.grpc', addr, e);
      }
      this.ports.grpc = grpc.port;
      this.#closers.push(() => grpc.close());
      this.clientConnections = () => ws.connections + grpc.streams().length + (this.mqtt?.connections.size ?? 0);
    } else {
      this.clientConnections = () => ws.connections + (this.mqtt?.connections.size ?? 0);
    }
    this.#lifecycle.info(
      { mesh: this.ports.mesh, http: this.ports.http, grpc: this.ports.grpc || null, mqtt: this.ports.mqtt || null, mqtts: this.ports.mqtts || null, peers: c.mesh.peers.map((p) => p.id) },
      'broker ready',
    );
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** [LIVE-4] Stops taking work, syncs what was written, closes links and edges. */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.port.close();
    this.#lifecycle.info({}, 'draining');
    // [CP-AGENT-3] The directory says DRAINING while it drains (bounded wait).
    await this.control?.draining();
    // What was written is synced, and the acks that waited on it leave, before the links close.
    await this.store.durable().catch(() => {});
    await new Promise((r) => setImmediate(r));
    await this.#close();
    this.#lifecycle.info({}, 'drained');
  }

  async #close(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch (e) {
        this.log.warn({ err: String(e) }, 'while closing');
      }
    }
  }
}
