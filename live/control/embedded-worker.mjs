// The embedded control-plane database [CP-2]: PGlite (PostgreSQL compiled to WASM) in a worker
// thread, so its start (initdb takes seconds) and its queries never hold the broker's event loop.
// Plain JavaScript: a worker does not inherit the tsx loader the CLI runs under.
//
// Messages in: { id, op: 'query' | 'exec', text, params } and { id, op: 'close' }.
// Messages out: { ready: true } once open, { failed: message } when it cannot open, then per
// request { id, rows } or { id, error: { message, code } }. Requests are run one at a time, in the
// order they came (the main thread holds its own lock around a transaction's statements).
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = parentPort;
if (port === null) throw new Error('embedded-worker.mjs runs as a worker thread');

let db;
try {
  db = await PGlite.create(workerData.dir);
} catch (e) {
  port.postMessage({ failed: String(e instanceof Error ? e.message : e).split('\n')[0] });
  process.exit(1);
}
port.postMessage({ ready: true });

let chain = Promise.resolve();
port.on('message', (m) => {
  chain = chain.then(() => handle(m));
});

async function handle(m) {
  try {
    if (m.op === 'close') {
      await db.close();
      port.postMessage({ id: m.id, rows: [] });
      process.exit(0);
    }
    if (m.op === 'exec') {
      await db.exec(m.text);
      port.postMessage({ id: m.id, rows: [] });
      return;
    }
    const r = await db.query(m.text, m.params ?? []);
    port.postMessage({ id: m.id, rows: r.rows });
  } catch (e) {
    port.postMessage({ id: m.id, error: { message: String(e instanceof Error ? e.message : e), code: typeof e?.code === 'string' ? e.code : undefined } });
  }
}
