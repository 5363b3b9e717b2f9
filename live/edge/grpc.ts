/**
 * The live broker's gRPC edge: seed 002's `SubscriptionService.Subscribe`, a bidirectional stream
 * on which a client subscribes and unsubscribes at any time and receives the events its
 * subscriptions match (proto/eventmesh/v1/subscription.proto). It talks to the broker only
 * through the `EdgePort` (port.ts), like every other edge.
 *
 * [GRPC-1] The contract is the seed's, loaded at runtime with proto-loader (`keepCase`,
 * `longs: Number`, `enums: String`, `defaults: true`); meshtwin only adds fields 7+ (type,
 * source, guaranteed). `longs: Number` is safe: the one int64, `publish_timestamp_ms`, is epoch
 * milliseconds, exact in a double until the year 287396.
 * [GRPC-2] SUBSCRIBE(topic_pattern, filter_expression) adds a subscription to the stream (an
 * empty filter is none); the same pattern and filter twice on one stream is one subscription.
 * UNSUBSCRIBE(topic_pattern) removes the stream's subscriptions with that pattern, all of them
 * when filter_expression is empty, else only the one with that filter; one it does not hold is
 * a no-op. A stream may hold any number of subscriptions; `$share/GROUP/PATTERN` makes the
 * stream one member of a consumer group [SHARE-1].
 * [GRPC-3] A bad request ends the stream with status INVALID_ARGUMENT and the broker's message:
 * a bad pattern or filter in the port's own words (`invalid pattern "a/#/b": '#' must be the last
 * level`; a selector's error prefixed with the filter: `invalid filter "amount >": expected an
 * expression at 8, found end of input`), an UNSUBSCRIBE without a pattern, an unknown action. The stream's other subscriptions end with it.
 * [GRPC-4] However a stream ends (the client half-closes: status OK; it cancels; the connection
 * drops; a keepalive ping goes unanswered; an error status), every subscription it held is
 * removed from the broker at once.
 * [GRPC-5] An event goes out as an EventEnvelope: event_id, topic, headers with every value as a
 * string (`String(v)`: numbers in JavaScript's shortest round-trip form, e.g. `12500`, `0.5`,
 * `1e+21`; booleans `true`/`false`), payload_bytes, publish_timestamp_ms (the publisher's epoch
 * ms, floored to an integer), routing_path (the brokers it crossed, first the one it was
 * published at), type, source, guaranteed. The headers are the envelope's (cloudevent.ts [EDGE-4]:
 * data fields, subject, time, extensions; id, source, type, topic and the delivery class are the
 * EventEnvelope's own fields), plus `datacontenttype: application/json` when the envelope has no
 * datacontenttype header and the payload parses as JSON, the mesh's default [EDGE-5].
 * [GRPC-6] Flow control [EDGE-2]: the broker hands a subscription its next event only once the
 * previous one's write has been flushed to the HTTP/2 stream (the write callback), so a client
 * that reads slowly leaves its backlog in the broker's paced queue under the slow-consumer
 * policy, never in grpc's buffers. The contract has no acknowledgement: a guaranteed event is
 * done with once written, and one in flight when a stream dies is lost to that client.
 * [GRPC-7] An event larger than `maxSendMessageBytes` (default 4 MiB, what a grpc client accepts
 * by default) ends the stream with RESOURCE_EXHAUSTED rather than being skipped in silence.
 * [GRPC-8] `close()` stops listening, ends every open stream with UNAVAILABLE ("broker shutting
 * down"), removing their subscriptions, and waits (bounded) for the connections to close.
 */
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, Server, ServerCredentials, type ServerDuplexStream, type ServiceClientConstructor, status } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { LocalSubscription } from '../../engine/broker.ts';
import { SelectorError } from '../../engine/selector/index.ts';
import { type Envelope, type Headers, UsageError } from '../../engine/types.ts';
import { deliveredContentType } from './cloudevent.ts';
import type { AuthResult } from '../auth.ts';
import { type EdgePort, type EdgeSubscriber, PolicyError } from './port.ts';

/** The contract's file in the repository. */
export const PROTO_PATH = fileURLToPath(new URL('../../proto/eventmesh/v1/subscription.proto', import.meta.url));

/** How the contract is loaded, here and by clients that want the same shapes [GRPC-1]. */
export const PROTO_LOADER_OPTIONS: Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** `SubscriptionService`, loaded from PROTO_PATH: `.service` for a server, `new (address, credentials)` for a client. */
export function loadSubscriptionService(): ServiceClientConstructor {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, PROTO_LOADER_OPTIONS)) as any;
  return pkg.codesprintpro.eventmesh.v1.SubscriptionService as ServiceClientConstructor;
}

/** A SubscriptionRequest as decoded with PROTO_LOADER_OPTIONS (an unknown enum value stays a number). */
export interface WireSubscriptionRequest {
  readonly client_id: string;
  readonly action: 'SUBSCRIBE' | 'UNSUBSCRIBE' | number;
  readonly topic_pattern: string;
  readonly filter_expression: string;
}

/** An EventEnvelope as written to the stream [GRPC-5]. */
export interface WireEventEnvelope {
  readonly event_id: string;
  readonly topic: string;
  readonly headers: Record<string, string>;
  readonly payload_bytes: Uint8Array;
  readonly publish_timestamp_ms: number;
  readonly routing_path: string[];
  readonly type: string;
  readonly source: string;
  readonly guaranteed: boolean;
}

/** Header values as the contract's strings [GRPC-5], with the envelope's implied content type. */
export function wireHeaders(env: Envelope): Record<string, string> {
  const headers: Headers = env.headers;
  const out: Record<string, string> = {};
  for (const k of Object.keys(headers)) out[k] = String(headers[k]);
  if (out['datacontenttype'] === undefined) {
    const ct = deliveredContentType(env);
    if (ct !== undefined) out['datacontenttype'] = ct;
  }
  return out;
}

/** The engine's envelope as the contract's EventEnvelope [GRPC-5]. */
export function toWireEnvelope(env: Envelope, guaranteed: boolean): WireEventEnvelope {
  return {
    event_id: env.id,
    topic: env.topic,
    headers: wireHeaders(env),
    payload_bytes: env.payload,
    publish_timestamp_ms: Math.floor(env.publishedAtMs),
    routing_path: [...env.path],
    type: env.type,
    source: env.source,
    guaranteed,
  };
}

/** PEM material for a TLS listener; `ca` with `requireClientCert` asks clients for a certificate from it. */
export interface GrpcEdgeTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca?: string | Buffer;
  readonly requireClientCert?: boolean;
}

export interface GrpcEdgeOptions {
  /** Largest EventEnvelope sent [GRPC-7]; default 4 MiB. */
  readonly maxSendMessageBytes?: number;
  /** Largest SubscriptionRequest accepted (a pattern and a filter); default 64 KiB. */
  readonly maxReceiveMessageBytes?: number;
  /** The broker pings an idle connection this often; default 30 s, so a dead client's subscriptions go [GRPC-4]. */
  readonly keepaliveTimeMs?: number;
  /** ...and drops it when the ping is unanswered this long; default 10 s. */
  readonly keepaliveTimeoutMs?: number;
  /** How long `close()` waits for connections to close before cutting them; default 2 s. */
  readonly closeGraceMs?: number;
  /** Serve TLS instead of plaintext. */
  readonly tls?: GrpcEdgeTls;
  /**
   * Who the client is [AUTH-1], from the call's `authorization` metadata (`Bearer NAME.SECRET`):
   * a refusal ends the stream UNAUTHENTICATED; the policy's, PERMISSION_DENIED [ACL-4].
   */
  readonly authenticate?: (authorization: string | undefined) => Promise<AuthResult>;
}

/** Counters for metrics. */
export interface GrpcEdgeCounters {
  /** Streams opened. */
  streams: number;
  /** SUBSCRIBE requests that added a subscription. */
  subscribes: number;
  /** Subscriptions removed (UNSUBSCRIBE or the stream's end). */
  unsubscribes: number;
  /** Streams ended with INVALID_ARGUMENT [GRPC-3]. */
  rejected: number;
  /** Events written and flushed. */
  delivered: number;
}

/** One open stream, for introspection. */
export interface GrpcStreamInfo {
  /** The last non-empty client_id the stream sent ('' if none). */
  readonly clientId: string;
  readonly peer: string;
  readonly subscriptions: ReadonlyArray<{ readonly pattern: string; readonly filter: string | null }>;
}

export interface GrpcEdge {
  /** The bound TCP port (the one chosen when the address asked for port 0). */
  readonly port: number;
  readonly counters: Readonly<GrpcEdgeCounters>;
  /** The open streams and what each holds. */
  streams(): GrpcStreamInfo[];
  /** [GRPC-8] Stops serving; resolves once every connection is closed (or cut after the grace). */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

/** A request the stream cannot act on: the stream ends with INVALID_ARGUMENT [GRPC-3]. */
class BadRequest extends Error {}

/** The broker-side state of one Subscribe stream. */
class SubscribeStream implements EdgeSubscriber {
  readonly kind = 'grpc';
  clientId = '';
  /** [AUTH-1] Set once the call's credentials are checked (undefined: not policed). */
  principal: string | undefined;
  /** By (pattern, filter) as the client gave them [GRPC-2] (a `$share/…` subscription's own pattern is the bare one). */
  readonly subs = new Map<string, { readonly pattern: string; readonly filter: string | null; readonly sub: LocalSubscription }>();
  #open = true;

  constructor(
    private readonly call: ServerDuplexStream<WireSubscriptionRequest, WireEventEnvelope>,
    private readonly port: EdgePort,
    private readonly counters: GrpcEdgeCounters,
  ) {}

  get open(): boolean {
    return this.#open;
  }

  handleRequest(req: WireSubscriptionRequest): void {
    if (!this.#open) return;
    if (req.client_id !== '') this.clientId = req.client_id;
    const filter = req.filter_expression === '' ? null : req.filter_expression;
    switch (req.action) {
      case 'SUBSCRIBE': {
        const key = JSON.stringify([req.topic_pattern, filter]);
        if (this.subs.has(key)) return;
        // Throws UsageError or SelectorError with a message fit for the client.
        this.subs.set(key, { pattern: req.topic_pattern, filter, sub: this.port.subscribe(req.topic_pattern, filter, this, true, this.principal) });
        this.counters.subscribes++;
        return;
      }
      case 'UNSUBSCRIBE': {
        if (req.topic_pattern === '') throw new BadRequest('UNSUBSCRIBE needs a topic_pattern');
        for (const [key, s] of this.subs) if (s.pattern === req.topic_pattern && (filter === null || s.filter === filter)) this.#remove(key, s.sub);
        return;
      }
      default:
        throw new BadRequest(`unknown action ${JSON.stringify(req.action)}: expected SUBSCRIBE or UNSUBSCRIBE`);
    }
  }

  /** [GRPC-5][GRPC-6] One event from the broker: written, and consumed once flushed. */
  deliver(env: Envelope, guaranteed: boolean, consumed: () => void): void {
    if (!this.#open) return;
    this.call.write(toWireEnvelope(env, guaranteed), (err?: Error | null) => {
      if (err || !this.#open) return;
      this.counters.delivered++;
      consumed();
    });
  }

  /** [GRPC-4] Removes every subscription; the stream takes no more requests or events. */
  release(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const [key, s] of this.subs) this.#remove(key, s.sub);
  }

  /** Ends the stream with a status (after what was already written) and releases it. */
  fail(code: status, details: string): void {
    if (!this.#open) return;
    this.release();
    // grpc-js's idiom: an 'error' with a code sets the status its end() sends.
    this.call.emit('error', { code, details });
  }

  info(): GrpcStreamInfo {
    return { clientId: this.clientId, peer: this.call.getPeer(), subscriptions: [...this.subs.values()].map(({ pattern, filter }) => ({ pattern, filter })) };
  }

  #remove(key: string, sub: LocalSubscription): void {
    this.subs.delete(key);
    this.port.unsubscribe(sub);
    this.counters.unsubscribes++;
  }
}

/** The client's message for a refused request: a selector's error says where, this says which filter [GRPC-3]. */
function refusal(e: unknown, req: WireSubscriptionRequest): string {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof SelectorError ? `invalid filter ${JSON.stringify(req.filter_expression)}: ${message}` : message;
}

/**
 * Serves SubscriptionService on `address` (`host:port`; port 0 picks a free one) for the broker
 * behind `port`. Resolves once bound.
 */
export async function startGrpcEdge(port: EdgePort, address: string, opts: GrpcEdgeOptions = {}): Promise<GrpcEdge> {
  const service = loadSubscriptionService().service;
  const server = new Server({
    'grpc.max_send_message_length': opts.maxSendMessageBytes ?? 4 * MIB,
    'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? 64 * 1024,
    'grpc.keepalive_time_ms': opts.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 10_000,
  });
  const counters: GrpcEdgeCounters = { streams: 0, subscribes: 0, unsubscribes: 0, rejected: 0, delivered: 0 };
  const open = new Set<SubscribeStream>();

  server.addService(service, {
    Subscribe: (call: ServerDuplexStream<WireSubscriptionRequest, WireEventEnvelope>) => {
      const stream = new SubscribeStream(call, port, counters);
      counters.streams++;
      open.add(stream);
      const gone = (): void => {
        stream.release();
        open.delete(stream);
        if (stream.principal !== undefined) {
          port.limits.release(stream.principal);
          stream.principal = undefined;
        }
      };
      // [AUTH-1] Requests wait for the credentials check (then-callbacks keep their order).
      const header = call.metadata.get('authorization')[0];
      const ready =
        opts.authenticate === undefined
          ? Promise.resolve(true)
          : opts.authenticate(typeof header === 'string' ? header : undefined).then((who) => {
              if (!stream.open) return false;
              if (!who.ok) {
                counters.rejected++;
                stream.fail(status.UNAUTHENTICATED, who.error);
                open.delete(stream);
                return false;
              }
              // [LIMIT-2] Each stream is a connection of its principal.
              if (!port.limits.open(who.principal)) {
                counters.rejected++;
                stream.fail(status.RESOURCE_EXHAUSTED, `${who.principal} has ${port.limits.connections(who.principal)} connections open, its limit`);
                open.delete(stream);
                return false;
              }
              stream.principal = who.principal;
              return true;
            });
      call.on('data', (req: WireSubscriptionRequest) => {
        void ready.then((ok) => {
          if (!ok || !stream.open) return;
          try {
            stream.handleRequest(req);
          } catch (e) {
            // The port throws UsageError/SelectorError/PolicyError for a client's mistake; anything else is ours.
            const denied = e instanceof PolicyError;
            const clientFault = denied || e instanceof BadRequest || e instanceof UsageError || e instanceof SelectorError;
            if (clientFault) counters.rejected++;
            stream.fail(denied ? status.PERMISSION_DENIED : clientFault ? status.INVALID_ARGUMENT : status.INTERNAL, refusal(e, req));
            open.delete(stream);
          }
        });
      });
      // The client half-closed: nothing more will be asked, so nothing more is owed.
      call.on('end', () => {
        const wasOpen = stream.open;
        gone();
        if (wasOpen) call.end();
      });
      call.on('cancelled', gone);
      call.on('close', gone);
      call.on('error', gone);
    },
  });

  const credentials =
    opts.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(
          opts.tls.ca === undefined ? null : Buffer.from(opts.tls.ca),
          [{ cert_chain: Buffer.from(opts.tls.cert), private_key: Buffer.from(opts.tls.key) }],
          opts.tls.requireClientCert === true,
        );
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  const graceMs = opts.closeGraceMs ?? 2000;
  let closing: Promise<void> | undefined;

  return {
    port: bound,
    counters,
    streams: () => [...open].map((s) => s.info()),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const s of open) s.fail(status.UNAVAILABLE, 'broker shutting down');
        open.clear();
        const cut = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(cut);
          resolve();
        });
      });
      return closing;
    },
  };
}
