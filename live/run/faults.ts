/**
 * A scenario's faults done for real [LIVE-F1..5], on the processes and shapers of a live mesh.
 *
 * [LIVE-F1] `crash`: SIGKILL of the broker's process (its last /metrics scrape is taken first, so
 *           its counters survive it). `restart`: a new process on the same config and dataDir
 *           (the durable store brings back spool, custody and ledger); subscribers reconnect.
 * [LIVE-F2] `link-down` / `link-up`: both shapers of the link (one per dialing direction)
 *           blackhole (silent, the default: bytes stop, connections stay open, the dead interval
 *           finds it) or cut (`detect: notified`: connections closed, new ones refused), and heal.
 * [LIVE-F3] `partition` cuts every link between the named regions and the rest, the same way;
 *           `heal` restores the links those partitions cut (`heal: all`: every one).
 * [LIVE-F4] `degrade`: the link's shapers take the new RTT/2, jitter, bandwidth and loss
 *           (live/shaper.ts [SHAPE-3]: a loss is a retransmission-timeout stall on TCP), and the
 *           link's own shape again after `for`.
 * [LIVE-F5] `slow-consumer`: the populations' clients read at `rate` (subscribers.ts [LIVE-S3]),
 *           and at their own pace again after `for`.
 */
import type { FaultSpec, LinkSpec, Scenario } from '../../scenarios/types.ts';
import { type LinkShape, type LinkShaper, shapeOf } from '../shaper.ts';

export interface FaultTarget {
  readonly scenario: Scenario;
  /** The two shapers of the link between a and b (either order). */
  shapers(a: string, b: string): readonly LinkShaper[];
  crash(broker: string): Promise<void>;
  restart(broker: string): Promise<void>;
  slow(broker: string, pattern: string | undefined, rate: number | undefined): void;
}

const key = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class LiveFaults {
  /** Links down now, by `a|b` (sorted ids). */
  readonly down = new Set<string>();
  /** Links a partition cut, by `a|b` (sorted ids). */
  readonly #partitioned = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(readonly t: FaultTarget) {}

  /** Whether the direction a → b is up now. */
  linkUp(a: string, b: string): boolean {
    return !this.down.has(key(a, b));
  }

  async apply(f: FaultSpec): Promise<void> {
    const [x, y] = f.target as [string, string];
    switch (f.action) {
      case 'crash':
        await this.t.crash(x);
        return;
      case 'restart':
        await this.t.restart(x);
        return;
      case 'link-down':
        this.#cut(x, y, f.detect === 'notified');
        return;
      case 'link-up':
        this.#heal(x, y);
        return;
      case 'partition': {
        const inside = new Set(this.t.scenario.regions.filter((r) => f.target.includes(r.id)).flatMap((r) => r.brokers));
        for (const l of this.t.scenario.links) {
          const [a, b] = l.between;
          if (inside.has(a) !== inside.has(b)) {
            this.#partitioned.add(key(a, b));
            this.#cut(a, b, f.detect === 'notified');
          }
        }
        return;
      }
      case 'heal': {
        const inside = new Set(this.t.scenario.regions.filter((r) => f.target.includes(r.id)).flatMap((r) => r.brokers));
        for (const k of [...this.#partitioned]) {
          const [a, b] = k.split('|') as [string, string];
          if (f.target.length === 0 || inside.has(a) || inside.has(b)) {
            this.#partitioned.delete(k);
            this.#heal(a, b);
          }
        }
        return;
      }
      case 'degrade': {
        const link = this.#link(x, y);
        const own = shapeOf(link);
        const shape: LinkShape = {
          ...own,
          ...(f.rttMs === undefined ? {} : { delayMs: f.rttMs / 2 }),
          ...(f.jitterMs === undefined ? {} : { jitterMs: f.jitterMs }),
          ...(f.bandwidthBps === undefined ? {} : { bandwidthBps: f.bandwidthBps }),
          ...(f.loss === undefined ? {} : { loss: f.loss }),
        };
        for (const s of this.t.shapers(x, y)) s.reshape(shape);
        if (f.forMs !== undefined) this.#later(f.forMs, () => this.t.shapers(x, y).forEach((s) => s.reshape(own)));
        return;
      }
      case 'slow-consumer':
        this.t.slow(x, f.pattern, f.ratePerSec);
        if (f.forMs !== undefined) this.#later(f.forMs, () => this.t.slow(x, f.pattern, undefined));
        return;
    }
  }

  /** Cancels reverts still pending. */
  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #cut(a: string, b: string, notified: boolean): void {
    this.down.add(key(a, b));
    for (const s of this.t.shapers(a, b)) {
      if (notified) s.cut();
      else s.blackhole();
    }
  }

  #heal(a: string, b: string): void {
    this.down.delete(key(a, b));
    for (const s of this.t.shapers(a, b)) s.heal();
  }

  #link(a: string, b: string): LinkSpec {
    const l = this.t.scenario.links.find((l) => key(l.between[0], l.between[1]) === key(a, b));
    if (l === undefined) throw new Error(`no link between ${a} and ${b}`);
    return l;
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }
}
