/**
 * [CONF-1] A broker config's `controlPlane:`: absent means none; present, its defaults (the
 * embedded store, 1 in 100, a 1 s heartbeat); wrong values are one line naming file, line and
 * field. And [CP-HTTP] what the broker's /v1/control/* routes answer without a store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseBrokerConfig } from '../config.ts';
import { ControlAgent } from './agent.ts';
import { controlRoutes } from './http.ts';
import { ControlStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-cp-config-'));
for (const f of ['ca.pem', 'a.pem', 'a.key']) writeFileSync(join(dir, f), 'PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (controlPlane: string | null): string =>
  [
    'id: a',
    'dataDir: data/a',
    'mesh:',
    '  listen: 127.0.0.1:7001',
    '  tls: { ca: ca.pem, cert: a.pem, key: a.key }',
    'edge: { http: 127.0.0.1:0 }',
    ...(controlPlane === null ? [] : [controlPlane]),
    '',
  ].join('\n');

const parse = (cp: string | null) => parseBrokerConfig(config(cp), 'a.yaml', dir).controlPlane;

function error(cp: string): string {
  try {
    parse(cp);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('[CONF-1] controlPlane:', () => {
  it('absent: no control plane; empty: the embedded store with the defaults', () => {
    expect(parse(null)).toBeNull();
    expect(parse('controlPlane: {}')).toEqual({ url: null, heartbeatMs: 1000, traceSampleEvery: 100, traceTopics: [], queueLimit: 10_000, offlineAfterMs: 10_000 });
  });

  it('takes a server URL and every setting', () => {
    expect(parse('controlPlane: { url: "postgres://mesh@127.0.0.1:5432/mesh", heartbeat: 2s, traceSampleEvery: 0, traceTopics: ["payments/#"], queueLimit: 50, offlineAfter: 1min }')).toEqual({
      url: 'postgres://mesh@127.0.0.1:5432/mesh',
      heartbeatMs: 2000,
      traceSampleEvery: 0,
      traceTopics: ['payments/#'],
      queueLimit: 50,
      offlineAfterMs: 60_000,
    });
  });

  it.each([
    ['controlPlane: { url: "mysql://h/db" }', /^a\.yaml:7:\d+: controlPlane\.url: /],
    ['controlPlane: { traceSampleEvery: -1 }', /controlPlane\.traceSampleEvery/],
    ['controlPlane: { traceTopics: ["a/#/b"] }', /controlPlane\.traceTopics\[0\]: expected a topic pattern, found "a\/#\/b"/],
    ['controlPlane: { heartbeat: 10ms }', /controlPlane\.heartbeat: expected a duration of at least 100ms/],
    ['controlPlane: { heartbeat: 5s, offlineAfter: 8s }', /controlPlane\.offlineAfter: expected a duration longer than two heartbeats \(10000 ms\)/],
    ['controlPlane: { queueLimit: 0 }', /controlPlane\.queueLimit/],
    ['controlPlane: { sampling: 3 }', /controlPlane/],
  ])('refuses %s in one line', (cp, want) => {
    const msg = error(cp);
    expect(msg).toMatch(want);
    expect(msg).not.toContain('\n');
  });
});

describe('[CP-HTTP] /v1/control/* without a store', () => {
  async function serve(agent: ControlAgent | null): Promise<{ get(path: string): Promise<{ status: number; body: Record<string, unknown> }>; close(): Promise<void> }> {
    const app = express().use(controlRoutes(() => agent));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    return {
      get: async (path) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
      close: () => new Promise((r) => server.close(() => r())),
    };
  }

  it('a broker without controlPlane: 404 saying so', async () => {
    const s = await serve(null);
    try {
      for (const p of ['/v1/control/status', '/v1/control/brokers', '/v1/control/rules', '/v1/control/traces/e1']) {
        expect(await s.get(p)).toEqual({ status: 404, body: { error: 'this broker has no control plane (controlPlane: in its config)' } });
      }
    } finally {
      await s.close();
    }
  });

  it('a store not open yet: status and rules answer, reads of the store are 503', async () => {
    const cp = parse('controlPlane: {}')!;
    const s = await serve(new ControlAgent(cp, join(dir, 'data'), pino({ level: 'silent' }), (t) => ControlStore.open(t)));
    try {
      expect(await s.get('/v1/control/status')).toMatchObject({ status: 200, body: { backend: 'embedded', connected: false, queued: 0 } });
      expect(await s.get('/v1/control/rules')).toEqual({ status: 200, body: { rules: [] } });
      expect(await s.get('/v1/control/brokers')).toEqual({ status: 503, body: { error: 'control plane store unreachable: still opening' } });
      expect((await s.get('/v1/control/traces/e1')).status).toBe(503);
    } finally {
      await s.close();
    }
  });
});
