/**
 * [BENCH-L2] `bench --live` end to end with tiny runs: real broker processes (one, two over
 * mTLS, two over plain TCP), the open-loop generator and a WebSocket subscriber; checks the
 * result's shape and that events were delivered in every run (afterAll stops any broker left).
 * No timing thresholds: timing belongs to the bench, not to a test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { benchLive, MESHES, QUICK_LIVE } from '../live/bench/live-bench.ts';
import { stopAll } from '../live/process.ts';
import { liveTable } from './bench-live.ts';

afterAll(() => stopAll());

describe('[BENCH-L2] bench --live --quick', () => {
  it('measures every mesh and class with events delivered, ratios from the same run', async () => {
    const r = await benchLive({ ...QUICK_LIVE, rate: 100, warmupMs: 200, durationMs: 500, maxDurationMs: 1500 });
    expect(r.meshes.map((m) => m.mesh)).toEqual([...MESHES]);
    for (const m of r.meshes) {
      for (const run of [m.realtime, m.guaranteed, m.maxRealtime, m.maxGuaranteed]) {
        expect(run).not.toBeNull();
        if (run === null) continue;
        expect(run.events.delivered, `${m.mesh} ${run.guaranteed ? 'guaranteed' : 'realtime'} ${run.offeredPerSecond}: ${JSON.stringify(run.events)}`).toBeGreaterThan(0);
        expect(run.events.duplicates).toBe(0);
        expect(run.latencyMs.count).toBe(run.events.delivered);
        expect(run.latencyMs.p50).toBeLessThanOrEqual(run.latencyMs.p99);
        expect(run.latencyMs.p99).toBeLessThanOrEqual(run.latencyMs.p999);
        expect(Object.keys(run.brokerCpu).length).toBe(m.mesh === 'one' ? 1 : 2);
      }
      expect(m.realtime.offeredPerSecond).toBe(100);
      expect(m.maxRealtime?.offeredPerSecond).toBe('max');
      expect(m.guaranteed.guaranteed).toBe(true);
    }
    expect(Object.keys(r.ratios)).toEqual(
      expect.arrayContaining(['durability (one): guaranteed / realtime', 'TLS, realtime: mtls / plain', 'TLS, guaranteed: mtls / plain', 'second broker, realtime: mtls / one']),
    );
    expect(r.generator).toMatch(/own/);
    const table = liveTable(r);
    expect(table).toMatch(/two brokers, plain TCP/);
    expect(table).toMatch(/ratios in this run/);
  }, 180_000);
});
