import { describe, expect, it } from 'vitest';
import { frameKindOf } from '../codec/index.ts';
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
