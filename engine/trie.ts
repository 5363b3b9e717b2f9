/**
 * The subscription trie: (pattern, value) pairs indexed by topic level, matched against topics
 * with MQTT semantics (see topic.ts; `matchesPattern` there is the reference this must agree
 * with, and the tests hold it to that).
 *
 * This is the broker's hot path, so `match` allocates nothing: one pass over the topic's chars
 * records each level's [start, end) and a 30-bit hash into reused Int32Arrays, then a recursive
 * walk looks levels up by that hash (no substring per level) and confirms the key char by char.
 *
 * Shape. One node per pattern level. A node keeps
 * - `kids`, its exact children: null, the one child itself (most nodes have exactly one, and a
 *   Map costs ~184 bytes), or a `Map<levelHash, child | child[]>` (an array only when two keys
 *   under one parent share a hash);
 * - `plus` and `hash`, the `+` and `#` children, in dedicated fields;
 * - `vals`, the values of the patterns ending here: NONE, the one value itself, or a private
 *   `Bag` holding an exact-size copy-on-write array (2..8 values) or an insertion-ordered Set
 *   (more), so a pattern with huge fan-in stays O(1) per add/remove.
 * Invariant: every node but the root holds a value or has a descendant that does (`remove`
 * prunes, and a Map shrunk to one plain child goes back to inline), so a `#` node, which never
 * has children, always holds values.
 */

import { validatePattern } from './topic.ts';
import { UsageError } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Memory model. `bytes` is the sum of these estimates over the trie's live structures, updated
// incrementally from the shape of what changed (so removing everything gives back exactly the
// empty trie's figure). Figures are V8 on 64-bit without pointer compression (Node's default
// build): every tagged slot is 8 bytes and every heap object starts with an 8-byte map word.
// Each constant was checked one by one against measured heap growth (Node 20 / V8 11.3), and
// the total against 100k- and 500k-pattern tries built from sim/bench/trie-fixtures.ts (see
// trie.test.ts, "memory calibration"): estimate / measured = 1.000 (~211 and ~204 B/pattern).
// Measure as "heap freed when the trie is dropped", after many full GCs: a plain before/after
// delta with two GCs undercounts by up to 40% (older garbage and flushed bytecode go meanwhile).
// Known gaps: V8's Map capacity hysteresis after deletes (tables shrink only below 1/4 full;
// the model assumes the smallest power of two), and two-byte copies of Latin-1 keys.
// Not counted: the values themselves (the caller's), pattern strings that long keys slice (the
// caller keeps its patterns), the SubscriptionTrie object and its small scratch buffers.
// ---------------------------------------------------------------------------------------------

/** A Node: map, properties and elements words, then 5 in-object fields. Measured: 64. */
export const NODE_BYTES = 24 + 5 * 8;
/** A Bag: header plus 2 fields. */
const BAG_BYTES = 24 + 2 * 8;
/** A JSMap / JSSet object: map, properties, elements, table. */
const COLLECTION_BYTES = 32;
/** OrderedHashTable: FixedArray header (map, length) plus 3 counters. Empty Map measured: 184. */
const HASH_TABLE_HEADER_BYTES = 16 + 3 * 8;
/** V8's OrderedHashTable starts at capacity 4 and doubles when full. */
const HASH_TABLE_MIN_CAPACITY = 4;
/** A JSArray (map, properties, elements, length) plus its FixedArray header. [a, b] measured: 64. */
const ARRAY_BYTES = 32 + 16;
/** Values per pattern held in an array; above this they move to a Set. */
const ARRAY_MAX = 8;
/** A Set shrinking to this many values goes back to an array (hysteresis against flapping). */
const ARRAY_BACK = 4;
/** Substrings shorter than this are copies; longer ones are SlicedStrings (V8's kMinLength). */
const SLICE_MIN_LENGTH = 13;
/** A SlicedString: map, hash+length, parent, offset. Measured: 32. */
const SLICED_STRING_BYTES = 32;
/** A sequential string's header: map, hash (4), length (4); chars padded to 8. Measured. */
const SEQ_STRING_HEADER_BYTES = 16;

function hashTableCapacity(size: number): number {
  let cap = HASH_TABLE_MIN_CAPACITY;
  while (cap < size) cap *= 2;
  return cap;
}

/** Estimated bytes of a Map with `size` entries: buckets (cap/2) + entries (key, value, chain). */
function mapBytes(size: number): number {
  const cap = hashTableCapacity(size);
  return COLLECTION_BYTES + HASH_TABLE_HEADER_BYTES + 8 * (cap / 2 + 3 * cap);
}

/** Estimated bytes of a Set with `size` entries: buckets (cap/2) + entries (key, chain). */
function setBytes(size: number): number {
  const cap = hashTableCapacity(size);
  return COLLECTION_BYTES + HASH_TABLE_HEADER_BYTES + 8 * (cap / 2 + 2 * cap);
}

/**
 * Estimated bytes of a key string cut from a pattern. Empty and 1-char Latin-1 strings are V8's
 * shared constants; short ones are copies; long ones are slices of the pattern. A key is costed
 * as two-byte if it holds a char above U+00FF (V8 may also copy Latin-1 text cut from a
 * two-byte pattern as two-byte; the estimate ignores that).
 */
function keyBytes(key: string): number {
  const n = key.length;
  if (n >= SLICE_MIN_LENGTH) return SLICED_STRING_BYTES;
  let width = 1;
  for (let i = 0; i < n; i++) {
    if (key.charCodeAt(i) > 0xff) {
      width = 2;
      break;
    }
  }
  if (n === 0 || (n === 1 && width === 1)) return 0;
  return SEQ_STRING_HEADER_BYTES + ((n * width + 7) & ~7);
}

// ---------------------------------------------------------------------------------------------

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Level hashes are cut to 30 bits so they are Smis on every V8 build (cheap Map keys). */
const HASH_MASK = 0x3fffffff;

/** FNV-1a of s[start, end), 30 bits. Must agree with the inline loop in `Scan.run`. */
function hashRange(s: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h & HASH_MASK;
}

/** The hash a level is filed under in a node's Map. Exported so tests can build collisions. */
export function levelHash(level: string): number {
  return hashRange(level, 0, level.length);
}

/** key === s.substring(start, end), without the substring. */
function eqRange(key: string, s: string, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== s.charCodeAt(start + i)) return false;
  return true;
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

type Kids<V> = Node<V> | Map<number, Node<V> | Node<V>[]>;

class Node<V> {
  /** This level's text ('+' and '#' for wildcard nodes, '' for the root). */
  readonly key: string;
  /** Exact children: none, the only one, or a Map by level hash. */
  kids: Kids<V> | null = null;
  /** The `+` child. */
  plus: Node<V> | null = null;
  /** The `#` child (a leaf: `#` is always the last level). */
  hash: Node<V> | null = null;
  /** NONE, one value, or a Bag of several. */
  vals: unknown = NONE;
  constructor(key: string) {
    this.key = key;
  }
}

function isEmpty<V>(node: Node<V>): boolean {
  return node.vals === NONE && node.kids === null && node.plus === null && node.hash === null;
}

function valsBytes(vals: unknown): number {
  if (!(vals instanceof Bag)) return 0;
  const items = (vals as Bag<unknown>).items;
  return BAG_BYTES + (items instanceof Set ? setBytes(items.size) : ARRAY_BYTES + 8 * items.length);
}

/** Pushes the values of `node` onto `out`; returns how many. */
function pushVals<V>(node: Node<V>, out: V[]): number {
  const vs = node.vals;
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

/** The exact child of `kids` whose key is s[start, end) (h: its hashRange), if any. */
function findKid<V>(kids: Kids<V>, s: string, start: number, end: number, h: number): Node<V> | undefined {
  if (kids instanceof Node) return eqRange(kids.key, s, start, end) ? kids : undefined;
  const e = kids.get(h);
  if (e === undefined) return undefined;
  if (e instanceof Node) return eqRange(e.key, s, start, end) ? e : undefined;
  for (let i = 0; i < e.length; i++) {
    const c = e[i] as Node<V>;
    if (eqRange(c.key, s, start, end)) return c;
  }
  return undefined;
}

/** The current topic's levels: reused by every match; grows when a topic has more levels. */
class Scan {
  topic = '';
  n = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  hashes = new Int32Array(16);

  /** Splits `topic` into levels; returns how many (at least 1). */
  run(topic: string): number {
    this.topic = topic;
    let n = 0;
    let start = 0;
    let h = FNV_OFFSET;
    const len = topic.length;
    for (let i = 0; i < len; i++) {
      const c = topic.charCodeAt(i);
      if (c === SLASH) {
        if (n === this.starts.length) this.grow();
        this.starts[n] = start;
        this.ends[n] = i;
        this.hashes[n] = h & HASH_MASK;
        n++;
        start = i + 1;
        h = FNV_OFFSET;
      } else {
        h = Math.imul(h ^ c, FNV_PRIME);
      }
    }
    if (n === this.starts.length) this.grow();
    this.starts[n] = start;
    this.ends[n] = len;
    this.hashes[n] = h & HASH_MASK;
    this.n = n + 1;
    return this.n;
  }

  private grow(): void {
    const cap = this.starts.length * 2;
    const s = new Int32Array(cap);
    const e = new Int32Array(cap);
    const h = new Int32Array(cap);
    s.set(this.starts);
    e.set(this.ends);
    h.set(this.hashes);
    this.starts = s;
    this.ends = e;
    this.hashes = h;
  }
}

/** Matches levels[i..n) below `node` (the root's wildcards are handled by the caller). */
function walk<V>(node: Node<V>, i: number, sc: Scan, out: V[]): number {
  let count = 0;
  const h = node.hash;
  if (h !== null) count += pushVals(h, out); // `#` matches zero or more remaining levels
  if (i === sc.n) return count + pushVals(node, out);
  const k = node.kids;
  if (k !== null) {
    const c = findKid(k, sc.topic, sc.starts[i] as number, sc.ends[i] as number, sc.hashes[i] as number);
    if (c !== undefined) count += walk(c, i + 1, sc, out);
  }
  const p = node.plus;
  if (p !== null) count += walk(p, i + 1, sc, out);
  return count;
}

/** Like walk, but stops at the first match. */
function any<V>(node: Node<V>, i: number, sc: Scan): boolean {
  if (node.hash !== null) return true; // a `#` node always holds values (invariant)
  if (i === sc.n) return node.vals !== NONE;
  const k = node.kids;
  if (k !== null) {
    const c = findKid(k, sc.topic, sc.starts[i] as number, sc.ends[i] as number, sc.hashes[i] as number);
    if (c !== undefined && any(c, i + 1, sc)) return true;
  }
  const p = node.plus;
  return p !== null && any(p, i + 1, sc);
}

/** Exact children in insertion order (Map order; a collision list in its own order). */
function* kidsOf<V>(kids: Kids<V> | null): Generator<Node<V>> {
  if (kids === null) return;
  if (kids instanceof Node) {
    yield kids;
    return;
  }
  for (const e of kids.values()) {
    if (e instanceof Node) yield e;
    else yield* e;
  }
}

function* entriesOf<V>(node: Node<V>, prefix: string | null): Generator<[string, V]> {
  if (prefix !== null && node.vals !== NONE) {
    const out: V[] = [];
    pushVals(node, out);
    for (const v of out) yield [prefix, v];
  }
  const join = (level: string): string => (prefix === null ? level : prefix + '/' + level);
  for (const c of kidsOf(node.kids)) yield* entriesOf(c, join(c.key));
  if (node.plus !== null) yield* entriesOf(node.plus, join('+'));
  if (node.hash !== null) yield* entriesOf(node.hash, join('#'));
}

/**
 * A set of (pattern, value) pairs matched against topics with MQTT wildcard semantics.
 * Values are compared with `===`. Not safe to mutate while iterating `entries()`.
 */
export class SubscriptionTrie<V> {
  private readonly root = new Node<V>('');
  private _patternCount = 0;
  private _entryCount = 0;
  private _bytes = NODE_BYTES;
  private readonly scan = new Scan();
  /** Scratch for remove: the nodes along a pattern's path. */
  private readonly path: Node<V>[] = [];

  /** Distinct patterns holding at least one value. */
  get patternCount(): number {
    return this._patternCount;
  }

  /** (pattern, value) pairs. */
  get entryCount(): number {
    return this._entryCount;
  }

  /**
   * Estimated heap bytes of the trie's own structures (nodes, Maps, key strings, value
   * arrays/Sets), kept incrementally; see the memory model at the top of this file. An empty
   * trie reports NODE_BYTES (its root).
   */
  get bytes(): number {
    return this._bytes;
  }

  /**
   * Adds (pattern, value). Returns false if that exact pair is already present.
   * Throws UsageError if the pattern is invalid (see validatePattern).
   */
  add(pattern: string, value: V): boolean {
    const reason = validatePattern(pattern);
    if (reason !== null) throw new UsageError(`invalid pattern ${JSON.stringify(pattern)}: ${reason}`);
    let node = this.root;
    let start = 0;
    for (;;) {
      let end = pattern.indexOf('/', start);
      const last = end === -1;
      if (last) end = pattern.length;
      node = this.childFor(node, pattern, start, end);
      if (last) break;
      start = end + 1;
    }
    return this.addValue(node, value);
  }

  private childFor(node: Node<V>, pattern: string, start: number, end: number): Node<V> {
    if (end - start === 1) {
      const c = pattern.charCodeAt(start);
      if (c === PLUS) {
        if (node.plus === null) {
          node.plus = new Node<V>('+');
          this._bytes += NODE_BYTES;
        }
        return node.plus;
      }
      if (c === HASH) {
        if (node.hash === null) {
          node.hash = new Node<V>('#');
          this._bytes += NODE_BYTES;
        }
        return node.hash;
      }
    }
    const h = hashRange(pattern, start, end);
    const kids = node.kids;
    if (kids !== null) {
      const found = findKid(kids, pattern, start, end, h);
      if (found !== undefined) return found;
    }
    const key = pattern.substring(start, end);
    const child = new Node<V>(key);
    this._bytes += NODE_BYTES + keyBytes(key);
    if (kids === null) {
      node.kids = child;
    } else if (kids instanceof Node) {
      const m = new Map<number, Node<V> | Node<V>[]>();
      m.set(hashRange(kids.key, 0, kids.key.length), kids);
      node.kids = m;
      this._bytes += mapBytes(1);
      this.mapInsert(m, h, child);
    } else {
      this.mapInsert(kids, h, child);
    }
    return child;
  }

  private mapInsert(m: Map<number, Node<V> | Node<V>[]>, h: number, child: Node<V>): void {
    const e = m.get(h);
    if (e === undefined) {
      const before = mapBytes(m.size);
      m.set(h, child);
      this._bytes += mapBytes(m.size) - before;
    } else if (e instanceof Node) {
      m.set(h, [e, child]); // a hash collision: rare
      this._bytes += ARRAY_BYTES + 2 * 8;
    } else {
      m.set(h, [...e, child]);
      this._bytes += 8;
    }
  }

  private addValue(node: Node<V>, value: V): boolean {
    const vs = node.vals;
    if (vs === NONE) {
      node.vals = value;
      this._patternCount++;
      this._entryCount++;
      return true;
    }
    const before = valsBytes(vs);
    if (!(vs instanceof Bag)) {
      if (vs === value) return false;
      node.vals = new Bag<V>([vs as V, value], 2);
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
          // Copy-on-write at exact size: the memory model stays exact and get() can hand out
          // the array itself.
          const b = new Array<V>(k + 1);
          for (let i = 0; i < k; i++) b[i] = items[i] as V;
          b[k] = value;
          bag.items = b;
        }
      }
      bag.n++;
    }
    this._entryCount++;
    this._bytes += valsBytes(node.vals) - before;
    return true;
  }

  /** The node of exactly `pattern`, recording the path in this.path; returns its depth or -1. */
  private find(pattern: string): number {
    const path = this.path;
    let node: Node<V> | null | undefined = this.root;
    let depth = 0;
    let start = 0;
    path[0] = node;
    for (;;) {
      let end = pattern.indexOf('/', start);
      const last = end === -1;
      if (last) end = pattern.length;
      if (end - start === 1 && pattern.charCodeAt(start) === PLUS) node = node.plus;
      else if (end - start === 1 && pattern.charCodeAt(start) === HASH) node = node.hash;
      else node = node.kids === null ? undefined : findKid(node.kids, pattern, start, end, hashRange(pattern, start, end));
      if (node === null || node === undefined) return -1;
      path[++depth] = node;
      if (last) return depth;
      start = end + 1;
    }
  }

  /** Removes (pattern, value); returns false if absent. Prunes nodes left empty. */
  remove(pattern: string, value: V): boolean {
    const depth = this.find(pattern);
    const path = this.path;
    if (depth < 0 || !this.removeValue(path[depth] as Node<V>, value)) {
      path.length = 0;
      return false;
    }
    for (let d = depth; d > 0; d--) {
      const n = path[d] as Node<V>;
      if (!isEmpty(n)) break;
      this.detach(path[d - 1] as Node<V>, n);
    }
    path.length = 0; // hold no removed nodes
    return true;
  }

  private detach(parent: Node<V>, n: Node<V>): void {
    this._bytes -= NODE_BYTES;
    if (parent.plus === n) {
      parent.plus = null;
      return;
    }
    if (parent.hash === n) {
      parent.hash = null;
      return;
    }
    this._bytes -= keyBytes(n.key);
    const kids = parent.kids as Kids<V>;
    if (kids instanceof Node) {
      parent.kids = null;
      return;
    }
    const h = hashRange(n.key, 0, n.key.length);
    const e = kids.get(h) as Node<V> | Node<V>[];
    if (e instanceof Node) {
      const before = mapBytes(kids.size);
      kids.delete(h);
      this._bytes += mapBytes(kids.size) - before;
    } else if (e.length === 2) {
      kids.set(h, e[0] === n ? (e[1] as Node<V>) : (e[0] as Node<V>));
      this._bytes -= ARRAY_BYTES + 2 * 8;
    } else {
      kids.set(
        h,
        e.filter((c) => c !== n),
      );
      this._bytes -= 8;
    }
    if (kids.size === 1) {
      // Back to inline when one plain child is left, so the shape (and bytes) depend only on
      // the contents.
      const only = kids.values().next().value as Node<V> | Node<V>[];
      if (only instanceof Node) {
        parent.kids = only;
        this._bytes -= mapBytes(1);
      }
    }
  }

  private removeValue(node: Node<V>, value: V): boolean {
    const vs = node.vals;
    if (vs === NONE) return false;
    if (!(vs instanceof Bag)) {
      if (vs !== value) return false;
      node.vals = NONE;
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
      if (k === 2) node.vals = items[1 - idx];
      else {
        const b = new Array<V>(k - 1);
        for (let i = 0, o = 0; i < k; i++) if (i !== idx) b[o++] = items[i] as V;
        bag.items = b;
      }
    }
    bag.n--;
    this._entryCount--;
    this._bytes += valsBytes(node.vals) - before;
    return true;
  }

  /**
   * Pushes every value whose pattern matches `topic` onto `out`, one push per (pattern, value)
   * pair, and returns how many it pushed. Does not clear `out`. `topic` should be valid
   * (validateTopic); a `+` or `#` in it is only matched by wildcards.
   */
  match(topic: string, out: V[]): number {
    const sc = this.scan;
    sc.run(topic);
    const root = this.root;
    let count = 0;
    // [MQTT-4.7.2-1] A wildcard first level does not match a `$` first level.
    if (topic.charCodeAt(0) !== DOLLAR) {
      if (root.hash !== null) count += pushVals(root.hash, out);
      if (root.plus !== null) count += walk(root.plus, 1, sc, out);
    }
    const k = root.kids;
    if (k !== null) {
      const c = findKid(k, topic, 0, sc.ends[0] as number, sc.hashes[0] as number);
      if (c !== undefined) count += walk(c, 1, sc, out);
    }
    return count;
  }

  /** True if at least one pattern matches `topic` (stops at the first). */
  hasMatch(topic: string): boolean {
    const sc = this.scan;
    sc.run(topic);
    const root = this.root;
    if (topic.charCodeAt(0) !== DOLLAR) {
      if (root.hash !== null) return true;
      if (root.plus !== null && any(root.plus, 1, sc)) return true;
    }
    const k = root.kids;
    if (k === null) return false;
    const c = findKid(k, topic, 0, sc.ends[0] as number, sc.hashes[0] as number);
    return c !== undefined && any(c, 1, sc);
  }

  /** The values stored under exactly `pattern` (no wildcard matching), or undefined. */
  get(pattern: string): readonly V[] | undefined {
    const depth = this.find(pattern);
    const node = depth < 0 ? undefined : this.path[depth];
    this.path.length = 0;
    if (node === undefined || node.vals === NONE) return undefined;
    const vs = node.vals;
    if (!(vs instanceof Bag)) return [vs as V];
    const items = (vs as Bag<V>).items;
    return items instanceof Set ? Array.from(items) : items; // arrays are copy-on-write
  }

  /**
   * All (pattern, value) pairs. Deterministic: depth-first; at each node its own values (in
   * insertion order), then its exact children in the order they were created, then `+`, then
   * `#`. The same sequence of add/remove calls always yields the same order.
   */
  entries(): IterableIterator<[string, V]> {
    return entriesOf(this.root, null);
  }
}
