/**
 * [BENCH-MQ1] The MQTT load generator against real broker processes — ours (one `meshtwin broker`
 * with its MQTT edge) and Debian's mosquitto when it is installed — at a small rate for about a
 * second: every message delivered, its latency recorded, the counts consistent. [BENCH-MQ2] The
 * mosquitto child is stopped by its PID. No timing thresholds: timing belongs to the bench.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from '../process.ts';
import { freePorts, writeMesh } from '../testing.ts';
import { findMosquitto, MosquittoProcess, mosquittoConf, stopAllMosquitto } from './mosquitto.ts';
import { type MqttLoadResult, runMqttLoad } from './mqtt-load.ts';

const mosquitto = findMosquitto();
let topics = 0;

function consistent(r: MqttLoadResult, qos: 0 | 1): void {
  const m = r.messages;
  expect(r.qos).toBe(qos);
  expect(m.sent).toBeGreaterThan(0);
  expect(m.delivered).toBeLessThanOrEqual(m.sent);
  expect(m.lost).toBe(m.sent - m.delivered);
  // Loopback, a small rate, a drain: everything arrives, once.
  expect(m.delivered, JSON.stringify(r)).toBe(m.sent);
  expect(m.duplicates).toBe(0);
  expect(r.latencyMs.count).toBe(m.delivered);
  expect(r.fromSendMs.count).toBe(m.delivered);
  expect(r.latencyMs.p50).toBeGreaterThan(0);
  expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
  expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.max);
  expect(r.deliveredTotal).toBeGreaterThanOrEqual(m.delivered);
  if (qos === 1) {
    expect(m.acked + m.refused).toBe(m.sent);
    expect(m.refused).toBe(0);
  } else expect(m.acked).toBe(0);
}

/** The generator's runs against one broker on `port`: QoS 0 and 1 open loop, then a short closed loop. */
function suite(port: () => number): void {
  for (const qos of [0, 1] as const) {
    it(`QoS ${qos}, 500 msg/s for 1 s: every message delivered and timed`, async () => {
      const r = await runMqttLoad({
        publishPort: port(),
        subscribePort: port(),
        topic: `bench/test/${topics++}`,
        qos,
        rate: 500,
        warmupMs: 200,
        durationMs: 1000,
        payloadBytes: 500,
        window: 100,
        graceMs: 5000,
      });
      consistent(r, qos);
      expect(r.offeredPerSecond).toBe(500);
      expect(r.messages.due).toBe(500);
      expect(r.deliveredTotal).toBe(600);
    });
    it(`QoS ${qos}, closed loop for 0.5 s: the window refills, nothing lost`, async () => {
      const r = await runMqttLoad({
        publishPort: port(),
        subscribePort: port(),
        topic: `bench/test/${topics++}`,
        qos,
        rate: 'max',
        warmupMs: 100,
        durationMs: 500,
        payloadBytes: 500,
        window: 50,
        graceMs: 5000,
      });
      consistent(r, qos);
      expect(r.offeredPerSecond).toBe('max');
      expect(r.stalls).toBe(0);
      expect(r.messages.due).toBe(r.messages.sent);
    });
  }
}

describe('[BENCH-MQ1] mqtt-load against our broker', () => {
  let dir = '';
  let port = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtwin-mqtt-load-'));
    const mesh = await writeMesh(dir, ['a'], [], undefined, { mqtt: {} });
    await new BrokerProcess(mesh.broker('a').config).ready;
    port = mesh.broker('a').mqtt;
  });
  afterAll(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });
  suite(() => port);

  it('refuses what it cannot measure', async () => {
    const base = { publishPort: port, subscribePort: port, topic: 'bench/test/x', qos: 0 as const, rate: 10, warmupMs: 0, durationMs: 10, payloadBytes: 500, window: 10, graceMs: 10 };
    await expect(runMqttLoad({ ...base, payloadBytes: 23 })).rejects.toThrow(/at least 24/);
    await expect(runMqttLoad({ ...base, rate: 0 })).rejects.toThrow(/rate/);
    await expect(runMqttLoad({ ...base, window: 0 })).rejects.toThrow(/window/);
  });
});

describe.skipIf(mosquitto === null)("[BENCH-MQ2] mqtt-load against Debian's mosquitto", () => {
  let dir = '';
  let proc: MosquittoProcess | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshtwin-mqtt-load-mosquitto-'));
    const [port] = (await freePorts(1)) as [number];
    proc = new MosquittoProcess((mosquitto as { path: string }).path, dir, 'a', { port, inflight: 100, queued: 10_000 });
    await proc.ready();
  });
  afterAll(async () => {
    const pid = proc?.pid;
    await stopAllMosquitto();
    // Stopped by its PID: the process is gone.
    expect(proc?.alive).toBe(false);
    if (pid !== undefined) expect(() => process.kill(pid, 0)).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
  suite(() => proc?.config.port ?? 0);
});

describe('[BENCH-MQ2] mosquitto config', () => {
  it('listens on loopback only, keeps nothing on disk, and bridges bench/# out when asked', () => {
    const one = mosquittoConf({ port: 1883, inflight: 1000, queued: 100_000 });
    expect(one).toMatch(/^listener 1883 127\.0\.0\.1$/m);
    expect(one).toMatch(/^persistence false$/m);
    expect(one).toMatch(/^max_inflight_messages 1000$/m);
    expect(one).toMatch(/^max_queued_messages 100000$/m);
    expect(one).not.toMatch(/connection/);
    const bridged = mosquittoConf({ port: 1883, inflight: 1000, queued: 100_000, bridgeTo: 1884 });
    expect(bridged).toMatch(/^address 127\.0\.0\.1:1884$/m);
    expect(bridged).toMatch(/^topic bench\/# out 1$/m);
  });
});
