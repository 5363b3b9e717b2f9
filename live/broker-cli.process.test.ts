/**
 * [LIVE-2][LIVE-4] `meshtwin broker` as a user meets it: a bad config, a missing certificate, a
 * port in use or an unusable dataDir is one line on stderr and exit 2 (no stack trace); SIGTERM
 * drains and exits 0; a config's mistakes are reported at their line and column.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from './process.ts';
import { freePorts, type TestMesh, writeMesh } from './testing.ts';

let dir: string;
let mesh: TestMesh;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-cli-live-'));
  mesh = await writeMesh(dir, ['us-1', 'eu-1'], [{ between: ['us-1', 'eu-1'], cost: 70 }]);
});

afterAll(async () => {
  await stopAll();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Writes a variant of us-1's config (a text replacement) and runs a broker on it to its exit. */
async function failing(name: string, from: string, to: string): Promise<{ code: number | null; stderr: string }> {
  const file = join(dir, `${name}.yaml`);
  const text = readFileSync(mesh.broker('us-1').config, 'utf8');
  if (!text.includes(from)) throw new Error(`no ${from} in the config`);
  writeFileSync(file, text.replace(from, to));
  const p = new BrokerProcess(file);
  const code = await p.exited;
  return { code, stderr: p.stderr };
}

async function occupy(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(port, '127.0.0.1', done));
  return s;
}

describe('[LIVE-2] meshtwin broker: one-line errors, exit 2', () => {
  const b = () => mesh.broker('us-1');
  const cases: Array<[string, () => [string, string], RegExp]> = [
    [
      'a missing certificate',
      () => [`${dir}/certs/us-1.pem`, `${dir}/certs/nope.pem`],
      /^meshtwin: .*us-1-missing-certificate\.yaml:\d+:\d+: mesh\.tls\.cert: expected a readable PEM file, found ".*nope\.pem" \(no such file; make one with `meshtwin certs`\)$/,
    ],
    ['a unit that is not one', () => ['helloInterval: 200ms', 'helloInterval: soon'], /^meshtwin: .*\.yaml:\d+:\d+: routing\.helloInterval: expected a duration such as "70ms"/],
    ['an unknown key', () => ['dataDir:', 'dataDri:'], /^meshtwin: .*\.yaml:2:1: dataDri: expected a key of a broker config .*found unknown key "dataDri"; did you mean "dataDir"\?$/],
    ['a dataDir that is a file', () => [`dataDir: ${b().dataDir}`, `dataDir: ${b().config}`], /^meshtwin: broker us-1: dataDir .*us-1\.yaml: .*(ENOTDIR|EEXIST|not a directory)/],
  ];
  for (const [what, change, expected] of cases) {
    it(`refuses ${what}`, async () => {
      const [from, to] = change();
      const r = await failing(`us-1-${what.replace(/\W+/g, '-').replace(/^a-|-$/g, '')}`, from, to);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    });
  }

  it('refuses a mesh port in use, and an HTTP port in use, naming the setting', async () => {
    for (const [key, port] of [
      ['mesh.listen', b().mesh],
      ['edge.http', b().http],
    ] as const) {
      const blocker = await occupy(port);
      try {
        const p = new BrokerProcess(b().config);
        expect(await p.exited).toBe(2);
        expect(p.stderr.trim()).toBe(`meshtwin: broker us-1: ${key} 127.0.0.1:${port}: address in use`);
      } finally {
        await new Promise<void>((done) => blocker.close(() => done()));
      }
    }
  });

  it('refuses a second broker on a dataDir in use, and takes over the lock a killed one left', async () => {
    const first = new BrokerProcess(b().config);
    await first.ready;
    const [mesh2, http2, grpc2] = await freePorts(3);
    const text = readFileSync(b().config, 'utf8')
      .replace(`127.0.0.1:${b().mesh}`, `127.0.0.1:${mesh2}`)
      .replace(`127.0.0.1:${b().http}`, `127.0.0.1:${http2}`)
      .replace(`127.0.0.1:${b().grpc}`, `127.0.0.1:${grpc2}`);
    const twin = join(dir, 'us-1-twin.yaml');
    writeFileSync(twin, text);
    const second = new BrokerProcess(twin);
    expect(await second.exited).toBe(2);
    expect(second.stderr.trim()).toBe(`meshtwin: broker us-1: dataDir ${b().dataDir} is in use by process ${first.pid} (one broker per dataDir: a second would corrupt its log)`);
    await first.kill();
    const third = new BrokerProcess(twin);
    await third.ready;
    expect(await third.stop()).toBe(0);
  });

  it('drains on SIGTERM and exits 0', async () => {
    const p = new BrokerProcess(b().config);
    await p.ready;
    expect(await p.stop()).toBe(0);
    const msgs = p.logs.map((l) => l['msg']);
    expect(msgs).toContain('draining');
    expect(msgs).toContain('drained');
    expect(p.logs.every((l) => l['broker'] === 'us-1')).toBe(true);
  });
});
