/**
 * A scenario after loading: YAML parsed, validated against scenario.schema.json, units resolved
 * (durations in ms, sizes in bytes, rates per second, bandwidth in bits per second) and every
 * cross-reference checked. The simulator only ever sees this shape.
 */
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
  readonly routing: RoutingSpec;
  readonly model: ModelSpec;
  /** Where the scenario came from (for messages), e.g. "scenarios/seed.yaml". */
  readonly file: string;
}

export interface RegionSpec {
  readonly id: string;
  readonly brokers: readonly string[];
  /** Client ↔ broker round trip inside the region (default 1ms). One way = clientRttMs / 2. */
  readonly clientRttMs: number;
  /** Where the region is on a map (optional; for the browser view). */
  readonly location?: { readonly lat: number; readonly lon: number };
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
}

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
}

export type FaultAction = 'link-down' | 'link-up' | 'crash' | 'restart';

export interface FaultSpec {
  readonly atMs: number;
  readonly action: FaultAction;
  /** Two broker ids for link faults, one for broker faults. */
  readonly target: readonly string[];
}

export interface RoutingSpec {
  readonly helloIntervalMs: number;
  readonly deadIntervalMs: number;
  readonly hopLimit: number;
}

export interface ModelSpec {
  /** Modeled kernel memory per client socket (seed 002: 40 KB). */
  readonly connectionBytes: number;
  /** Documented per-frame transport overhead added to codec bytes on every link (IP+TCP+TLS). */
  readonly transportOverheadBytes: number;
}
