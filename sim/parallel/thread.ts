/**
 * One thread of a parallel run (sim/parallel/run.ts starts it): builds the whole mesh, runs the
 * brokers it owns window by window, trades the frames between threads at each window's end, and
 * posts its part of the figures [PAR-1][PAR-2].
 *
 * [PAR-2] A window: run every event before M + L (M: the earliest event anywhere, L: the
 *         lookahead); then send every other thread one batch — the frames shipped to it and h,
 *         the earliest event this thread knows of — and wait for theirs (a shared counter per
 *         pair of threads, Atomics.wait, the batches taken with receiveMessageOnPort: no event-loop turn).
 *         Each shipped frame is scheduled with the kernel key its sender gave it, so it runs in
 *         the order one thread would have run it [KERNEL-1]. Every thread computes the same next
 *         M from the same h's; the run ends when M passes the end.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { UsageError } from '../../engine/types.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { Mesh, type MeshShare } from '../mesh.ts';
import { collect, withDuration } from '../run.ts';
import { type Batch, Control, type ThreadJob, type ThreadMessage, type ThreadPart } from './protocol.ts';

/** Numbers per shipped frame in a batch's meta (protocol.ts Batch). */
const FRAME_FIELDS = 5;

/** How long one wait for the other threads lasts before the abort flag is read again (ms). */
const WAIT_SLICE_MS = 500;

class Outbox {
  meta: number[] = [];
  chunks: Uint8Array[] = [];
  size = 0;
  min = Infinity;

  add(atMs: number, dir: number, key: number, cuts: number, bytes: Uint8Array): void {
    this.meta.push(atMs, dir, key, cuts, bytes.length);
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (atMs < this.min) this.min = atMs;
  }

  /** The batch (h first) and an empty outbox. */
  take(h: number): Batch {
    const meta = new Float64Array(2 + this.meta.length);
    meta[0] = h;
    meta[1] = this.meta.length / FRAME_FIELDS;
    meta.set(this.meta, 2);
    const bytes = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    this.meta = [];
    this.chunks = [];
    this.size = 0;
    this.min = Infinity;
    return { meta, bytes };
  }
}

function main(job: ThreadJob): ThreadPart {
  if (parentPort === null) throw new Error('sim/parallel/thread.ts runs as a worker thread');
  const t0 = performance.now();
  const control = new Control(job.control, job.workers);
  const { me, workers, owner } = job;
  const owned = Uint8Array.from(owner, (t) => (t === me ? 1 : 0));
  const out = Array.from({ length: workers }, () => new Outbox());
  const share: MeshShare = { owned, primary: me === 0, ship: (atMs, dir, to, key, cuts, bytes) => (out[owner[to] as number] as Outbox).add(atMs, dir, key, cuts, bytes) };
  const scenario = parseScenario(job.text, job.file);
  const mesh = new Mesh(withDuration(scenario, job.durationMs), job.seed, job.durationMs, 0, 64, 8192, share);
  const kernel = mesh.kernel;
  let windows = 0;

  /**
   * Sends every other thread one message (`post` posts it) and waits for theirs; returns them by
   * thread (undefined at this thread's own number).
   */
  const trade = (post: (t: number, port: MessagePort) => void): unknown[] => {
    for (let t = 0; t < workers; t++) {
      if (t === me) continue;
      post(t, job.ports[t] as MessagePort);
      const cell = control.cell(me, t);
      Atomics.add(control.flags, cell, 1);
      Atomics.notify(control.flags, cell);
    }
    windows++;
    const got: unknown[] = new Array(workers).fill(undefined);
    for (let t = 0; t < workers; t++) {
      if (t === me) continue;
      const cell = control.cell(t, me);
      for (;;) {
        const have = Atomics.load(control.flags, cell);
        if (have >= windows) break;
        if (Atomics.load(control.flags, 0) !== 0) throw new Error('another thread of the run failed');
        Atomics.wait(control.flags, cell, have, WAIT_SLICE_MS);
      }
      const msg = receiveMessageOnPort(job.ports[t] as MessagePort);
      if (msg === undefined) throw new Error(`thread ${me}: no message from thread ${t}`);
      got[t] = msg.message;
    }
    return got;
  };

  /** [PAR-2] Trades batches with every other thread; returns the next M. */
  const exchange = (): number => {
    let h = kernel.peekTime();
    for (const o of out) if (o.min < h) h = o.min;
    const got = trade((t, p) => {
      const batch = (out[t] as Outbox).take(h);
      p.postMessage(batch, [batch.meta.buffer as ArrayBuffer, batch.bytes.buffer as ArrayBuffer]);
    });
    let m = h;
    for (let t = 0; t < workers; t++) {
      if (t === me) continue;
      const { meta, bytes } = got[t] as Batch;
      if ((meta[0] as number) < m) m = meta[0] as number;
      let at = 0;
      for (let i = 0, n = meta[1] as number; i < n; i++) {
        const base = 2 + FRAME_FIELDS * i;
        const len = meta[base + 4] as number;
        mesh.inject(meta[base] as number, meta[base + 1] as number, meta[base + 2] as number, meta[base + 3] as number, bytes.subarray(at, at + len));
        at += len;
      }
    }
    return m;
  };

  const progress = (): void => {
    const p = control.progress;
    p[3 * me] = kernel.now;
    p[3 * me + 1] = mesh.published;
    p[3 * me + 2] = kernel.executed;
  };

  const end = mesh.endMs;
  const lookahead = job.lookaheadMs;
  let m = exchange();
  let t1 = NaN;
  while (m <= end) {
    if (Number.isNaN(t1) && m >= 0) t1 = performance.now();
    const limit = m + lookahead;
    if (limit > end) break;
    kernel.runBefore(limit);
    progress();
    m = exchange();
  }
  // The last window: nothing shipped from now on arrives before the end.
  kernel.run(end);
  progress();
  if (Number.isNaN(t1)) t1 = performance.now();
  const t2 = performance.now();
  const collected = collect(mesh, scenario, job.seed, job.durationMs, { setup: (t1 - t0) / 1000, traffic: (t2 - t1) / 1000 }, job.measureHeap, undefined);
  // [PAR-3] Copies in custody here for another thread's brokers go to that thread to be counted.
  type Copy = (typeof mesh.custodyElsewhere)[number];
  const copies = trade((t, p) => p.postMessage(mesh.custodyElsewhere.filter((c) => owner[c.dest] === t)));
  const custody = mesh.custodyWorth(copies.flatMap((c) => (c === undefined ? [] : (c as Copy[]))));
  const result = custody === 0 ? collected : { ...collected, messages: { ...collected.messages, inFlightAtEnd: collected.messages.inFlightAtEnd + custody } };
  const traces: Record<number, string> = {};
  const perSecondBytes: Record<number, number[]> = {};
  for (let i = 0; i < owner.length; i++) if (owned[i] === 1) traces[i] = mesh.brokerTrace(i);
  for (const d of mesh.directions) if (owned[d.fromIndex] === 1) perSecondBytes[d.index] = d.perSecondBytes;
  const ticks = mesh.series.delivered.length;
  return {
    me,
    result,
    local: mesh.local.encode(),
    cross: mesh.cross.encode(),
    seconds: mesh.series.kept ?? [],
    decisionUs: mesh.decisionUs,
    validationUs: mesh.validationUs,
    traces,
    perSecondBytes,
    // A shipped frame's arrival runs on both threads; the second ticks run on every thread.
    kernelEvents: kernel.executed - mesh.echoes - (me === 0 ? 0 : ticks),
    windows,
    trafficAt: performance.timeOrigin + t1,
    endedAt: performance.timeOrigin + t2,
  };
}

const job = workerData as ThreadJob;
const control = new Control(job.control, job.workers);
try {
  const part = main(job);
  parentPort?.postMessage({ type: 'done', part } satisfies ThreadMessage);
} catch (e) {
  // Wake the others: they stop at their next wait.
  control.abort();
  // Something a parallel run cannot model (mesh.ts says what): one line for the user, not a bug.
  if (e instanceof UsageError) parentPort?.postMessage({ type: 'refused', message: e.message } satisfies ThreadMessage);
  else throw e;
} finally {
  for (const p of job.ports) p?.close();
}
