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

const mqttConfig = (edge: string): string =>
  [
    'id: a',
    'dataDir: data/a',
    'mesh:',
    '  listen: 127.0.0.1:7001',
    '  tls: { ca: ca.pem, cert: a.pem, key: a.key }',
    'edge:',
    '  http: 127.0.0.1:0',
    ...edge.split('\n').map((l) => `  ${l}`),
    '',
  ].join('\n');

function refusal(text: string): string {
  try {
    parseBrokerConfig(text, 'a.yaml', dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('the config was taken');
}

describe('the MQTT edge settings', () => {
  it('are off without a listener, with their defaults', () => {
    const m = parseBrokerConfig(mqttConfig(''), 'a.yaml', dir).edge.mqtt;
    expect(m).toMatchObject({
      listen: null,
      tls: null,
      denySubscribe: [],
      maxPacketBytes: 1 << 20,
      receiveMaximum: 1000,
      topicAliasMaximum: 64,
      sessionQueue: 10_000,
      sessionExpiryMaxMs: 86_400_000,
      serverKeepAliveMs: null,
    });
  });

  it('resolve the listeners, the TLS files and the units', () => {
    const m = parseBrokerConfig(
      mqttConfig(
        'mqtt: 127.0.0.1:1883\nmqtts: { listen: 127.0.0.1:8883, cert: a.pem, key: a.key, ca: ca.pem, requireClientCert: true }\nmqttDenySubscribe: ["secret/#"]\nmqttMaxPacketSize: 64KiB\nmqttServerKeepAlive: 30s',
      ),
      'a.yaml',
      dir,
    ).edge.mqtt;
    expect(m.listen).toEqual({ host: '127.0.0.1', port: 1883 });
    expect(m.tls).toMatchObject({ listen: { host: '127.0.0.1', port: 8883 }, cert: join(dir, 'a.pem'), ca: join(dir, 'ca.pem'), requireClientCert: true });
    expect(m.denySubscribe).toEqual(['secret/#']);
    expect(m.maxPacketBytes).toBe(65_536);
    expect(m.serverKeepAliveMs).toBe(30_000);
  });

  it.each([
    ['mqttDenySubscribe: ["a/#/b"]', /a\.yaml:\d+:\d+: edge\.mqttDenySubscribe\[0\]: expected an MQTT topic filter, found "a\/#\/b" \('#' must be the last level\)/],
    ['mqtts: { listen: 127.0.0.1:8883, cert: nope.pem, key: a.key }', /edge\.mqtts\.cert: expected a readable PEM file, found "nope\.pem"/],
    ['mqtts: { listen: 127.0.0.1:8883, cert: a.pem, key: a.key, requireClientCert: true }', /edge\.mqtts\.requireClientCert: expected a ca to check client certificates against/],
    ['mqttServerKeepAlive: 100ms', /edge\.mqttServerKeepAlive: expected a duration from 1s to 65535s/],
    ['mqtt: 127.0.0.1:70000', /edge\.mqtt: expected a port from 0 to 65535/],
    ['mqttReceiveMaximum: 0', /edge\.mqttReceiveMaximum/],
  ])('refuse %s in one line at its place', (edge, message) => {
    const m = refusal(mqttConfig(edge));
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });
});

describe('schemas: in the broker config [SCHEMA-3]', () => {
  const withSchemas = (lines: string): string => `${mqttConfig('')}schemas:\n${lines}\n`;

  it('are taken as subjects, each later version checked against its compatibility', () => {
    const c = parseBrokerConfig(withSchemas('  - { subject: "topic:sensors/#", compatibility: FULL, schema: { type: object, required: [celsius] } }'), 'a.yaml', dir);
    expect(c.schemas).toEqual([{ subject: 'topic:sensors/#', compatibility: 'FULL', schema: { type: 'object', required: ['celsius'] } }]);
    expect(parseBrokerConfig(mqttConfig(''), 'a.yaml', dir).schemas).toEqual([]);
  });

  it.each([
    [
      '  - { subject: a.b, schema: { type: objekt } }',
      /^a\.yaml:10:\d+: schemas\[0\]\.schema: expected a JSON Schema that compiles .*, found schema is invalid: data\/type must be equal to one of the allowed values/,
    ],
    [
      '  - { subject: a.b, versions: [{ type: number }, { type: integer }] }',
      /schemas\[0\]\.versions\[1\]: expected .*, found not BACKWARD compatible: version 2 must accept data written with version 1: #\/type: version 2 accepts integers only/,
    ],
    ['  - { subject: "topic:a/#/b", schema: true }', /schemas\[0\]\.subject: expected a subject: .*'#' must be the last level/],
    ['  - { subject: a.b, compatibility: SIDEWAYS, schema: true }', /schemas\[0\]\.compatibility: expected one of "BACKWARD"/],
  ])('refuse %s in one line at its place', (lines, message) => {
    const m = refusal(withSchemas(lines));
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });
});
