/**
 * Benchmark of the durable store [DUR-4]: `npx tsx live/store/bench.ts [seconds]`.
 *
 * A publish is what a broker writes for a guaranteed publish (a `dest-seq` and a `hold` with a
 * 500 B payload) followed by `await durable()`; publishes are offered at a fixed rate (1k, 10k,
 * 50k, 100k/s) in 1 ms ticks, and the figures are the publishes acknowledged per second, MiB/s
 * of records, commits (fsyncs) per second, and the latency from publish to acknowledgement
 * (p50/p99/p99.9), counted from when the publish was due. The same load runs against:
 * - `log`: LogStore (log.ts), fdatasync per group commit;
 * - `sqlite-full`, `sqlite-normal`: better-sqlite3 12 in WAL mode, synchronous FULL / NORMAL,
 *   the same record bytes as BLOB rows, one transaction per batch (the batch: whatever was
 *   written since the last commit). better-sqlite3 is loaded from $SQLITE_DIR (default /tmp/sq:
 *   `npm i better-sqlite3@12` there; it is not a dependency of meshtwin) and skipped if absent.
 *   NORMAL in WAL mode does not sync at commit: it survives kill -9, not a power cut.
 * It also times the encoding alone: the binary records (record.ts) against JSON with the payload
 * in base64, and JSON with the payload as an array of numbers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DurableOp } from '../../engine/store.ts';
import type { Envelope } from '../../engine/types.ts';
import { openLogStore } from './log.ts';
import { RecordWriter } from './record.ts';

const seconds = Number(process.argv[2] ?? 3);
const RATES = [1_000, 10_000, 50_000, 100_000];
const PAYLOAD_BYTES = 500;
const CONFIG = { ledgerTtlMs: 900_000, spoolBytes: 1e12, retransmitMs: 250 };

interface Backend {
  write(op: DurableOp): void;
  durable(): Promise<void>;
  close(): Promise<void>;
  readonly commits: number;
  readonly bytes: number;
}

function envelope(seq: number): Envelope {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(seq & 0xff);
  return {
    id: `evt-${seq}`,
    source: '/bench',
    type: 'order.created',
    specversion: '1.0',
    topic: 'orders/eu/created',
    headers: { region: 'eu', amount: 12.5 },
    payload,
    publishedAtMs: Date.now(),
    path: ['us-1'],
    hopLimit: 16,
  };
}

/** Offers `rate` publishes/s for `seconds`, each awaiting durable(); returns the figures. */
async function run(b: Backend, rate: number): Promise<string> {
  const lat: number[] = [];
  let issued = 0;
  let acked = 0;
  let lastAckMs = 0;
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const c0 = b.commits;
  const bytes0 = b.bytes;
  // Bounded: `total` publishes, then at most 30 s of draining.
  await new Promise<void>((resolve, reject) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000));
      for (; issued < due; issued++) {
        const seq = issued + 1;
        b.write({ op: 'dest-seq', dest: 'ap-1', seq });
        b.write({ op: 'hold', dest: 'ap-1', seq, env: envelope(seq) });
        // Latency from when the publish was due, not when the loop got to it: a store that blocks
        // the event loop (a synchronous COMMIT) delays the publishes themselves (coordinated omission).
        const at = t0 + (issued * 1000) / rate;
        b.durable().then(() => {
          lastAckMs = performance.now();
          lat.push(lastAckMs - at);
          if (++acked === total) resolve();
        }, reject);
      }
      if (issued < total) setTimeout(tick, 1);
      else if (performance.now() - t0 > (seconds + 30) * 1000) reject(new Error('drain timeout'));
    };
    tick();
  });
  const elapsedS = (lastAckMs - t0) / 1000;
  lat.sort((x, y) => x - y);
  const q = (p: number): string => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] as number).toFixed(2);
  const commits = b.commits - c0;
  return [
    `${(rate / 1000).toFixed(0)}k/s offered`.padEnd(16),
    `${(acked / elapsedS).toFixed(0)} acked/s`.padEnd(16),
    `${((b.bytes - bytes0) / elapsedS / 1048576).toFixed(1)} MiB/s`.padEnd(12),
    `${(commits / elapsedS).toFixed(0)} commits/s`.padEnd(16),
    `${(acked / Math.max(1, commits)).toFixed(1)}/commit`.padEnd(14),
    `p50 ${q(0.5)} p99 ${q(0.99)} p99.9 ${q(0.999)} ms`,
  ].join(' ');
}

async function logBackend(dir: string): Promise<Backend> {
  const { store } = await openLogStore(dir, CONFIG, 'us-1', { compactMinBytes: 1 << 30 });
  return {
    write: (op) => store.write(op),
    durable: () => store.durable(),
    close: () => store.close(),
    get commits() {
      return store.counters.fsyncs;
    },
    get bytes() {
      return store.counters.bytes;
    },
  };
}

interface SqliteDb {
  pragma(s: string): unknown;
  exec(s: string): void;
  prepare(s: string): { run(...a: unknown[]): unknown };
  transaction(f: () => void): () => void;
  close(): void;
}

/** The same records as BLOB rows in SQLite (WAL), one transaction per batch. */
function sqliteBackend(Database: new (path: string) => SqliteDb, path: string, synchronous: 'FULL' | 'NORMAL'): Backend {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE ops (n INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO ops (body) VALUES (?)');
  const w = new RecordWriter();
  let rows: Buffer[] = [];
  let waiters: Array<() => void> = [];
  let scheduled = false;
  let commits = 0;
  let bytes = 0;
  const commit = db.transaction(() => {
    for (const r of rows) insert.run(r);
  });
  const flush = (): void => {
    scheduled = false;
    commit();
    commits++;
    rows = [];
    const ws = waiters;
    waiters = [];
    for (const r of ws) r();
  };
  return {
    write(op) {
      w.len = 0;
      const n = w.op(op);
      rows.push(Buffer.from(w.buf.subarray(0, n)));
      bytes += n;
    },
    durable() {
      const p = new Promise<void>((r) => waiters.push(r));
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return p;
    },
    async close() {
      if (rows.length > 0) flush();
      db.close();
    },
    get commits() {
      return commits;
    },
    get bytes() {
      return bytes;
    },
  };
}

function encodingBench(): void {
  const n = 50_000;
  const ops: DurableOp[] = [];
  for (let i = 1; i <= n; i++) ops.push({ op: 'hold', dest: 'ap-1', seq: i, env: envelope(i) });
  const time = (name: string, f: (op: DurableOp) => number): void => {
    let bytes = 0;
    const t = performance.now();
    for (const op of ops) bytes += f(op);
    const ms = performance.now() - t;
    console.log(`  ${name.padEnd(28)} ${((n / ms) * 1000).toFixed(0).padStart(8)} holds/s ${(bytes / n).toFixed(0).padStart(6)} B/hold`);
  };
  const w = new RecordWriter();
  time('binary records (record.ts)', (op) => {
    w.len = 0;
    return w.op(op);
  });
  time('JSON, payload base64', (op) => {
    const o = op as Extract<DurableOp, { op: 'hold' }>;
    return Buffer.byteLength(JSON.stringify({ ...o, env: { ...o.env, payload: Buffer.from(o.env.payload).toString('base64') } }));
  });
  time('JSON, payload as number[]', (op) => {
    const o = op as Extract<DurableOp, { op: 'hold' }>;
    return Buffer.byteLength(JSON.stringify({ ...o, env: { ...o.env, payload: Array.from(o.env.payload) } }));
  });
}

async function main(): Promise<void> {
  console.log(`durable store bench: ${seconds} s per rate, publish = dest-seq + hold (${PAYLOAD_BYTES} B payload) + await durable(); node ${process.version}, tmpdir ${tmpdir()}`);
  console.log('encoding only:');
  encodingBench();
  let Database: (new (path: string) => SqliteDb) | undefined;
  const sqliteDir = process.env.SQLITE_DIR ?? '/tmp/sq';
  try {
    Database = createRequire(join(sqliteDir, 'package.json'))('better-sqlite3');
  } catch (e) {
    console.log(`(better-sqlite3 not found in ${sqliteDir}: ${(e as Error).message.split('\n')[0]}; sqlite skipped)`);
  }
  const backends: Array<[string, (dir: string) => Promise<Backend>]> = [['log', logBackend]];
  if (Database !== undefined) {
    const D = Database;
    backends.push(['sqlite-full', async (dir) => sqliteBackend(D, join(dir, 'ops.db'), 'FULL')]);
    backends.push(['sqlite-normal', async (dir) => sqliteBackend(D, join(dir, 'ops.db'), 'NORMAL')]);
  }
  for (const [name, make] of backends) {
    console.log(`${name}:`);
    for (const rate of RATES) {
      const dir = await mkdtemp(join(tmpdir(), 'meshtwin-bench-'));
      try {
        const b = await make(dir);
        console.log(`  ${await run(b, rate)}`);
        await b.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}

await main();
