/**
 * A live broker's Prometheus metrics [OBS-1] (prom-client), read from the counters the host, the
 * engine, the edge and the store already keep, at scrape time: nothing on the hot path but the
 * latency histogram. Names tools scrape (issue 9), in the report's terms:
 *   meshtwin_link_bytes_total{from,to,kind="data"|"control"}  codec bytes on a mesh connection, length prefix included
 *   meshtwin_link_frames_total{from,to,kind}                   frames likewise
 *   meshtwin_link_up{from,to}                                  1 while a connection to the peer is open
 *   meshtwin_link_queue_bytes{from,to}                         bytes queued on it, not yet written to the socket
 *   meshtwin_link_refused_frames_total{from,to,class}          frames refused by a full write buffer [LIVE-3]
 *   meshtwin_link_retransmits_total{from,to}                   guaranteed frames sent again on it
 *   meshtwin_link_connects_total{from,to}                      connections established
 *   meshtwin_retransmits_total                                 guaranteed frames sent again [REL-3]
 *   meshtwin_published_total                                   publishes accepted by this broker
 *   meshtwin_delivered_total                                   deliveries to this broker's subscribers
 *   meshtwin_dropped_total{cause}                              copies dropped, by the causes the reports name
 *   meshtwin_publish_to_deliver_seconds{class,scope}           histogram: publish time (the publisher's clock) to hand-over
 *   meshtwin_mqtt_*                                            the MQTT edge (when the broker has one): connections, sessions,
 *                                                              retained messages, publishes and deliveries by QoS, what
 *                                                              sessions dropped after the engine delivered to them, by cause
 * `from`/`to` are broker ids: a direction from this broker is what it sent, one to it what it got.
 */
import type { FunctionCounters, FunctionHub } from './edge/functions.ts';
import type { PrincipalLimits } from './limits.ts';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Envelope } from '../engine/types.ts';
import type { MqttEdge } from './edge/mqtt/edge.ts';
import { FastHistogram } from './fast-histogram.ts';
import type { EdgeCounters } from './edge/port.ts';
import type { LinkCounters, LiveHost } from './host.ts';
import { schemaMetrics } from './schema-metrics.ts';

/** What the metrics read from; `store` and `refused` are optional parts of a broker. */
export interface MetricSources {
  readonly host: LiveHost;
  readonly edge: EdgeCounters;
  readonly refused: ReadonlyMap<string, number>;
  readonly store?: { readonly fsyncs: number; readonly bytesWritten: number };
  readonly mqtt?: MqttEdge;
  /** Per-principal limits [LIMIT-1][LIMIT-2]. */
  readonly limits?: PrincipalLimits;
  /** Function subscriptions [FN-5]. */
  readonly functions?: FunctionHub;
}

/** Publish→deliver latency buckets in seconds: 100 µs to 10 s. */
const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class BrokerMetrics {
  readonly registry = new Registry();
  /** Children: realtime local, realtime remote, guaranteed local, guaranteed remote. */
  readonly #latency: FastHistogram<'class' | 'scope'>;

  constructor(private readonly s: MetricSources) {
    const self = s.host.broker.id;
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const links = (): Array<[string, LinkCounters]> => [...s.host.links];
    const stats = () => s.host.broker.stats;

    /** A counter per direction and kind: `read` gives [data out, control out, data in, control in]. */
    const byDirectionAndKind = (name: string, help: string, read: (c: LinkCounters) => readonly [number, number, number, number]): void => {
      new Counter({
        name,
        help,
        labelNames: ['from', 'to', 'kind'],
        registers: r,
        collect() {
          this.reset();
          for (const [peer, c] of links()) {
            const [dataOut, controlOut, dataIn, controlIn] = read(c);
            this.inc({ from: self, to: peer, kind: 'data' }, dataOut);
            this.inc({ from: self, to: peer, kind: 'control' }, controlOut);
            this.inc({ from: peer, to: self, kind: 'data' }, dataIn);
            this.inc({ from: peer, to: self, kind: 'control' }, controlIn);
          }
        },
      });
    };
    /** One value per link, labelled from this broker to the peer. */
    const perLink = (Kind: typeof Counter | typeof Gauge, name: string, help: string, read: (peer: string, c: LinkCounters) => number): void => {
      new Kind({
        name,
        help,
        labelNames: ['from', 'to'],
        registers: r,
        collect() {
          this.reset();
          for (const [peer, c] of links()) {
            const v = read(peer, c);
            if (this instanceof Gauge) this.set({ from: self, to: peer }, v);
            else this.inc({ from: self, to: peer }, v);
          }
        },
      });
    };
    byDirectionAndKind('meshtwin_link_bytes_total', 'Codec bytes on a mesh connection (length prefix included), per direction and kind.', (c) => [
      c.dataBytesOut,
      c.controlBytesOut,
      c.dataBytesIn,
      c.controlBytesIn,
    ]);
    byDirectionAndKind('meshtwin_link_frames_total', 'Frames on a mesh connection, per direction and kind.', (c) => [c.dataFramesOut, c.controlFramesOut, c.dataFramesIn, c.controlFramesIn]);
    perLink(Gauge, 'meshtwin_link_up', '1 while a connection to the peer is open.', (peer) => (s.host.isConnected(peer) ? 1 : 0));
    perLink(Gauge, 'meshtwin_link_queue_bytes', 'Bytes queued on the connection to the peer, not yet written to the socket.', (peer) => s.host.queuedBytes(peer));
    perLink(Counter, 'meshtwin_link_retransmits_total', 'Guaranteed frames sent again on the link (after a timeout or a lost adjacency).', (peer) => s.host.broker.inspect().retransmittedTo(peer));
    perLink(Counter, 'meshtwin_link_connects_total', 'Connections to the peer established.', (_peer, c) => c.connects);
    new Counter({
      name: 'meshtwin_link_refused_frames_total',
      help: 'Data frames a full write buffer refused: realtime dropped (queueFull), guaranteed kept in custody and sent again.',
      labelNames: ['from', 'to', 'class'],
      registers: r,
      collect() {
        this.reset();
        for (const [peer, c] of links()) {
          this.inc({ from: self, to: peer, class: 'realtime' }, c.refusedRealtime);
          this.inc({ from: self, to: peer, class: 'guaranteed' }, c.deferredGuaranteed);
        }
      },
    });
    const engineCounter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers: r,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    engineCounter('meshtwin_retransmits_total', 'Guaranteed frames sent again after a timeout or a lost adjacency.', () => stats().retransmitted);
    engineCounter('meshtwin_published_total', 'Publishes accepted by this broker.', () => stats().published);
    engineCounter('meshtwin_delivered_total', "Deliveries to this broker's subscribers (one per subscriber).", () => stats().subscriberDeliveries);
    engineCounter('meshtwin_filtered_at_edge_total', 'Events a remote pattern matched but no remote selector wanted, kept home.', () => stats().filteredAtEdge);
    engineCounter('meshtwin_duplicates_suppressed_total', 'Retries discarded by the dedup ledger or the resequencer.', () => stats().duplicatesSuppressed);
    engineCounter('meshtwin_spooled_total', 'Guaranteed events spooled for lack of a path.', () => stats().spooled);
    engineCounter('meshtwin_backpressured_total', 'Guaranteed publishes refused for lack of spool space.', () => stats().backpressured);
    engineCounter('meshtwin_protocol_errors_total', 'Frames from peers that broke the protocol.', () => stats().protocolErrors);
    engineCounter('meshtwin_edge_publishes_total', 'Publish requests at the edge (any answer).', () => s.edge.publishes);
    new Counter({
      name: 'meshtwin_dropped_total',
      help: 'Copies dropped, by cause (the causes the reports name).',
      labelNames: ['cause'],
      registers: r,
      collect() {
        this.reset();
        for (const [cause, n] of Object.entries(s.host.drops)) this.inc({ cause }, n);
      },
    });
    new Counter({
      name: 'meshtwin_mesh_refused_total',
      help: 'Mesh connections refused before any engine frame, by reason.',
      labelNames: ['reason'],
      registers: r,
      collect() {
        this.reset();
        for (const [reason, n] of s.refused) this.inc({ reason }, n);
      },
    });
    schemaMetrics(this.registry, s.host);
    const limits = s.limits;
    if (limits !== undefined) {
      for (const [name, help, read] of [
        ['meshtwin_rate_limited_total', "Publishes refused for their principal's publish rate (HTTP 429, MQTT 0x96).", () => limits.rateLimited],
        ['meshtwin_connections_refused_total', "Connections refused for their principal's connection limit.", () => limits.connectionsRefused],
      ] as const) {
        new Counter({
          name,
          help,
          labelNames: ['principal'],
          registers: r,
          collect() {
            this.reset();
            for (const [principal, n] of read()) this.inc({ principal }, n);
          },
        });
      }
    }
    const fns = s.functions;
    if (fns !== undefined) {
      const byFunction = (name: string, help: string, read: (c: FunctionCounters) => number): void => {
        new Counter({
          name,
          help,
          labelNames: ['function'],
          registers: r,
          collect() {
            this.reset();
            for (const f of fns.functions) this.inc({ function: f.spec.name }, read(f.counters));
          },
        });
      };
      new Counter({
        name: 'meshtwin_function_calls_total',
        help: "Calls to a function subscription's endpoint, by outcome (success: 2xx; failure: anything else, timeouts included).",
        labelNames: ['function', 'outcome'],
        registers: r,
        collect() {
          this.reset();
          for (const f of fns.functions) {
            this.inc({ function: f.spec.name, outcome: 'success' }, f.counters.succeeded);
            this.inc({ function: f.spec.name, outcome: 'failure' }, f.counters.failed);
          }
        },
      });
      byFunction('meshtwin_function_retries_total', 'Attempts scheduled again after a failure.', (c) => c.retries);
      byFunction('meshtwin_function_dead_letters_total', 'Events published on the dead-letter topic after their last attempt.', (c) => c.deadLettered);
      byFunction('meshtwin_function_dropped_total', 'Events dropped: the function queue full, or the last attempt failed without a dead-letter topic.', (c) => c.dropped);
    }
    new Gauge({
      name: 'meshtwin_policy_version',
      help: 'Version of the ACL policy this broker enforces (0: none, everything allowed).',
      registers: r,
      collect() {
        this.set(s.host.broker.policy.version);
      },
    });
    for (const action of ['publish', 'subscribe', 'delivery'] as const) {
      new Counter({
        name: `meshtwin_denied_${action}_total`,
        help: `${action === 'publish' ? 'Publishes' : action === 'subscribe' ? 'Subscriptions' : 'Deliveries (one per subscriber)'} the policy refused, per principal.`,
        labelNames: ['principal'],
        registers: r,
        collect() {
          this.reset();
          for (const [principal, d] of s.host.broker.inspect().denied()) if (d[action] > 0) this.inc({ principal }, d[action]);
        },
      });
    }
    new Gauge({
      name: 'meshtwin_spool_bytes',
      help: 'Bytes held in the spool (events waiting for a path or a slow subscriber).',
      registers: r,
      collect() {
        this.set(s.host.broker.inspect().spoolBytes);
      },
    });
    new Gauge({
      name: 'meshtwin_routing_entries',
      help: 'Routing table entries (local and remote patterns).',
      registers: r,
      collect() {
        this.set(s.host.broker.inspect().routingEntries);
      },
    });
    if (s.store !== undefined) {
      const store = s.store;
      engineCounter('meshtwin_store_fsyncs_total', 'fdatasync calls of the durable store (one per group commit).', () => store.fsyncs);
      engineCounter('meshtwin_store_bytes_written_total', 'Bytes appended to the durable store.', () => store.bytesWritten);
    }
    if (s.mqtt !== undefined) this.#mqtt(s.mqtt, r, engineCounter);
    this.#latency = new FastHistogram(
      'meshtwin_publish_to_deliver_seconds',
      "From the publisher's publish time to the hand-over to a subscriber here (one clock when publisher and broker share a machine).",
      LATENCY_BUCKETS_S,
      [
        { class: 'realtime', scope: 'local' },
        { class: 'realtime', scope: 'remote' },
        { class: 'guaranteed', scope: 'local' },
        { class: 'guaranteed', scope: 'remote' },
      ],
      this.registry,
    );
  }

  #mqtt(m: MqttEdge, r: Registry[], counter: (name: string, help: string, read: () => number) => void): void {
    const c = m.counters;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers: r,
        collect() {
          this.set(read());
        },
      });
    };
    const byLabel = (name: string, help: string, label: string, read: () => Array<[string, number]>): void => {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: r,
        collect() {
          this.reset();
          for (const [v, n] of read()) this.inc({ [label]: v }, n);
        },
      });
    };
    const byQos = (a: readonly number[]): Array<[string, number]> => a.map((n, q) => [String(q), n]);
    gauge('meshtwin_mqtt_connections', 'MQTT connections open (TCP, TLS and WebSocket).', () => m.connections.size);
    gauge('meshtwin_mqtt_sessions', 'MQTT sessions held, connected or not.', () => m.sessions.size);
    gauge('meshtwin_mqtt_retained_messages', 'Retained messages this broker holds (every broker holds every one).', () => m.retained.size);
    counter('meshtwin_mqtt_connects_total', 'MQTT CONNECTs accepted.', () => c.connects);
    counter('meshtwin_mqtt_takeovers_total', 'Connections closed by a newer one with the same client id.', () => c.takeovers);
    counter('meshtwin_mqtt_malformed_total', 'Connections closed for a malformed, oversized or out-of-place packet.', () => c.malformed);
    counter('meshtwin_mqtt_keepalive_timeouts_total', 'Connections closed for silence beyond 1.5 times their keep-alive.', () => c.keepAliveTimeouts);
    counter('meshtwin_mqtt_publish_refused_total', 'MQTT publishes refused (topic, format, spool full, draining).', () => c.publishRefused);
    counter('meshtwin_mqtt_subscribe_refused_total', 'MQTT subscriptions refused (invalid filter, deny list, policy).', () => c.subscribeRefused);
    counter('meshtwin_mqtt_auth_refused_total', 'MQTT CONNECTs refused for their credentials (CONNACK 0x86/0x87).', () => c.authRefused);
    counter('meshtwin_mqtt_wills_published_total', 'Will messages published.', () => c.willsPublished);
    counter('meshtwin_mqtt_redelivered_total', 'QoS 1/2 messages sent again with DUP to a reconnecting session.', () => c.redelivered);
    byLabel('meshtwin_mqtt_published_total', 'MQTT publishes taken into the mesh, by QoS.', 'qos', () => byQos(c.published));
    byLabel('meshtwin_mqtt_delivered_total', 'PUBLISH packets sent to MQTT clients, by QoS (one per message however many subscriptions matched).', 'qos', () => byQos(c.delivered));
    byLabel('meshtwin_mqtt_dropped_total', 'Messages the engine delivered to an MQTT session that did not reach its client, by cause.', 'cause', () => Object.entries(c.dropped));
  }

  /** One delivery handed over at `nowMs` (epoch ms). */
  delivered(env: Envelope, guaranteed: boolean, nowMs: number): void {
    this.#latency.observe((guaranteed ? 2 : 0) + (env.path[0] === this.s.host.broker.id ? 0 : 1), Math.max(0, nowMs - env.publishedAtMs) / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
