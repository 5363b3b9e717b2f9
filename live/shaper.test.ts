/**
 * [SHAPE-1..5] The userspace link on real sockets on 127.0.0.1: an echo server behind a shaper.
 * Bytes arrive whole and in order whatever the delay, jitter and loss; a round trip takes at least
 * two one-way delays; a megabyte at 8 Mbit/s takes at least a second; a full queue pauses the
 * source instead of dropping bytes; a blackhole holds bytes until it heals; a cut closes the
 * connection and refuses new ones. Only lower bounds on time are checked (a loaded machine is
 * slower, never faster).
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinkShape, LinkShaper, PASS_THROUGH } from './shaper.ts';
import { until } from './testing.ts';

let echo: Server;
let echoPort = 0;
const shapers: LinkShaper[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  echo = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((done) => echo.listen(0, '127.0.0.1', done));
  const a = echo.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  echoPort = a.port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const s of shapers) await s.stop();
  await new Promise<void>((done) => echo.close(() => done()));
});

async function through(shape: Partial<LinkShape>, seed: string | number = 1): Promise<{ shaper: LinkShaper; client: Socket; received: () => Buffer }> {
  const shaper = new LinkShaper('127.0.0.1', echoPort, { ...PASS_THROUGH, ...shape }, seed);
  shapers.push(shaper);
  await shaper.start();
  const client = createConnection({ host: '127.0.0.1', port: shaper.port });
  sockets.push(client);
  client.on('error', () => {});
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((done) => client.once('connect', () => done()));
  return { shaper, client, received: () => Buffer.concat(chunks) };
}

describe('[SHAPE-1..5] a shaped link', () => {
  it('delays each direction by its one-way delay: a round trip takes at least two', async () => {
    const { client, received } = await through({ delayMs: 60 });
    const t0 = performance.now();
    client.write('ping');
    expect(await until(() => received().toString() === 'ping', 5000)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(120);
  });

  it('paces to the bandwidth: 1 MB at 8 Mbit/s takes at least a second, and arrives whole', async () => {
    const { client, received, shaper } = await through({ bandwidthBps: 8e6 });
    const data = randomBytes(1_000_000);
    const t0 = performance.now();
    client.write(data);
    expect(await until(() => received().length === data.length, 20_000)).toBe(true);
    // Each direction is paced: the echo's way back is serialized too.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(received().equals(data)).toBe(true);
    expect(shaper.forward.bytes).toBe(data.length);
  }, 30_000);

  it('keeps the byte stream whole and in order under jitter and loss (a loss is a stall, not a hole)', async () => {
    const { client, received, shaper } = await through({ delayMs: 5, jitterMs: 20, loss: 0.2, rtoMs: 50 }, 'loss-seed');
    const parts = Array.from({ length: 200 }, (_, i) => Buffer.from(`<${i}>`.padEnd(64, '.')));
    for (const p of parts) {
      client.write(p);
      await new Promise((r) => setTimeout(r, 1));
    }
    const all = Buffer.concat(parts);
    expect(await until(() => received().length === all.length, 20_000)).toBe(true);
    expect(received().equals(all)).toBe(true);
    expect(shaper.forward.losses + shaper.backward.losses).toBeGreaterThan(0);
  }, 30_000);

  it('pauses the source when a direction holds more than its queue, rather than dropping bytes', async () => {
    const { client, received, shaper } = await through({ bandwidthBps: 4e6, queueBytes: 64 * 1024 });
    const data = randomBytes(600_000);
    client.write(data);
    expect(await until(() => received().length === data.length, 30_000)).toBe(true);
    expect(received().equals(data)).toBe(true);
    expect(shaper.forward.pauses + shaper.backward.pauses).toBeGreaterThan(0);
  }, 40_000);

  it('a blackhole holds bytes with the connection open; heal lets them through', async () => {
    const { client, received, shaper } = await through({});
    shaper.blackhole();
    client.write('held');
    await new Promise((r) => setTimeout(r, 300));
    expect(received().length).toBe(0);
    expect(client.destroyed).toBe(false);
    shaper.heal();
    expect(await until(() => received().toString() === 'held', 5000)).toBe(true);
  });

  it('a cut closes the connection at once and refuses new ones until healed', async () => {
    const { client, shaper } = await through({});
    const closed = new Promise<void>((done) => client.once('close', () => done()));
    shaper.cut();
    await closed;
    const again = createConnection({ host: '127.0.0.1', port: shaper.port });
    again.on('error', () => {});
    const got = await new Promise<string>((resolve) => {
      again.once('close', () => resolve('closed'));
      again.once('data', () => resolve('data'));
    });
    expect(got).toBe('closed');
    expect(shaper.refused).toBeGreaterThanOrEqual(1);
    shaper.heal();
    const third = createConnection({ host: '127.0.0.1', port: shaper.port });
    sockets.push(third);
    third.on('error', () => {});
    const echoed: Buffer[] = [];
    third.on('data', (d: Buffer) => echoed.push(d));
    await new Promise<void>((done) => third.once('connect', () => done()));
    third.write('back');
    expect(await until(() => Buffer.concat(echoed).toString() === 'back', 5000)).toBe(true);
  });
});
