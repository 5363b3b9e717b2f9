/**
 * [MQTT-INTEROP-1..6] Debian's mosquitto-clients (2.0.11) against two linked `meshtwin broker`
 * processes (a, b; the a–b link through relays the test can cut): what `mosquitto_pub` sends to
 * a is what `mosquitto_sub` on b prints, byte for byte, over plain TCP and TLS, as MQTT 3.1.1
 * and 5.0, at QoS 0, 1 and 2; messages of one publisher arrive in order; 5.0 user properties
 * cross the mesh; retained messages reach b (and clear, cross a healed partition, survive b's
 * restart); a persistent session gets what was published while its client was away; a
 * subscriber gets the lower of its and the publish QoS; MQTT 3.1 clients work; a killed client's
 * will crosses the mesh; mosquitto_sub --remove-retained on b clears a's copy too.
 * Every client runs bounded by its own -W and a kill timer; every process is stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, stopAll } from '../../process.ts';
import { type TestMesh, until, writeMesh } from '../../testing.ts';

let dir: string;
let mesh: TestMesh;
const procs = new Map<string, BrokerProcess>();
/** Every mosquitto client started and not yet seen exit: killed by PID in afterAll. */
const clients = new Set<ChildProcess>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtwin-mqinterop-'));
  mesh = await writeMesh(dir, ['a', 'b'], [{ between: ['a', 'b'], cost: 10, relayed: true }], undefined, { mqtt: {} });
  for (const id of ['a', 'b']) procs.set(id, new BrokerProcess(mesh.broker(id).config));
  await Promise.all([...procs.values()].map((p) => p.ready));
  expect(await until(async () => (await routes('a')).includes('b') && (await routes('b')).includes('a'), 20_000)).toBe(true);
}, 60_000);

afterAll(async () => {
  for (const c of clients) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  await stopAll();
  await mesh?.stopRelays();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const http = (id: string): number => mesh.broker(id).http;
const getJson = async <T>(id: string, path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${http(id)}${path}`)).json()) as T;
const routes = async (id: string): Promise<string[]> => (await getJson<{ routes: Array<{ dest: string }> }>(id, '/v1/routes')).routes.map((r) => r.dest);
/** Whether broker `id` has heard of another broker's subscription on `filter` (by name: every broker also has `$mesh/retained/#`). */
const knows = async (id: string, filter: string): Promise<boolean> => JSON.stringify((await getJson<{ remote: unknown }>(id, '/v1/subscriptions')).remote).includes(JSON.stringify(filter));
const retainedAt = async (id: string): Promise<number> => (await getJson<{ retained: number }>(id, '/v1/mqtt')).retained;

type Transport = 'tcp' | 'tls';
type Version = 'mqttv31' | 'mqttv311' | 'mqttv5';

/** -h/-p (and --cafile for TLS: the broker's certificate carries IP SAN 127.0.0.1) for broker `id`. */
function target(id: string, transport: Transport): string[] {
  const b = mesh.broker(id);
  return transport === 'tls' ? ['-h', '127.0.0.1', '-p', String(b.mqtts), '--cafile', join(mesh.dir, 'certs', 'ca.pem')] : ['-h', '127.0.0.1', '-p', String(b.mqtt)];
}

interface Run {
  readonly child: ChildProcess;
  /** stdout so far. */
  out(): string;
  /** Resolves with the exit code (null: killed by the timer or the test) once it exits. */
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `cmd args` (stdin `input`), SIGKILLed by PID after `killAfterMs` if still running. */
function start(cmd: 'mosquitto_pub' | 'mosquitto_sub', args: readonly string[], killAfterMs: number, input?: string): Run {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  clients.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin?.on('error', () => {});
  child.stdin?.end(input);
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, killAfterMs);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('error', (e) => {
      stderr += String(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      clients.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, out: () => stdout, done };
}

/** Runs mosquitto_pub to completion; expects exit 0. */
async function pub(id: string, transport: Transport, version: Version, args: readonly string[], input?: string): Promise<void> {
  const r = await start('mosquitto_pub', [...target(id, transport), '-V', version, ...args], 15_000, input).done;
  expect(r, `mosquitto_pub ${args.join(' ')}`).toMatchObject({ code: 0 });
}

/** A mosquitto_sub on `id` whose subscription on `filter` broker `knownAt` has heard of before this resolves. */
async function sub(id: string, transport: Transport, version: Version, filter: string, args: readonly string[], waitS = 20, knownAt = 'a'): Promise<Run> {
  const run = start('mosquitto_sub', [...target(id, transport), '-V', version, '-t', filter, '-W', String(waitS), ...args], (waitS + 5) * 1000);
  expect(await until(async () => run.child.exitCode !== null || (await knows(knownAt, filter)), 10_000)).toBe(true);
  expect(run.child.exitCode, `mosquitto_sub exited early: ${run.out()}`).toBeNull();
  return run;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const hex = (b: Buffer | string): string => Buffer.from(b).toString('hex');

describe('[MQTT-INTEROP-1] mosquitto_pub to a, mosquitto_sub on b: topic and payload bytes identical', () => {
  const cases: Array<[Transport, Version, 0 | 1 | 2]> = [];
  for (const t of ['tcp', 'tls'] as const) for (const v of ['mqttv311', 'mqttv5'] as const) for (const q of [0, 1, 2] as const) cases.push([t, v, q]);

  it.each(cases)('%s %s QoS %i', async (transport, version, qos) => {
    const name = `${transport}-${version}-q${qos}`;
    const topic = `interop/${name}/sensör 7/temp`;
    // Every byte value, twice, in a scrambled order: NULs, invalid UTF-8, a newline.
    const binary = Buffer.alloc(512);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 167 + 13) & 0xff;
    const file = join(dir, `${name}.bin`);
    writeFileSync(file, binary);
    const text = `héllo ✓ ${name}`;
    const s = await sub('b', transport, version, `interop/${name}/#`, ['-q', String(qos), '-F', '%t|%q|%r|%x']);
    await pub('a', transport, version, ['-q', String(qos), '-t', topic, '-f', file]);
    await pub('a', transport, version, ['-q', String(qos), '-t', topic, '-m', text]);
    await pub('a', transport, version, ['-q', String(qos), '-t', topic, '-n']);
    // All three, then a quiet while: a duplicate would show as a fourth line.
    expect(await until(() => lines(s.out()).length >= 3, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    const got = lines((await s.done).stdout);
    // Three publishers, one after another: compared as a set (order is [MQTT-INTEROP-2]'s).
    expect(got.sort()).toEqual([`${topic}|${qos}|0|${hex(binary)}`, `${topic}|${qos}|0|${hex(text)}`, `${topic}|${qos}|0|`].sort());
  });
});

describe('[MQTT-INTEROP-5] QoS across the mesh and MQTT 3.1', () => {
  it('a subscriber gets each message at the lower of its QoS and the publish QoS', async () => {
    const subs = await Promise.all(([0, 1, 2] as const).map((q) => sub('b', 'tcp', 'mqttv5', `downgrade/s${q}/#`, ['-q', String(q), '-F', '%t %q', '-C', '3'])));
    for (const pq of [0, 1, 2]) for (const sq of [0, 1, 2]) await pub('a', 'tcp', 'mqttv311', ['-q', String(pq), '-t', `downgrade/s${sq}/p${pq}`, '-m', 'x']);
    const got = await Promise.all(subs.map((s) => s.done));
    got.forEach((r, sq) => {
      expect(r.code).toBe(0);
      expect(lines(r.stdout).sort()).toEqual([0, 1, 2].map((pq) => `downgrade/s${sq}/p${pq} ${Math.min(sq, pq)}`));
    });
  });

  it('an MQTT 3.1 (MQIsdp) mosquitto_pub reaches an MQTT 3.1 mosquitto_sub across the mesh', async () => {
    const s = await sub('b', 'tcp', 'mqttv31', 'v31/#', ['-q', '1', '-v', '-C', '1']);
    await pub('a', 'tcp', 'mqttv31', ['-q', '1', '-t', 'v31/legacy', '-m', 'MQIsdp']);
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['v31/legacy MQIsdp']);
  });
});

describe('[MQTT-INTEROP-2] order and 5.0 properties', () => {
  it('mosquitto_pub -l at QoS 1: 50 lines arrive in order, once each', async () => {
    const sent = Array.from({ length: 50 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(i)}`);
    const s = await sub('b', 'tcp', 'mqttv311', 'order/#', ['-q', '1', '-v', '-C', String(sent.length)]);
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-t', 'order/stream', '-l'], `${sent.join('\n')}\n`);
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(sent.map((l) => `order/stream ${l}`));
  });

  it('several mosquitto_pub runs at QoS 1 arrive in the order they ran (TLS, 5.0)', async () => {
    const s = await sub('b', 'tls', 'mqttv5', 'seq/#', ['-q', '1', '-F', '%t %p', '-C', '8']);
    for (let i = 0; i < 8; i++) await pub('a', 'tls', 'mqttv5', ['-q', '1', '-t', `seq/${i % 3}`, '-m', `m${i}`]);
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `seq/${i % 3} m${i}`));
  });

  it('5.0 user properties (-D publish user-property) arrive at a 5.0 mosquitto_sub; a 3.1.1 one gets the message without them', async () => {
    const s5 = await sub('b', 'tcp', 'mqttv5', 'props/#', ['-q', '1', '-F', '%t|%P|%p', '-C', '1']);
    const s3 = await sub('b', 'tcp', 'mqttv311', 'props/+', ['-q', '1', '-F', '%t|%p', '-C', '1']);
    await pub('a', 'tcp', 'mqttv5', ['-q', '1', '-t', 'props/x', '-m', 'not json', '-D', 'publish', 'user-property', 'plant', 'p-7', '-D', 'publish', 'user-property', 'unit', 'deg C']);
    const [r5, r3] = await Promise.all([s5.done, s3.done]);
    expect(r5.code).toBe(0);
    expect(lines(r5.stdout)).toEqual(['props/x|plant:p-7 unit:deg C|not json']);
    expect(r3.code).toBe(0);
    expect(lines(r3.stdout)).toEqual(['props/x|not json']);
  });
});

/** Runs mosquitto_sub on b until it prints one message or `waitS` pass; its lines. */
async function oneFrom(id: string, filter: string, format: string, waitS: number, version: Version = 'mqttv311'): Promise<string[]> {
  const r = await start('mosquitto_sub', [...target(id, 'tcp'), '-V', version, '-t', filter, '-q', '1', '-F', format, '-C', '1', '-W', String(waitS)], (waitS + 5) * 1000).done;
  return lines(r.stdout);
}

describe('[MQTT-INTEROP-3] retained messages across the mesh', () => {
  it('mosquitto_pub -r to a: a later mosquitto_sub on b gets it with the retain flag; an empty retained payload clears it on b', async () => {
    const before = await retainedAt('b');
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-r', '-t', 'status/plant-7', '-m', 'online']);
    expect(await until(async () => (await retainedAt('b')) === before + 1, 10_000)).toBe(true);
    expect(await oneFrom('b', 'status/#', '%t|%r|%q|%p', 5)).toEqual(['status/plant-7|1|1|online']);
    expect(await oneFrom('b', 'status/#', '%t|%r|%p', 5, 'mqttv5')).toEqual(['status/plant-7|1|online']);
    // The clear: a zero-length retained payload.
    await pub('a', 'tcp', 'mqttv5', ['-q', '1', '-r', '-t', 'status/plant-7', '-n']);
    expect(await until(async () => (await retainedAt('b')) === before, 10_000)).toBe(true);
    expect(await oneFrom('b', 'status/#', '%t|%r|%p', 1)).toEqual([]);
  });

  it('a retained message set on a while the a–b link is cut reaches b after the link heals', async () => {
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-r', '-t', 'part/door', '-m', 'closed']);
    expect(await until(async () => (await oneFrom('b', 'part/door', '%p', 1)).join() === 'closed', 10_000)).toBe(true);
    const relays = mesh.relays.get('a|b') ?? [];
    expect(relays.length).toBe(2);
    for (const r of relays) r.cut();
    try {
      expect(await until(async () => !(await routes('a')).includes('b'), 10_000)).toBe(true);
      await pub('a', 'tcp', 'mqttv5', ['-q', '2', '-r', '-t', 'part/door', '-m', 'open']);
      // Each side serves what it has: a the new message, b (cut off) the old one.
      expect(await oneFrom('a', 'part/door', '%p', 2)).toEqual(['open']);
      expect(await oneFrom('b', 'part/door', '%p', 2)).toEqual(['closed']);
    } finally {
      for (const r of relays) r.heal();
    }
    expect(await until(async () => (await routes('a')).includes('b'), 15_000)).toBe(true);
    expect(await until(async () => (await oneFrom('b', 'part/door', '%p', 1)).join() === 'open', 15_000)).toBe(true);
    expect(await oneFrom('b', 'part/door', '%t|%r|%q|%p', 2, 'mqttv5')).toEqual(['part/door|1|1|open']);
  });

  it('retained state survives a restart of broker b (and what was retained on a meanwhile reaches b)', async () => {
    await pub('a', 'tls', 'mqttv5', ['-q', '1', '-r', '-t', 'restart/kept', '-m', 'from before']);
    expect(await until(async () => (await oneFrom('b', 'restart/kept', '%p', 1)).join() === 'from before', 10_000)).toBe(true);
    const b = procs.get('b') as BrokerProcess;
    expect(await b.stop()).toBe(0);
    expect(readFileSync(join(mesh.broker('b').dataDir, 'mqtt-retained.json'), 'utf8')).toContain('restart/kept');
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-r', '-t', 'restart/while-down', '-m', 'meanwhile']);
    const again = new BrokerProcess(mesh.broker('b').config);
    procs.set('b', again);
    await again.ready;
    // b's own copy, from its data dir (a has no reason to send it again: b had acknowledged it).
    expect(await oneFrom('b', 'restart/kept', '%t|%r|%p', 5)).toEqual(['restart/kept|1|from before']);
    expect(await until(async () => (await routes('b')).includes('a'), 15_000)).toBe(true);
    expect(await until(async () => (await oneFrom('b', 'restart/while-down', '%p', 1)).join() === 'meanwhile', 15_000)).toBe(true);
  });
});

describe('[MQTT-INTEROP-6] wills and --remove-retained', () => {
  it('a mosquitto_sub on a killed by SIGKILL: its will reaches a mosquitto_sub on b', async () => {
    const watcher = await sub('b', 'tcp', 'mqttv5', 'wills/#', ['-q', '1', '-v', '-C', '1']);
    const doomed = await sub('a', 'tls', 'mqttv311', 'doomed/#', ['-q', '1', '--will-topic', 'wills/doomed', '--will-payload', 'gone', '--will-qos', '1'], 20, 'b');
    process.kill(doomed.child.pid as number, 'SIGKILL');
    const r = await watcher.done;
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(['wills/doomed gone']);
    expect((await doomed.done).code).toBeNull();
  });

  it('mosquitto_sub --remove-retained on b clears retained messages on a too', async () => {
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-r', '-t', 'rr/one', '-m', '1']);
    await pub('a', 'tcp', 'mqttv311', ['-q', '1', '-r', '-t', 'rr/two', '-m', '2']);
    expect(await until(async () => (await oneFrom('b', 'rr/two', '%p', 1)).join() === '2', 10_000)).toBe(true);
    const r = await start('mosquitto_sub', [...target('b', 'tcp'), '-t', 'rr/#', '--remove-retained', '--retained-only', '-v', '-W', '2'], 7000).done;
    expect(lines(r.stdout).sort()).toEqual(['rr/one 1', 'rr/two 2']);
    expect(await until(async () => (await oneFrom('a', 'rr/#', '%t %p', 1)).length === 0, 10_000)).toBe(true);
    expect(await oneFrom('b', 'rr/#', '%t %p', 1)).toEqual([]);
  });
});

describe('[MQTT-INTEROP-4] a persistent session (-c -i ID -q 1) gets what was published while its client was away', () => {
  it.each(['mqttv311', 'mqttv5'] as const)('%s', async (version) => {
    const id = `persist-${version}`;
    const filter = `offline/${version}/#`;
    // Subscribe, then leave (-E: exit once the subscription is acknowledged, a clean DISCONNECT).
    const first = await start('mosquitto_sub', [...target('b', 'tcp'), '-V', version, '-c', '-i', id, '-q', '1', '-t', filter, '-E', '-W', '10'], 15_000).done;
    expect(first.code).toBe(0);
    expect(await until(() => knows('a', filter), 10_000)).toBe(true);
    const sent = ['one', 'two', 'three', 'four'];
    for (const m of sent) await pub('a', 'tcp', version, ['-q', '1', '-t', `offline/${version}/x`, '-m', m]);
    // All four queued in the session at b while no connection is attached.
    const queued = async (): Promise<number> =>
      (await getJson<{ sessions: Array<{ clientId: string; connected: boolean; queued: number }> }>('b', '/v1/mqtt')).sessions.find((s) => s.clientId === id)?.queued ?? -1;
    expect(await until(async () => (await queued()) === sent.length, 10_000)).toBe(true);
    const back = await start('mosquitto_sub', [...target('b', 'tcp'), '-V', version, '-c', '-i', id, '-q', '1', '-t', filter, '-F', '%q %p', '-C', String(sent.length), '-W', '10'], 15_000).done;
    expect(back.code).toBe(0);
    expect(lines(back.stdout)).toEqual(sent.map((m) => `1 ${m}`));
  });
});
