/**
 * A live broker's config file [CONF-1]: YAML checked against live/broker.schema.json, with the
 * scenario loader's one-line errors (`file:line:column: path: expected …, found …`), then units,
 * cross-checks (a peer is not the broker itself, no peer twice, a dead interval longer than the
 * hello interval) and the files it names (certificates readable) — each error on the node it is
 * about. Relative paths resolve from the directory the broker is started in (the working
 * directory), so `dataDir: data/us-1` and `certs/ca.pem` mean what they say in a shell there.
 * `mesh.plaintext: true` [LINK-8] is for measurement only (bench --live prices TLS against it):
 * refused unless `mesh.listen` and every peer address are loopback.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { AclEntrySpec } from '../engine/acl.ts';
import type { BrokerConfig } from '../engine/broker.ts';
import { type AuthConfig, type AuthTokenSpec, type AuthUserSpec, isStoredSecret } from './auth.ts';
import type { LimitsConfig, PrincipalLimit } from './limits.ts';
import { readYaml, readYamlFile, type DocumentKind } from '../scenarios/load/document.ts';
import { resolveAcl } from '../scenarios/load/acl.ts';
import { resolveSchemas } from '../scenarios/load/schemas.ts';
import type { SubjectSpec } from '../engine/schema/registry.ts';
import { quote, ScenarioError } from '../scenarios/load/errors.ts';
import { checkSchema, compileSchema } from '../scenarios/load/schema.ts';
import type { Source } from '../scenarios/load/source.ts';
import { parseRate, parseSize } from '../scenarios/units.ts';
import { validatePattern, validateTopic } from '../engine/topic.ts';
import { tryParseSelector } from '../engine/selector/index.ts';
import type { FunctionSpec } from './edge/functions.ts';
import type { ControlPlaneConfig } from './control/agent.ts';

export { ScenarioError as ConfigError };

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface LivePeer extends HostPort {
  readonly id: string;
  readonly cost: number;
}

/** The MQTT edge's settings, resolved. */
export interface LiveMqttConfig {
  /** The TCP listener, or null for none. */
  readonly listen: HostPort | null;
  readonly tls: { readonly listen: HostPort; readonly cert: string; readonly key: string; readonly ca: string | null; readonly requireClientCert: boolean } | null;
  readonly denySubscribe: readonly string[];
  readonly maxPacketBytes: number;
  readonly receiveMaximum: number;
  readonly topicAliasMaximum: number;
  readonly sessionQueue: number;
  readonly sessionExpiryMaxMs: number;
  /** Server keep-alive in ms, or null. */
  readonly serverKeepAliveMs: number | null;
}

/** A broker config, resolved: units in ms and bytes, paths absolute. */
export interface LiveBrokerConfig {
  readonly file: string;
  readonly id: string;
  readonly region: string;
  readonly dataDir: string;
  readonly mesh: {
    readonly listen: HostPort;
    readonly peers: readonly LivePeer[];
    readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
    readonly writeBufferBytes: number;
    /** [LINK-8] Plain TCP between brokers, loopback only: for measurement, never for use. */
    readonly plaintext: boolean;
  };
  readonly edge: {
    readonly http: HostPort;
    readonly grpc: HostPort | null;
    readonly maxEventBytes: number;
    readonly queueLimit: number;
    /** MQTT settings (live/edge/mqtt/). */
    readonly mqtt: LiveMqttConfig;
  };
  /** The engine's config (neighbors from the peers). */
  readonly broker: BrokerConfig;
  readonly logLevel: string;
  /** Client credentials (live/auth.ts). */
  readonly auth: AuthConfig;
  /** The policy this broker starts with, as version 1 (empty: none) [ACL-1][GOV-1]. */
  readonly acl: readonly AclEntrySpec[];
  /** The schema registry this broker starts with, as version 1 (empty: none) [SCHEMA-3]. */
  readonly schemas: readonly SubjectSpec[];
  /** Per-principal limits (live/limits.ts). */
  readonly limits: LimitsConfig;
  /** Function subscriptions (live/edge/functions.ts). */
  readonly functions: readonly FunctionSpec[];
  /** The control plane (live/control/), or null when the config has no `controlPlane:`. */
  readonly controlPlane: ControlPlaneConfig | null;
}

interface RawConfig {
  id: string;
  region?: string;
  dataDir: string;
  mesh: { listen: string; peers?: Array<{ id: string; address: string; cost?: number }>; tls: { ca: string; cert: string; key: string }; writeBuffer?: string; plaintext?: boolean };
  edge: {
    http: string;
    grpc?: string;
    maxEventBytes?: string;
    queueLimit?: number;
    mqtt?: string;
    mqtts?: { listen: string; cert: string; key: string; ca?: string; requireClientCert?: boolean };
    mqttDenySubscribe?: string[];
    mqttMaxPacketSize?: string;
    mqttReceiveMaximum?: number;
    mqttTopicAliasMaximum?: number;
    mqttSessionQueue?: number;
    mqttSessionExpiryMax?: string;
    mqttServerKeepAlive?: string;
  };
  routing?: { helloInterval?: string; deadInterval?: string; hopLimit?: number; retransmit?: string; ackDelay?: string; ledgerTtl?: string; spool?: string };
  log?: { level?: string };
  auth?: { tokens?: AuthTokenSpec[]; users?: AuthUserSpec[]; anonymous?: boolean; admins?: string[] };
  acl?: AclEntrySpec[];
  schemas?: SubjectSpec[];
  functions?: Array<{
    name: string;
    pattern: string;
    filter?: string;
    types?: string;
    url: string;
    timeout?: string;
    retry?: { maxAttempts?: number; backoff?: string; backoffMax?: string };
    deadLetter?: string;
    concurrency?: number;
    queue?: number;
  }>;
  limits?: { publishRate?: string; connections?: number; principals?: Record<string, { publishRate?: string; connections?: number }> };
  controlPlane?: { url?: string; heartbeat?: string; traceSampleEvery?: number; traceTopics?: string[]; queueLimit?: number; offlineAfter?: string };
}

const KIND: DocumentKind = { noun: 'a broker config', empty: 'a broker config (a map with id, dataDir, mesh, edge)' };

let validator: ValidateFunction | undefined;

/** [CONF-1] Parses broker config YAML `text` (`file` in messages). Throws ConfigError (one line). */
export function parseBrokerConfig(text: string, file: string, cwd = process.cwd()): LiveBrokerConfig {
  const { src, data } = readYaml(text, file, KIND);
  validator ??= compileSchema(new URL('./broker.schema.json', import.meta.url));
  checkSchema(src, data, validator);
  return resolveConfig(src, data as RawConfig, cwd);
}

/** [CONF-1] Reads and parses a broker config file. Throws ConfigError (one line). */
export function loadBrokerConfig(file: string, cwd = process.cwd()): LiveBrokerConfig {
  return parseBrokerConfig(readYamlFile(file, KIND), file, cwd);
}

function address(text: string): HostPort {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

/** 127.0.0.0/8, ::1 and localhost: the only places plaintext links may be [LINK-8]. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function resolveConfig(src: Source, raw: RawConfig, cwd: string): LiveBrokerConfig {
  const addr = (path: (string | number)[], text: string): HostPort => {
    const a = address(text);
    if (!(a.port <= 65535)) throw src.error(path, 'value', 'a port from 0 to 65535', quote(text));
    return a;
  };
  const peers: LivePeer[] = [];
  const seen = new Set<string>();
  (raw.mesh.peers ?? []).forEach((p, i) => {
    if (p.id === raw.id) throw src.error(['mesh', 'peers', i, 'id'], 'value', 'the id of another broker', `${quote(p.id)}, this broker's own id`);
    if (seen.has(p.id)) throw src.error(['mesh', 'peers', i, 'id'], 'value', 'each peer once', `${quote(p.id)} a second time`);
    seen.add(p.id);
    peers.push({ id: p.id, cost: p.cost ?? 10, ...addr(['mesh', 'peers', i, 'address'], p.address) });
  });
  const r = raw.routing ?? {};
  const dur = (key: keyof typeof r, dflt: string) => src.dur(['routing', key], r[key] as string | undefined, dflt);
  const size = (path: (string | number)[], text: string | undefined, dflt: string) => src.unit(path, text, dflt, parseSize);
  const helloIntervalMs = dur('helloInterval', '500ms');
  const deadIntervalMs = dur('deadInterval', '2s');
  if (!(deadIntervalMs > helloIntervalMs)) throw src.error(['routing', 'deadInterval'], 'value', `a duration longer than helloInterval (${helloIntervalMs} ms)`, quote(String(r.deadInterval ?? '2s')));
  if (!(helloIntervalMs > 0)) throw src.error(['routing', 'helloInterval'], 'value', 'a duration above zero', quote(String(r.helloInterval)));

  const file = (path: (string | number)[], text: string): string => {
    const abs = resolve(cwd, text);
    try {
      accessSync(abs, constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw src.error(path, 'value', 'a readable PEM file', `${quote(text)} (${code === 'ENOENT' ? 'no such file; make one with `meshtwin certs`' : (code ?? 'unreadable')})`);
    }
    return abs;
  };
  const tls = { ca: file(['mesh', 'tls', 'ca'], raw.mesh.tls.ca), cert: file(['mesh', 'tls', 'cert'], raw.mesh.tls.cert), key: file(['mesh', 'tls', 'key'], raw.mesh.tls.key) };

  const e = raw.edge;
  e.mqttDenySubscribe?.forEach((f, i) => {
    const why = validatePattern(f);
    if (why !== null) throw src.error(['edge', 'mqttDenySubscribe', i], 'value', 'an MQTT topic filter', `${quote(f)} (${why})`);
  });
  const mqttKeepAlive = e.mqttServerKeepAlive === undefined ? null : src.dur(['edge', 'mqttServerKeepAlive'], e.mqttServerKeepAlive, '0s');
  if (mqttKeepAlive !== null && !(mqttKeepAlive >= 1000 && mqttKeepAlive <= 65_535_000))
    throw src.error(['edge', 'mqttServerKeepAlive'], 'value', 'a duration from 1s to 65535s', quote(String(e.mqttServerKeepAlive)));
  const mqtt: LiveMqttConfig = {
    listen: e.mqtt === undefined ? null : addr(['edge', 'mqtt'], e.mqtt),
    tls:
      e.mqtts === undefined
        ? null
        : {
            listen: addr(['edge', 'mqtts', 'listen'], e.mqtts.listen),
            cert: file(['edge', 'mqtts', 'cert'], e.mqtts.cert),
            key: file(['edge', 'mqtts', 'key'], e.mqtts.key),
            ca: e.mqtts.ca === undefined ? null : file(['edge', 'mqtts', 'ca'], e.mqtts.ca),
            requireClientCert: e.mqtts.requireClientCert === true,
          },
    denySubscribe: e.mqttDenySubscribe ?? [],
    maxPacketBytes: size(['edge', 'mqttMaxPacketSize'], e.mqttMaxPacketSize, '1MiB'),
    receiveMaximum: e.mqttReceiveMaximum ?? 1000,
    topicAliasMaximum: e.mqttTopicAliasMaximum ?? 64,
    sessionQueue: e.mqttSessionQueue ?? 10_000,
    sessionExpiryMaxMs: src.dur(['edge', 'mqttSessionExpiryMax'], e.mqttSessionExpiryMax, '24h'),
    serverKeepAliveMs: mqttKeepAlive,
  };
  if (mqtt.tls?.requireClientCert === true && mqtt.tls.ca === null)
    throw src.error(['edge', 'mqtts', 'requireClientCert'], 'value', 'a ca to check client certificates against (edge.mqtts.ca)', 'true without one');

  const listen = addr(['mesh', 'listen'], raw.mesh.listen);
  const plaintext = raw.mesh.plaintext === true;
  if (plaintext) {
    const why = 'plaintext mesh links (for measurement only) with a loopback address (127.0.0.1, ::1, localhost)';
    if (!isLoopback(listen.host)) throw src.error(['mesh', 'listen'], 'value', why, quote(raw.mesh.listen));
    peers.forEach((p, i) => {
      if (!isLoopback(p.host)) throw src.error(['mesh', 'peers', i, 'address'], 'value', why, quote(`${p.host}:${p.port}`));
    });
  }

  const broker: BrokerConfig = {
    id: raw.id,
    neighbors: peers.map((p) => ({ id: p.id, cost: p.cost })),
    helloIntervalMs,
    deadIntervalMs,
    hopLimit: r.hopLimit ?? 16,
    retransmitMs: dur('retransmit', '200ms'),
    ackDelayMs: dur('ackDelay', '2ms'),
    ledgerTtlMs: dur('ledgerTtl', '15m'),
    spoolBytes: size(['routing', 'spool'], r.spool, '1GiB'),
  };
  return {
    file: src.file,
    id: raw.id,
    region: raw.region ?? raw.id,
    dataDir: resolve(cwd, raw.dataDir),
    mesh: { listen, peers, tls, writeBufferBytes: size(['mesh', 'writeBuffer'], raw.mesh.writeBuffer, '8MiB'), plaintext },
    edge: {
      http: addr(['edge', 'http'], raw.edge.http),
      grpc: raw.edge.grpc === undefined ? null : addr(['edge', 'grpc'], raw.edge.grpc),
      maxEventBytes: size(['edge', 'maxEventBytes'], raw.edge.maxEventBytes, '1MiB'),
      queueLimit: raw.edge.queueLimit ?? 1000,
      mqtt,
    },
    broker,
    logLevel: raw.log?.level ?? 'info',
    auth: resolveAuth(src, raw.auth ?? {}),
    acl: resolveAcl(src, raw.acl ?? []),
    schemas: resolveSchemas(src, raw.schemas ?? []).specs,
    limits: resolveLimits(src, raw.limits ?? {}),
    functions: resolveFunctions(src, raw.functions ?? []),
    controlPlane: raw.controlPlane === undefined ? null : controlPlane(src, raw.controlPlane),
  };
}

function resolveFunctions(src: Source, fns: NonNullable<RawConfig['functions']>): FunctionSpec[] {
  const names = new Set<string>();
  return fns.map((f, i) => {
    const at = (k: string): (string | number)[] => ['functions', i, k];
    if (names.has(f.name)) throw src.error(at('name'), 'value', 'each function name once', `${quote(f.name)} a second time`);
    names.add(f.name);
    const bad = validatePattern(f.pattern);
    if (bad !== null) throw src.error(at('pattern'), 'value', 'a topic pattern such as "orders/#"', `${quote(f.pattern)} (${bad})`);
    if (f.filter !== undefined) {
      const s = tryParseSelector(f.filter);
      if (!s.ok) throw src.error(at('filter'), 'value', 'a selector such as "amountCents > 1000"', `${quote(f.filter)} (${s.error.message})`);
    }
    let url: URL | null = null;
    try {
      url = new URL(f.url);
    } catch {}
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw src.error(at('url'), 'value', 'an http:// or https:// URL', quote(f.url));
    if (f.deadLetter !== undefined && validateTopic(f.deadLetter) !== null) throw src.error(at('deadLetter'), 'value', 'a topic', quote(f.deadLetter));
    const r = f.retry ?? {};
    return {
      name: f.name,
      pattern: f.pattern,
      filter: f.filter ?? null,
      types: f.types ?? null,
      url: url.href,
      timeoutMs: src.dur(at('timeout'), f.timeout, '5s'),
      maxAttempts: r.maxAttempts ?? 3,
      backoffMs: src.dur(['functions', i, 'retry', 'backoff'], r.backoff, '200ms'),
      backoffMaxMs: src.dur(['functions', i, 'retry', 'backoffMax'], r.backoffMax, '10s'),
      concurrency: f.concurrency ?? 4,
      queue: f.queue ?? 10_000,
      deadLetter: f.deadLetter ?? null,
    };
  });
}

function resolveLimits(src: Source, l: NonNullable<RawConfig['limits']>): LimitsConfig {
  const rate = (path: (string | number)[], text: string | undefined): number | null => {
    if (text === undefined) return null;
    const r = src.unit(path, text, '0/s', parseRate);
    if (!(r > 0)) throw src.error(path, 'value', 'a rate above zero, such as "100/s"', quote(text));
    return r;
  };
  const principals: Record<string, PrincipalLimit> = {};
  for (const [p, v] of Object.entries(l.principals ?? {})) {
    principals[p] = { publishRate: rate(['limits', 'principals', p, 'publishRate'], v.publishRate ?? l.publishRate), connections: v.connections ?? l.connections ?? null };
  }
  return { publishRate: rate(['limits', 'publishRate'], l.publishRate), connections: l.connections ?? null, principals };
}

function resolveAuth(src: Source, a: NonNullable<RawConfig['auth']>): AuthConfig {
  const stored = (path: (string | number)[], hash: string): void => {
    if (!isStoredSecret(hash)) throw src.error(path, 'value', 'a hashed secret scrypt:SALT:HASH, as `meshtwin hash-secret` prints it', quote(hash.length > 20 ? `${hash.slice(0, 20)}…` : hash));
  };
  const names = new Set<string>();
  (a.tokens ?? []).forEach((t, i) => {
    if (names.has(t.name)) throw src.error(['auth', 'tokens', i, 'name'], 'value', 'each token name once', `${quote(t.name)} a second time`);
    names.add(t.name);
    stored(['auth', 'tokens', i, 'hash'], t.hash);
  });
  const users = new Set<string>();
  (a.users ?? []).forEach((u, i) => {
    if (users.has(u.username)) throw src.error(['auth', 'users', i, 'username'], 'value', 'each username once', `${quote(u.username)} a second time`);
    users.add(u.username);
    stored(['auth', 'users', i, 'hash'], u.hash);
  });
  return { tokens: a.tokens ?? [], users: a.users ?? [], anonymous: a.anonymous ?? true, admins: a.admins ?? [] };
}

/** [CONF-1] `controlPlane:` resolved and cross-checked (live/control/agent.ts). */
function controlPlane(src: Source, cp: NonNullable<RawConfig['controlPlane']>): ControlPlaneConfig {
  const heartbeatMs = src.dur(['controlPlane', 'heartbeat'], cp.heartbeat, '1s');
  if (!(heartbeatMs >= 100)) throw src.error(['controlPlane', 'heartbeat'], 'value', 'a duration of at least 100ms', quote(String(cp.heartbeat)));
  const offlineAfterMs = src.dur(['controlPlane', 'offlineAfter'], cp.offlineAfter, '10s');
  if (!(offlineAfterMs > 2 * heartbeatMs))
    throw src.error(['controlPlane', 'offlineAfter'], 'value', `a duration longer than two heartbeats (${2 * heartbeatMs} ms)`, quote(String(cp.offlineAfter ?? '10s')));
  (cp.traceTopics ?? []).forEach((p, i) => {
    const why = validatePattern(p);
    if (why !== null) throw src.error(['controlPlane', 'traceTopics', i], 'value', 'a topic pattern', `${quote(p)} (${why})`);
  });
  return {
    url: cp.url ?? null,
    heartbeatMs,
    traceSampleEvery: cp.traceSampleEvery ?? 100,
    traceTopics: cp.traceTopics ?? [],
    queueLimit: cp.queueLimit ?? 10_000,
    offlineAfterMs,
  };
}
