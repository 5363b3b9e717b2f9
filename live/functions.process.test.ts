/**
 * [FN-1..5] Function subscriptions on a `meshtwin broker` process calling a real HTTP server in
 * this test (loopback): CloudEvents POSTed to the endpoint, the concurrency limit held, failed
 * attempts retried with exponential backoff, the last failure published on the dead-letter topic
 * (a gRPC subscriber gets it, with the function's headers), a timeout counted, a type glob
 * obeyed; counters in /v1/functions and /metrics. The broker is stopped by PID in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from './process.ts';
import { GrpcClient, metric, publish, type TestMesh, until, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;
let server: Server;
const calls: Array<{ path: string; at: number; id: string; type: string; contentType: string }> = [];
let inFlight = 0;
let inFlightMax = 0;
const attemptsById = new Map<string, number>();

const http = (): number => mesh.broker('a').http;

function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => {
      text += d.toString();
    });
    req.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const e = await body(req);
    const id = String(e['id']);
    calls.push({ path: req.url ?? '', at: performance.now(), id, type: String(e['type']), contentType: String(req.headers['content-type']) });
    const n = (attemptsById.get(id) ?? 0) + 1;
    attemptsById.set(id, n);
    if (req.url === '/slow') {
      inFlight++;
      inFlightMax = Math.max(inFlightMax, inFlight);
      await new Promise((r) => setTimeout(r, 100));
      inFlight--;
      res.writeHead(200).end();
    } else if (req.url === '/flaky') res.writeHead(n < 3 ? 503 : 200).end();
    else if (req.url === '/fail') res.writeHead(500).end();
    else if (req.url === '/hang')
      return; // never answers
    else res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-fn-'));
  mesh = await writeMesh(dir, ['a'], [], undefined, {
    extra: [
      'functions:',
      `  - { name: slow, pattern: "slow/#", url: "${url('/slow')}", concurrency: 2 }`,
      `  - { name: flaky, pattern: "flaky/#", url: "${url('/flaky')}", retry: { maxAttempts: 3, backoff: 50ms } }`,
      `  - { name: dead, pattern: "dead/#", url: "${url('/fail')}", retry: { maxAttempts: 2, backoff: 20ms }, deadLetter: dlq/dead }`,
      `  - { name: hang, pattern: "hang/#", url: "${url('/hang')}", timeout: 200ms, retry: { maxAttempts: 1 } }`,
      `  - { name: typed, pattern: "typed/#", types: "com.acme.*", url: "${url('/typed')}" }`,
    ],
  });
  new BrokerProcess(mesh.broker('a').config);
  await until(async () => (await fetch(`http://127.0.0.1:${mesh.broker('a').http}/healthz`).catch(() => null))?.status === 200, 20_000);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await new Promise((r) => server?.close(r));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const send = (topic: string, type?: string) => publish(http(), { id: `fn-${seq++}`, topic, data: { n: seq }, ...(type === undefined ? {} : { type }) });
const counters = async (name: string) =>
  ((await (await fetch(`http://127.0.0.1:${http()}/v1/functions`)).json()) as { functions: Array<{ name: string; counters: Record<string, number> }> }).functions.find((f) => f.name === name)
    ?.counters ?? {};

describe('function subscriptions [FN-1..5]', () => {
  it('POSTs each event as a structured CloudEvent, at most `concurrency` at once', async () => {
    for (let i = 0; i < 6; i++) expect((await send('slow/x')).status).toBe(202);
    expect(await until(() => calls.filter((c) => c.path === '/slow').length === 6, 5000)).toBe(true);
    expect(inFlightMax).toBe(2);
    expect(calls.find((c) => c.path === '/slow')?.contentType).toBe('application/cloudevents+json');
    expect(await until(async () => (await counters('slow'))['succeeded'] === 6, 3000)).toBe(true);
    expect((await counters('slow'))['inFlightPeak']).toBe(2);
  });

  it('retries a failure with exponential backoff until it succeeds', async () => {
    const r = await send('flaky/x');
    const id = String(r.body['eventId']);
    expect(await until(() => (attemptsById.get(id) ?? 0) === 3, 5000)).toBe(true);
    const at = calls.filter((c) => c.id === id).map((c) => c.at);
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(45);
    expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(95);
    expect(await until(async () => (await counters('flaky'))['succeeded'] === 1, 3000)).toBe(true);
    expect(await counters('flaky')).toMatchObject({ failed: 2, retries: 2, deadLettered: 0, dropped: 0 });
  });

  it('publishes the last failure on the dead-letter topic, with the function, attempts and error', async () => {
    // A gRPC subscriber: its envelopes carry every header.
    const dlq = new GrpcClient(mesh.broker('a').grpc);
    dlq.subscribe('dlq/#');
    const known = async () => (await (await fetch(`http://127.0.0.1:${http()}/v1/subscriptions`)).text()).includes('"dlq/#"');
    expect(await until(known, 5000)).toBe(true);
    const r = await send('dead/x');
    expect(await until(() => dlq.events.length === 1, 5000)).toBe(true);
    const e = dlq.events[0];
    expect(e).toMatchObject({ event_id: `${String(r.body['eventId'])}/dead-letter/dead`, topic: 'dlq/dead' });
    expect(e?.headers).toMatchObject({ fnname: 'dead', fnattempts: '2', fnerror: 'HTTP 500' });
    dlq.close();
    expect(await metric(http(), 'meshtwin_function_calls_total', { function: 'dead', outcome: 'failure' })).toBe(2);
    expect(await metric(http(), 'meshtwin_function_dead_letters_total', { function: 'dead' })).toBe(1);
  });

  it('a call with no answer times out, and without a dead-letter topic the event is dropped and counted', async () => {
    await send('hang/x');
    expect(await until(async () => (await counters('hang'))['dropped'] === 1, 5000)).toBe(true);
    expect(await counters('hang')).toMatchObject({ timedOut: 1, failed: 1, retries: 0 });
  });

  it('calls only for the types its glob names', async () => {
    await send('typed/1', 'com.other.thing');
    await send('typed/2', 'com.acme.order.created');
    expect(await until(() => calls.some((c) => c.path === '/typed'), 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls.filter((c) => c.path === '/typed').map((c) => c.type)).toEqual(['com.acme.order.created']);
  });
});
