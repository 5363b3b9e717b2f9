/**
 * The process the kill -9 test kills [DUR-2][DUR-4] (crash.test.ts): a broker's guaranteed
 * publishes in miniature, written through the DurableState API to a LogStore in `argv[2]`.
 * Publishes go in bursts of 1..40 per turn of the event loop; each burst's events are numbered,
 * held (spooled for ap-1) and recorded in the ledger, and `durable N` is printed once `durable()`
 * resolves for the burst ending at event N. A small compaction threshold makes compactions happen
 * mid-stream, so the kill can land in one. Runs until killed, or `argv[3]` events (a bound).
 */
import { openLogStore } from './log.ts';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-child.ts DATADIR [EVENTS_MAX]');
const eventsMax = Number(process.argv[3] ?? 1_000_000);
const { state, store } = await openLogStore(dir, { ledgerTtlMs: 900_000, spoolBytes: 1e12, retransmitMs: 250 }, 'us-1', { compactMinBytes: 512 * 1024 });
process.stdout.write(`open ${state.destSeq.get('ap-1') ?? 0}\n`);
let n = state.destSeq.get('ap-1') ?? 0;
let burst = 1;
while (n < eventsMax) {
  burst = (burst * 17 + 5) % 40;
  for (let k = 0; k <= burst; k++) {
    const seq = state.nextSeqFor('ap-1');
    const payload = new Uint8Array(200).fill(seq & 0xff);
    const env = { id: `e${seq}`, source: '/crash', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload, publishedAtMs: Date.now(), path: ['us-1'], hopLimit: 16 };
    state.spool.push({ env, dest: 'ap-1', seq, bytes: 300 });
    state.hold(env, 'ap-1', seq);
    state.recordLedger(Date.now(), env.id, 'us-1');
    n = seq;
  }
  const upTo = n;
  await store.durable();
  process.stdout.write(`durable ${upTo} compactions ${store.counters.compactions}\n`);
}
await store.close();
