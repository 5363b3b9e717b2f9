/**
 * The live server against hostile clients: `meshtwin viz` as a user starts it (a real process),
 * real socket.io-client sockets sending what no page would — wrong types, no ack, extra
 * arguments, huge strings, unknown event names, NaN/Infinity/negative speeds, faults naming
 * brokers and links that do not exist, prototype-pollution keys, a flood. Each gets an error
 * back (by its ack, or a 'control-error' event when it sent none); the process keeps running,
 * the viewer watching all along keeps getting snapshots, and a new viewer can still act.
 * [VIZ-CTRL-1] [VIZ-CTRL-2] [VIZ-CTRL-3] [VIZ-CTRL-4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { LiveSnapshot } from '../viz/session.ts';

let child: ChildProcess;
let url = '';
let output = '';
const sockets: Socket[] = [];

function open(): Socket {
  const s = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(s);
  return s;
}

async function ready(s: Socket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    s.once('hello', () => resolve());
    s.once('connect_error', reject);
  });
}

type Reply = { ok: boolean; error?: string };

/** Sends one message; resolves with the ack's reply, or with the control-error event when no ack was asked for. */
function send(s: Socket, withAck: boolean, event: unknown, ...args: unknown[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${String(event).slice(0, 40)}`)), 5000);
    const done = (r: Reply) => {
      clearTimeout(timer);
      resolve(r);
    };
    if (withAck) {
      (s.emit as (...a: unknown[]) => unknown)(event, ...args, done);
    } else {
      s.once('control-error', (m: { error: string }) => done({ ok: false, error: m.error }));
      (s.emit as (...a: unknown[]) => unknown)(event, ...args);
    }
  });
}

beforeAll(async () => {
  child = spawn(process.execPath, ['bin/meshtwin.js', 'viz', 'scenarios/global-3-region-small.yaml', '--port', '0', '--speed', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`meshtwin viz did not start:\n${output}`)), 30_000);
    const check = () => {
      const m = /watch it at (http:\/\/\S+)/.exec(output);
      if (m !== null) {
        clearTimeout(t);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`meshtwin viz exited with ${code}:\n${output}`)));
  });
});

afterAll(() => {
  for (const s of sockets) s.close();
  if (child.exitCode === null) child.kill('SIGTERM');
});

const pollution = JSON.parse('{"__proto__": {"polluted": "yes"}, "action": "crash", "target": ["us-1"]}') as unknown;
const ctorPollution = JSON.parse('{"seed": 1, "constructor": {"prototype": {"polluted": "yes"}}}') as unknown;
const huge = 'x'.repeat(3000);

/** [ack?, event, ...args] and the error expected. */
const HOSTILE: ReadonlyArray<readonly [boolean, string | number, unknown[], RegExp]> = [
  // The four messages that used to kill the process (`ack is not a function`).
  [false, 'pause', ['x'], /^pause: expected no argument, found 1 argument$/],
  [false, 'resume', [5], /^resume: expected no argument, found 1 argument$/],
  [false, 'speed', [2, 'x'], /^speed: expected one argument: .*found 2 arguments$/],
  [false, 'fault', [{ action: 'crash', target: ['us-1'] }, 1], /^fault: expected one argument: .*found 2 arguments$/],
  [true, 'fault', [{ action: 'crash', target: ['us-1'] }, 1], /found 2 arguments$/],
  [false, 'speed', [], /^speed: expected one argument/],
  [false, 'restart', [], /^restart: expected one argument/],
  // Speeds out of range (NaN and Infinity arrive as null through JSON).
  [true, 'speed', [Number.NaN], /^speed: expected a positive number .* found null$/],
  [true, 'speed', [Number.POSITIVE_INFINITY], /found null$/],
  [true, 'speed', [-1], /found -1$/],
  [true, 'speed', [0], /found 0$/],
  [true, 'speed', [1e12], /found 1000000000000$/],
  [true, 'speed', ['10'], /found "10"$/],
  [true, 'speed', [{ valueOf: 10 }], /found \{"valueOf":10\}$/],
  // Faults of the wrong shape, or naming what does not exist.
  [true, 'fault', ['cut it'], /^fault: expected \{ action, target: \[ids\] \}$/],
  [true, 'fault', [null], /^fault: expected/],
  [true, 'fault', [['crash', 'us-1']], /^fault: expected/],
  [true, 'fault', [{ action: 'crash', target: 'us-1' }], /^fault: expected/],
  [true, 'fault', [{ action: 'crash', target: [] }], /found 0 entries$/],
  [true, 'fault', [{ action: 'crash', target: [{}] }], /^fault: target ids are non-empty strings, found \{\}$/],
  [true, 'fault', [{ action: 'crash', target: [Buffer.from('us-1')] }], /^fault: target ids are non-empty strings/],
  [true, 'fault', [{ action: 'crash', target: ['zz-9'] }], /^no broker "zz-9"$/],
  [true, 'fault', [{ action: 'link-down', target: ['us-1', 'zz-9'] }], /^no link between "us-1" and "zz-9"$/],
  [true, 'fault', [{ action: 'link-down', target: ['us-1', 'ap-1'] }], /^no link between "us-1" and "ap-1"$/],
  [true, 'fault', [{ action: 'nuke', target: ['us-1'] }], /^unknown fault "nuke"/],
  [true, 'fault', [{ action: 'crash', target: ['us-1'], extra: 1 }], /^fault: unknown field "extra"/],
  [true, 'fault', [{ action: 'crash', target: [huge] }], /^fault: broker id longer than 100 characters: "x{59}… \(3002 characters\)$/],
  [true, 'fault', [pollution], /^fault: unknown field "__proto__"/],
  [true, 'restart', [ctorPollution], /^restart: unknown field "constructor"/],
  [true, 'restart', [{ seed: 1.5 }], /^restart: expected an integer seed, found 1.5$/],
  [true, 'restart', [{ seed: '7' }], /found "7"$/],
  [true, 'restart', [7], /^restart: expected \{ seed \}, found 7$/],
  // Names that are not controls: the server's own events, Object.prototype's, EventEmitter's 'error'.
  [true, 'hello', [{}], /^unknown event "hello" \(expected one of pause, resume, speed, fault, restart\)$/],
  [false, 'snapshot', [], /^unknown event "snapshot"/],
  [false, 'error', ['boom'], /^unknown event "error"/],
  [true, 'toString', [], /^unknown event "toString"/],
  [true, '__proto__', [], /^unknown event "__proto__"/],
  [true, 'constructor', [], /^unknown event "constructor"/],
  [true, 'hasOwnProperty', ['pause'], /^unknown event "hasOwnProperty"/],
  [true, 5, [], /^unknown event 5 /],
  [true, huge, [], /^unknown event "x{59}… \(3002 characters\)/],
];

describe('meshtwin viz against hostile clients', () => {
  it('answers every bad message with an error to its sender and keeps serving everyone else', async () => {
    const watcher = open();
    const snaps: LiveSnapshot[] = [];
    watcher.on('snapshot', (s: LiveSnapshot) => snaps.push(s));
    const watcherErrors: unknown[] = [];
    watcher.on('control-error', (m: unknown) => watcherErrors.push(m));
    await ready(watcher);

    const hostile = open();
    await ready(hostile);
    let k = 0;
    for (const [withAck, event, args, expected] of HOSTILE) {
      // Past the burst the rate limit answers instead (tested below): pace the table.
      if (++k % 15 === 0) await new Promise((r) => setTimeout(r, 1600));
      const r = await send(hostile, withAck, event, ...args);
      expect(r.ok, `${String(event).slice(0, 20)} ${JSON.stringify(args).slice(0, 80)}`).toBe(false);
      expect(r.error, `${String(event).slice(0, 20)} ${JSON.stringify(args).slice(0, 80)}`).toMatch(expected);
    }
    expect(hostile.connected).toBe(true);

    // A message past the size limit: socket.io cuts that client off, nobody else.
    const big = open();
    await ready(big);
    const gone = new Promise<string>((resolve) => big.once('disconnect', resolve));
    big.emit('fault', { action: 'crash', target: ['y'.repeat(10_000)] });
    expect(await gone).toMatch(/transport close|transport error/);

    // A flood: past the burst, errors, not a notice to every viewer per message.
    const flood = open();
    await ready(flood);
    const replies = await Promise.all(Array.from({ length: 40 }, () => send(flood, true, 'speed', 10)));
    const limited = replies.filter((r) => !r.ok);
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(limited[0]?.error).toBe('too many controls: at most 10 a second');

    // The process still runs; the watcher kept getting snapshots and never an error meant for others.
    expect(child.exitCode).toBeNull();
    const n = snaps.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(snaps.length).toBeGreaterThan(n);
    expect(watcherErrors).toEqual([]);
    // None of the hostile faults was applied: every broker up, every link up.
    const last = snaps[snaps.length - 1] as LiveSnapshot;
    expect(last.brokers.every((b) => b.alive)).toBe(true);
    expect(last.directions.every((d) => d.up)).toBe(true);

    // A new viewer connects, gets the page's data and snapshots, and a valid control works.
    const fresh = open();
    const freshSnaps: LiveSnapshot[] = [];
    fresh.on('snapshot', (s: LiveSnapshot) => freshSnaps.push(s));
    await ready(fresh);
    expect(await send(fresh, true, 'fault', { action: 'crash', target: ['eu-1'] })).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(freshSnaps.at(-1)?.brokers.find((b) => b.id === 'eu-1')?.alive).toBe(false);
    expect(await send(fresh, true, 'fault', { action: 'restart', target: ['eu-1'] })).toEqual({ ok: true });
    expect(child.exitCode).toBeNull();
    expect(output).not.toMatch(/TypeError|Unhandled|ERR_/);
  }, 90_000);
});
