/**
 * The subscription trie: (pattern, value) pairs indexed by topic level, matched against topics
 * with MQTT semantics (see topic.ts; `matchesPattern` there is the reference this must agree
 * with, and the tests hold it to that).
 *
 * This is the broker's hot path, and its cost is memory latency: on a large trie almost every
 * level of a match is a cache miss, so the layout is built to miss as few times as possible and
 * to give the garbage collector nothing to walk.
 *
 * Shape. Nodes are small integers (the root is 0). Every parent → child edge lives in one
 * open-addressed table (`slots`, an Int32Array, linear probing, SLOT ints per edge):
 *   [parent, path, child, meta, w0, w1]
 * - `path` is the child's path hash: the parent's path hash mixed with the level's 30-bit FNV-1a
 *   hash (or PLUS_KEY / HASH_KEY for the `+` and `#` children), and it alone places the edge in
 *   the table. So where the edge for any level of a topic sits is computed from the topic's text
 *   without loading anything: `match` first touches the slots of the topic's literal path, all
 *   at once, so their cache misses overlap instead of following one another down the tree;
 * - `meta` carries the child's own flags (holds values, has exact children, has `+`, has `#`), so
 *   a match that lands on a leaf needs no other load to know what is below it, and the level's
 *   length;
 * - `w0`, `w1` hold the level's text itself when it is at most 8 Latin-1 chars (packed 4 per
 *   int): the key is confirmed inside the slot, with no string to load. Longer levels (rare:
 *   `telemetry`, `authorized`) set LONG and put an index into `longTexts` in `w0`.
 * A lookup is therefore one probe sequence in one contiguous array: usually one cache miss per
 * level, where a tree of objects costs a Map bucket, an entry, a node and a key string.
 * A node's values sit beside its edge, in `slotVals` (a JS array parallel to the slots: NONE, the
 * one value itself, or a private Bag), so the same touch brings them in. Per node: `kids`
 * (exact children count) and `slotOf` (where its edge is, kept up to date when probing moves an
 * edge); a node's flags are read from its edge's meta through `slotOf` (the root's apart).
 * Invariant: every node but the root holds a value or has a descendant that does (`remove`
 * prunes), so a `#` node, which never has children, always holds values.
 * Node ids are reused after removal (a free list), and the table's capacity is any integer
 * (a multiply-shift maps a hash onto it), grown by half when it is 70% full.
 */

import { validatePattern } from './topic.ts';
import { UsageError } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Memory model. `bytes` is what the trie's own structures occupy: its typed arrays (their full
// capacity, as allocated), the value array's slots, the value Bags, and long key strings. Figures
// are V8 on 64-bit without pointer compression (Node's default build). Checked against the heap
// (heapUsed + arrayBuffers) in trie.test.ts ("memory calibration"). Not counted: the values
// themselves (the caller's), the SubscriptionTrie object and its small scratch buffers.
// ---------------------------------------------------------------------------------------------

/** A Bag: header plus 2 fields. */
const BAG_BYTES = 24 + 2 * 8;
/** A JSMap / JSSet object: map, properties, elements, table. */
const COLLECTION_BYTES = 32;
/** OrderedHashTable: FixedArray header (map, length) plus 3 counters. */
const HASH_TABLE_HEADER_BYTES = 16 + 3 * 8;
/** V8's OrderedHashTable starts at capacity 4 and doubles when full. */
const HASH_TABLE_MIN_CAPACITY = 4;
/** A JSArray (map, properties, elements, length) plus its FixedArray header. */
const ARRAY_BYTES = 32 + 16;
/** Values per pattern held in an array; above this they move to a Set. */
const ARRAY_MAX = 8;
/** A Set shrinking to this many values goes back to an array (hysteresis against flapping). */
const ARRAY_BACK = 4;
/** A sequential string's header: map, hash (4), length (4); chars padded to 8. */
const SEQ_STRING_HEADER_BYTES = 16;
/** Substrings this long or longer are SlicedStrings of the pattern (V8's kMinLength). */
const SLICE_MIN_LENGTH = 13;
const SLICED_STRING_BYTES = 32;

function setBytes(size: number): number {
  let cap = HASH_TABLE_MIN_CAPACITY;
  while (cap < size) cap *= 2;
  return COLLECTION_BYTES + HASH_TABLE_HEADER_BYTES + 8 * (cap / 2 + 2 * cap);
}

/** Bytes of a long key string cut from a pattern, plus its slot in `longTexts`. */
function longKeyBytes(key: string): number {
  if (key.length >= SLICE_MIN_LENGTH) return SLICED_STRING_BYTES + 8;
  let width = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) width = 2;
  return SEQ_STRING_HEADER_BYTES + ((key.length * width + 7) & ~7) + 8;
}

// ---------------------------------------------------------------------------------------------

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Level hashes are cut to 30 bits; the `+` and `#` keys lie outside that range. */
const HASH_MASK = 0x3fffffff;
const PLUS_KEY = 0x40000000;
const HASH_KEY = 0x40000001;

/** Ints per edge slot, and their offsets. */
const SLOT = 6;
const S_PARENT = 0;
const S_PATH = 1;
const S_CHILD = 2;
const S_META = 3;
const S_W0 = 4;
const S_W1 = 5;
const EMPTY = -1;

/** Node flags (low 4 bits of meta). */
const F_VALS = 1;
const F_KIDS = 2;
const F_PLUS = 4;
const F_HASH = 8;
const F_MASK = 15;
/** The key is not inline: w0 indexes `longTexts`. (A `+`/`#` edge keeps its key in w0.) */
const M_LONG = 16;
/** The edge of a `+` or `#` child (never matched by a topic's literal level). */
const M_WILD = 32;
/** The root's path hash. */
const ROOT_PATH = 0x6a09e667;
/** The level's length sits above bit 8 of meta. */
const M_LEN_SHIFT = 8;
/** Levels of at most this many Latin-1 chars are stored in the slot. */
const INLINE_CHARS = 8;

/** The table grows (by half) when more than this share of its slots is used. */
const MAX_LOAD = 0.7;
const MIN_SLOTS = 8;
/** Below this many slots the table sits in cache anyway, and match skips its touch pass. */
const TOUCH_MIN_SLOTS = 4096;
const MIN_NODES = 8;

/** FNV-1a of s[start, end), 30 bits. Must agree with the inline loop in `Scan.run`. */
function hashRange(s: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h & HASH_MASK;
}

/** The hash a level is filed under. Exported so tests can build collisions. */
export function levelHash(level: string): number {
  return hashRange(level, 0, level.length);
}

/** key === s.substring(start, end), without the substring. */
function eqRange(key: string, s: string, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== s.charCodeAt(start + i)) return false;
  return true;
}

/** A child's path hash: its parent's mixed with the level's key (an int32). */
function pathOf(parentPath: number, key: number): number {
  let h = Math.imul(parentPath ^ 0x2c1b3c6d, 0x9e3779b1) ^ key;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The home slot of a path hash in a table of `cap` slots (multiply-shift: any cap works). */
function home(path: number, cap: number): number {
  return Math.floor(((path >>> 0) * cap) / 4294967296);
}

/** The "no values" marker; private, so no caller value can be mistaken for it. */
const NONE: unknown = Object.freeze({ none: true });

/** Two or more values under one pattern. Private, so `instanceof Bag` tells it from a value. */
class Bag<V> {
  /** Exact-size array (never mutated: replaced on change) or, above ARRAY_MAX, a Set. */
  items: V[] | Set<V>;
  n: number;
  constructor(items: V[] | Set<V>, n: number) {
    this.items = items;
    this.n = n;
  }
}

function valsBytes(vals: unknown): number {
  if (!(vals instanceof Bag)) return 0;
  const items = (vals as Bag<unknown>).items;
  return BAG_BYTES + (items instanceof Set ? setBytes(items.size) : ARRAY_BYTES + 8 * items.length);
}

/** Pushes the values `vs` (NONE, one value or a Bag) onto `out`; returns how many. */
function pushVals<V>(vs: unknown, out: V[]): number {
  if (vs === NONE) return 0;
  if (!(vs instanceof Bag)) {
    out.push(vs as V);
    return 1;
  }
  const bag = vs as Bag<V>;
  const items = bag.items;
  if (items instanceof Set) {
    for (const v of items) out.push(v);
  } else {
    for (let i = 0; i < items.length; i++) out.push(items[i] as V);
  }
  return bag.n;
}

/**
 * A level's text as the table files it: its hash, length, and either the packed chars (inline)
 * or LONG. `pack` fills one of these from any range of any string.
 */
class LevelKey {
  hash = 0;
  len = 0;
  long = false;
  w0 = 0;
  w1 = 0;

  pack(s: string, start: number, end: number): this {
    let h = FNV_OFFSET;
    let w0 = 0;
    let w1 = 0;
    let wide = false;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      h = Math.imul(h ^ c, FNV_PRIME);
      const k = i - start;
      if (c > 0xff) wide = true;
      else if (k < 4) w0 |= c << (k * 8);
      else if (k < INLINE_CHARS) w1 |= c << ((k - 4) * 8);
    }
    this.hash = h & HASH_MASK;
    this.len = end - start;
    this.long = wide || this.len > INLINE_CHARS;
    this.w0 = this.long ? 0 : w0;
    this.w1 = this.long ? 0 : w1;
    return this;
  }
}

/** The current topic's levels: reused by every match; grows when a topic has more levels. */
class Scan {
  topic = '';
  n = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  hashes = new Int32Array(16);
  /** Per level: its length, or -1 when it is LONG (compared against `longTexts`). */
  lens = new Int32Array(16);
  w0 = new Int32Array(16);
  w1 = new Int32Array(16);

  /** Splits `topic` into levels; returns how many (at least 1). */
  run(topic: string): number {
    this.topic = topic;
    let n = 0;
    let start = 0;
    let h = FNV_OFFSET;
    let w0 = 0;
    let w1 = 0;
    let wide = false;
    const len = topic.length;
    for (let i = 0; i <= len; i++) {
      const c = i === len ? SLASH : topic.charCodeAt(i);
      if (c === SLASH) {
        if (n === this.starts.length) this.grow();
        const l = i - start;
        this.starts[n] = start;
        this.ends[n] = i;
        this.hashes[n] = h & HASH_MASK;
        this.lens[n] = wide || l > INLINE_CHARS ? -1 : l;
        this.w0[n] = w0;
        this.w1[n] = w1;
        n++;
        start = i + 1;
        h = FNV_OFFSET;
        w0 = 0;
        w1 = 0;
        wide = false;
      } else {
        h = Math.imul(h ^ c, FNV_PRIME);
        const k = i - start;
        if (c > 0xff) wide = true;
        else if (k < 4) w0 |= c << (k * 8);
        else if (k < INLINE_CHARS) w1 |= c << ((k - 4) * 8);
      }
    }
    this.n = n;
    return n;
  }

  private grow(): void {
    const cap = this.starts.length * 2;
    const widen = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.starts = widen(this.starts);
    this.ends = widen(this.ends);
    this.hashes = widen(this.hashes);
    this.lens = widen(this.lens);
    this.w0 = widen(this.w0);
    this.w1 = widen(this.w1);
  }
}

/**
 * A set of (pattern, value) pairs matched against topics with MQTT wildcard semantics.
 * Values are compared with `===`. Not safe to mutate while iterating `entries()`.
 */
export class SubscriptionTrie<V> {
  private slots = new Int32Array(MIN_SLOTS * SLOT).fill(EMPTY);
  /** Per slot: the values of the slot's child (NONE, one value, or a Bag). The root holds none. */
  private slotVals: unknown[] = new Array<unknown>(MIN_SLOTS).fill(NONE);
  private cap = MIN_SLOTS;
  private used = 0;
  private kids = new Int32Array(MIN_NODES);
  /** The root's flags (every other node's sit in its edge's meta). */
  private rootFlags = 0;
  /** Per node: the slot of its edge (its parent's entry); for a free node, the next free id. */
  private slotOf = new Int32Array(MIN_NODES).fill(EMPTY);
  /** Node ids handed out so far (the root is 0); freed ids are reused first. */
  private nodeTop = 1;
  private freeNode = EMPTY;
  private liveNodes = 1;
  private longTexts: Array<string | number> = [];
  private longFree = EMPTY;
  private extraBytes = 0;
  private _patternCount = 0;
  private _entryCount = 0;
  private readonly scan = new Scan();
  private readonly lk = new LevelKey();
  /** Scratch for find/remove: the nodes along a pattern's path. */
  private path = new Int32Array(16);
  /** Where match's touches land, so the loads are not optimized away. */
  private sink = 0;

  /** Distinct patterns holding at least one value. */
  get patternCount(): number {
    return this._patternCount;
  }

  /** (pattern, value) pairs. */
  get entryCount(): number {
    return this._entryCount;
  }

  /**
   * Bytes of the trie's own structures (see the memory model at the top of this file): its
   * typed arrays at their allocated capacity, 8 per value slot, Bags, long keys. The empty
   * trie's figure comes back once everything is removed.
   */
  get bytes(): number {
    return this.slots.byteLength + ARRAY_BYTES + 8 * this.cap + this.kids.byteLength + this.slotOf.byteLength + this.extraBytes;
  }

  // -------------------------------------------------------------------------------------------
  // The edge table.

  /** The slot of the exact child (path hash `path`) of `parent` keyed `k` (text: s[start, end)), or -1. */
  private findKey(parent: number, path: number, k: LevelKey, s: string, start: number, end: number): number {
    const slots = this.slots;
    const cap = this.cap;
    let i = home(path, cap);
    for (;;) {
      const b = i * SLOT;
      const p = slots[b + S_PARENT] as number;
      if (p === EMPTY) return -1;
      if (p === parent && slots[b + S_PATH] === path) {
        const meta = slots[b + S_META] as number;
        if ((meta & M_WILD) === 0 && meta >>> M_LEN_SHIFT === k.len) {
          if ((meta & M_LONG) === 0) {
            if (!k.long && slots[b + S_W0] === k.w0 && slots[b + S_W1] === k.w1) return b;
          } else if (k.long && eqRange(this.longTexts[slots[b + S_W0] as number] as string, s, start, end)) return b;
        }
      }
      if (++i === cap) i = 0;
    }
  }

  /** The slot of the `+` or `#` (key) child of `parent`, whose path hash is `path`, or -1. */
  private findWild(parent: number, path: number, key: number): number {
    const slots = this.slots;
    const cap = this.cap;
    let i = home(path, cap);
    for (;;) {
      const b = i * SLOT;
      const p = slots[b + S_PARENT] as number;
      if (p === EMPTY) return -1;
      if (p === parent && slots[b + S_PATH] === path && ((slots[b + S_META] as number) & M_WILD) !== 0 && slots[b + S_W0] === key) return b;
      if (++i === cap) i = 0;
    }
  }

  /** The slot of the exact child (path hash `path`) of `node` named by level `i` of the scanned topic, or -1. */
  private findLevel(node: number, path: number, i: number): number {
    const sc = this.scan;
    const slots = this.slots;
    const cap = this.cap;
    const len = sc.lens[i] as number;
    let j = home(path, cap);
    for (;;) {
      const b = j * SLOT;
      const p = slots[b + S_PARENT] as number;
      if (p === EMPTY) return -1;
      if (p === node && slots[b + S_PATH] === path) {
        const meta = slots[b + S_META] as number;
        if (len >= 0) {
          if ((meta & (M_LONG | M_WILD)) === 0 && meta >>> M_LEN_SHIFT === len && slots[b + S_W0] === sc.w0[i] && slots[b + S_W1] === sc.w1[i]) return b;
        } else if ((meta & M_LONG) !== 0 && eqRange(this.longTexts[slots[b + S_W0] as number] as string, sc.topic, sc.starts[i] as number, sc.ends[i] as number)) return b;
      }
      if (++j === cap) j = 0;
    }
  }

  /** Files an edge (growing the table first when it is full enough); returns its slot. */
  private insertEdge(parent: number, path: number, child: number, meta: number, w0: number, w1: number): number {
    if (this.used + 1 > this.cap * MAX_LOAD) this.resize(Math.ceil(this.cap * 1.5));
    const slots = this.slots;
    const cap = this.cap;
    let i = home(path, cap);
    while (slots[i * SLOT + S_PARENT] !== EMPTY) if (++i === cap) i = 0;
    const b = i * SLOT;
    slots[b + S_PARENT] = parent;
    slots[b + S_PATH] = path;
    slots[b + S_CHILD] = child;
    slots[b + S_META] = meta;
    slots[b + S_W0] = w0;
    slots[b + S_W1] = w1;
    this.slotVals[i] = NONE;
    this.slotOf[child] = b;
    this.used++;
    return b;
  }

  private resize(cap: number): void {
    const old = this.slots;
    const oldVals = this.slotVals;
    const slots = new Int32Array(cap * SLOT).fill(EMPTY);
    const slotVals = new Array<unknown>(cap).fill(NONE);
    for (let b = 0, o = 0; b < old.length; b += SLOT, o++) {
      if (old[b + S_PARENT] === EMPTY) continue;
      let i = home(old[b + S_PATH] as number, cap);
      while (slots[i * SLOT + S_PARENT] !== EMPTY) if (++i === cap) i = 0;
      const nb = i * SLOT;
      for (let k = 0; k < SLOT; k++) slots[nb + k] = old[b + k] as number;
      slotVals[i] = oldVals[o];
      this.slotOf[old[b + S_CHILD] as number] = nb;
    }
    this.slots = slots;
    this.slotVals = slotVals;
    this.cap = cap;
  }

  /** Empties slot `b`, shifting later entries of its probe run back (no tombstones). */
  private deleteSlot(b: number): void {
    const slots = this.slots;
    const vals = this.slotVals;
    const cap = this.cap;
    let hole = b / SLOT;
    let j = hole;
    for (;;) {
      if (++j === cap) j = 0;
      const jb = j * SLOT;
      if (slots[jb + S_PARENT] === EMPTY) break;
      const h = home(slots[jb + S_PATH] as number, cap);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (stays) continue;
      const hb = hole * SLOT;
      for (let k = 0; k < SLOT; k++) slots[hb + k] = slots[jb + k] as number;
      vals[hole] = vals[j];
      this.slotOf[slots[hb + S_CHILD] as number] = hb;
      hole = j;
    }
    slots[hole * SLOT + S_PARENT] = EMPTY;
    vals[hole] = NONE;
    this.used--;
  }

  // -------------------------------------------------------------------------------------------
  // Nodes.

  private newNode(): number {
    let id = this.freeNode;
    if (id !== EMPTY) this.freeNode = this.slotOf[id] as number;
    else {
      id = this.nodeTop++;
      if (id === this.kids.length) this.growNodes(Math.ceil(id * 1.5));
    }
    this.kids[id] = 0;
    this.liveNodes++;
    return id;
  }

  private growNodes(cap: number): void {
    const kids = new Int32Array(cap);
    kids.set(this.kids);
    const slotOf = new Int32Array(cap).fill(EMPTY);
    slotOf.set(this.slotOf);
    this.kids = kids;
    this.slotOf = slotOf;
  }

  private releaseNode(id: number): void {
    this.slotOf[id] = this.freeNode;
    this.freeNode = id;
    this.liveNodes--;
  }

  /** The flag bits of `node`: the root's own, any other node's from its edge's meta. */
  private flagsOf(node: number): number {
    return node === 0 ? this.rootFlags : (this.slots[(this.slotOf[node] as number) + S_META] as number) & F_MASK;
  }

  /** Sets the flag bits of `node` (in its edge's meta; the root's apart). */
  private setFlags(node: number, flags: number): void {
    if (node === 0) this.rootFlags = flags;
    else {
      const m = (this.slotOf[node] as number) + S_META;
      this.slots[m] = ((this.slots[m] as number) & ~F_MASK) | flags;
    }
  }

  /** Back to the empty trie's arrays (called when the last pattern goes). */
  private reset(): void {
    this.slots = new Int32Array(MIN_SLOTS * SLOT).fill(EMPTY);
    this.slotVals = new Array<unknown>(MIN_SLOTS).fill(NONE);
    this.cap = MIN_SLOTS;
    this.used = 0;
    this.kids = new Int32Array(MIN_NODES);
    this.rootFlags = 0;
    this.slotOf = new Int32Array(MIN_NODES).fill(EMPTY);
    this.nodeTop = 1;
    this.freeNode = EMPTY;
    this.liveNodes = 1;
    this.longTexts = [];
    this.longFree = EMPTY;
    this.extraBytes = 0;
  }

  private addLongText(text: string): number {
    this.extraBytes += longKeyBytes(text);
    const id = this.longFree;
    if (id !== EMPTY) {
      this.longFree = this.longTexts[id] as number;
      this.longTexts[id] = text;
      return id;
    }
    this.longTexts.push(text);
    return this.longTexts.length - 1;
  }

  private freeLongText(id: number): void {
    this.extraBytes -= longKeyBytes(this.longTexts[id] as string);
    this.longTexts[id] = this.longFree;
    this.longFree = id;
  }

  /** The text of the level an edge slot names. */
  private keyText(b: number): string {
    const meta = this.slots[b + S_META] as number;
    const w0 = this.slots[b + S_W0] as number;
    if ((meta & M_WILD) !== 0) return w0 === PLUS_KEY ? '+' : '#';
    if ((meta & M_LONG) !== 0) return this.longTexts[w0] as string;
    const len = meta >>> M_LEN_SHIFT;
    let s = '';
    for (let k = 0; k < len; k++) s += String.fromCharCode((((k < 4 ? w0 : this.slots[b + S_W1]) as number) >>> ((k & 3) * 8)) & 0xff);
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Adding and removing.

  /**
   * Adds (pattern, value). Returns false if that exact pair is already present.
   * Throws UsageError if the pattern is invalid (see validatePattern).
   */
  add(pattern: string, value: V): boolean {
    const reason = validatePattern(pattern);
    if (reason !== null) throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: ${reason}`);
    let node = 0;
    let path = ROOT_PATH;
    let start = 0;
    for (;;) {
      let end = pattern.indexOf('/', start);
      const last = end === -1;
      if (last) end = pattern.length;
      const b = this.childFor(node, path, pattern, start, end);
      node = this.slots[b + S_CHILD] as number;
      path = this.slots[b + S_PATH] as number;
      if (last) break;
      start = end + 1;
    }
    return this.addValue(node, value);
  }

  /** The slot of the child of `node` (path hash `path`) for level s[start, end), made if missing. */
  private childFor(node: number, path: number, pattern: string, start: number, end: number): number {
    if (end - start === 1) {
      const c = pattern.charCodeAt(start);
      if (c === PLUS || c === HASH) {
        const key = c === PLUS ? PLUS_KEY : HASH_KEY;
        const cp = pathOf(path, key);
        const b = this.findWild(node, cp, key);
        if (b >= 0) return b;
        const child = this.newNode();
        const nb = this.insertEdge(node, cp, child, (1 << M_LEN_SHIFT) | M_WILD, key, 0);
        this.setFlags(node, this.flagsOf(node) | (c === PLUS ? F_PLUS : F_HASH));
        return nb;
      }
    }
    const k = this.lk.pack(pattern, start, end);
    const cp = pathOf(path, k.hash);
    const b = this.findKey(node, cp, k, pattern, start, end);
    if (b >= 0) return b;
    const child = this.newNode();
    const meta = (k.len << M_LEN_SHIFT) | (k.long ? M_LONG : 0);
    const w0 = k.long ? this.addLongText(pattern.substring(start, end)) : k.w0;
    const nb = this.insertEdge(node, cp, child, meta, w0, k.w1);
    this.kids[node] = (this.kids[node] as number) + 1;
    this.setFlags(node, this.flagsOf(node) | F_KIDS);
    return nb;
  }

  private addValue(node: number, value: V): boolean {
    const at = (this.slotOf[node] as number) / SLOT;
    const vs = this.slotVals[at];
    if (vs === NONE) {
      this.slotVals[at] = value;
      this.setFlags(node, this.flagsOf(node) | F_VALS);
      this._patternCount++;
      this._entryCount++;
      return true;
    }
    const before = valsBytes(vs);
    if (!(vs instanceof Bag)) {
      if (vs === value) return false;
      this.slotVals[at] = new Bag<V>([vs as V, value], 2);
    } else {
      const bag = vs as Bag<V>;
      const items = bag.items;
      if (items instanceof Set) {
        if (items.has(value)) return false;
        items.add(value);
      } else {
        const k = items.length;
        for (let i = 0; i < k; i++) if (items[i] === value) return false;
        if (k === ARRAY_MAX) {
          const s = new Set<V>(items);
          s.add(value);
          bag.items = s;
        } else {
          // Copy-on-write at exact size: get() can hand out the array itself.
          const b = new Array<V>(k + 1);
          for (let i = 0; i < k; i++) b[i] = items[i] as V;
          b[k] = value;
          bag.items = b;
        }
      }
      bag.n++;
    }
    this._entryCount++;
    this.extraBytes += valsBytes(this.slotVals[at]) - before;
    return true;
  }

  /** The node of exactly `pattern`, recording the path in this.path; returns its depth or -1. */
  private find(pattern: string): number {
    let node = 0;
    let path = ROOT_PATH;
    let depth = 0;
    let start = 0;
    this.path[0] = 0;
    for (;;) {
      let end = pattern.indexOf('/', start);
      const last = end === -1;
      if (last) end = pattern.length;
      let b: number;
      const one = end - start === 1 ? pattern.charCodeAt(start) : 0;
      if (one === PLUS) b = this.findWild(node, pathOf(path, PLUS_KEY), PLUS_KEY);
      else if (one === HASH) b = this.findWild(node, pathOf(path, HASH_KEY), HASH_KEY);
      else {
        const k = this.lk.pack(pattern, start, end);
        b = this.findKey(node, pathOf(path, k.hash), k, pattern, start, end);
      }
      if (b < 0) return -1;
      node = this.slots[b + S_CHILD] as number;
      path = this.slots[b + S_PATH] as number;
      if (++depth === this.path.length) {
        const p = new Int32Array(depth * 2);
        p.set(this.path);
        this.path = p;
      }
      this.path[depth] = node;
      if (last) return depth;
      start = end + 1;
    }
  }

  /** Removes (pattern, value); returns false if absent. Prunes nodes left empty. */
  remove(pattern: string, value: V): boolean {
    const depth = this.find(pattern);
    if (depth < 0 || !this.removeValue(this.path[depth] as number, value)) return false;
    for (let d = depth; d > 0; d--) {
      const n = this.path[d] as number;
      if (this.flagsOf(n) !== 0) break;
      const parent = this.path[d - 1] as number;
      const b = this.slotOf[n] as number;
      const meta = this.slots[b + S_META] as number;
      const w0 = this.slots[b + S_W0] as number;
      if ((meta & M_LONG) !== 0) this.freeLongText(w0);
      this.deleteSlot(b);
      this.releaseNode(n);
      const pf = this.flagsOf(parent);
      if ((meta & M_WILD) !== 0) this.setFlags(parent, pf & ~(w0 === PLUS_KEY ? F_PLUS : F_HASH));
      else {
        const left = (this.kids[parent] as number) - 1;
        this.kids[parent] = left;
        if (left === 0) this.setFlags(parent, pf & ~F_KIDS);
      }
    }
    if (this.liveNodes === 1) this.reset();
    return true;
  }

  private removeValue(node: number, value: V): boolean {
    const at = (this.slotOf[node] as number) / SLOT;
    const vs = this.slotVals[at];
    if (vs === NONE) return false;
    if (!(vs instanceof Bag)) {
      if (vs !== value) return false;
      this.slotVals[at] = NONE;
      this.setFlags(node, this.flagsOf(node) & ~F_VALS);
      this._patternCount--;
      this._entryCount--;
      return true;
    }
    const before = valsBytes(vs);
    const bag = vs as Bag<V>;
    const items = bag.items;
    if (items instanceof Set) {
      if (!items.delete(value)) return false;
      if (items.size <= ARRAY_BACK) bag.items = Array.from(items);
    } else {
      const k = items.length;
      const idx = items.indexOf(value);
      if (idx === -1) return false;
      if (k === 2) this.slotVals[at] = items[1 - idx];
      else {
        const b = new Array<V>(k - 1);
        for (let i = 0, o = 0; i < k; i++) if (i !== idx) b[o++] = items[i] as V;
        bag.items = b;
      }
    }
    bag.n--;
    this._entryCount--;
    this.extraBytes += valsBytes(this.slotVals[at]) - before;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Matching.

  /**
   * Touches the slots (and value slots) where the scanned topic's edges would sit: its literal
   * path, and beside each literal node its `#` child, its `+` child and that `+` child's next
   * literal level. The loads do not depend on one another, so the CPU waits for their misses
   * together, and the walk that follows finds them in cache.
   */
  private touch(n: number): void {
    const slots = this.slots;
    const vals = this.slotVals;
    const cap = this.cap;
    const hashes = this.scan.hashes;
    let path = ROOT_PATH;
    let sink = this.sink;
    for (let i = 0; i < n; i++) {
      const h = hashes[i] as number;
      if (i > 0) {
        // Wildcards below the literal node at level i - 1 (the root's are few and hot).
        const hashAt = home(pathOf(path, HASH_KEY), cap);
        const plus = pathOf(path, PLUS_KEY);
        const plusAt = home(plus, cap);
        const afterPlus = i + 1 < n ? home(pathOf(plus, hashes[i + 1] as number), cap) : plusAt;
        sink = (sink + (slots[hashAt * SLOT] as number) + (slots[plusAt * SLOT] as number) + (slots[afterPlus * SLOT] as number)) | 0;
        if (vals[hashAt] === NONE) sink++;
      }
      path = pathOf(path, h);
      const at = home(path, cap);
      sink = (sink + (slots[at * SLOT] as number)) | 0;
      if (vals[at] === NONE) sink++;
    }
    this.sink = sink;
  }

  /** Matches levels[i..n) below the child of slot `b` (the root's wildcards are the caller's). */
  private walk(b: number, i: number, out: V[]): number {
    const slots = this.slots;
    const node = slots[b + S_CHILD] as number;
    const path = slots[b + S_PATH] as number;
    const flags = (slots[b + S_META] as number) & F_MASK;
    let count = 0;
    if ((flags & F_HASH) !== 0) {
      // `#` matches zero or more remaining levels; a `#` node always holds values.
      count += pushVals(this.slotVals[this.findWild(node, pathOf(path, HASH_KEY), HASH_KEY) / SLOT], out);
    }
    if (i === this.scan.n) return (flags & F_VALS) !== 0 ? count + pushVals(this.slotVals[b / SLOT], out) : count;
    if ((flags & F_KIDS) !== 0) {
      const c = this.findLevel(node, pathOf(path, this.scan.hashes[i] as number), i);
      if (c >= 0) count += this.walk(c, i + 1, out);
    }
    if ((flags & F_PLUS) !== 0) count += this.walk(this.findWild(node, pathOf(path, PLUS_KEY), PLUS_KEY), i + 1, out);
    return count;
  }

  /** Like walk, but stops at the first match. */
  private any(b: number, i: number): boolean {
    const slots = this.slots;
    const flags = (slots[b + S_META] as number) & F_MASK;
    if ((flags & F_HASH) !== 0) return true;
    if (i === this.scan.n) return (flags & F_VALS) !== 0;
    const node = slots[b + S_CHILD] as number;
    const path = slots[b + S_PATH] as number;
    if ((flags & F_KIDS) !== 0) {
      const c = this.findLevel(node, pathOf(path, this.scan.hashes[i] as number), i);
      if (c >= 0 && this.any(c, i + 1)) return true;
    }
    return (flags & F_PLUS) !== 0 && this.any(this.findWild(node, pathOf(path, PLUS_KEY), PLUS_KEY), i + 1);
  }

  /**
   * Pushes every value whose pattern matches `topic` onto `out`, one push per (pattern, value)
   * pair, and returns how many it pushed. Does not clear `out`. `topic` should be valid
   * (validateTopic); a `+` or `#` in it is only matched by wildcards.
   */
  match(topic: string, out: V[]): number {
    const rf = this.rootFlags;
    if (rf === 0) return 0;
    const n = this.scan.run(topic);
    if (this.cap > TOUCH_MIN_SLOTS) this.touch(n);
    let count = 0;
    // [MQTT-4.7.2-1] A wildcard first level does not match a `$` first level.
    if (topic.charCodeAt(0) !== DOLLAR) {
      if ((rf & F_HASH) !== 0) count += pushVals(this.slotVals[this.findWild(0, pathOf(ROOT_PATH, HASH_KEY), HASH_KEY) / SLOT], out);
      if ((rf & F_PLUS) !== 0) count += this.walk(this.findWild(0, pathOf(ROOT_PATH, PLUS_KEY), PLUS_KEY), 1, out);
    }
    if ((rf & F_KIDS) !== 0) {
      const b = this.findLevel(0, pathOf(ROOT_PATH, this.scan.hashes[0] as number), 0);
      if (b >= 0) count += this.walk(b, 1, out);
    }
    return count;
  }

  /** True if at least one pattern matches `topic` (stops at the first). */
  hasMatch(topic: string): boolean {
    const rf = this.rootFlags;
    if (rf === 0) return false;
    this.scan.run(topic);
    if (topic.charCodeAt(0) !== DOLLAR) {
      if ((rf & F_HASH) !== 0) return true;
      if ((rf & F_PLUS) !== 0 && this.any(this.findWild(0, pathOf(ROOT_PATH, PLUS_KEY), PLUS_KEY), 1)) return true;
    }
    if ((rf & F_KIDS) === 0) return false;
    const b = this.findLevel(0, pathOf(ROOT_PATH, this.scan.hashes[0] as number), 0);
    return b >= 0 && this.any(b, 1);
  }

  /** The values stored under exactly `pattern` (no wildcard matching), or undefined. */
  get(pattern: string): readonly V[] | undefined {
    const depth = this.find(pattern);
    if (depth < 0) return undefined;
    const vs = this.slotVals[(this.slotOf[this.path[depth] as number] as number) / SLOT];
    if (vs === NONE) return undefined;
    if (!(vs instanceof Bag)) return [vs as V];
    const items = (vs as Bag<V>).items;
    return items instanceof Set ? Array.from(items) : items; // arrays are copy-on-write
  }

  /**
   * All (pattern, value) pairs. Deterministic: depth-first; at each node its own values (in
   * insertion order), then its exact children by node id (the order they were created, where
   * no removal freed an id for reuse), then `+`, then `#`. The same sequence of add/remove
   * calls always yields the same order.
   */
  entries(): IterableIterator<[string, V]> {
    // Children of each node, grouped by parent in ascending child id (a counting sort).
    const nodes = this.nodeTop;
    const parentOf = new Int32Array(nodes).fill(EMPTY);
    const starts = new Int32Array(nodes + 1);
    for (let b = 0; b < this.slots.length; b += SLOT) {
      const p = this.slots[b + S_PARENT] as number;
      if (p === EMPTY) continue;
      parentOf[this.slots[b + S_CHILD] as number] = p;
      starts[p + 1] = (starts[p + 1] as number) + 1;
    }
    for (let i = 0; i < nodes; i++) starts[i + 1] = (starts[i + 1] as number) + (starts[i] as number);
    const order = new Int32Array(starts[nodes] as number);
    const fill = starts.slice(0, nodes);
    for (let c = 0; c < nodes; c++) {
      const p = parentOf[c] as number;
      if (p === EMPTY) continue;
      const at = fill[p] as number;
      order[at] = c;
      fill[p] = at + 1;
    }
    return this.entriesOf(0, null, starts, order);
  }

  private *entriesOf(node: number, prefix: string | null, starts: Int32Array, order: Int32Array): Generator<[string, V]> {
    if (prefix !== null) {
      const vs = this.slotVals[(this.slotOf[node] as number) / SLOT];
      if (vs !== NONE) {
        const out: V[] = [];
        pushVals(vs, out);
        for (const v of out) yield [prefix, v];
      }
    }
    const join = (level: string): string => (prefix === null ? level : `${prefix}/${level}`);
    let plus = EMPTY;
    let hash = EMPTY;
    for (let i = starts[node] as number; i < (starts[node + 1] as number); i++) {
      const c = order[i] as number;
      const b = this.slotOf[c] as number;
      const meta = this.slots[b + S_META] as number;
      if ((meta & M_WILD) !== 0) {
        if (this.slots[b + S_W0] === PLUS_KEY) plus = c;
        else hash = c;
      } else yield* this.entriesOf(c, join(this.keyText(b)), starts, order);
    }
    if (plus !== EMPTY) yield* this.entriesOf(plus, join('+'), starts, order);
    if (hash !== EMPTY) yield* this.entriesOf(hash, join('#'), starts, order);
  }
}
