/**
 * Per-principal limits at the edge [LIMIT-1..3] (the principal as auth.ts names it):
 * [LIMIT-1] Publish rate: a token bucket per principal, `publishRate` per second with a burst of
 *           one second's worth (at least one); a publish over it is refused, counted, and told
 *           when to retry: HTTP 429 with Retry-After (whole seconds); MQTT 5.0 DISCONNECT 0x96
 *           message rate too high (a reason no PUBACK may carry; the publish is not taken, and the
 *           client reconnects when it will), 3.1.1: the connection closes.
 * [LIMIT-2] Connections per principal (MQTT connections, WebSocket subscriptions, gRPC streams):
 *           beyond `connections`, refused and counted: MQTT CONNACK 0x97 quota exceeded (3.1.1:
 *           3 server unavailable), WebSocket 429, gRPC RESOURCE_EXHAUSTED.
 * [LIMIT-3] Payload size stays where it was: edge.maxEventBytes (HTTP 413) and
 *           edge.mqttMaxPacketSize (MQTT DISCONNECT 0x95).
 * A principal's own entry (`principals:`) overrides the defaults; no limit configured, no check.
 */

export interface PrincipalLimit {
  /** Publishes per second, or null for none. */
  readonly publishRate: number | null;
  /** Open connections, or null for none. */
  readonly connections: number | null;
}

export interface LimitsConfig extends PrincipalLimit {
  readonly principals: Readonly<Record<string, PrincipalLimit>>;
}

export const NO_LIMITS: LimitsConfig = { publishRate: null, connections: null, principals: {} };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class PrincipalLimits {
  readonly #buckets = new Map<string, Bucket>();
  readonly #open = new Map<string, number>();
  /** Publishes refused for their rate, per principal [LIMIT-1]. */
  readonly rateLimited = new Map<string, number>();
  /** Connections refused for their count, per principal [LIMIT-2]. */
  readonly connectionsRefused = new Map<string, number>();

  /** No publish rate anywhere in the config: tryPublish answers without a lookup (the MQTT hot path). */
  readonly #noRates: boolean;

  constructor(readonly config: LimitsConfig = NO_LIMITS) {
    this.#noRates = config.publishRate === null && Object.values(config.principals).every((p) => p.publishRate === null);
  }

  #limit(principal: string): PrincipalLimit {
    return this.config.principals[principal] ?? this.config;
  }

  /** [LIMIT-1] 0 when `principal` may publish now (a token is taken), else ms until it may. */
  tryPublish(principal: string, nowMs: number): number {
    if (this.#noRates) return 0;
    const rate = this.#limit(principal).publishRate;
    if (rate === null) return 0;
    const burst = Math.max(1, rate);
    let b = this.#buckets.get(principal);
    if (b === undefined) this.#buckets.set(principal, (b = { tokens: burst, atMs: nowMs }));
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.atMs) * rate) / 1000);
    b.atMs = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    this.rateLimited.set(principal, (this.rateLimited.get(principal) ?? 0) + 1);
    return Math.ceil(((1 - b.tokens) * 1000) / rate);
  }

  /** [LIMIT-2] Opens a connection for `principal` if its limit allows (then `release` it once). */
  open(principal: string): boolean {
    const max = this.#limit(principal).connections;
    const n = this.#open.get(principal) ?? 0;
    if (max !== null && n >= max) {
      this.connectionsRefused.set(principal, (this.connectionsRefused.get(principal) ?? 0) + 1);
      return false;
    }
    this.#open.set(principal, n + 1);
    return true;
  }

  release(principal: string): void {
    const n = (this.#open.get(principal) ?? 0) - 1;
    if (n <= 0) this.#open.delete(principal);
    else this.#open.set(principal, n);
  }

  /** Open connections of `principal`. */
  connections(principal: string): number {
    return this.#open.get(principal) ?? 0;
  }
}
