/**
 * The durable log on real files [DUR-2..5]: every operation through disk and back, a torn tail
 * cut off and reported, group commit, compaction (at open and while running) that recovers the
 * same state, and one-line errors for a bad dataDir.
 */
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableState, type DurableConfig } from '../../engine/durable.ts';
import type { InterestFrame } from '../../engine/frames.ts';
import { RecordingStore, recoverDurable, type DurableOp } from '../../engine/store.ts';
import type { BrokerId, Envelope } from '../../engine/types.ts';
import { LOG_FILE, openLogStore } from './log.ts';
import { readLog } from './record.ts';

const CONFIG: DurableConfig = { ledgerTtlMs: 900_000, spoolBytes: 1e9, retransmitMs: 250 };

function env(id: string, payloadBytes = 500, origin: BrokerId = 'us-1'): Envelope {
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = (i * 7 + id.length) & 0xff;
  return {
    id,
    source: '/src',
    type: 't',
    specversion: '1.0',
    topic: 'orders/eu/1',
    headers: { s: 'x', n: -3, f: 1.5, big: 2 ** 40, t: true, no: false },
    payload,
    publishedAtMs: 1_700_000_000_123.5,
    path: [origin, 'eu-1'],
    hopLimit: 14,
  };
}

const INTEREST: InterestFrame = {
  kind: 3,
  origin: 'eu-1',
  seq: 9,
  reset: true,
  entries: [
    { op: 'add', pattern: 'a/#', selector: "region = 'eu'" },
    { op: 'remove', pattern: 'b/*', selector: null },
  ],
};

/** One operation of every kind, with awkward values (unicode, every byte value, big numbers). */
const EVERY_KIND: DurableOp[] = [
  { op: 'hold', dest: 'ap-1', seq: 1, env: env('é✓𝄞', 256) },
  { op: 'release', origin: 'us-1', dest: 'ap-1', seq: 2 ** 53 - 1 },
  { op: 'ledger', id: 'evt-1', dest: 'us-1', atMs: 1_700_000_000_000.25 },
  { op: 'dest-seq', dest: 'ap-1', seq: 300 },
  { op: 'released', origin: 'eu-1', next: 128 },
  { op: 'early', origin: 'eu-1', seq: 130, env: env('e130', 0, 'eu-1') },
  { op: 'sequences', lsSeq: 12, interestSeq: 0 },
  { op: 'interest', frame: INTEREST },
  { op: 'session-open', name: 'billing-ap', pattern: 'orders/ap/#', filter: "amountCents > 100 AND region = 'ap'" },
  { op: 'session-open', name: 'all', pattern: '#', filter: null },
  { op: 'session-queued', name: 'billing-ap', seq: 1, env: env('s1', 10), guaranteed: true },
  { op: 'session-queued', name: 'billing-ap', seq: 2, env: env('s2', 0), guaranteed: false },
  { op: 'session-sent', name: 'billing-ap', seq: 1 },
  { op: 'session-close', name: 'all' },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtwin-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logPath = (): string => join(dir, 'd', LOG_FILE);

describe('LogStore on disk [DUR-2]', () => {
  it('every kind of operation goes through the file and comes back equal', async () => {
    const { store } = await openLogStore(join(dir, 'd'), CONFIG, 'us-1');
    for (const op of EVERY_KIND) store.write(op);
    await store.durable();
    await store.close();
    const read = readLog(await readFile(logPath()), 'test');
    expect(read.tornBytes).toBe(0);
    // The log opens with the (empty) state's snapshot: its sequences.
    expect(read.ops).toEqual([{ op: 'sequences', lsSeq: 0, interestSeq: 0 }, ...EVERY_KIND]);
    const again = await openLogStore(join(dir, 'd'), CONFIG, 'us-1');
    expect(again.recovered).toEqual({ ops: 1 + EVERY_KIND.length, bytes: read.goodBytes, tornTail: false, tornBytes: 0 });
    expect(again.state.spool.length).toBe(1);
    expect([...again.state.spool.drain(() => true)][0]?.env).toEqual(EVERY_KIND[0]?.op === 'hold' ? EVERY_KIND[0].env : null);
    await again.store.close();
  });

  it('a torn tail (the file cut mid-record, or a flipped byte) recovers the prefix, reports it and is cut off', async () => {
    const d = join(dir, 'd');
    const { store } = await openLogStore(d, CONFIG, 'us-1');
    const start = store.fileBytes;
    for (let i = 1; i <= 10; i++) store.write({ op: 'dest-seq', dest: 'ap-1', seq: i });
    await store.close();
    const full = (await stat(logPath())).size;
    const recordBytes = (full - start) / 10;
    expect(recordBytes).toBe(15); // 8 framing + tag + 'ap-1' (5) + seq (1)
    // Cut the last record in half: 9 come back (after the snapshot's sequences record).
    await truncate(logPath(), full - Math.floor(recordBytes / 2));
    const cut = await openLogStore(d, CONFIG, 'us-1');
    expect(cut.recovered).toMatchObject({ ops: 1 + 9, tornTail: true, tornBytes: Math.ceil(recordBytes / 2) });
    expect(cut.state.destSeq.get('ap-1')).toBe(9);
    for (let i = 10; i <= 20; i++) cut.store.write({ op: 'dest-seq', dest: 'ap-1', seq: i });
    await cut.store.close();
    // Compacted at open: the log is now one snapshot record plus the 11 new ones, and clean.
    const b = await readFile(logPath());
    const read = readLog(b, 'test');
    expect(read.tornBytes).toBe(0);
    expect(read.ops.filter((o) => o.op === 'dest-seq').map((o) => (o as { seq: number }).seq)).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    // Flip one byte inside the 5th dest-seq record's body: the CRC catches it, 4 survive... of the new ones.
    const at = b.length - 7 * recordBytes + 10;
    b[at] = (b[at] as number) ^ 0x40;
    await writeFile(logPath(), b);
    const flipped = await openLogStore(d, CONFIG, 'us-1');
    expect(flipped.recovered.tornTail).toBe(true);
    expect(flipped.recovered.tornBytes).toBe(7 * recordBytes);
    expect(flipped.state.destSeq.get('ap-1')).toBe(13);
    await flipped.store.close();
    const clean = await openLogStore(d, CONFIG, 'us-1');
    expect(clean.recovered.tornTail).toBe(false);
    expect(clean.state.destSeq.get('ap-1')).toBe(13);
    await clean.store.close();
  });

  it('[DUR-4] group commit: 10 000 writes and one durable() take at most two fsyncs; pending until then', async () => {
    const { store } = await openLogStore(join(dir, 'd'), CONFIG, 'us-1');
    const before = store.counters.fsyncs;
    expect(store.pending).toBe(false);
    for (let i = 1; i <= 10_000; i++) store.write({ op: 'hold', dest: 'ap-1', seq: i, env: env(`e${i}`) });
    expect(store.pending).toBe(true);
    await store.durable();
    expect(store.pending).toBe(false);
    expect(store.counters.fsyncs - before).toBeGreaterThanOrEqual(1);
    expect(store.counters.fsyncs - before).toBeLessThanOrEqual(2);
    await store.close();
    expect(readLog(await readFile(logPath()), 'test').ops.length).toBe(10_000 + 1); // + the snapshot's sequences
  });

  it('[DUR-4] publishes that each await durable() share fsyncs: batches form while one is in flight', async () => {
    const { store } = await openLogStore(join(dir, 'd'), CONFIG, 'us-1');
    const before = store.counters.fsyncs;
    const acked: number[] = [];
    const waits: Promise<void>[] = [];
    // 2000 publishes, 20 per turn of the event loop: each answered only once durable.
    for (let turn = 0; turn < 100; turn++) {
      for (let k = 0; k < 20; k++) {
        const seq = turn * 20 + k + 1;
        store.write({ op: 'dest-seq', dest: 'ap-1', seq });
        store.write({ op: 'hold', dest: 'ap-1', seq, env: env(`e${seq}`) });
        waits.push(store.durable().then(() => void acked.push(seq)));
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waits);
    const fsyncs = store.counters.fsyncs - before;
    expect(acked).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(fsyncs).toBeLessThan(100); // at most one per turn, and fewer: a turn's fsync spans several turns
    expect(fsyncs).toBeGreaterThan(0);
    await store.close();
  });

  it('durable() with nothing written resolves at once; write after close throws', async () => {
    const { store } = await openLogStore(join(dir, 'd'), CONFIG, 'us-1');
    await store.durable();
    await store.close();
    expect(() => store.write({ op: 'dest-seq', dest: 'ap-1', seq: 1 })).toThrow(/write after close/);
  });

  it('a dataDir that cannot be made, or a file that is not a log, is a one-line error naming dataDir', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    await expect(openLogStore(join(dir, 'plain', 'us-1'), CONFIG, 'us-1')).rejects.toThrow(/^dataDir .*plain\/us-1: .*ENOTDIR/);
    await writeFile(join(dir, LOG_FILE), 'not a log at all');
    await expect(openLogStore(dir, CONFIG, 'us-1')).rejects.toThrow(/^dataDir .*: .*not a meshtwin durable log/);
    // Nothing was destroyed.
    expect(await readFile(join(dir, LOG_FILE), 'utf8')).toBe('not a log at all');
  });
});

/**
 * Everything a restart reads from a state. The spool per origin→dest stream, each in its order:
 * how streams interleave is the order custody was taken in a log, the spool's own order in a
 * snapshot, and nothing depends on it.
 */
function view(s: DurableState): unknown {
  const streams = new Map<string, string[]>();
  s.spool.forEach((e) => {
    const k = `${e.env.path[0]}>${e.dest}`;
    streams.set(k, [...(streams.get(k) ?? []), `${e.seq}:${e.env.id}:${e.env.payload.length}`]);
  });
  return {
    spool: [...streams].sort(([a], [b]) => (a < b ? -1 : 1)),
    ledger: [...s.ledger.entries()],
    destSeq: [...s.destSeq],
    resequencers: [...s.resequencers].map(([o, r]) => [o, r.next, [...r.waiting.keys()]]),
    lsSeq: s.lsSeq,
    interestSeq: s.interestSeq,
    interest: s.interest === undefined ? [] : [...s.interest.knownOrigins()].map((o) => s.interest?.originSnapshot(o)),
  };
}

/**
 * A broker's life, in miniature, through the DurableState API: publishes to two destinations
 * (spooled), some released, ledger entries, a resequencer with a gap, interest.
 */
function live(s: DurableState, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    const dest = i % 10 === 0 ? 'eu-1' : 'ap-1';
    const e = env(`e${i}`, 500);
    const seq = s.nextSeqFor(dest);
    s.spool.push({ env: e, dest, seq, bytes: 600 });
    s.hold(e, dest, seq);
    s.recordLedger(1_000 + i, `r${i}`, 'us-1');
    if (i % 50 === 0) s.lsSeq = s.lsSeq + 1;
  }
  // Custody of the older ap-1 events passes on.
  const passed = s.spool.drain((d) => d === 'ap-1');
  const keep = passed.filter((p) => p.seq % 20 === 0);
  for (const p of passed) if (p.seq % 20 !== 0) s.release(p.env, [p.dest], [p.seq]);
  for (const p of keep) s.spool.push(p);
  s.offerInOrder('eu-1', 1, env('x1', 10, 'eu-1'));
  s.offerInOrder('eu-1', 3, env('x3', 10, 'eu-1'));
  s.noteInterest(INTEREST);
  s.interest ??= recoverDurable(CONFIG, 'us-1', [{ op: 'interest', frame: INTEREST }]).interest;
}

describe('compaction [DUR-3]', () => {
  it('while running, the log stays bounded and recovers what the full journal recovers', async () => {
    const d = join(dir, 'd');
    // The ledger's times are test times: the snapshot's clock must agree, or every entry is expired.
    const nowMs = (): number => 5_000;
    const { state, store } = await openLogStore(d, CONFIG, 'us-1', { compactMinBytes: 256 * 1024, nowMs });
    const journal = new RecordingStore();
    const oracle = new DurableState(CONFIG, journal);
    let sizeMax = 0;
    let roundBytesMax = 0;
    for (let round = 0; round < 40; round++) {
      const before = store.counters.bytes;
      live(state, round * 100 + 1, round * 100 + 100);
      live(oracle, round * 100 + 1, round * 100 + 100);
      await store.durable();
      sizeMax = Math.max(sizeMax, store.fileBytes);
      roundBytesMax = Math.max(roundBytesMax, store.counters.bytes - before);
    }
    expect(store.counters.compactions).toBeGreaterThan(3); // the one at open, and some while running
    await store.close();
    const back = await openLogStore(d, CONFIG, 'us-1', { nowMs });
    // The file never passed max(threshold, twice the live state's snapshot) by more than a
    // round's writes, while 4000 publishes of 500 B went through it.
    const snapshotBytes = (await stat(logPath())).size;
    expect(sizeMax).toBeLessThanOrEqual(Math.max(256 * 1024, 2 * snapshotBytes) + roundBytesMax);
    expect(store.counters.bytes).toBeGreaterThan(2 * sizeMax);
    const expected = recoverDurable(CONFIG, 'us-1', journal.ops);
    expect(view(back.state)).toEqual(view(expected));
    expect(back.state.spool.length).toBeGreaterThan(500);
    expect(back.state.ledger.has(2_000, 'r5', 'us-1')).toBe(true);
    await back.store.close();
  });

  it('restarts do not grow the log: reopening the same state writes the same snapshot', async () => {
    const d = join(dir, 'd');
    const nowMs = (): number => 5_000;
    const first = await openLogStore(d, CONFIG, 'us-1', { nowMs });
    live(first.state, 1, 300);
    await first.store.close();
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await openLogStore(d, CONFIG, 'us-1', { nowMs });
      expect(o.state.ledger.size).toBe(300);
      await o.store.close();
      sizes.push((await stat(logPath())).size);
    }
    expect(new Set(sizes).size).toBe(1);
    // and smaller than the log of the first life, which had the released holds in it
    expect(first.store.counters.bytes).toBeGreaterThan(sizes[0] as number);
  });
});
