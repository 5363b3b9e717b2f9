/**
 * [SHAPE-1][LIVE-2] Two broker processes over a link shaped as a scenario's (shapeOf: 120 ms RTT,
 * 2 ms jitter, 50 Mbit/s): a cross-region delivery takes at least the one-way delay, a local one
 * does not, and a silent blackhole is found by the dead interval (the route goes), then healed.
 * Only lower bounds on time are checked: a loaded machine is slower, never faster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from './process.ts';
import { shapeOf } from './shaper.ts';
import { publish, type TestMesh, until, WsClient, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
const clients: WsClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-wan-'));
  const shape = shapeOf({ between: ['us-1', 'eu-1'], rttMs: 120, jitterMs: 2, bandwidthBps: 50e6, loss: 0, cost: 120, queueBytes: 64e6 });
  mesh = await writeMesh(dir, ['us-1', 'eu-1'], [{ between: ['us-1', 'eu-1'], cost: 120, shape }], '{ helloInterval: 200ms, deadInterval: 1s }');
  const procs = ['us-1', 'eu-1'].map((id) => new BrokerProcess(mesh.broker(id).config));
  await Promise.all(procs.map((p) => p.ready));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await stopAll();
  for (const rs of mesh?.relays.values() ?? []) for (const r of rs) await r.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const http = (id: string): number => mesh.broker(id).http;
const routes = async (id: string): Promise<Array<{ dest: string }>> => ((await (await fetch(`http://127.0.0.1:${http(id)}/v1/routes`)).json()) as { routes: Array<{ dest: string }> }).routes;

describe('[SHAPE-1] brokers over a shaped WAN link', () => {
  it('a cross-region delivery takes at least the one-way delay; a local one does not wait for it', async () => {
    const remote = new WsClient(http('eu-1'), 'orders/#');
    const local = new WsClient(http('us-1'), 'orders/#');
    clients.push(remote, local);
    await Promise.all([remote.open, local.open]);
    expect(await until(async () => (await publish(http('us-1'), { id: `probe-${Date.now()}`, topic: 'orders/x', data: {} })).status === 202 && remote.events.length > 0, 20_000)).toBe(true);
    const arrived = new Map<string, number>();
    remote.ws.on('message', (m) => arrived.set(`eu:${JSON.parse(String(m)).id}`, performance.now()));
    local.ws.on('message', (m) => arrived.set(`us:${JSON.parse(String(m)).id}`, performance.now()));
    const sentAt = performance.now();
    expect((await publish(http('us-1'), { id: 'timed-1', topic: 'orders/x', data: { n: 1 } })).status).toBe(202);
    expect(await until(() => arrived.has('eu:timed-1') && arrived.has('us:timed-1'), 10_000)).toBe(true);
    expect((arrived.get('eu:timed-1') as number) - sentAt).toBeGreaterThanOrEqual(60);
    expect(arrived.get('us:timed-1') as number).toBeLessThan(arrived.get('eu:timed-1') as number);
    const e = remote.events.find((x) => x['id'] === 'timed-1');
    expect(e?.['routingpath']).toBe('us-1,eu-1');
  }, 40_000);

  it('a silent blackhole is found by the dead interval, not by a close, and heals', async () => {
    const relays = mesh.relays.get('us-1|eu-1') ?? [];
    expect((await routes('us-1')).some((r) => r.dest === 'eu-1')).toBe(true);
    const t0 = performance.now();
    for (const r of relays) r.blackhole();
    expect(await until(async () => !(await routes('us-1')).some((r) => r.dest === 'eu-1'), 10_000)).toBe(true);
    // Not a close (that is seen in milliseconds): only the dead interval could tell, 1 s after the
    // last hello heard, which came at most one 200 ms hello interval before the blackhole.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(700);
    for (const r of relays) r.heal();
    expect(await until(async () => (await routes('us-1')).some((r) => r.dest === 'eu-1'), 15_000)).toBe(true);
  }, 40_000);
});
