/**
 * [LIVE-3] A slow link's bounded write buffer: two LiveHosts over TCP on 127.0.0.1; the receiving
 * end stops reading, so the sender's socket fills (the kernel's buffers, then Node's). Past
 * `writeBufferBytes` queued, realtime data frames are refused and counted (cause queueFull, the
 * name the simulator gives a full link queue), guaranteed ones are kept in custody, not written;
 * nothing is lost silently, and once the receiver reads again every guaranteed event arrives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../engine/broker.ts';
import { LiveHost } from './host.ts';
import { tcpPair, until } from './testing.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('[LIVE-3] a full connection', () => {
  it('refuses realtime frames (counted queueFull) and keeps guaranteed ones in custody until the link drains', async () => {
    const config = (id: string, peer: string): BrokerConfig => ({ id, neighbors: [{ id: peer, cost: 10 }], helloIntervalMs: 100, deadIntervalMs: 60_000, hopLimit: 16, retransmitMs: 300 });
    const got = { realtime: 0, guaranteed: new Set<string>() };
    const us1 = new LiveHost(config('us-1', 'ap-1'), {}, { writeBufferBytes: 256 * 1024 });
    const ap1 = new LiveHost(config('ap-1', 'us-1'), {
      deliver: (_sub, env, guaranteed) => {
        if (guaranteed) got.guaranteed.add(env.id);
        else got.realtime++;
      },
    });
    cleanup.push(
      () => us1.stop(),
      () => ap1.stop(),
    );
    us1.start();
    ap1.start();
    ap1.broker.subscribe(ap1.now(), 'bulk/#', null, 1, 'sub');

    const { client, inbound, close } = await tcpPair();
    cleanup.push(close);
    us1.attach('ap-1', client);
    ap1.attach('us-1', inbound);
    expect(await until(() => us1.broker.inspect().remotePatterns > 0, 5000)).toBe(true);

    // ap-1 stops reading: us-1's connection fills.
    inbound.pause();
    const payload = new Uint8Array(16 * 1024);
    const publish = (id: string, guaranteed: boolean) =>
      us1.broker.handlePublish(us1.now(), { id, source: '/s', type: 't', topic: 'bulk/x', headers: {}, payload, publishedAtMs: us1.now(), guaranteed });
    let realtimePublished = 0;
    for (let i = 0; i < 2000 && us1.drops.queueFull < 10; i++) {
      expect(publish(`r-${i}`, false)).toBe('accepted');
      realtimePublished++;
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
    }
    const link = us1.links.get('ap-1');
    expect(us1.drops.queueFull).toBeGreaterThan(0);
    // Every realtime publish was written or refused (counted): none vanished.
    const realtimeWritten = link?.dataFramesOut ?? 0;
    expect(realtimeWritten + (link?.refusedRealtime ?? 0)).toBe(realtimePublished);
    expect(link?.refusedRealtime).toBe(us1.drops.queueFull);
    expect(us1.queuedBytes('ap-1')).toBeGreaterThan(256 * 1024);
    for (let i = 0; i < 20; i++) expect(publish(`g-${i}`, true)).toBe('accepted');
    expect(link?.deferredGuaranteed).toBeGreaterThanOrEqual(20);

    // ap-1 reads again: what was written arrives, and every guaranteed event, sent again from custody.
    inbound.resume();
    expect(await until(() => got.guaranteed.size === 20, 15_000)).toBe(true);
    expect(await until(() => got.realtime === realtimeWritten, 15_000)).toBe(true);
    expect(us1.broker.inspect().stats.retransmitted).toBeGreaterThan(0);
  }, 40_000);
});
