/**
 * Measures heap bytes of engine structures, for the report's "measured" memory figures.
 *
 * A broker's routing table cannot be weighed in place (it shares the heap with everything else),
 * so we build a replica through the same engine code — the same subscribe() and apply() calls
 * the broker made — and report what the heap gives back when the replica is released.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { InterestTable } from '../engine/interest.ts';
import { parseSelector } from '../engine/selector/index.ts';
import type { InterestImage } from '../engine/broker.ts';

let gcFn: (() => void) | undefined;

/** The V8 garbage collector, exposed at run time (no command-line flag needed). */
export function gc(): () => void {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  return gcFn;
}

/**
 * Bytes retained by what `build` returns: it is built, the heap is read after full collections,
 * then it is released and the heap read again. Measuring the drop on release is steadier than
 * measuring growth on build, which also counts garbage and compiled code freed in between.
 */
export function measureRetained(build: () => unknown): number {
  const collect = gc();
  const settle = () => {
    for (let i = 0; i < 3; i++) collect();
    // Typed arrays keep their contents outside the V8 heap: count them too.
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  let held: unknown = build();
  const withIt = settle();
  if (held === undefined) throw new Error('measureRetained: build returned nothing to measure');
  held = undefined;
  const without = settle();
  return Math.max(0, withIt - without);
}

/** Measured bytes of a broker's routing structures (local subscriptions and remote interest). */
export function measureRoutingTableBytes(image: InterestImage): number {
  // Inputs are gathered first (the image) and stay alive across both measurements, so only the replica counts.
  const { locals, snapshots } = image;
  const bytes = measureRetained(() => {
    const replica = new InterestTable(image.self);
    for (const s of locals) replica.subscribe(s.pattern, s.filter, s.filter === null ? null : parseSelector(s.filter), s.count, s.tag);
    for (const snap of snapshots) replica.apply(snap);
    // The replica has no one to send its queued adverts to; drop them as the broker did.
    replica.takeDeltas(Number.MAX_SAFE_INTEGER);
    return replica;
  });
  // Using the inputs here keeps them reachable until after the second measurement.
  return bytes + 0 * (locals.length + snapshots.length);
}
