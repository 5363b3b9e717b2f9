/**
 * The MQTT section of `meshtwin bench --live` [BENCH-MQ3]: publish→deliver through our broker's
 * MQTT edge and through Debian's mosquitto, measured in the same run by the same generator
 * (mqtt-load.ts), 500 B payloads, MQTT 5.0 clients for both.
 *
 * Topologies, each started fresh and stopped by PID when done (all of them on an error):
 *   one — one broker; publisher and subscriber on it;
 *   two — two brokers; publish on the first, subscribe on the second. Ours: two `meshtwin
 *         broker` processes linked over mutual TLS (the default mesh); mosquitto: its own bridge
 *         (MQTT 3.1.1 over plain TCP, `topic bench/# out 1`).
 * For each topology and broker: an unmeasured warm-up (QoS 0 and 1 at the fixed rate), then QoS 0
 * and QoS 1 at the fixed offered rate (open loop), then each closed loop (max throughput). The
 * same settings for both: an inflight window of `window` QoS 1 messages each way (our edge's
 * default Receive Maximum, mosquitto's `max_inflight_messages`, the subscriber's Receive
 * Maximum), and `queue` messages queued per subscriber. Not the same, by design: our QoS 1
 * PUBACK waits for the disk store's fsync (guaranteed delivery), mosquitto's runs with
 * `persistence false`.
 *
 * Each broker process's CPU time is read from /proc/<pid>/stat around each run, so a throughput
 * can be read per CPU-second ("on one core"): messages delivered in the run over the CPU seconds
 * its brokers spent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess, stopAll } from '../process.ts';
import { freePorts, until, writeMesh } from '../testing.ts';
import { cpuSeconds } from './live-bench.ts';
import { findMosquitto, MOSQUITTO_PATHS, MosquittoProcess, stopAllMosquitto } from './mosquitto.ts';
import { MQTT_PROTOCOL, type MqttLoadResult, runMqttLoad } from './mqtt-load.ts';

export type MqttBroker = 'meshtwin' | 'mosquitto';
export type MqttTopology = 'one' | 'two';
export const MQTT_TOPOLOGIES: readonly MqttTopology[] = ['one', 'two'];
export const MQTT_TOPOLOGY_LABEL: Readonly<Record<MqttBroker, Readonly<Record<MqttTopology, string>>>> = {
  meshtwin: { one: 'one broker', two: 'two brokers, mTLS link' },
  mosquitto: { one: 'one broker', two: 'two brokers, bridge' },
};

export interface MqttBenchOptions {
  /** Messages/s offered in the fixed-rate runs. */
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Closed-loop run length; 0 skips those runs. */
  readonly maxDurationMs: number;
  readonly payloadBytes: number;
  /** QoS 1 messages in flight each way; the closed loop's messages outstanding. */
  readonly window: number;
  /** Messages queued per subscriber (ours `edge.mqttSessionQueue`, mosquitto `max_queued_messages`). */
  readonly queue: number;
  readonly topologies?: readonly MqttTopology[];
  /** The mosquitto binary (default: Debian's, or the first on PATH: findMosquitto). */
  readonly mosquitto?: string;
  readonly log?: (line: string) => void;
}

export const DEFAULT_MQTT: MqttBenchOptions = { rate: 20_000, warmupMs: 2000, durationMs: 10_000, maxDurationMs: 5000, payloadBytes: 500, window: 1000, queue: 100_000 };
export const QUICK_MQTT: MqttBenchOptions = { ...DEFAULT_MQTT, rate: 2000, warmupMs: 300, durationMs: 1000, maxDurationMs: 1000 };

export interface MqttRunFigures extends MqttLoadResult {
  /** CPU seconds per wall second of each broker process during the run (1.0 = one core). */
  readonly brokerCpu: Readonly<Record<string, number>>;
  /** Messages delivered in the run (warm-up included) per CPU-second of all its brokers together. */
  readonly deliveredPerBrokerCpuSecond: number | null;
}

export interface MqttCase {
  readonly broker: MqttBroker;
  readonly topology: MqttTopology;
  readonly label: string;
  readonly qos: 0 | 1;
  readonly fixed: MqttRunFigures;
  readonly max: MqttRunFigures | null;
}

/** Ours over mosquitto, same topology and QoS, same run. */
export interface MqttRatio {
  readonly topology: MqttTopology;
  readonly qos: 0 | 1;
  readonly deliveredAtRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly maxThroughput: number | null;
  readonly maxPerCpuSecond: number | null;
}

export interface MqttBenchResult {
  readonly machine: { readonly cores: number; readonly cpu: string; readonly node: string };
  readonly generator: string;
  readonly protocol: typeof MQTT_PROTOCOL;
  readonly options: Omit<MqttBenchOptions, 'log' | 'mosquitto'>;
  /** The baseline's binary and version; null when it was not measured (see `baselineSkipped`). */
  readonly mosquitto: { readonly path: string; readonly version: string } | null;
  readonly baselineSkipped: string | null;
  readonly cases: MqttCase[];
  readonly ratios: MqttRatio[];
  /** The issue's targets, read off this run's figures. */
  readonly targets: { readonly halfOfMosquittoQos0: string; readonly p99Under5msAtRate: string };
}

export const MQTT_GENERATOR =
  "meshtwin's own (live/bench/mqtt-load.ts): MQTT 5.0 on raw sockets, one publisher and one subscriber connection, pre-encoded PUBLISH batches every 1 ms (open loop; closed loop: a bounded window), latency at the subscriber from each message's due time; not MQTT.js";

interface Target {
  readonly pids: ReadonlyMap<string, number>;
  readonly pubPort: number;
  readonly subPort: number;
  /** Resolves once the publishing broker knows the subscription to `topic` (ours, two brokers). */
  readonly subscribed?: (topic: string) => Promise<void>;
  stop(): Promise<void>;
}

async function startOurs(topology: MqttTopology, dir: string, o: MqttBenchOptions): Promise<Target> {
  const ids = topology === 'one' ? ['a'] : ['a', 'b'];
  const links = topology === 'one' ? [] : [{ between: ['a', 'b'] as const, cost: 10 }];
  const mesh = await writeMesh(dir, ids, links, undefined, { mqtt: { extra: [`mqttSessionQueue: ${o.queue}`, `mqttReceiveMaximum: ${o.window}`] } });
  const procs = ids.map((id) => [id, new BrokerProcess(mesh.broker(id).config)] as const);
  const stop = async () => {
    for (const [, p] of procs) await p.stop();
  };
  try {
    await Promise.all(procs.map(([, p]) => p.ready));
    const pubHttp = mesh.broker('a').http;
    const subId = ids[ids.length - 1] as string;
    if (topology === 'two') {
      const routed = async (http: number) => ((await (await fetch(`http://127.0.0.1:${http}/v1/routes`)).json()) as { routes: unknown[] }).routes.length >= 1;
      if (!(await until(async () => (await routed(pubHttp)) && (await routed(mesh.broker(subId).http)), 20_000))) throw new Error('the two brokers did not link within 20 s');
    }
    return {
      pids: new Map(procs.map(([id, p]) => [id, p.pid])),
      pubPort: mesh.broker('a').mqtt,
      subPort: mesh.broker(subId).mqtt,
      // Every broker also subscribes `$mesh/retained/#`: look for the bench topic by name.
      subscribed:
        topology === 'one'
          ? undefined
          : async (topic) => {
              const known = async () => (await (await fetch(`http://127.0.0.1:${pubHttp}/v1/subscriptions`)).text()).includes(JSON.stringify(topic));
              if (!(await until(known, 10_000))) throw new Error(`the subscription to ${topic} did not reach the publishing broker within 10 s`);
            },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function startMosquitto(bin: string, topology: MqttTopology, dir: string, o: MqttBenchOptions): Promise<Target> {
  const [pa, pb] = (await freePorts(2)) as [number, number];
  const base = { inflight: o.window, queued: o.queue };
  // The subscribing broker first, so the bridge finds it.
  const b = topology === 'two' ? new MosquittoProcess(bin, dir, 'b', { ...base, port: pb }) : null;
  const a = new MosquittoProcess(bin, dir, 'a', { ...base, port: pa, ...(b === null ? {} : { bridgeTo: pb }) });
  const stop = async () => {
    await a.stop();
    await b?.stop();
  };
  try {
    await b?.ready();
    await a.ready();
    return { pids: new Map([['a', a.pid], ...(b === null ? [] : [['b', b.pid] as const])]), pubPort: pa, subPort: b === null ? pa : pb, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

async function measured(t: Target, run: () => Promise<MqttLoadResult>): Promise<MqttRunFigures> {
  const before = new Map([...t.pids].map(([id, pid]) => [id, cpuSeconds(pid)]));
  const t0 = performance.now();
  const r = await run();
  const wallS = (performance.now() - t0) / 1000;
  const brokerCpu: Record<string, number> = {};
  let cpuS = 0;
  let complete = true;
  for (const [id, pid] of t.pids) {
    const a = before.get(id);
    const b = cpuSeconds(pid);
    if (a === null || a === undefined || b === null) {
      complete = false;
      continue;
    }
    brokerCpu[id] = r2((b - a) / wallS);
    cpuS += b - a;
  }
  return { ...r, brokerCpu, deliveredPerBrokerCpuSecond: complete && cpuS > 0 ? Math.round(r.deliveredTotal / cpuS) : null };
}

const ratio = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? r2(a / b) : Number.NaN);

/** [BENCH-MQ3] Every topology, ours then mosquitto; stops every broker it started, also on error. */
export async function benchMqtt(options: MqttBenchOptions): Promise<MqttBenchResult> {
  const { log = () => {}, mosquitto: bin, ...opts } = options;
  const found = bin === undefined ? findMosquitto() : findMosquitto([bin]);
  const where = bin === undefined ? `${MOSQUITTO_PATHS.join(', ')} or on PATH` : bin;
  const baselineSkipped = found !== null ? null : `mosquitto is not installed (no executable ${where}; Debian: apt-get install mosquitto): no baseline, our broker measured alone`;
  if (baselineSkipped !== null) log(`MQTT: ${baselineSkipped}`);
  const cases: MqttCase[] = [];
  let seq = 0;
  for (const topology of opts.topologies ?? MQTT_TOPOLOGIES) {
    const brokers: MqttBroker[] = found === null ? ['meshtwin'] : ['meshtwin', 'mosquitto'];
    for (const broker of brokers) {
      const label = MQTT_TOPOLOGY_LABEL[broker][topology];
      const dir = mkdtempSync(join(tmpdir(), `meshtwin-bench-mqtt-${broker}-${topology}-`));
      let t: Target | null = null;
      try {
        log(`MQTT ${broker}, ${label}: starting …`);
        t = broker === 'meshtwin' ? await startOurs(topology, dir, opts) : await startMosquitto((found as { path: string }).path, topology, dir, opts);
        const target = t;
        const one = (qos: 0 | 1, rate: number | 'max', warmup: boolean) => {
          const topic = `bench/mqtt/${seq++}`;
          return runMqttLoad({
            publishPort: target.pubPort,
            subscribePort: target.subPort,
            topic,
            qos,
            rate,
            warmupMs: warmup ? 0 : Math.min(opts.warmupMs, 1000),
            durationMs: warmup ? opts.warmupMs : rate === 'max' ? opts.maxDurationMs : opts.durationMs,
            payloadBytes: opts.payloadBytes,
            window: opts.window,
            graceMs: 5000,
            ...(target.subscribed === undefined ? {} : { subscribed: () => (target.subscribed as (topic: string) => Promise<void>)(topic) }),
          });
        };
        // Both brokers run their first thousands of messages through caches (ours through the
        // JIT): each QoS once, unmeasured, so neither measured run pays for it.
        if (opts.warmupMs > 0) {
          log(`MQTT ${broker}, ${label}: warming up …`);
          for (const qos of [0, 1] as const) await one(qos, opts.rate, true);
        }
        const runs = new Map<string, MqttRunFigures>();
        const plan: Array<[0 | 1, number | 'max']> = [
          [0, opts.rate],
          [1, opts.rate],
        ];
        if (opts.maxDurationMs > 0) plan.push([0, 'max'], [1, 'max']);
        for (const [qos, rate] of plan) {
          log(`MQTT ${broker}, ${label}: QoS ${qos} at ${rate === 'max' ? 'max (closed loop)' : `${rate.toLocaleString('en-US')}/s`} …`);
          runs.set(`${qos}/${rate}`, await measured(target, () => one(qos, rate, false)));
        }
        for (const qos of [0, 1] as const) {
          cases.push({ broker, topology, label, qos, fixed: runs.get(`${qos}/${opts.rate}`) as MqttRunFigures, max: runs.get(`${qos}/max`) ?? null });
        }
        await t.stop();
      } catch (e) {
        await t?.stop();
        await Promise.all([stopAll(), stopAllMosquitto()]);
        throw e;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const ratios: MqttRatio[] = [];
  for (const c of cases) {
    if (c.broker !== 'meshtwin') continue;
    const m = cases.find((x) => x.broker === 'mosquitto' && x.topology === c.topology && x.qos === c.qos);
    if (m === undefined) continue;
    ratios.push({
      topology: c.topology,
      qos: c.qos,
      deliveredAtRate: ratio(c.fixed.deliveredPerSecond, m.fixed.deliveredPerSecond),
      p50: ratio(c.fixed.latencyMs.p50, m.fixed.latencyMs.p50),
      p99: ratio(c.fixed.latencyMs.p99, m.fixed.latencyMs.p99),
      maxThroughput: c.max === null || m.max === null ? null : ratio(c.max.deliveredPerSecond, m.max.deliveredPerSecond),
      maxPerCpuSecond: c.max?.deliveredPerBrokerCpuSecond == null || m.max?.deliveredPerBrokerCpuSecond == null ? null : ratio(c.max.deliveredPerBrokerCpuSecond, m.max.deliveredPerBrokerCpuSecond),
    });
  }
  return {
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
    generator: MQTT_GENERATOR,
    protocol: MQTT_PROTOCOL,
    options: opts,
    mosquitto: found,
    baselineSkipped,
    cases,
    ratios,
    targets: targets(cases, ratios, opts.rate),
  };
}

/** The issue's two targets, as this run's figures read: met, NOT met, or why they cannot be read. */
export function targets(cases: readonly MqttCase[], ratios: readonly MqttRatio[], rate: number): MqttBenchResult['targets'] {
  const q0 = ratios.find((r) => r.topology === 'one' && r.qos === 0);
  let half: string;
  if (q0 === undefined || q0.maxThroughput === null) half = 'n/a: needs mosquitto and the max-throughput runs, one broker';
  else {
    const perCpu = q0.maxPerCpuSecond === null ? '' : `; per broker CPU-second ${q0.maxPerCpuSecond.toFixed(2)}×`;
    half = `QoS 0 max throughput, one broker: ours/mosquitto ${q0.maxThroughput.toFixed(2)}×${perCpu} (target ≥ 0.50×): ${q0.maxThroughput >= 0.5 ? 'met' : 'NOT met'}`;
  }
  const ours = cases.filter((c) => c.broker === 'meshtwin');
  let p99: string;
  if (rate !== 20_000) p99 = `n/a at ${rate.toLocaleString('en-US')} msg/s: the target, p99 < 5 ms, is at 20,000 msg/s`;
  else if (ours.length === 0) p99 = 'n/a: ours not measured';
  else {
    const parts = ours.map((c) => `${c.topology === 'one' ? 'one broker' : 'two brokers'} QoS ${c.qos} ${Number.isFinite(c.fixed.latencyMs.p99) ? c.fixed.latencyMs.p99.toFixed(2) : '—'} ms`);
    const met = ours.every((c) => c.fixed.latencyMs.p99 < 5 && c.fixed.keptUp);
    p99 = `p99 at 20,000 msg/s, ours: ${parts.join(', ')} (target < 5 ms, all kept up): ${met ? 'met' : 'NOT met'}`;
  }
  return { halfOfMosquittoQos0: half, p99Under5msAtRate: p99 };
}
