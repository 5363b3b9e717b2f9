/**
 * The walk behind `meshtwin explain` [EXPLAIN-5]: an event from broker `from` to broker `to`,
 * gate by gate (engine/broker/explain.ts gives each broker's gates), hop by hop along the routes
 * the brokers hold. The same walk runs on a simulated mesh (its brokers in memory) and on a live
 * one (each broker asked over HTTP): `ExplainSource` is how a host answers for a broker.
 */
import type { GateResult } from './broker/explain.ts';
import type { PublishInput } from './broker/types.ts';
import type { BrokerId } from './types.ts';

export interface ExplainSource {
  /** A broker's hop limit, or null when the broker is not there (crashed, unknown, unreachable). */
  hopLimit(id: BrokerId): Promise<number | null>;
  origin(id: BrokerId, input: PublishInput, dest: BrokerId): Promise<GateResult[]>;
  hop(id: BrokerId, dest: BrokerId, hopsLeft: number, guaranteed: boolean): Promise<{ gates: GateResult[]; next: BrokerId | null }>;
  local(id: BrokerId, input: PublishInput): Promise<GateResult[]>;
  /** What the host knows that the broker may not yet (a simulated link cut before the dead interval): a stop, or null. */
  link?(from: BrokerId, to: BrokerId): GateResult | null;
}

export interface Explanation {
  readonly from: BrokerId;
  readonly to: BrokerId;
  readonly gates: readonly GateResult[];
  /** The brokers the event would pass, from `from` (as far as it got). */
  readonly path: readonly BrokerId[];
  /** Reaches at least one subscriber at `to`. */
  readonly reaches: boolean;
  /** One line: the path it takes, or the gate that stops it. */
  readonly verdict: string;
}

const MAX_HOPS = 64;

export async function explainEvent(src: ExplainSource, input: PublishInput, from: BrokerId, to: BrokerId): Promise<Explanation> {
  const gates: GateResult[] = [];
  const path: BrokerId[] = [from];
  const done = (reaches: boolean, verdict: string): Explanation => ({ from, to, gates, path, reaches, verdict });
  const stopped = (): GateResult | undefined => gates.find((g) => !g.pass);
  const stop = (): Explanation => {
    const g = stopped() as GateResult;
    return done(false, `does not reach ${to}: stopped at ${g.gate} on ${g.broker}: ${g.why}`);
  };
  let hopsLeft = await src.hopLimit(from);
  if (hopsLeft === null) {
    gates.push({ broker: from, gate: 'route', pass: false, why: `${from} is not running` });
    return stop();
  }
  gates.push(...(await src.origin(from, input, to)));
  if (stopped() !== undefined) return stop();
  let cur = from;
  while (cur !== to) {
    if (path.length > MAX_HOPS) {
      gates.push({ broker: cur, gate: 'hop limit', pass: false, why: `more than ${MAX_HOPS} hops: the routes disagree (a loop while they converge)` });
      return stop();
    }
    const hop = await src.hop(cur, to, hopsLeft, input.guaranteed === true);
    gates.push(...hop.gates);
    if (hop.next === null || stopped() !== undefined) return stop();
    const link = src.link?.(cur, hop.next) ?? null;
    if (link !== null) {
      gates.push(link);
      return stop();
    }
    if ((await src.hopLimit(hop.next)) === null) {
      gates.push({ broker: hop.next, gate: 'route', pass: false, why: `${hop.next} is not running (its neighbors route around it after the dead interval)` });
      return stop();
    }
    hopsLeft--;
    cur = hop.next;
    path.push(cur);
  }
  const local = await src.local(to, input);
  gates.push(...local);
  const taken = local.filter((g) => g.gate === 'slow consumer' && g.pass).length;
  if (taken === 0) {
    const first = local.find((g) => !g.pass) as GateResult;
    return done(false, `does not reach a subscriber at ${to}: ${first.gate} on ${to}: ${first.why}`);
  }
  return done(true, `reaches ${taken} subscription${taken === 1 ? '' : 's'} at ${to} via ${path.join(' → ')}`);
}
