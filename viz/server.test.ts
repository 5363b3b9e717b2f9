/** The live server as browsers use it: a real express + socket.io server on an ephemeral port. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import { loadScenario } from '../scenarios/load.ts';
import { startVizServer, type Hello, type VizServer } from './server.ts';
import type { LiveSnapshot } from './session.ts';

const small = loadScenario('scenarios/global-3-region-small.yaml');
let server: VizServer;
const clients: Socket[] = [];

async function client(): Promise<{ socket: Socket; hello: Hello; snaps: LiveSnapshot[] }> {
  const socket = connect(server.url, { transports: ['websocket'], forceNew: true });
  clients.push(socket);
  const snaps: LiveSnapshot[] = [];
  socket.on('snapshot', (s: LiveSnapshot) => snaps.push(s));
  const hello = await new Promise<Hello>((resolve) => socket.once('hello', resolve));
  return { socket, hello, snaps };
}

function emit<T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve) => socket.emit(event, ...args, resolve));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  // Publishers in this scenario stop at 120 s; the run stays within it.
  server = await startVizServer({ scenario: small, seed: 42, durationMs: 110_000, speed: 1, port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
});

describe('viz server', () => {
  it("serves the page, d3, the world map and socket.io's client from this server (no CDN)", async () => {
    const html = await (await fetch(server.url)).text();
    expect(html).toContain('<svg id="map"');
    const srcs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(srcs.length).toBeGreaterThan(5);
    for (const src of srcs) {
      expect(src).toMatch(/^\//);
      const r = await fetch(new URL(src, server.url));
      expect(r.status, src).toBe(200);
    }
    expect(srcs).toContain('/vendor/d3.min.js');
    expect(srcs).toContain('/socket.io/socket.io.min.js');
    const land = (await (await fetch(new URL('/vendor/land-110m.json', server.url))).json()) as { type: string };
    expect(land.type).toBe('Topology');
  });

  it('greets each browser with the topology and streams snapshots at most 10 a second, even flat out', async () => {
    const a = await client();
    const b = await client();
    expect(a.hello.topology.brokers.map((x) => x.id)).toEqual(['us-1', 'us-2', 'eu-1', 'ap-1']);
    expect(b.hello.topology.links).toHaveLength(4);
    expect(await emit(a.socket, 'speed', 'max')).toEqual({ ok: true });
    const n0 = a.snaps.length;
    const t0 = a.hello.snapshot.t;
    const w0 = performance.now();
    await sleep(2000);
    const wall = (performance.now() - w0) / 1000;
    const got = a.snaps.length - n0;
    // [VIZ-3] At most 10 per second (+1 for timer phase), and the simulator's slices leave the
    // timer room to fire while it runs flat out (3 a second at least, even on a busy machine).
    expect(got).toBeLessThanOrEqual(Math.ceil(10 * wall) + 1);
    expect(got).toBeGreaterThanOrEqual(Math.floor(3 * wall));
    expect(b.snaps.length).toBeGreaterThan(5);
    const last = a.snaps[a.snaps.length - 1] as LiveSnapshot;
    // Flat out, this small mesh runs faster than real time.
    expect(last.t - Math.max(0, t0)).toBeGreaterThan(2000);
    expect(last.run.speed).toBe('max');
    // Snapshots carry counters, never per-event records.
    expect(JSON.stringify(last).length).toBeLessThan(20_000);
    expect(await emit(a.socket, 'speed', 1)).toEqual({ ok: true });
  });

  it('applies a fault from one browser, tells every browser, and the next snapshots show it', async () => {
    const a = await client();
    const b = await client();
    const notices: string[] = [];
    b.socket.on('notice', (m: { text: string }) => notices.push(m.text));
    expect(await emit(a.socket, 'fault', { action: 'link-down', target: ['us-2', 'ap-1'] })).toEqual({ ok: true });
    await sleep(400);
    expect(notices.some((t) => t.includes('link-down us-2 – ap-1'))).toBe(true);
    const i = a.hello.topology.directions.findIndex((d) => d.from === 'ap-1' && d.to === 'us-2');
    expect((b.snaps[b.snaps.length - 1] as LiveSnapshot).directions[i]?.up).toBe(false);
    expect(await emit(a.socket, 'fault', { action: 'link-down', target: ['us-2', 'ap-1'] })).toEqual({ ok: false, error: 'us-2 – ap-1 is already down' });
    expect(await emit(a.socket, 'fault', { action: 'link-up', target: ['us-2', 'ap-1'] })).toEqual({ ok: true });
  });

  it('answers bad control messages with one clear line', async () => {
    const a = await client();
    expect(await emit(a.socket, 'fault', 'cut it')).toEqual({ ok: false, error: 'fault: expected { action, target: [ids] }' });
    expect(await emit(a.socket, 'fault', { action: 'crash', target: ['zz-9'] })).toEqual({ ok: false, error: 'no broker "zz-9"' });
    expect(await emit(a.socket, 'speed', 'warp')).toEqual({ ok: false, error: 'speed: expected a positive number (0.01..10000) or "max", found "warp"' });
    expect(await emit(a.socket, 'restart', { seed: 1.5 })).toEqual({ ok: false, error: 'restart: expected an integer seed, found 1.5' });
  });

  it('pause, speed and restart reach the shared run', async () => {
    const a = await client();
    expect(await emit(a.socket, 'pause')).toEqual({ ok: true });
    await sleep(300);
    const t1 = (a.snaps[a.snaps.length - 1] as LiveSnapshot).t;
    await sleep(400);
    const s2 = a.snaps[a.snaps.length - 1] as LiveSnapshot;
    expect(s2.run.paused).toBe(true);
    expect(s2.t).toBe(t1);
    expect(await emit(a.socket, 'speed', 10)).toEqual({ ok: true });
    expect(await emit(a.socket, 'resume')).toEqual({ ok: true });
    const hello = new Promise<Hello>((resolve) => a.socket.once('hello', resolve));
    expect(await emit(a.socket, 'restart', { seed: 9 })).toEqual({ ok: true });
    const h = await hello;
    expect(h.snapshot.run.seed).toBe(9);
    expect(h.snapshot.run.speed).toBe(10);
    expect(h.snapshot.t).toBeLessThan(0);
    expect(server.session.mesh.seed).toBe(9);
  });
});
