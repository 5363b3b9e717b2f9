import { describe, expect, it } from 'vitest';
import { FrameDecoder, frameKindOf } from '../codec/index.ts';
import { seedTopology } from '../../test/harness.ts';
import { FrameKind } from '../frames.ts';
import type { Millis } from '../types.ts';
import { BrokerDriver, type HostEffects } from './driver.ts';

/** A host whose timer service only records requests; the test decides when they fire. */
function rig() {
  const scheduled: Millis[] = [];
  const sent: Array<{ to: string; kind: number | undefined }> = [];
  const effects: HostEffects = {
    send: (to, bytes) => sent.push({ to, kind: frameKindOf(bytes) }),
    keepalive: () => {},
    drop: () => {},
    disconnect: () => {},
    deliver: () => {},
    emit: () => {},
  };
  const driver = new BrokerDriver(effects, { schedule: (at) => scheduled.push(at) });
  const broker = driver.boot({ id: 'a', neighbors: [{ id: 'b', cost: 1 }], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 });
  return { driver, broker, scheduled, sent };
}

describe('BrokerDriver [HOST-1]', () => {
  it('arms the timer the broker asks for and forwards its effects', () => {
    const { driver, broker, scheduled, sent } = rig();
    broker.start(0);
    expect(scheduled).toEqual([100]);
    expect(driver.timerAt).toBe(100);
    expect(sent).toEqual([{ to: 'b', kind: FrameKind.Hello }]);
    driver.handleTimer(100);
    expect(sent.length).toBe(2);
    expect(driver.timerAt).toBe(200);
  });

  it('[HOST-2] ignores a firing before the armed time (a superseded request) and fires once', () => {
    const { driver, broker, sent } = rig();
    broker.start(0);
    driver.handleTimer(50);
    expect(sent.length).toBe(1);
    driver.handleTimer(100);
    driver.handleTimer(100);
    expect(sent.length).toBe(2);
  });

  it('[HOST-2] a late firing (a wall clock) still runs the timer', () => {
    const { driver, broker, sent } = rig();
    broker.start(0);
    driver.handleTimer(103.7);
    expect(sent.length).toBe(2);
  });

  it('a stopped driver passes no input and no timer to its broker; a new boot starts clean', () => {
    const { driver, broker, scheduled, sent } = rig();
    broker.start(0);
    driver.stop();
    expect(driver.alive).toBe(false);
    driver.handleTimer(100);
    driver.handleFrame(100, 'b', new Uint8Array(10));
    expect(sent.length).toBe(1);
    expect(broker.stats.protocolErrors).toBe(0);
    const again = driver.boot({ id: 'a', neighbors: [{ id: 'b', cost: 1 }], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 });
    expect(driver.broker).toBe(again);
    again.start(150);
    expect(scheduled.at(-1)).toBe(250);
    driver.handleFrame(150, 'b', new Uint8Array(10));
    expect(again.stats.protocolErrors).toBe(1);
  });
});

describe('stream decoding hands the broker the frame and its bytes', () => {
  it("a broker fed its neighbors' streams byte by byte acts exactly as one fed whole frames", () => {
    // What eu-1 received in a run of seed 002's topology: hellos, adverts, interest, data.
    const h = seedTopology();
    h.startAll();
    h.subscribe('ap-1', 'orders/ap/#');
    h.subscribe('us-2', 'orders/+/paid', 'amountCents > 100');
    h.subscribe('eu-1', 'orders/#');
    h.drive(1000);
    for (let i = 0; i < 20; i++) h.publish('us-1', i % 2 === 0 ? 'orders/ap/new' : 'orders/us/paid', { amountCents: i * 20 });
    h.drive(1000);
    const inbound = h.sent.filter((s) => s.to === 'eu-1');
    expect(new Set(inbound.map((s) => frameKindOf(s.bytes))).size).toBeGreaterThanOrEqual(4);

    const config = {
      id: 'eu-1',
      neighbors: [
        { id: 'us-1', cost: 70 },
        { id: 'ap-1', cost: 120 },
      ],
      helloIntervalMs: 100,
      deadIntervalMs: 400,
      hopLimit: 16,
    };
    const run = (feed: (d: BrokerDriver, at: number, from: string, bytes: Uint8Array) => void): { out: string[]; routes: unknown; remote: number; errors: number } => {
      const out: string[] = [];
      const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
      const driver = new BrokerDriver(
        {
          send: (to, bytes) => out.push(`${to} ${hex(bytes)}`),
          keepalive: () => {},
          drop: () => {},
          disconnect: (n, why) => out.push(`disconnect ${n} ${why}`),
          deliver: (_sub, env) => out.push(`deliver ${env.id}`),
          emit: (e) => out.push(e.type),
        },
        { schedule: () => {} },
      );
      const broker = driver.boot(config);
      broker.start(0);
      for (const s of inbound) feed(driver, s.at, s.from, s.bytes);
      return { out, routes: broker.inspect().routes(), remote: broker.inspect().remotePatterns, errors: broker.stats.protocolErrors };
    };
    const whole = run((d, at, from, bytes) => d.handleFrame(at, from, bytes));
    const decoders = new Map<string, FrameDecoder>();
    const streamed = run((d, at, from, bytes) => {
      let dec = decoders.get(from);
      if (dec === undefined) decoders.set(from, (dec = new FrameDecoder()));
      for (let i = 0; i < bytes.length; i++) {
        dec.push(bytes.subarray(i, i + 1));
        for (let r = dec.poll(); r !== undefined; r = dec.poll()) d.handleDecoded(at, from, r);
      }
    });
    expect(whole.remote).toBeGreaterThan(0);
    expect(whole.errors).toBe(0);
    expect(streamed).toEqual(whole);
  });

  it('a stream that breaks the protocol: counted, the neighbor disconnected', () => {
    const reasons: string[] = [];
    const driver = new BrokerDriver(
      { send: () => {}, keepalive: () => {}, drop: () => {}, deliver: () => {}, emit: () => {}, disconnect: (n, why) => reasons.push(`${n}: ${why}`) },
      { schedule: () => {} },
    );
    const broker = driver.boot({ id: 'a', neighbors: [{ id: 'b', cost: 1 }], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 });
    broker.start(0);
    const dec = new FrameDecoder();
    dec.push(new Uint8Array([0, 0, 0, 2, 7, 1]));
    const r = dec.poll();
    expect(r?.ok).toBe(false);
    driver.handleDecoded(1, 'b', r as NonNullable<typeof r>);
    expect(broker.stats.protocolErrors).toBe(1);
    expect(reasons.length).toBe(1);
    expect(reasons[0]).toMatch(/^b: /);
  });
});
