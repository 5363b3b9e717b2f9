/**
 * [DUR-2][DUR-4] kill -9: a child process (crash-child.ts) publishes guaranteed events and prints
 * `durable N` after each `durable()`; the test SIGKILLs it mid-stream. Reopening the log must
 * recover every event acknowledged as durable, and of the rest a prefix: the spool drains 1..K in
 * publish order with K at least the last acknowledged, numbering goes on from K, and the ledger
 * still knows every acknowledged event (a retry of it is suppressed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogStore } from './log.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const CONFIG = { ledgerTtlMs: 900_000, spoolBytes: 1e12, retransmitMs: 250 };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtwin-crash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the child until it has acknowledged at least `ackedMin` events (and compacted `compactionsMin`
 * times), then SIGKILLs it. Returns the last event acknowledged.
 */
async function runAndKill(ackedMin: number, compactionsMin: number): Promise<{ acked: number; opened: number }> {
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = child;
    let stderr = '';
    c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    return await new Promise((resolve, reject) => {
      let acked = 0;
      let opened = -1;
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`child did not reach ${ackedMin} acked in 30 s (at ${acked}); stderr: ${stderr}`)), 30_000);
      c.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL') resolve({ acked, opened });
        else reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
      });
      c.stdout?.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const line of lines) {
          const open = /^open (\d+)$/.exec(line);
          if (open !== null) opened = Number(open[1]);
          const m = /^durable (\d+) compactions (\d+)$/.exec(line);
          if (m === null) continue;
          acked = Number(m[1]);
          // Kill mid-stream: the child is already writing the next burst.
          if (acked >= ackedMin && Number(m[2]) >= compactionsMin && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        }
      });
    });
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('kill -9 [DUR-2]', () => {
  it('every event acknowledged as durable comes back, in publish order, with its ledger entry; twice over', async () => {
    let ackedBefore = 0;
    let numberedBefore = 0;
    for (let life = 1; life <= 2; life++) {
      const { acked, opened } = await runAndKill(ackedBefore + 3000, life === 1 ? 2 : 1);
      // The second life numbers on from where the first one's log left off.
      expect(opened).toBe(numberedBefore);
      expect(acked).toBeGreaterThanOrEqual(ackedBefore + 3000);
      const { state, store, recovered } = await openLogStore(dir, CONFIG, 'us-1');
      try {
        const seqs: number[] = [];
        state.spool.forEach((e) => {
          expect(e.env.id).toBe(`e${e.seq}`);
          expect(e.env.payload[0]).toBe(e.seq & 0xff);
          seqs.push(e.seq);
        });
        // A prefix of what was published, containing every acknowledged event: 1..K, K >= acked.
        const k = seqs.length;
        expect(k).toBeGreaterThanOrEqual(acked);
        expect(seqs).toEqual(Array.from({ length: k }, (_, i) => i + 1));
        numberedBefore = state.destSeq.get('ap-1') ?? 0;
        expect(numberedBefore).toBeGreaterThanOrEqual(k);
        for (const id of [1, Math.ceil(acked / 2), acked]) expect(state.ledger.has(Date.now(), `e${id}`, 'us-1')).toBe(true);
        expect(recovered.ops).toBeGreaterThan(0);
        ackedBefore = k;
      } finally {
        await store.close();
      }
    }
  });
});
