/**
 * One MQTT load run of `meshtwin bench --live` [BENCH-MQ1]: one publisher connection and one
 * subscriber connection (MQTT 5.0, raw `net` sockets; mqtt-packet encodes and decodes only the
 * handshake), in this process, against a broker already running — ours or any other, the same
 * bytes for both.
 *
 * The hot path allocates per batch, not per message: each PUBLISH is a copy of one pre-encoded
 * packet (topic, packet id slot, empty properties, payload) with the message's fields written in
 * place, a batch of them is one Buffer and one socket write; the subscriber reads PUBLISH and
 * PUBACK frames in place (no packet objects) and answers a chunk's QoS 1 deliveries with one
 * write of PUBACKs.
 *
 * Payload (`payloadBytes`, ≥ 24; its first byte is not `{`, so no broker reads it as JSON):
 *   0      kind (0 a message of the run, 1 a probe)
 *   4..8   sequence number, uint32 LE
 *   8..16  due time, float64 LE, ms of `performance.now()` (monotonic, hrtime-based)
 *   16..24 send time, same clock; the rest is zeros.
 * One clock: publisher and subscriber are in this process, and the subscriber reads the same
 * clock on receipt.
 *
 * Open loop (`rate` a number): message i is due at `start + i / rate`; a 1 ms timer sends every
 * message due, in one batch. The publisher waits only when the socket pushes back (write returned
 * false, until 'drain') or, at QoS 1, when `window` messages are waiting for their PUBACK; the
 * latency is from the due time, so a broker that holds the publisher back cannot hide that delay
 * (no coordinated omission). Closed loop (`rate: 'max'`): at most `window` messages sent and not
 * yet delivered (and at QoS 1 at most `window` unacknowledged), refilled as deliveries arrive;
 * latency from the send. Before the load, probe messages go out until one arrives, so a bridge or
 * mesh link is known to carry the topic.
 *
 * Counting: messages of the window (due, or sent for the closed loop, within
 * [start + warmup, start + warmup + duration)); after the window the run waits up to `graceMs`
 * for the last deliveries (and PUBACKs), then `lost` = sent − delivered of the window.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type LatencyMs, newHistogram, summary } from './load.ts';
import { BenchClient, publishTemplate } from './mqtt-wire.ts';

export const MQTT_PROTOCOL = 'MQTT 5.0';

export interface MqttLoadOptions {
  /** Loopback port the publisher connects to. */
  readonly publishPort: number;
  /** Loopback port the subscriber connects to (the same for one broker). */
  readonly subscribePort: number;
  /** A topic no other run uses; the subscriber subscribes to exactly it. */
  readonly topic: string;
  readonly qos: 0 | 1;
  /** Messages per second offered, or 'max' (closed loop). */
  readonly rate: number | 'max';
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Bytes of each PUBLISH's payload (at least 24). */
  readonly payloadBytes: number;
  /**
   * QoS 1: most PUBLISHes waiting for their PUBACK (also the subscriber's Receive Maximum);
   * closed loop: most messages sent and not yet delivered.
   */
  readonly window: number;
  /** How long to wait for the last deliveries after the window. */
  readonly graceMs: number;
  /** Called once subscribed, before the probe (e.g. until a remote broker knows the subscription). */
  readonly subscribed?: () => Promise<void>;
}

export interface MqttLoadResult {
  readonly protocol: typeof MQTT_PROTOCOL;
  readonly qos: 0 | 1;
  readonly offeredPerSecond: number | 'max';
  readonly windowSeconds: number;
  /** Messages of the window written to the socket, per second of window. */
  readonly sentPerSecond: number;
  /** Messages of the window delivered, per second of window (closed loop: per second until the last of them arrived). */
  readonly deliveredPerSecond: number;
  readonly deliveredMiBPerSecond: number;
  /** Counts over the window (acked/refused: QoS 1 PUBACKs, success and reason code ≥ 0x80). */
  readonly messages: { readonly due: number; readonly sent: number; readonly acked: number; readonly refused: number; readonly delivered: number; readonly lost: number; readonly duplicates: number };
  /** Messages delivered in the whole run, warm-up included (what the broker CPU time was spent on). */
  readonly deliveredTotal: number;
  /** Wall seconds from the first message sent to the end of the drain. */
  readonly runSeconds: number;
  /** The generator offered the rate and everything sent arrived. */
  readonly keptUp: boolean;
  readonly behind: string | null;
  /** Publish→deliver: from the due time (open loop), from the send (closed loop). */
  readonly latencyMs: LatencyMs;
  /** Publish→deliver from the send. */
  readonly fromSendMs: LatencyMs;
  /** How late the generator sent (send − due). */
  readonly sendLagMs: LatencyMs;
  /** Closed loop: times the window stalled 500 ms with nothing delivered and was reopened (messages lost on the way). */
  readonly stalls: number;
  /** Times the publisher's socket pushed back (write returned false: wait for 'drain'). */
  readonly pushbacks: number;
  /** Times the QoS 1 window was full when messages were due (wait for PUBACKs). */
  readonly windowFull: number;
  /** This process's CPU seconds per wall second during the run (the generator's own cost). */
  readonly generatorCpu: number;
  /** This process's event-loop delay p99 (ms): the measurement's noise floor. */
  readonly benchLoopDelayP99Ms: number;
}

const KIND_RUN = 0;
const KIND_PROBE = 1;
const PAYLOAD_MIN = 24;
const MAX_BATCH = 512;

let clients = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** [BENCH-MQ1] One run: connect both, subscribe, probe, offer the load, drain, report. */
export async function runMqttLoad(o: MqttLoadOptions): Promise<MqttLoadResult> {
  const closedLoop = o.rate === 'max';
  const rate = closedLoop ? 0 : (o.rate as number);
  if (!closedLoop && !(rate > 0)) throw new RangeError(`rate must be > 0 or 'max', got ${o.rate}`);
  if (o.payloadBytes < PAYLOAD_MIN) throw new RangeError(`payloadBytes must be at least ${PAYLOAD_MIN}`);
  if (!(o.window >= 1 && o.window <= 65_535)) throw new RangeError(`window must be 1..65535, got ${o.window}`);
  const tag = `${process.pid}-${clients++}`;
  const sub = (await BenchClient.open(o.subscribePort, `meshtwin-bench-sub-${tag}`, o.window)).client;
  let pub: BenchClient | null = null;
  try {
    const opened = await BenchClient.open(o.publishPort, `meshtwin-bench-pub-${tag}`, 65_535);
    pub = opened.client;
    // The broker's Receive Maximum bounds our QoS 1 window [MQTT-3.3.4-7].
    const pubWindow = Math.min(o.window, opened.connack.properties?.receiveMaximum ?? 65_535);
    await sub.subscribe(o.topic, o.qos);
    await o.subscribed?.();
    return await load(o, pub, sub, pubWindow, closedLoop, rate);
  } finally {
    await Promise.all([sub.close(), pub?.close()]);
  }
}

/** The first error of either connection (read fresh: it is set from socket events). */
function failure(pub: BenchClient, sub: BenchClient): Error | null {
  return pub.error ?? sub.error;
}

async function load(o: MqttLoadOptions, pub: BenchClient, sub: BenchClient, pubWindow: number, closedLoop: boolean, rate: number): Promise<MqttLoadResult> {
  const latency = newHistogram();
  const fromSend = newHistogram();
  const sendLag = newHistogram();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const tpl = publishTemplate(o.topic, o.qos, o.payloadBytes);
  const len = tpl.bytes.length;
  const pa = tpl.payloadAt;

  // Probe until the path carries the topic (a bridge connected, a remote subscription known).
  let probed = false;
  sub.onPublish = (buf, _qos, _id, from) => {
    if (buf[from] === KIND_PROBE) probed = true;
  };
  const probe = Buffer.from(publishTemplate(o.topic, 0, o.payloadBytes).bytes);
  probe[probe.length - o.payloadBytes] = KIND_PROBE;
  const probeEnd = performance.now() + 10_000;
  while (!probed) {
    const e = failure(pub, sub);
    if (e !== null) throw e;
    if (performance.now() > probeEnd) throw new Error(`no probe on ${o.topic} arrived within 10 s`);
    pub.socket.write(probe);
    await sleep(20);
  }
  await sleep(50); // late probes out of the way

  let capacity = closedLoop ? 1 << 20 : Math.ceil(((o.warmupMs + o.durationMs) / 1000) * rate) + 1;
  let got = new Uint8Array(capacity);
  let inWindow = new Uint8Array(capacity);
  const grow = (n: number): void => {
    if (n < capacity) return;
    while (capacity <= n) capacity *= 2;
    const g = (a: Uint8Array) => {
      const b = new Uint8Array(capacity);
      b.set(a);
      return b;
    };
    got = g(got);
    inWindow = g(inWindow);
  };
  const idBusy = new Uint8Array(65_536);
  /** Window membership of each packet id in flight (PUBACK counting). */
  const idInWindow = new Uint8Array(65_536);

  const startMs = performance.now() + 5;
  const windowStartMs = startMs + o.warmupMs;
  const endMs = windowStartMs + o.durationMs;
  const total = closedLoop ? Number.POSITIVE_INFINITY : Math.ceil(((o.warmupMs + o.durationMs) / 1000) * rate);
  const dueOf = (i: number): number => startMs + (i * 1000) / rate;
  // Open loop: the window's messages by their index (due times are floats: comparing them with
  // the window's ends would count a boundary message in or out by rounding).
  const firstInWindow = Math.ceil((o.warmupMs * rate) / 1000);
  const endOfWindow = Math.ceil(((o.warmupMs + o.durationMs) * rate) / 1000);

  let next = 0; // next sequence number to send
  let pubInflight = 0;
  let writable = true;
  let stopped = false; // closed loop: the window is over
  let deliveredAll = 0;
  let delivered = 0;
  let duplicates = 0;
  let acked = 0;
  let refused = 0;
  let sentInWindow = 0;
  let lastWindowDeliveryMs = 0;
  let forgiven = 0; // closed loop: messages given up on after a stall
  let stalls = 0;
  let pushbacks = 0;
  let windowFull = 0;

  sub.onPublish = (buf, _qos, _id, from) => {
    if (buf[from] !== KIND_RUN) return;
    const i = buf.readUInt32LE(from + 4);
    const at = performance.now();
    if (got[i] === 1) {
      duplicates++;
      return;
    }
    got[i] = 1;
    deliveredAll++;
    if (inWindow[i] !== 1) return;
    delivered++;
    lastWindowDeliveryMs = at;
    latency.recordValue(Math.max(1, Math.round((at - buf.readDoubleLE(from + 8)) * 1000)));
    fromSend.recordValue(Math.max(1, Math.round((at - buf.readDoubleLE(from + 16)) * 1000)));
  };
  pub.onPuback = (id, rc) => {
    if (idBusy[id] !== 1) return;
    idBusy[id] = 0;
    pubInflight--;
    if (idInWindow[id] === 1) {
      if (rc >= 0x80) refused++;
      else acked++;
    }
  };
  pub.socket.on('drain', () => {
    writable = true;
    pump();
  });

  /** Sends what is due (open loop) or what the window allows (closed loop), in batches. */
  function pump(): void {
    while (writable) {
      const now = performance.now();
      let n: number;
      if (closedLoop) {
        if (stopped) return;
        if (now >= endMs) {
          stopped = true;
          return;
        }
        n = o.window - (next - deliveredAll - forgiven);
      } else {
        const dueCount = Math.min(total, Math.floor(((now - startMs) * rate) / 1000) + 1);
        n = dueCount - next;
      }
      if (o.qos > 0 && n > pubWindow - pubInflight) {
        n = pubWindow - pubInflight;
        if (n <= 0) windowFull++;
      }
      if (n <= 0) return;
      n = Math.min(n, MAX_BATCH);
      grow(next + n);
      const buf = Buffer.allocUnsafe(n * len);
      for (let k = 0, off = 0; k < n; k++, off += len) {
        const i = next++;
        const due = closedLoop ? now : dueOf(i);
        tpl.bytes.copy(buf, off);
        buf.writeUInt32LE(i, off + pa + 4);
        buf.writeDoubleLE(due, off + pa + 8);
        buf.writeDoubleLE(now, off + pa + 16);
        const counted = closedLoop ? due >= windowStartMs && due < endMs : i >= firstInWindow && i < endOfWindow;
        if (counted) {
          inWindow[i] = 1;
          sentInWindow++;
          sendLag.recordValue(Math.max(1, Math.round((now - due) * 1000)));
        }
        if (o.qos > 0) {
          const id = (i % 65_535) + 1;
          buf.writeUInt16BE(id, off + tpl.idAt);
          idBusy[id] = 1;
          idInWindow[id] = counted ? 1 : 0;
          pubInflight++;
        }
      }
      writable = pub.socket.write(buf);
      if (!writable) pushbacks++;
    }
  }
  if (closedLoop) sub.onChunk = pump;
  if (o.qos > 0) pub.onChunk = pump;

  const cpu0 = process.cpuUsage();
  loop.enable();
  await sleep(Math.max(0, startMs - performance.now()));
  const sendEnd = closedLoop ? endMs : endMs + o.graceMs;
  let lastProgress = performance.now();
  let lastDelivered = -1;
  for (;;) {
    const e = failure(pub, sub);
    if (e !== null) throw e;
    pump();
    const now = performance.now();
    if (closedLoop ? stopped || now >= endMs : next >= total || now >= sendEnd) break;
    if (closedLoop) {
      if (deliveredAll !== lastDelivered) {
        lastDelivered = deliveredAll;
        lastProgress = now;
      } else if (now - lastProgress > 500 && next - deliveredAll - forgiven >= o.window) {
        stalls++;
        forgiven = next - deliveredAll;
        lastProgress = now;
      }
    }
    await sleep(1);
  }
  const unsent = closedLoop ? 0 : total - next;
  // Drain: every message of the window delivered (and PUBACKed), or the grace is over.
  const graceEnd = performance.now() + o.graceMs;
  while (performance.now() < graceEnd && (delivered < sentInWindow || pubInflight > 0) && failure(pub, sub) === null) await sleep(5);
  const runSeconds = (performance.now() - startMs) / 1000;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);

  const windowSeconds = o.durationMs / 1000;
  const due = closedLoop ? sentInWindow : endOfWindow - firstInWindow;
  const deliverySeconds = closedLoop ? Math.max(windowSeconds, (lastWindowDeliveryMs - windowStartMs) / 1000) : windowSeconds;
  const lost = sentInWindow - delivered;
  const reasons: string[] = [];
  if (!closedLoop) {
    if (sentInWindow < 0.99 * due) reasons.push(`sent ${sentInWindow} of ${due} due messages`);
    if (unsent > 0) reasons.push(`${unsent} messages never sent`);
    const lagP99 = sendLag.totalCount > 0 ? sendLag.getValueAtPercentile(99) / 1000 : 0;
    if (lagP99 > 10) {
      const why = [`socket pushed back ${pushbacks}×`, ...(o.qos > 0 ? [`QoS 1 window full ${windowFull}×`] : []), `this process's event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms`];
      reasons.push(`send lag p99 ${lagP99.toFixed(1)} ms (${why.join(', ')})`);
    }
  }
  if (lost > 0) reasons.push(`${lost} lost`);
  if (refused > 0) reasons.push(`${refused} refused by PUBACK`);
  if (o.qos > 0 && pubInflight > 0) reasons.push(`${pubInflight} PUBACKs missing`);
  if (stalls > 0) reasons.push(`window stalled ${stalls}×`);
  const failed = failure(pub, sub);
  if (failed !== null) reasons.push(failed.message);
  return {
    protocol: MQTT_PROTOCOL,
    qos: o.qos,
    offeredPerSecond: closedLoop ? 'max' : rate,
    windowSeconds,
    sentPerSecond: sentInWindow / windowSeconds,
    deliveredPerSecond: delivered / deliverySeconds,
    deliveredMiBPerSecond: (delivered * o.payloadBytes) / deliverySeconds / (1024 * 1024),
    messages: { due, sent: sentInWindow, acked, refused, delivered, lost, duplicates },
    deliveredTotal: deliveredAll,
    runSeconds,
    keptUp: reasons.length === 0,
    behind: reasons.length === 0 ? null : reasons.join('; '),
    latencyMs: summary(latency),
    fromSendMs: summary(fromSend),
    sendLagMs: summary(sendLag),
    stalls,
    pushbacks,
    windowFull,
    generatorCpu: Math.round(((cpu.user + cpu.system) / 1e6 / runSeconds) * 100) / 100,
    benchLoopDelayP99Ms: Math.round(loop.percentile(99) / 1000) / 1000,
  };
}
