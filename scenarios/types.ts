/**
 * A scenario after loading: YAML parsed, validated against scenario.schema.json, units resolved
 * (durations in ms, sizes in bytes, rates per second, bandwidth in bits per second) and every
 * cross-reference checked. The simulator only ever sees this shape.
 */
import type { AclEntrySpec } from '../engine/acl.ts';
import type { RoutingRuleSpec } from '../engine/broker.ts';
import type { FunctionModelSpec } from '../sim/functions.ts';
import type { SubjectSpec } from '../engine/schema/registry.ts';
import type { HeaderValue } from '../engine/types.ts';

export interface Scenario {
  readonly name: string;
  /** Default seed; `--seed` overrides. */
  readonly seed: number;
  /** Measured time: publishers run from 0 to durationMs. */
  readonly durationMs: number;
  /** Control-plane time before 0 (hellos, adverts, interest) so routes exist when traffic starts. */
  readonly warmupMs: number;
  readonly regions: readonly RegionSpec[];
  readonly links: readonly LinkSpec[];
  readonly publishers: readonly PublisherSpec[];
  readonly subscribers: readonly SubscriberSpec[];
  readonly faults: readonly FaultSpec[];
  /** Assertion sources, e.g. "delivered.ratio >= 0.999" (checked by later tooling). */
  readonly expect: readonly string[];
  /** Global policies (empty: everything allowed) [ACL-1..5]; every broker starts with them as version 1. */
  readonly acl: readonly AclEntrySpec[];
  /** Operator routing rules [RULE-1], destinations resolved to brokers. */
  readonly routes: readonly RoutingRuleSpec[];
  /**
   * The schema registry's subjects (empty: nothing checked) [SCHEMA-1..9], checked on load (every
   * schema compiles, each later version passes its subject's compatibility); every broker starts
   * with them as the registry's version 1.
   */
  readonly schemas: readonly SubjectSpec[];
  readonly routing: RoutingSpec;
  readonly model: ModelSpec;
  /** Where the scenario came from (for messages), e.g. "scenarios/seed.yaml". */
  readonly file: string;
  /**
   * Resilience mechanisms, all on unless switched off (programmatic: the failover tests switch
   * one off to prove a scenario's assertions catch its absence).
   */
  readonly mechanisms?: Partial<Mechanisms>;
}

/** Each resilience mechanism, by name (see engine/broker.ts for what switching it off does). */
export interface Mechanisms {
  /** Dead-interval detection: a silent neighbor is declared down and routes recomputed. */
  readonly reroute: boolean;
  /** Guaranteed events with no path wait in the spool (off: dropped). */
  readonly spool: boolean;
  /** Dedup ledger and sequence check at the destination (off: retries are delivered again). */
  readonly dedup: boolean;
  /** Bounded per-subscriber queues with the slow-consumer policy (off: unbounded queues). */
  readonly isolation: boolean;
  /** HA standbys take over (off: backups never do). */
  readonly ha: boolean;
}

export interface RegionSpec {
  readonly id: string;
  readonly brokers: readonly string[];
  /** Client ↔ broker round trip inside the region (default 1ms). One way = clientRttMs / 2. */
  readonly clientRttMs: number;
  /** Where the region is on a map (optional; for the browser view). */
  readonly location?: { readonly lat: number; readonly lon: number };
  /**
   * HA pairs: a standby broker (not in `brokers`, not in `links`) that watches `primary` with
   * keep-alives and takes over its identity (the anycast address: its links and clients) when the
   * primary misses `routing.takeoverMs`. YAML: `ha: [{ primary: eu-1, backup: eu-1b }]`.
   */
  readonly ha: ReadonlyArray<{ readonly primary: string; readonly backup: string }>;
}

export interface LinkSpec {
  readonly between: readonly [string, string];
  readonly rttMs: number;
  readonly bandwidthBps: number;
  readonly jitterMs: number;
  /** Probability in [0, 1) that a data frame is lost on this link. */
  readonly loss: number;
  /** Link-state cost; defaults to rttMs. */
  readonly cost: number;
  /** Per-direction send queue limit in bytes; frames beyond it are tail-dropped and counted. */
  readonly queueBytes: number;
}

export type Arrival = 'poisson' | 'constant';

export interface PublisherSpec {
  /** Exactly one of region/broker is set; a region spreads its rate over the region's brokers. */
  readonly region?: string;
  readonly broker?: string;
  /** Events per second (total for this entry). */
  readonly ratePerSec: number;
  readonly arrival: Arrival;
  /** Topic template: {n} counter, {region}, {broker}, {choice:a|b|c}, {rand:N} (0..N-1). */
  readonly topic: string;
  /** Payload size in bytes. */
  readonly sizeBytes: number;
  /** Header templates; a value that is a number or a lone numeric placeholder yields a number. */
  readonly headers: Readonly<Record<string, HeaderValue>>;
  /** CloudEvents type (default "com.meshtwin.event"). */
  readonly type: string;
  /** Optional start/stop within [0, durationMs]. */
  readonly startMs: number;
  readonly stopMs: number;
  /**
   * `realtime` (default): may be dropped, newest wins under pressure. `guaranteed`: sequenced,
   * acknowledged and retransmitted across links, spooled when no path exists, never silently lost.
   */
  readonly delivery: DeliveryClass;
  /** Who publishes, for the policy (default `anonymous`). */
  readonly principal: string;
  /**
   * The payload as a JSON template (scenarios/data.ts), rendered per event; null: `sizeBytes`
   * bytes of zeros. With data, sizeBytes is the size of its first render (for estimates).
   */
  readonly data: PublisherData | null;
}

/** A publisher's data and the share of its events whose data a schema refuses [SCHEMA-7]. */
export interface PublisherData {
  /** The JSON template (scenarios/data.ts [DATA-1]). */
  readonly template: unknown;
  /** Fraction of events (drawn from the stream's seeded source) published with `invalidTemplate` instead. */
  readonly invalid: number;
  /** Data the schemas refuse: the scenario's `invalidData:`, or `template` without one property its subject requires. */
  readonly invalidTemplate: unknown;
}

export type DeliveryClass = 'realtime' | 'guaranteed';

export interface SubscriberSpec {
  readonly region?: string;
  readonly broker?: string;
  /** Number of identical subscribers; they share one routing entry per pattern. */
  readonly count: number;
  /** Pattern template: {i} (0..patterns-1), {region}, {broker}. */
  readonly pattern: string;
  /** How many distinct patterns the template expands to (default 1); count is spread over them. */
  readonly patterns: number;
  /** Optional selector over headers. */
  readonly filter?: string;
  /**
   * Messages per second each subscriber consumes (YAML `consume: 500/s`); undefined = as fast as
   * they arrive. A population of `count` subscribers drains `count × consumeRatePerSec`.
   */
  readonly consumeRatePerSec?: number;
  /** Messages the broker buffers per subscriber before its slow-consumer policy acts (YAML `queue: 1000`, default 10000). */
  readonly queueLimit: number;
  /** Who subscribes, for the policy (default `anonymous`). */
  readonly principal: string;
  /** A function subscription's handler (sim/functions.ts), or absent. */
  readonly function?: FunctionModelSpec;
}

export type FaultAction = 'link-down' | 'link-up' | 'crash' | 'restart' | 'partition' | 'heal' | 'degrade' | 'slow-consumer';

/**
 * One scheduled fault. YAML forms:
 * - `{ at: 20s, link-down: [us-2, ap-1] }`, `link-up` the same;
 * - `{ at: 45s, crash: eu-1 }`, `restart` the same;
 * - `{ at: 10s, partition: [ap-southeast-1] }`: every link between these regions and the rest goes down;
 * - `{ at: 30s, heal: [ap-southeast-1] }` (or `heal: all`): links cut by partitions come back;
 * - `{ at: 5s, degrade: [us-1, eu-1], loss: 0.05, rtt: 300ms, bandwidth: 10Mbps, for: 10s }`:
 *   the link's properties change (any of loss/rtt/bandwidth/jitter) and revert after `for`;
 * - `{ at: 5s, slow-consumer: eu-1, pattern: "orders/#", rate: 10/s, for: 20s }`: populations on that
 *   broker (those whose pattern equals `pattern`, or all) consume at `rate` each, until `for` ends.
 */
export interface FaultSpec {
  readonly atMs: number;
  readonly action: FaultAction;
  /**
   * link-down/link-up/degrade: two broker ids; crash/restart/slow-consumer: one broker id;
   * partition: region ids; heal: region ids, or [] for every partition.
   */
  readonly target: readonly string[];
  /**
   * link-down/link-up/partition/heal: how the brokers learn of it [LINK-1]. 'silent' (the default,
   * undefined): they don't; a cut is found by the dead interval, a repair by the next hello.
   * 'notified': both ends see the connection close (or open) at once, as with a TCP close.
   */
  readonly detect?: 'silent' | 'notified';
  /** degrade / slow-consumer: how long until it reverts (undefined: until the end of the run). */
  readonly forMs?: number;
  /** degrade: new link properties (undefined keeps the link's own). */
  readonly loss?: number;
  readonly rttMs?: number;
  readonly jitterMs?: number;
  readonly bandwidthBps?: number;
  /** slow-consumer: per-subscriber consume rate while slow. */
  readonly ratePerSec?: number;
  /** slow-consumer: only populations subscribed with exactly this pattern (default: all on the broker). */
  readonly pattern?: string;
}

export interface RoutingSpec {
  readonly helloIntervalMs: number;
  readonly deadIntervalMs: number;
  readonly hopLimit: number;
  /** Guaranteed delivery: first retransmission timeout before any RTT sample (YAML `retransmit`, default 200ms); then RTO = SRTT + 4·RTTVAR. */
  readonly retransmitMs: number;
  /** How long a receiver waits to batch acknowledgements (YAML `ackDelay`, default 2ms). */
  readonly ackDelayMs: number;
  /** Deduplication ledger TTL (YAML `ledgerTtl`, default 15m as in seed 002). */
  readonly ledgerTtlMs: number;
  /** Spool limit per broker, bytes of guaranteed events held (YAML `spool`, default 50GB as in seed 002). */
  readonly spoolBytes: number;
  /** HA: primary → backup keep-alive interval (YAML `keepalive`, default 100ms). */
  readonly keepaliveMs: number;
  /** HA: the backup takes over when the primary is silent this long (YAML `takeover`, default 500ms, seed 002). */
  readonly takeoverMs: number;
  /** Clients reconnect this long after losing their broker (YAML `reconnect`, default 100ms). */
  readonly reconnectMs: number;
}

export interface ModelSpec {
  /** Modeled kernel memory per client socket (seed 002: 40 KB). */
  readonly connectionBytes: number;
  /** Documented per-frame transport overhead added to codec bytes on every link (IP+TCP+TLS). */
  readonly transportOverheadBytes: number;
}
