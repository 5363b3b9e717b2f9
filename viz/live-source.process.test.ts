/**
 * [VIZ-LIVE-1..7] The live view's snapshot source on a real live run: a LiveRun of a tiny
 * two-broker scenario (broker processes, shapers, clients), the source attached through the
 * run's onReady. The topology comes from the brokers, us-1 → eu-1 carries data at a rate the
 * scrapes see, the charts' points carry events per second, and faults done through the source
 * (a link cut, a partition, a crash, a restart) show in the next snapshots; after `finish`, one
 * last snapshot, then none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopAll } from '../live/process.ts';
import { LiveRun } from '../live/run/run.ts';
import { loadScenario } from '../scenarios/load.ts';
import { writeTinyLive } from '../test/tiny-live.ts';
import { LiveSource } from './live-source.ts';
import type { LiveSnapshot } from './session.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-vizlive-src-'));
afterAll(async () => {
  await stopAll(1000);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LiveSource on a live run', () => {
  it('draws the running mesh from its brokers, and a fault through the view shows at once', async () => {
    const scenario = loadScenario(writeTinyLive(dir));
    let source: LiveSource | undefined;
    const run = new LiveRun(scenario, { seed: 7, durationMs: 10_000, workDir: join(dir, 'mesh'), onReady: (view) => source?.attach(view) });
    source = new LiveSource({ scenario: run.scenario, seed: 7, durationMs: 10_000, scrapeMs: 500 });
    const out = { hellos: 0, notices: [] as string[], building: [] as string[], finished: [] as string[] };
    source.bind({
      notice: (t) => out.notices.push(t),
      building: (t) => out.building.push(t),
      hello: () => out.hellos++,
      finished: (t) => out.finished.push(t),
    });
    const src = source;
    expect(src.hello()).toBeNull();
    expect(src.waiting()).toMatch(/starting the live mesh: 2 broker processes, 2 link shapers/);
    const snaps: LiveSnapshot[] = [];
    const ticker = setInterval(() => {
      const s = src.tick();
      if (s !== null) snaps.push(s);
    }, 100);
    const result = run.run();
    result.catch(() => {});
    const wait = async (what: string, cond: () => boolean, ms = 40_000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(snaps[snaps.length - 1])?.slice(0, 600)}`);
        await sleep(50);
      }
    };
    const last = () => snaps[snaps.length - 1] as LiveSnapshot;
    try {
      // [VIZ-LIVE-1] The topology, from the brokers' /v1/topology and the scenario's regions.
      await wait('the first hello', () => out.hellos > 0);
      const hello = src.hello();
      expect(hello).not.toBeNull();
      const topo = hello?.topology;
      expect(topo?.brokers.map((b) => [b.id, b.region])).toEqual([
        ['us-1', 'us-east-1'],
        ['eu-1', 'eu-west-1'],
      ]);
      expect(topo?.links.map((l) => [l.a, l.b, l.wan, l.rttMs, l.bandwidthBps])).toEqual([['us-1', 'eu-1', true, 40, 100e6]]);
      expect(topo?.directions.map((d) => `${d.from}>${d.to}`)).toEqual(['us-1>eu-1', 'eu-1>us-1']);
      expect(topo?.regions[0]?.location).toEqual({ lat: 38.9, lon: -77.4 });
      expect(hello?.snapshot.live?.processes).toBe(2);

      // [VIZ-LIVE-2][VIZ-LIVE-4] Traffic: us-1 → eu-1 carries 200 events/s of 500 B (≈ 0.9 Mbps with framing), eu-1 → us-1 control only.
      await wait('a rate on us-1 > eu-1', () => snaps.some((s) => s.phase === 'traffic' && (s.directions[0]?.dataMbps ?? 0) > 0.3));
      const busy = snaps.find((s) => s.phase === 'traffic' && (s.directions[0]?.dataMbps ?? 0) > 0.3) as LiveSnapshot;
      expect(busy.directions[0]?.up).toBe(true);
      expect(busy.directions[0]?.mbps).toBeLessThan(5);
      expect(busy.directions[1]?.dataMbps).toBe(0);
      expect(busy.brokers.map((b) => b.alive)).toEqual([true, true]);
      await wait('published and delivered per second', () => (last().live?.publishedPerSecond ?? 0) > 100 && (last().live?.deliveredPerSecond ?? 0) > 100);
      expect(last().totals.published).toBeGreaterThan(0);
      expect(last().brokers[0]?.routes).toEqual([['eu-1', 'eu-1']]);
      const h = src.hello()?.history ?? [];
      expect(h.length).toBeGreaterThan(0);
      expect(h.some((p) => (p.rates?.published ?? 0) > 0 && (p.mbps[0] ?? 0) > 0)).toBe(true);

      // Controls a live run cannot take, and faults that do not apply, are refused with a reason.
      expect(await src.control({ kind: 'pause' }, 'test')).toEqual({ ok: false, error: expect.stringMatching(/cannot be paused/) });
      expect(await src.control({ kind: 'fault', action: 'link-up', target: ['us-1', 'eu-1'] }, 'test')).toEqual({ ok: false, error: 'us-1 – eu-1 is already up' });
      expect(await src.control({ kind: 'fault', action: 'crash', target: ['nope'] }, 'test')).toEqual({ ok: false, error: 'no broker "nope"' });

      // [VIZ-LIVE-6] Cut the link through the view: the next snapshot draws it down, with the fault in its events.
      const n = snaps.length;
      expect(await src.control({ kind: 'fault', action: 'link-down', target: ['us-1', 'eu-1'] }, 'test')).toEqual({ ok: true });
      await wait('the cut drawn', () => snaps.length > n && last().directions.every((d) => !d.up));
      expect(last().directions.map((d) => d.mbps)).toEqual([0, 0]);
      expect(snaps.slice(n).flatMap((s) => s.events.map((e) => e.text))).toContain('link-down us-1 – eu-1 (from the view)');
      expect(out.notices.some((t) => /^test: link-down us-1 – eu-1 at \d+\.\d{3} s$/.test(t))).toBe(true);
      expect(await src.control({ kind: 'fault', action: 'link-down', target: ['us-1', 'eu-1'] }, 'test')).toEqual({ ok: false, error: 'us-1 – eu-1 is already down' });
      expect(await src.control({ kind: 'fault', action: 'link-up', target: ['eu-1', 'us-1'] }, 'test')).toEqual({ ok: true });
      await wait('the link drawn up again', () => last().directions.every((d) => d.up), 10_000);

      // A region cut off from the rest, and joined again.
      expect(await src.control({ kind: 'fault', action: 'partition', target: ['eu-west-1'] }, 'test')).toEqual({ ok: true });
      await wait('the partition drawn', () => last().directions.every((d) => !d.up), 2000);
      expect(await src.control({ kind: 'fault', action: 'partition', target: ['eu-west-1'] }, 'test')).toEqual({ ok: false, error: 'eu-west-1 is already cut off' });
      expect(await src.control({ kind: 'fault', action: 'heal', target: ['eu-west-1'] }, 'test')).toEqual({ ok: true });
      await wait('the partition healed', () => last().directions.every((d) => d.up), 10_000);

      // A crash: the broker's process is gone, drawn down, and so are its links.
      expect(await src.control({ kind: 'fault', action: 'crash', target: ['eu-1'] }, 'test')).toEqual({ ok: true });
      await wait('eu-1 drawn down', () => last().brokers[1]?.alive === false && last().directions.every((d) => !d.up), 5000);
      expect(last().live?.running).toBe(1);
      const deliveredBefore = last().brokers[1]?.deliveries ?? 0;
      expect(deliveredBefore).toBeGreaterThan(0);

      // A restart: a new process on the same config; drawn alive again, its counters added to the last life's.
      expect(await src.control({ kind: 'fault', action: 'restart', target: ['eu-1'] }, 'test')).toEqual({ ok: true });
      await wait('eu-1 drawn alive', () => last().brokers[1]?.alive === true, 5000);
      await wait('eu-1 delivering again', () => (last().brokers[1]?.deliveries ?? 0) > deliveredBefore && (last().directions[0]?.dataMbps ?? 0) > 0.1, 15_000);
      expect(snaps.flatMap((s) => s.events.map((e) => e.text))).toContain('eu-1: process running again');
      expect(src.viewFaults.map((f) => f.action)).toEqual(['link-down', 'link-up', 'partition', 'heal', 'crash', 'restart']);

      const r = await result;
      expect(r.mode).toBe('live');
      // [VIZ-LIVE-6] Past the window, faults are refused.
      expect(await src.control({ kind: 'fault', action: 'crash', target: ['eu-1'] }, 'test')).toEqual({ ok: false, error: expect.stringMatching(/window is over/) });
      // [VIZ-LIVE-7] finish: one last snapshot ("done"), then none.
      src.finish('run finished');
      expect(out.finished).toEqual(['run finished']);
      await wait('the last snapshot', () => last().phase === 'done', 2000);
      const count = snaps.length;
      await sleep(400);
      expect(snaps.length).toBe(count);
      expect(last().live?.finished).toBe(true);
      expect(src.hello()?.snapshot.phase).toBe('done');
    } finally {
      clearInterval(ticker);
      src.close();
      await run.abort();
    }
  }, 90_000);
});
