/**
 * `meshtwin bench --live` [BENCH-L3]: runs live/bench/live-bench.ts (real broker processes on
 * loopback, this process's own open-loop load generator, latency at a WebSocket subscriber from
 * each event's due time) and prints a table or, with `--json`, one JSON object. Every broker it
 * started is stopped by PID at the end, on an error and on Ctrl-C/SIGTERM (stopAll).
 *
 * The default offered rate is what this repo's 2-core machine carried in every configuration
 * (see the README's bench section); `--rate N` offers another, `--quick` runs short and slow to
 * check the bench itself (its figures are not comparable).
 *
 * Then the MQTT section (live/bench/mqtt-bench.ts, table in bench-mqtt.ts): ours vs Debian's
 * mosquitto in the same run; `--mqtt` runs only it, `--mqtt-rate N` sets its offered rate
 * (default 20,000 msg/s). With `--json` its figures are the output's `mqtt` field.
 */
import { benchLive, DEFAULT_LIVE, type LiveBenchResult, type MeshFigures, QUICK_LIVE, type RunFigures } from '../live/bench/live-bench.ts';
import { stopAllMosquitto } from '../live/bench/mosquitto.ts';
import { benchMqtt, DEFAULT_MQTT, type MqttBenchOptions, type MqttBenchResult, QUICK_MQTT } from '../live/bench/mqtt-bench.ts';
import { stopAll } from '../live/process.ts';
import { mqttTable } from './bench-mqtt.ts';
import { CliError } from './options.ts';

export interface BenchLiveOptions {
  readonly json?: boolean;
  readonly quick?: boolean;
  readonly rate?: string;
  readonly duration?: string;
  /** Only the MQTT section. */
  readonly mqtt?: boolean;
  readonly mqttRate?: string;
}

/** What `bench --live --json` prints: the live bench's figures (absent with --mqtt) and the MQTT section's. */
export type BenchLiveOutput = (LiveBenchResult | { readonly machine: MqttBenchResult['machine'] }) & { readonly mqtt: MqttBenchResult };

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const ms = (x: number): string => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')) : '—');

function row(m: MeshFigures, cls: string, r: RunFigures): string[] {
  const offered = r.offeredPerSecond === 'max' ? 'max' : n(r.offeredPerSecond);
  const l = r.latencyMs;
  const cpu = Object.entries(r.brokerCpu)
    .map(([id, c]) => `${id} ${c.toFixed(2)}`)
    .join(', ');
  const kept = r.offeredPerSecond === 'max' ? 'closed loop' : r.keptUp ? 'yes' : `NO: ${r.behind}`;
  return [m.label, cls, offered, n(r.sentPerSecond), n(r.deliveredPerSecond), r.deliveredMiBPerSecond.toFixed(2), ms(l.p50), ms(l.p99), ms(l.p999), ms(l.max), String(r.events.lost), cpu, kept];
}

/** The table: one row per mesh × class × (fixed rate, max). */
export function liveTable(r: LiveBenchResult): string {
  const head = ['mesh', 'class', 'offered/s', 'sent/s', 'delivered/s', 'MiB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'lost', 'broker CPU', 'kept up'];
  const rows: string[][] = [];
  for (const m of r.meshes) {
    rows.push(row(m, 'realtime', m.realtime), row(m, 'guaranteed', m.guaranteed));
    if (m.maxRealtime !== null) rows.push(row(m, 'realtime', m.maxRealtime));
    if (m.maxGuaranteed !== null) rows.push(row(m, 'guaranteed', m.maxGuaranteed));
  }
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((x) => (x[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 2 && i <= 10 ? c.padStart(width[i] as number) : c.padEnd(width[i] as number))).join(' | ')} |`;
  const out = [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), ''];
  out.push('ratios in this run (latency p50 / p99 / p99.9, max delivered events/s):');
  for (const [name, x] of Object.entries(r.ratios)) {
    out.push(`  ${name.padEnd(40)} ${x.p50.toFixed(2)}× / ${x.p99.toFixed(2)}× / ${x.p999.toFixed(2)}×${x.maxThroughput === null ? '' : `, throughput ${x.maxThroughput.toFixed(2)}×`}`);
  }
  out.push('');
  out.push(
    `latency: publish→deliver at a WebSocket subscriber, from each event's due time (open loop), ${r.options.payloadBytes} B of JSON data per event; max rows: closed loop, latency from the send`,
  );
  out.push(`generator: ${r.generator}`);
  out.push(`guaranteed acks ${r.durableStore ? 'wait for the disk store (fdatasync, group commit)' : 'do NOT wait for a disk store in this build (no meshtwin_store_fsyncs_total)'}`);
  if (r.otherBrokers > 0) out.push(`warning: ${r.otherBrokers} other meshtwin broker process(es) were running on this machine during the bench`);
  return `${out.join('\n')}\n`;
}

function positive(flag: string, text: string): number {
  const v = Number(text.replace(/[_,]/g, ''));
  if (!(Number.isFinite(v) && v > 0)) throw new CliError(`${flag}: expected a positive number, found "${text}"`);
  return v;
}

/** The MQTT section's options from the flags (--quick, --duration, --mqtt-rate). */
export function mqttOptions(opts: BenchLiveOptions): MqttBenchOptions {
  const base = opts.quick === true ? QUICK_MQTT : DEFAULT_MQTT;
  return {
    ...base,
    rate: opts.mqttRate === undefined ? base.rate : positive('--mqtt-rate', opts.mqttRate),
    durationMs: opts.duration === undefined ? base.durationMs : positive('--duration', opts.duration.replace(/s$/, '')) * 1000,
  };
}

export async function benchLiveCommand(opts: BenchLiveOptions): Promise<void> {
  const base = opts.quick === true ? QUICK_LIVE : DEFAULT_LIVE;
  const rate = opts.rate === undefined ? base.rate : positive('--rate', opts.rate);
  const durationMs = opts.duration === undefined ? base.durationMs : positive('--duration', opts.duration.replace(/s$/, '')) * 1000;
  const mqtt = mqttOptions(opts);
  if (opts.mqtt === true && opts.rate !== undefined) throw new CliError("--rate is the HTTP bench's offered rate; with --mqtt use --mqtt-rate");
  const log = (s: string) => {
    if (opts.json !== true) process.stderr.write(`${s}\n`);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`meshtwin bench --live: ${sig}, stopping brokers …\n`);
    void Promise.all([stopAll(), stopAllMosquitto()]).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const quick = opts.quick === true ? ' — quick mode, figures not comparable' : '';
    let live: LiveBenchResult | null = null;
    if (opts.mqtt !== true) {
      log(`bench --live: offered ${rate.toLocaleString('en-US')} events/s for ${durationMs / 1000} s per run${quick}`);
      live = await benchLive({ ...base, rate, durationMs, log });
      if (opts.json !== true) process.stdout.write(liveTable(live));
    }
    log(`bench --live, MQTT: offered ${mqtt.rate.toLocaleString('en-US')} msg/s for ${mqtt.durationMs / 1000} s per fixed-rate run${quick}`);
    const m = await benchMqtt({ ...mqtt, log });
    if (opts.json === true) {
      const out: BenchLiveOutput = live === null ? { machine: m.machine, mqtt: m } : { ...live, mqtt: m };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else process.stdout.write(`${live === null ? '' : '\n'}${mqttTable(m)}`);
  } finally {
    await Promise.all([stopAll(), stopAllMosquitto()]);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
