/**
 * [BENCH-MQ3][BENCH-MQ4] The MQTT section of `bench --live`: its flags, the targets as figures
 * read them, and tiny end-to-end runs (real broker processes; mosquitto when installed, and the
 * table when it is not). No timing thresholds: timing belongs to the bench, not to a test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAllMosquitto } from '../live/bench/mosquitto.ts';
import { benchMqtt, DEFAULT_MQTT, type MqttCase, QUICK_MQTT, targets } from '../live/bench/mqtt-bench.ts';
import { stopAll } from '../live/process.ts';
import { mqttOptions } from './bench-live.ts';
import { mqttTable } from './bench-mqtt.ts';
import { CliError } from './options.ts';
import { findMosquitto } from '../live/bench/mosquitto.ts';

afterAll(async () => {
  await stopAll();
  await stopAllMosquitto();
});

const TINY = { ...QUICK_MQTT, rate: 500, warmupMs: 100, durationMs: 500, maxDurationMs: 300 };

describe('[BENCH-MQ4] bench --live --mqtt flags', () => {
  it('defaults to 20,000 msg/s for 10 s; --quick, --mqtt-rate and --duration change them', () => {
    expect(mqttOptions({})).toEqual(DEFAULT_MQTT);
    expect(mqttOptions({}).rate).toBe(20_000);
    expect(mqttOptions({ quick: true })).toEqual(QUICK_MQTT);
    expect(mqttOptions({ mqttRate: '25_000' }).rate).toBe(25_000);
    expect(mqttOptions({ mqttRate: '5,000', duration: '3s' })).toMatchObject({ rate: 5000, durationMs: 3000 });
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => mqttOptions({ mqttRate: 'fast' })).toThrow(CliError);
    expect(() => mqttOptions({ mqttRate: '0' })).toThrow(/--mqtt-rate: expected a positive number/);
  });
});

describe('[BENCH-MQ3] the targets, read off the figures', () => {
  const run = (p99: number, keptUp = true) => ({ latencyMs: { p99 }, keptUp }) as unknown as MqttCase['fixed'];
  const ours = (p99: number): MqttCase[] => [0, 1].map((qos) => ({ broker: 'meshtwin', topology: 'one', label: 'one broker', qos, fixed: run(p99), max: null }) as MqttCase);
  const ratio = (maxThroughput: number | null) => [{ topology: 'one' as const, qos: 0 as const, deliveredAtRate: 1, p50: 1, p99: 1, maxThroughput, maxPerCpuSecond: 0.8 }];

  it('half of mosquitto QoS 0: met at 0.5×, NOT met below, n/a without the baseline', () => {
    expect(targets([], ratio(0.5), 20_000).halfOfMosquittoQos0).toMatch(/0\.50×; per broker CPU-second 0\.80× \(target ≥ 0\.50×\): met$/);
    expect(targets([], ratio(0.49), 20_000).halfOfMosquittoQos0).toMatch(/NOT met$/);
    expect(targets([], [], 20_000).halfOfMosquittoQos0).toMatch(/^n\/a/);
    expect(targets([], ratio(null), 20_000).halfOfMosquittoQos0).toMatch(/^n\/a/);
  });

  it('p99 < 5 ms: read only at 20,000 msg/s, and only when every run kept up', () => {
    expect(targets(ours(4.9), [], 20_000).p99Under5msAtRate).toMatch(/: met$/);
    expect(targets(ours(5), [], 20_000).p99Under5msAtRate).toMatch(/NOT met$/);
    expect(targets([...ours(1), { ...(ours(1)[0] as MqttCase), fixed: run(1, false) }], [], 20_000).p99Under5msAtRate).toMatch(/NOT met$/);
    expect(targets(ours(1), [], 2000).p99Under5msAtRate).toMatch(/^n\/a at 2,000 msg\/s/);
  });
});

describe('[BENCH-MQ3] benchMqtt end to end, tiny', () => {
  it('measures ours and mosquitto (when installed) in every topology and QoS, ratios from the same run', async () => {
    const r = await benchMqtt(TINY);
    const installed = findMosquitto() !== null;
    expect(r.cases.length).toBe(installed ? 8 : 4);
    for (const c of r.cases) {
      for (const run of [c.fixed, c.max]) {
        expect(run).not.toBeNull();
        if (run === null) continue;
        const what = `${c.broker} ${c.topology} QoS ${c.qos} ${run.offeredPerSecond}: ${JSON.stringify(run.messages)}`;
        expect(run.messages.delivered, what).toBeGreaterThan(0);
        expect(run.messages.delivered, what).toBeLessThanOrEqual(run.messages.sent);
        expect(run.messages.lost).toBe(run.messages.sent - run.messages.delivered);
        expect(run.latencyMs.count).toBe(run.messages.delivered);
        expect(Object.keys(run.brokerCpu).length).toBe(c.topology === 'one' ? 1 : 2);
      }
      expect(c.fixed.offeredPerSecond).toBe(500);
      expect(c.max?.offeredPerSecond).toBe('max');
    }
    expect(r.machine.cores).toBeGreaterThan(0);
    const table = mqttTable(r);
    const rows = table.split('\n').filter((l) => l.startsWith('|'));
    expect(rows.length).toBe(2 + r.cases.length * 2);
    for (const l of rows) expect(l.split('|').length, l).toBe(15); // 13 columns, every row
    expect(table).toMatch(/cores/);
    expect(table).toMatch(/two brokers, mTLS link/);
    expect(table).toMatch(/targets: /);
    if (installed) {
      expect(r.ratios.map((x) => `${x.topology}/${x.qos}`)).toEqual(['one/0', 'one/1', 'two/0', 'two/1']);
      expect(table).toMatch(/ratios ours\/mosquitto in this run/);
      expect(table).toMatch(/two brokers, bridge/);
    }
  }, 180_000);

  it('without mosquitto: says so, measures ours alone', async () => {
    const r = await benchMqtt({ ...TINY, maxDurationMs: 0, topologies: ['one'], mosquitto: '/nonexistent/mosquitto' });
    expect(r.mosquitto).toBeNull();
    expect(r.baselineSkipped).toMatch(/mosquitto is not installed \(no executable \/nonexistent\/mosquitto/);
    expect(r.cases.map((c) => c.broker)).toEqual(['meshtwin', 'meshtwin']);
    expect(r.ratios).toEqual([]);
    expect(mqttTable(r)).toMatch(/baseline: none — mosquitto is not installed/);
  }, 60_000);
});
