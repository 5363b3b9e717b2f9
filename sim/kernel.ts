/**
 * The discrete-event kernel: a virtual clock and a queue of pending events ordered by
 * (time, sequence), so events at equal times run in the order they were scheduled.
 *
 * [KERNEL-1] Order: every event runs in exactly the order of a sort by (time, key). An event's key
 *            is (its creator's count of events scheduled so far, its creator): the creator is the
 *            owner of the event whose handler scheduled it (or the kernel's `creator` outside a
 *            handler, -1 by default). With one creator this is the order in which `at`/`after`
 *            were called; with owners (brokers) it is an order that does not depend on which
 *            thread ran which owner's events, so a mesh split over threads runs each owner's
 *            events in the same order as one thread does (sim/parallel/).
 * [KERNEL-2] `run(until)` runs events with time <= until, then leaves `now` at `until`.
 * [KERNEL-3] No per-event allocation: there are no event objects. A pending event is
 *            - a heap entry: its time (Float64Array) and its slot id (Int32Array), in a 4-ary
 *              implicit min-heap ordered by (time, seq);
 *            - a slot in a pool of parallel arrays: kind and owner (Int32Array), arg and key
 *              (Float64Array), ref (a plain Array, cleared when the event runs), recycled
 *              through a free list (Int32Array stack).
 *            The key sits in the slot, not in the heap: it is read only when two times tie, so
 *            each heap move copies 12 bytes, not 20.
 * [KERNEL-4] Pop-and-push fusion: while a handler runs, the event it runs for stays at the root
 *            of the heap as a hole. If the handler schedules an event, that event takes the
 *            hole and sifts down once (the `replace-top` of a heap), instead of a pop (sift down)
 *            followed by a push (sift up). The common "handle, then schedule the next" pattern
 *            costs one sift. The hole is filled by a real pop when the handler returns, or as
 *            soon as anything needs to see the queue (`peekTime`, `pending`).
 *
 * A calendar queue was not chosen: it is only O(1) when its bucket width matches the delay
 * distribution, which here spans microseconds (local hops) to seconds (faults, timers).
 */
import { UsageError } from '../engine/types.ts';

/** An event handler: `now` is the event's time, `arg` and `ref` what was scheduled with it. */
export type Handler = (now: number, arg: number, ref: any) => void;

const INITIAL_CAPACITY = 1024;
/** The 4-ary heap: children of i are 4i+1 .. 4i+4, the parent of i is (i-1) >> 2. */
const ARITY_SHIFT = 2;
/** Keys are count × CREATORS + (creator + 1): exact while a creator schedules < 2^41 events. */
const CREATORS = 4096;
/** Most owners (creators other than -1) a kernel can tell apart. */
export const MAX_OWNERS = CREATORS - 1;

/** A discrete-event kernel: a virtual clock and a (time, seq)-ordered event queue. */
export class Kernel {
  private _now: number;
  private _executed = 0;
  /** Per creator (index creator + 1): events it has scheduled; floats, exact up to 2^53. */
  private counts = new Float64Array(1);
  /** The creator of events scheduled now: the running event's owner, or `creator` between runs. */
  private current = -1;
  private idle = -1;
  private _lastKey = -1;

  // The heap: `size` entries, heapTime[i] and heapSlot[i] describe entry i.
  private heapTime: Float64Array;
  private heapSlot: Int32Array;
  private size = 0;

  // The slot pool: slot s holds the payload and seq of one pending event.
  private slotKind: Int32Array;
  private slotOwner: Int32Array;
  private slotArg: Float64Array;
  private slotSeq: Float64Array;
  private slotRef: unknown[];
  /** Free slot ids, a stack: freeSlots[0 .. freeCount-1]. */
  private freeSlots: Int32Array;
  private freeCount: number;

  private readonly handlers: Handler[] = [];

  /** [KERNEL-4] True while heap entry 0 is the event being handled (already taken). */
  private hole = false;
  private running = false;
  private stopRequested = false;

  /** @param startMs the initial virtual time (ms), default 0. */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new UsageError(`Kernel start time must be finite, got ${startMs}`);
    this._now = startMs;
    const cap = INITIAL_CAPACITY;
    this.heapTime = new Float64Array(cap);
    this.heapSlot = new Int32Array(cap);
    this.slotKind = new Int32Array(cap);
    this.slotOwner = new Int32Array(cap);
    this.slotArg = new Float64Array(cap);
    this.slotSeq = new Float64Array(cap);
    this.slotRef = new Array<unknown>(cap).fill(undefined);
    this.freeSlots = new Int32Array(cap);
    // Hand out low slot ids first (nicer to debug; no effect on order).
    for (let i = 0; i < cap; i++) this.freeSlots[i] = cap - 1 - i;
    this.freeCount = cap;
  }

  /** Current virtual time (ms, float). Starts at `startMs`. */
  get now(): number {
    return this._now;
  }

  /** Number of events scheduled and not yet run. */
  get pending(): number {
    return this.hole ? this.size - 1 : this.size;
  }

  /** Total number of events executed so far. */
  get executed(): number {
    return this._executed;
  }

  /** Declares owners 0 .. n-1 (e.g. brokers), each counting the events it creates [KERNEL-1]. */
  owners(n: number): void {
    if (!(n >= 0 && n <= MAX_OWNERS) || (n | 0) !== n) throw new UsageError(`Kernel.owners: at most ${MAX_OWNERS} owners, got ${n}`);
    const counts = new Float64Array(n + 1);
    counts[0] = this.counts[0] as number;
    this.counts = counts;
  }

  /** The creator of events scheduled outside handlers (-1: none; set while building a mesh). */
  get creator(): number {
    return this.idle;
  }

  set creator(owner: number) {
    if (this.running) throw new UsageError('Kernel.creator: set it between runs, not from a handler');
    if (!(owner >= -1 && owner < this.counts.length - 1) || (owner | 0) !== owner) throw new UsageError(`Kernel.creator: unknown owner ${owner}`);
    this.idle = owner;
    this.current = owner;
  }

  /** The key the last `at`/`skip` gave (to schedule the same event on another kernel with `atKey`). */
  get lastKey(): number {
    return this._lastKey;
  }

  /**
   * Takes the key an event would have had without scheduling it: an owner's event that another
   * thread runs still counts in its creator's sequence, so the keys after it match [KERNEL-1].
   */
  skip(): number {
    const c = this.current + 1;
    const n = this.counts[c] as number;
    this.counts[c] = n + 1;
    this._lastKey = n * CREATORS + c;
    return this._lastKey;
  }

  /** Registers a handler; returns its kind id (a small int, 0, 1, 2, ...). */
  register(handler: Handler): number {
    if (typeof handler !== 'function') throw new UsageError('Kernel.register: handler must be a function');
    this.handlers.push(handler);
    return this.handlers.length - 1;
  }

  /**
   * Schedules an event of `kind` at absolute time `t` (ms). `t` must be >= now (a `UsageError`
   * otherwise, also for NaN). `owner` is who handles it (-1: no one in particular): the events
   * its handler schedules are that owner's [KERNEL-1]. Events at equal times from one creator
   * run in the order they were scheduled.
   */
  at(t: number, kind: number, arg = 0, ref?: unknown, owner = -1): void {
    // skip(), inlined: this is the hot path.
    const c = this.current + 1;
    const counts = this.counts;
    const n = counts[c]!;
    counts[c] = n + 1;
    const key = n * CREATORS + c;
    this._lastKey = key;
    this.schedule(t, kind, arg, ref, owner, key);
  }

  /** Schedules an event with the key another kernel gave it (`lastKey` there) [KERNEL-1]. */
  atKey(t: number, kind: number, arg: number, ref: unknown, owner: number, key: number): void {
    this.schedule(t, kind, arg, ref, owner, key);
  }

  private schedule(t: number, kind: number, arg: number, ref: unknown, owner: number, key: number): void {
    // `!(t >= now)` also rejects NaN.
    if (!(t >= this._now)) {
      throw new UsageError(`Kernel.at: time ${t} is before now (${this._now})`);
    }
    if (!(kind >= 0 && kind < this.handlers.length) || (kind | 0) !== kind) {
      throw new UsageError(`Kernel.at: unknown event kind ${kind}`);
    }
    if (this.freeCount === 0) this.grow();
    const slot = this.freeSlots[--this.freeCount]!;
    this.slotKind[slot] = kind;
    this.slotOwner[slot] = owner;
    this.slotArg[slot] = arg;
    this.slotSeq[slot] = key;
    if (ref !== undefined) this.slotRef[slot] = ref;

    if (this.hole) {
      // [KERNEL-4] Take the place of the event being handled: one sift down.
      this.hole = false;
      this.siftDown(0, t, slot);
    } else {
      this.siftUp(this.size++, t, slot);
    }
  }

  /** Schedules an event of `kind` `delayMs` after now (`delayMs` >= 0). */
  after(delayMs: number, kind: number, arg = 0, ref?: unknown, owner = -1): void {
    this.at(this._now + delayMs, kind, arg, ref, owner);
  }

  /** Time of the next pending event, or Infinity when none is pending. */
  peekTime(): number {
    if (this.hole) this.fillHole();
    return this.size > 0 ? this.heapTime[0]! : Infinity;
  }

  /**
   * [KERNEL-2] Runs events with time <= `untilMs` in (time, seq) order; handlers may schedule
   * more. Afterwards `now` = `untilMs` if the queue ran dry or the next event is later (when
   * `untilMs` is Infinity and the queue runs dry, `now` stays at the last event's time); after a
   * `stop()`, `now` stays at the time of the event whose handler stopped it.
   * Returns the number of events executed.
   */
  run(untilMs: number): number {
    return this.loop(untilMs, Infinity);
  }

  /**
   * Runs at most `maxEvents` events with time <= `untilMs` (to report progress in chunks).
   * `now` ends as for `run`, except that it stays at the last event's time when the run ended
   * because `maxEvents` were executed. Returns the number executed.
   */
  runSome(untilMs: number, maxEvents: number): number {
    if (!(maxEvents >= 0)) throw new UsageError(`Kernel.runSome: maxEvents must be >= 0, got ${maxEvents}`);
    return this.loop(untilMs, maxEvents);
  }

  /**
   * Runs the events with time < `limitMs` (strictly: an event from another thread may still come
   * at `limitMs` itself); `now` ends at the last event's time. Returns the number executed.
   */
  runBefore(limitMs: number): number {
    if (!(limitMs >= this._now)) throw new UsageError(`Kernel.runBefore: limit ${limitMs} is before now (${this._now})`);
    return this.loop(limitMs, Infinity, true);
  }

  /** Stops the current `run()`/`runSome()` after the current handler returns. */
  stop(): void {
    if (this.running) this.stopRequested = true;
  }

  private loop(untilMs: number, maxEvents: number, before = false): number {
    if (this.running) throw new UsageError('Kernel.run: already running (called from a handler?)');
    if (!(untilMs >= this._now)) {
      throw new UsageError(`Kernel.run: until ${untilMs} is before now (${this._now})`);
    }
    this.running = true;
    this.stopRequested = false;
    const handlers = this.handlers;
    let count = 0;
    let exhausted = false; // ran dry or reached untilMs, as opposed to stop() or maxEvents
    try {
      for (;;) {
        // The hole is filled here when the previous handler scheduled nothing.
        if (this.hole) this.fillHole();
        if (this.size === 0) {
          exhausted = true;
          break;
        }
        const t = this.heapTime[0]!;
        if (t > untilMs || (before && t === untilMs)) {
          exhausted = !before;
          break;
        }
        if (count >= maxEvents) break;
        const slot = this.heapSlot[0]!;
        // Take the payload and free the slot before the handler runs, so the handler's own
        // scheduling can reuse it; the heap entry stays as the hole (KERNEL-4).
        // Read through `this`: a handler may grow (replace) the slot arrays.
        const kind = this.slotKind[slot]!;
        this.current = this.slotOwner[slot]!;
        const arg = this.slotArg[slot]!;
        const ref = this.slotRef[slot];
        if (ref !== undefined) this.slotRef[slot] = undefined;
        this.freeSlots[this.freeCount++] = slot;
        this.hole = true;
        this._now = t;
        this._executed++;
        count++;
        handlers[kind]!(t, arg, ref);
        if (this.stopRequested) break;
      }
    } finally {
      // Also after a handler threw: leave the queue consistent.
      if (this.hole) this.fillHole();
      this.current = this.idle;
      this.running = false;
      this.stopRequested = false;
    }
    if (exhausted && untilMs !== Infinity) this._now = untilMs;
    return count;
  }

  /** Removes the taken root: moves the last entry into it and sifts it down. */
  private fillHole(): void {
    this.hole = false;
    const last = --this.size;
    if (last > 0) this.siftDown(0, this.heapTime[last]!, this.heapSlot[last]!);
  }

  /** Places a new event (t, slot) at position i or above. */
  private siftUp(i: number, t: number, slot: number): void {
    const heapTime = this.heapTime;
    const heapSlot = this.heapSlot;
    const slotSeq = this.slotSeq;
    while (i > 0) {
      const p = (i - 1) >> ARITY_SHIFT;
      const pt = heapTime[p]!;
      // On a time tie the key decides (another creator's event may have a smaller one).
      if (pt < t || (pt === t && slotSeq[heapSlot[p]!]! < slotSeq[slot]!)) break;
      heapTime[i] = pt;
      heapSlot[i] = heapSlot[p]!;
      i = p;
    }
    heapTime[i] = t;
    heapSlot[i] = slot;
  }

  /** Places (t, slot) at position i or below, within the first `size` entries. */
  private siftDown(i: number, t: number, slot: number): void {
    const heapTime = this.heapTime;
    const heapSlot = this.heapSlot;
    const slotSeq = this.slotSeq;
    const n = this.size;
    const seq = slotSeq[slot]!;
    for (;;) {
      const c0 = (i << ARITY_SHIFT) + 1;
      if (c0 >= n) break;
      // Find the first child in (time, seq) order among up to four.
      let m = c0;
      let mt = heapTime[c0]!;
      const end = c0 + 4 < n ? c0 + 4 : n;
      for (let c = c0 + 1; c < end; c++) {
        const ct = heapTime[c]!;
        if (ct < mt || (ct === mt && slotSeq[heapSlot[c]!]! < slotSeq[heapSlot[m]!]!)) {
          m = c;
          mt = ct;
        }
      }
      if (t < mt || (t === mt && seq < slotSeq[heapSlot[m]!]!)) break;
      heapTime[i] = mt;
      heapSlot[i] = heapSlot[m]!;
      i = m;
    }
    heapTime[i] = t;
    heapSlot[i] = slot;
  }

  /** Doubles the heap and the slot pool (they always have the same capacity). */
  private grow(): void {
    const cap = this.heapTime.length;
    const next = cap * 2;
    const heapTime = new Float64Array(next);
    heapTime.set(this.heapTime);
    this.heapTime = heapTime;
    const heapSlot = new Int32Array(next);
    heapSlot.set(this.heapSlot);
    this.heapSlot = heapSlot;
    const slotKind = new Int32Array(next);
    slotKind.set(this.slotKind);
    this.slotKind = slotKind;
    const slotOwner = new Int32Array(next);
    slotOwner.set(this.slotOwner);
    this.slotOwner = slotOwner;
    const slotArg = new Float64Array(next);
    slotArg.set(this.slotArg);
    this.slotArg = slotArg;
    const slotSeq = new Float64Array(next);
    slotSeq.set(this.slotSeq);
    this.slotSeq = slotSeq;
    for (let i = cap; i < next; i++) this.slotRef.push(undefined);
    // Every slot is in use (that is why we grow): the free list holds only the new ones.
    const freeSlots = new Int32Array(next);
    let k = 0;
    for (let s = next - 1; s >= cap; s--) freeSlots[k++] = s;
    this.freeSlots = freeSlots;
    this.freeCount = k;
  }
}
