/**
 * `meshtwin bench --live` [BENCH-L2]: real `meshtwin broker` processes on loopback, measured with
 * this process's own load generator (load.ts: open-loop CloudEvents batches over HTTP, latency at
 * a WebSocket subscriber from each event's due time).
 *
 * Three meshes, each started fresh from certificates and configs in a temp dir (writeMesh), on the
 * machine's disk (os.tmpdir(), not a RAM disk, so a store's fsync is a real one):
 *   one    — one broker; publisher and subscriber on it;
 *   mtls   — two brokers linked over mutual TLS 1.3; publish on a, subscribe on b;
 *   plain  — the same two brokers over plain TCP (`mesh.plaintext: true`, loopback only, for
 *            measurement only [LINK-8]): the baseline that prices TLS.
 * For each mesh, realtime then guaranteed at the same fixed offered rate, then a closed-loop
 * max-throughput run of each. Ratios are of figures from this same run (house rule): guaranteed
 * over realtime (durability), mtls over plain (TLS), mtls over one (the second broker). Each
 * broker's CPU time is read from /proc/<pid>/stat around each run. Every broker is stopped by PID
 * when its mesh is done, and all of them (stopAll) on an error.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess, stopAll } from '../process.ts';
import { type TestMesh, until, writeMesh } from '../testing.ts';
import { type LoadResult, runLoad } from './load.ts';

export type MeshKind = 'one' | 'mtls' | 'plain';
export const MESHES: readonly MeshKind[] = ['one', 'mtls', 'plain'];
export const MESH_LABEL: Readonly<Record<MeshKind, string>> = {
  one: 'one broker',
  mtls: 'two brokers, mTLS',
  plain: 'two brokers, plain TCP',
};

export interface LiveBenchOptions {
  /** Offered events/s of the fixed-rate runs. */
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Closed-loop (max throughput) run length; 0 skips those runs. */
  readonly maxDurationMs: number;
  readonly payloadBytes: number;
  readonly connections: number;
  readonly maxBatch: number;
  readonly meshes?: readonly MeshKind[];
  readonly log?: (line: string) => void;
}

export const DEFAULT_LIVE: LiveBenchOptions = { rate: 250, warmupMs: 2000, durationMs: 10_000, maxDurationMs: 5000, payloadBytes: 500, connections: 4, maxBatch: 500 };
export const QUICK_LIVE: LiveBenchOptions = { ...DEFAULT_LIVE, rate: 200, warmupMs: 300, durationMs: 1000, maxDurationMs: 1500 };

export interface RunFigures extends LoadResult {
  /** CPU seconds per wall second of each broker process during the run (1.0 = one core). */
  readonly brokerCpu: Readonly<Record<string, number>>;
  /** fdatasync calls per delivered event at the publishing broker (null: the broker has no disk store). */
  readonly fsyncsPerEvent: number | null;
}

export interface MeshFigures {
  readonly mesh: MeshKind;
  readonly label: string;
  readonly realtime: RunFigures;
  readonly guaranteed: RunFigures;
  readonly maxRealtime: RunFigures | null;
  readonly maxGuaranteed: RunFigures | null;
}

export interface LiveBenchResult {
  readonly machine: { readonly cores: number; readonly cpu: string; readonly node: string };
  readonly generator: string;
  readonly options: Omit<LiveBenchOptions, 'log'>;
  /** Whether guaranteed acks waited for a disk store's fsync (the broker reports meshtwin_store_fsyncs_total). */
  readonly durableStore: boolean;
  readonly meshes: MeshFigures[];
  /** meshtwin broker processes on this machine not started by this bench (they share its 2 cores). */
  readonly otherBrokers: number;
  /** Same-run ratios of p50/p99/p99.9 latency and of max delivered events/s. */
  readonly ratios: Record<string, { readonly p50: number; readonly p99: number; readonly p999: number; readonly maxThroughput: number | null }>;
}

export const GENERATOR =
  "meshtwin's own (live/bench/load.ts): open-loop CloudEvents batches over keep-alive HTTP, latency at a WebSocket subscriber from each event's due time; not autocannon, which sees only HTTP answers, never the delivery";

const TICKS_PER_S = 100; // USER_HZ on Linux

/** utime + stime of a process, seconds (null where /proc is not there). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

async function metricsText(http: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
}

function metricValue(text: string, name: string): number | null {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      found = true;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return found ? sum : null;
}

interface Started {
  readonly mesh: TestMesh;
  readonly procs: ReadonlyMap<string, BrokerProcess>;
  readonly pub: number;
  readonly sub: number;
  readonly pubId: string;
}

async function startMesh(kind: MeshKind, dir: string): Promise<Started> {
  const ids = kind === 'one' ? ['a'] : ['a', 'b'];
  const links = kind === 'one' ? [] : [{ between: ['a', 'b'] as const, cost: 10 }];
  const mesh = await writeMesh(dir, ids, links, '{ helloInterval: 200ms, deadInterval: 1s }', { plaintext: kind === 'plain' });
  const procs = new Map(ids.map((id) => [id, new BrokerProcess(mesh.broker(id).config)] as const));
  await Promise.all([...procs.values()].map((p) => p.ready));
  const pub = mesh.broker('a').http;
  const sub = mesh.broker(ids[ids.length - 1] as string).http;
  if (kind !== 'one') {
    const routed = async (http: number) => ((await (await fetch(`http://127.0.0.1:${http}/v1/routes`)).json()) as { routes: unknown[] }).routes.length >= 1;
    if (!(await until(async () => (await routed(pub)) && (await routed(sub)), 20_000))) throw new Error(`${kind}: the two brokers did not link within 20 s`);
  }
  return { mesh, procs, pub, sub, pubId: 'a' };
}

/** Resolves once the publishing broker knows a subscription for `topic` (at once on one broker). */
async function interestKnown(s: Started, topic: string): Promise<void> {
  if (s.pub === s.sub) return;
  const known = async () => {
    const body = (await (await fetch(`http://127.0.0.1:${s.pub}/v1/subscriptions`)).json()) as { remote?: Array<{ patterns: number }> };
    return (body.remote ?? []).reduce((n, r) => n + r.patterns, 0) >= 1;
  };
  if (!(await until(known, 10_000))) throw new Error(`interest in ${topic} did not reach the publishing broker within 10 s`);
}

async function measured(s: Started, run: () => Promise<LoadResult>): Promise<RunFigures> {
  const before = new Map([...s.procs].map(([id, p]) => [id, cpuSeconds(p.pid)]));
  const fsyncsBefore = metricValue(await metricsText(s.pub), 'meshtwin_store_fsyncs_total');
  const t0 = performance.now();
  const r = await run();
  const wallS = (performance.now() - t0) / 1000;
  const fsyncsAfter = metricValue(await metricsText(s.pub), 'meshtwin_store_fsyncs_total');
  const brokerCpu: Record<string, number> = {};
  for (const [id, p] of s.procs) {
    const a = before.get(id);
    const b = cpuSeconds(p.pid);
    if (a !== null && a !== undefined && b !== null) brokerCpu[id] = Math.round(((b - a) / wallS) * 100) / 100;
  }
  const fsyncsPerEvent = fsyncsBefore === null || fsyncsAfter === null || r.events.delivered === 0 ? null : (fsyncsAfter - fsyncsBefore) / r.events.delivered;
  return { ...r, brokerCpu, fsyncsPerEvent };
}

const ratio = (a: number, b: number): number => (b > 0 && Number.isFinite(a) ? Math.round((a / b) * 100) / 100 : Number.NaN);

function latencyRatio(a: RunFigures, b: RunFigures, maxA: RunFigures | null, maxB: RunFigures | null) {
  return {
    p50: ratio(a.latencyMs.p50, b.latencyMs.p50),
    p99: ratio(a.latencyMs.p99, b.latencyMs.p99),
    p999: ratio(a.latencyMs.p999, b.latencyMs.p999),
    maxThroughput: maxA === null || maxB === null ? null : ratio(maxA.deliveredPerSecond, maxB.deliveredPerSecond),
  };
}

/** PIDs of `meshtwin.js broker` processes running now (from /proc; empty where there is none). */
function brokerPids(): Set<number> {
  const out = new Set<number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('meshtwin.js')) && cmd.includes('broker')) out.add(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** [BENCH-L2] Runs every mesh; stops every broker it started, also on error. */
export async function benchLive(options: LiveBenchOptions): Promise<LiveBenchResult> {
  const { log = () => {}, ...opts } = options;
  const meshes: MeshFigures[] = [];
  let durableStore = false;
  let seq = 0;
  const others = brokerPids();
  for (const kind of opts.meshes ?? MESHES) {
    const dir = mkdtempSync(join(tmpdir(), `meshtwin-bench-${kind}-`));
    try {
      log(`${MESH_LABEL[kind]}: starting brokers …`);
      const s = await startMesh(kind, dir);
      for (const p of brokerPids()) if (![...s.procs.values()].some((b) => b.pid === p)) others.add(p);
      durableStore ||= metricValue(await metricsText(s.pub), 'meshtwin_store_fsyncs_total') !== null;
      const one = async (guaranteed: boolean, rate: number | 'max'): Promise<RunFigures> => {
        const topic = `bench/${kind}/${seq++}`;
        const closed = rate === 'max';
        log(`${MESH_LABEL[kind]}: ${guaranteed ? 'guaranteed' : 'realtime'} at ${closed ? 'max (closed loop)' : `${rate.toLocaleString('en-US')}/s`} …`);
        return measured(s, () =>
          runLoad({
            publishHttp: s.pub,
            subscribeHttp: s.sub,
            topic,
            guaranteed,
            rate,
            warmupMs: Math.min(opts.warmupMs, 1000),
            durationMs: closed ? opts.maxDurationMs : opts.durationMs,
            payloadBytes: opts.payloadBytes,
            connections: opts.connections,
            maxBatch: closed ? 100 : opts.maxBatch,
            graceMs: 5000,
            subscribed: () => interestKnown(s, topic),
          }),
        );
      };
      // A fresh broker runs its first thousands of events through the JIT: both classes once,
      // unmeasured, so neither measured run pays for it (the first one would, otherwise).
      if (opts.warmupMs > 0) {
        log(`${MESH_LABEL[kind]}: warming up …`);
        for (const g of [false, true]) {
          const topic = `bench/${kind}/${seq++}`;
          await runLoad({
            publishHttp: s.pub,
            subscribeHttp: s.sub,
            topic,
            guaranteed: g,
            rate: opts.rate,
            warmupMs: 0,
            durationMs: opts.warmupMs,
            payloadBytes: opts.payloadBytes,
            connections: opts.connections,
            maxBatch: opts.maxBatch,
            graceMs: 2000,
            subscribed: () => interestKnown(s, topic),
          });
        }
      }
      const realtime = await one(false, opts.rate);
      const guaranteed = await one(true, opts.rate);
      const maxRealtime = opts.maxDurationMs > 0 ? await one(false, 'max') : null;
      const maxGuaranteed = opts.maxDurationMs > 0 ? await one(true, 'max') : null;
      meshes.push({ mesh: kind, label: MESH_LABEL[kind], realtime, guaranteed, maxRealtime, maxGuaranteed });
      for (const p of s.procs.values()) await p.stop();
    } catch (e) {
      await stopAll();
      throw e;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const by = new Map(meshes.map((m) => [m.mesh, m]));
  const ratios: LiveBenchResult['ratios'] = {};
  for (const m of meshes) ratios[`durability (${m.mesh}): guaranteed / realtime`] = latencyRatio(m.guaranteed, m.realtime, m.maxGuaranteed, m.maxRealtime);
  const mtls = by.get('mtls');
  const plain = by.get('plain');
  const one = by.get('one');
  if (mtls !== undefined && plain !== undefined) {
    ratios['TLS, realtime: mtls / plain'] = latencyRatio(mtls.realtime, plain.realtime, mtls.maxRealtime, plain.maxRealtime);
    ratios['TLS, guaranteed: mtls / plain'] = latencyRatio(mtls.guaranteed, plain.guaranteed, mtls.maxGuaranteed, plain.maxGuaranteed);
  }
  if (mtls !== undefined && one !== undefined) {
    ratios['second broker, realtime: mtls / one'] = latencyRatio(mtls.realtime, one.realtime, mtls.maxRealtime, one.maxRealtime);
    ratios['second broker, guaranteed: mtls / one'] = latencyRatio(mtls.guaranteed, one.guaranteed, mtls.maxGuaranteed, one.maxGuaranteed);
  }
  return {
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    generator: GENERATOR,
    options: opts,
    durableStore,
    meshes,
    otherBrokers: others.size,
    ratios,
  };
}
