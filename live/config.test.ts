/**
 * [LINK-8] `mesh.plaintext` is for measurement only: taken on loopback, refused with a one-line
 * error on any other listen or peer address.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseBrokerConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-config-'));
for (const f of ['ca.pem', 'a.pem', 'a.key']) writeFileSync(join(dir, f), 'PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (listen: string, peer: string, plaintext: boolean): string =>
  [
    'id: a',
    'dataDir: data/a',
    'mesh:',
    `  listen: ${listen}`,
    `  peers: [ { id: b, address: "${peer}" } ]`,
    '  tls: { ca: ca.pem, cert: a.pem, key: a.key }',
    `  plaintext: ${plaintext}`,
    'edge: { http: 127.0.0.1:0 }',
    '',
  ].join('\n');

describe('[LINK-8] mesh.plaintext, loopback only', () => {
  it.each([
    ['127.0.0.1:7001', '127.0.0.1:7002'],
    ['localhost:7001', '127.0.0.2:7002'],
  ])('is taken with listen %s and peer %s', (listen, peer) => {
    expect(parseBrokerConfig(config(listen, peer, true), 'a.yaml', dir).mesh.plaintext).toBe(true);
  });

  it('is off unless asked for', () => {
    expect(parseBrokerConfig(config('0.0.0.0:7001', '10.0.0.2:7002', false), 'a.yaml', dir).mesh.plaintext).toBe(false);
  });

  it.each([
    ['0.0.0.0:7001', '127.0.0.1:7002', /mesh\.listen.*loopback/],
    ['127.0.0.1:7001', '10.0.0.2:7002', /mesh\.peers\[0\]\.address.*loopback/],
  ])('is refused with listen %s and peer %s', (listen, peer, message) => {
    let err: unknown;
    try {
      parseBrokerConfig(config(listen, peer, true), 'a.yaml', dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(message);
    expect(String((err as Error).message)).not.toContain('\n');
  });
});
