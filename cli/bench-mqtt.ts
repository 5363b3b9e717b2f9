/**
 * The MQTT section's table for `meshtwin bench --live` [BENCH-MQ4]: each figure of ours beside
 * mosquitto's from the same run, the ratios ours/mosquitto, the machine's core count and the
 * issue's targets as this run's figures read them.
 */
import type { MqttBenchResult, MqttCase, MqttRunFigures } from '../live/bench/mqtt-bench.ts';

const n = (x: number | null): string => (x !== null && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const ms = (x: number): string => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')) : '—');
const times = (x: number | null): string => (x !== null && Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');

function row(c: MqttCase, r: MqttRunFigures, notes: string[]): string[] {
  const closed = r.offeredPerSecond === 'max';
  const cpu = Object.entries(r.brokerCpu)
    .map(([id, x]) => `${id} ${x.toFixed(2)}`)
    .join(', ');
  let kept = closed ? 'closed loop' : 'yes';
  if (!r.keptUp) {
    notes.push(`[${notes.length + 1}] ${c.label}, ${c.broker}, QoS ${c.qos} at ${closed ? 'max' : `${n(r.offeredPerSecond as number)}/s`}: ${r.behind}`);
    kept = `NO [${notes.length}]`;
  }
  const l = r.latencyMs;
  return [
    c.label,
    `${c.broker}`,
    String(c.qos),
    closed ? 'max' : n(r.offeredPerSecond as number),
    n(r.deliveredPerSecond),
    ms(l.p50),
    ms(l.p99),
    ms(l.max),
    String(r.messages.lost),
    cpu,
    n(r.deliveredPerBrokerCpuSecond),
    r.generatorCpu.toFixed(2),
    kept,
  ];
}

/** The MQTT table: per topology and QoS, the fixed-rate rows then the max rows, ours above mosquitto. */
export function mqttTable(r: MqttBenchResult): string {
  const head = ['topology', 'broker', 'QoS', 'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'broker CPU', 'msg/CPU-s', 'gen CPU', 'kept up'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const topology of ['one', 'two'] as const) {
    for (const qos of [0, 1] as const) {
      const cs = r.cases.filter((c) => c.topology === topology && c.qos === qos);
      for (const c of cs) rows.push(row(c, c.fixed, notes));
      for (const c of cs) if (c.max !== null) rows.push(row(c, c.max, notes));
    }
  }
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((x) => (x[i] ?? '').length)));
  const right = (i: number) => (i >= 2 && i <= 8) || i === 10 || i === 11;
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right(i) ? c.padStart(width[i] as number) : c.padEnd(width[i] as number))).join(' | ')} |`;
  const out = [
    `MQTT (${r.protocol}, ${r.options.payloadBytes} B payloads), ${r.machine.cores} cores (${r.machine.cpu}), node ${r.machine.node}`,
    line(head),
    `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    ...notes,
    '',
  ];
  if (r.mosquitto === null) out.push(`baseline: none — ${r.baselineSkipped ?? 'not measured'}`);
  else {
    out.push(`ratios ours/mosquitto in this run (mosquitto ${r.mosquitto.version}, ${r.mosquitto.path}):`);
    for (const x of r.ratios) {
      const name = `${x.topology === 'one' ? 'one broker' : 'two brokers'}, QoS ${x.qos}`;
      out.push(
        `  ${name.padEnd(22)} at ${r.options.rate.toLocaleString('en-US')}/s: delivered ${times(x.deliveredAtRate)}, p50 ${times(x.p50)}, p99 ${times(x.p99)}; max throughput ${times(x.maxThroughput)}, per broker CPU-second ${times(x.maxPerCpuSecond)}`,
      );
    }
  }
  out.push('');
  out.push(`targets: ${r.targets.halfOfMosquittoQos0}`);
  out.push(`         ${r.targets.p99Under5msAtRate}`);
  out.push('');
  out.push("latency: publish→deliver at the subscriber from each message's due time (open loop); max rows: closed loop (window of " + `${r.options.window} messages), latency from the send`);
  out.push(
    "broker CPU: CPU seconds per wall second of each broker process (1.00 = one core); msg/CPU-s: messages delivered per CPU-second of the brokers together; gen CPU: the generator's own (this process; near 1.00 it, not the broker, may be the limit)",
  );
  out.push(
    `QoS 1: ours acks a PUBLISH once its disk store has it (guaranteed delivery, fsync); mosquitto runs with persistence false. Window ${r.options.window} in flight each way, ${r.options.queue.toLocaleString('en-US')} queued per subscriber, for both`,
  );
  out.push('two brokers: ours over the mesh link (mutual TLS 1.3); mosquitto over its bridge (MQTT 3.1.1, plain TCP)');
  out.push(`generator: ${r.generator}`);
  return `${out.join('\n')}\n`;
}
