/**
 * Link events as inputs [LINK-1..3]: a host that sees a connection close tells the broker at once
 * (handleLinkDown) instead of leaving it to the dead interval; a protocol violation asks the host
 * to disconnect; the simulator's faults can be silent (found by silence) or notified.
 */
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../engine/codec/index.ts';
import { FrameKind } from '../engine/frames.ts';
import { UsageError } from '../engine/types.ts';
import { faultToYaml } from '../scenarios/faults.ts';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import type { FaultSpec, Scenario } from '../scenarios/types.ts';
import { runScenario } from '../sim/run.ts';
import { type Harness, seedTopology } from './harness.ts';

function downAt(h: Harness, broker: string, neighbor: string): number[] {
  return h.events.filter((e) => e.type === 'neighbor-down' && e.broker === broker && e.neighbor === neighbor).map((e) => e.at);
}

describe('[LINK-1] handleLinkDown: a closed connection is known at once', () => {
  it('both ends declare the neighbor down at the close and route around it; a silent cut takes the dead interval', () => {
    const h = seedTopology();
    h.startAll();
    h.drive(2000);
    expect(h.broker('us-2').inspect().nextHop('ap-1')).toBe('ap-1');
    h.closeLink('us-2', 'ap-1');
    expect(downAt(h, 'us-2', 'ap-1')).toEqual([2000]);
    expect(downAt(h, 'ap-1', 'us-2')).toEqual([2000]);
    h.drive(300);
    expect(h.broker('us-2').inspect().nextHop('ap-1')).toBe('us-1');

    const s = seedTopology();
    s.startAll();
    s.drive(2000);
    s.cutLink('us-2', 'ap-1');
    s.drive(300);
    expect(downAt(s, 'us-2', 'ap-1')).toEqual([]);
    expect(s.broker('us-2').inspect().nextHop('ap-1')).toBe('ap-1');
    s.drive(400);
    expect(downAt(s, 'us-2', 'ap-1').length).toBe(1);
    expect(downAt(s, 'us-2', 'ap-1')[0]).toBeGreaterThan(2000 + 100);
  });

  it('sends no hellos into a closed link until it is back', () => {
    const h = seedTopology();
    h.startAll();
    h.drive(1000);
    h.closeLink('us-2', 'ap-1');
    const since = h.kernel.now;
    h.drive(1000);
    expect(h.sent.filter((s) => s.from === 'us-2' && s.to === 'ap-1' && s.at > since)).toEqual([]);
  });

  it('[LINK-2] handleLinkUp says hello at once: the adjacency is back in one round trip', () => {
    const h = seedTopology();
    h.startAll();
    h.drive(1000);
    h.closeLink('us-2', 'ap-1');
    h.drive(1003);
    const at = h.kernel.now;
    h.reopenLink('us-2', 'ap-1');
    h.drive(2 * 90 + 1);
    const up = h.events.filter((e) => e.type === 'neighbor-up' && e.broker === 'us-2' && e.neighbor === 'ap-1' && e.at >= at);
    expect(up.length).toBe(1);
    expect((up[0] as { at: number }).at).toBeLessThanOrEqual(at + 2 * 90);
    h.drive(200);
    expect(h.broker('us-2').inspect().nextHop('ap-1')).toBe('ap-1');
  });

  it("a link event for a broker that is not a neighbor is the caller's error", () => {
    const h = seedTopology();
    h.startAll();
    expect(() => h.broker('us-2').handleLinkDown(0, 'eu-1')).toThrow(UsageError);
    expect(() => h.broker('us-2').handleLinkUp(0, 'nobody')).toThrow(UsageError);
  });
});

describe('[LINK-3] a protocol violation disconnects the neighbor', () => {
  it('asks the host to disconnect, takes the adjacency down, and comes back over hellos', () => {
    const h = seedTopology();
    h.startAll();
    h.drive(1000);
    const at = h.kernel.now;
    h.broker('us-2').handleFrame(at, 'ap-1', encodeFrame({ kind: FrameKind.KeepAlive, from: 'ap-1', seq: 1 }));
    expect(h.disconnects).toEqual([{ at, broker: 'us-2', neighbor: 'ap-1', reason: 'keep-alive sent to a broker, not to its standby' }]);
    expect(downAt(h, 'us-2', 'ap-1')).toEqual([at]);
    expect(h.broker('us-2').inspect().upNeighbors()).not.toContain('ap-1');
    // The harness's links have no connection to close: ap-1's hellos reach us-2 and the adjacency returns.
    h.drive(1000);
    expect(h.broker('us-2').inspect().upNeighbors()).toContain('ap-1');
  });

  it('bytes that do not decode disconnect too; a broker that is not a neighbor is only counted', () => {
    const h = seedTopology();
    h.startAll();
    h.drive(1000);
    h.broker('us-2').handleFrame(h.kernel.now, 'ap-1', new Uint8Array([0, 0, 0, 2, 9, 9]));
    h.broker('us-2').handleFrame(h.kernel.now, 'stranger', new Uint8Array([0, 0, 0, 2, 9, 9]));
    expect(h.disconnects.map((d) => d.neighbor)).toEqual(['ap-1']);
    expect(h.broker('us-2').stats.protocolErrors).toBe(2);
  });
});

describe('[LINK-1] silent and notified faults in the simulator', () => {
  const base = loadScenario('scenarios/notified-cut.yaml');
  const withDetect = (detect: 'silent' | 'notified'): Scenario => ({ ...base, faults: base.faults.map((f) => ({ ...f, detect })) });

  it('a notified cut loses fewer realtime events than a silent cut of the same link (drops.linkDown)', () => {
    const silent = runScenario(withDetect('silent'), { measureHeap: false });
    const notified = runScenario(withDetect('notified'), { measureHeap: false });
    expect(silent.drops.linkDown).toBeGreaterThan(500);
    // What a notified cut loses is what was on the wire at the close (plus nothing after it).
    expect(notified.drops.linkDown).toBeLessThan(silent.drops.linkDown / 4);
    expect(notified.messages.delivered).toBeGreaterThan(silent.messages.delivered);
  });

  it('detect is a key of link-down, link-up, partition and heal, written back by faultToYaml', () => {
    const file = `name: d
duration: 10s
regions: [{ id: us, brokers: [us-1] }, { id: ap, brokers: [ap-1] }]
links: [{ between: [us-1, ap-1], rtt: 180ms, bandwidth: 1Gbps }]
faults:
  - { at: 1s, link-down: [us-1, ap-1], detect: notified }
  - { at: 2s, link-up: [us-1, ap-1], detect: silent }
  - { at: 3s, partition: [ap], detect: notified }
  - { at: 4s, heal: all, detect: notified }
  - { at: 5s, link-down: [us-1, ap-1] }
`;
    const faults = parseScenario(file, 'd.yaml').faults;
    expect(faults.map((f) => f.detect)).toEqual(['notified', 'silent', 'notified', 'notified', undefined]);
    const again = parseScenario(file.replace(/faults:[\s\S]*$/, stringify({ faults: faults.map(faultToYaml) })), 'd.yaml').faults;
    expect(again).toEqual(faults as FaultSpec[]);
    expect(() => parseScenario(`${file.replace(/faults:[\s\S]*$/, '')}faults:\n  - { at: 1s, crash: us-1, detect: notified }\n`, 'd.yaml')).toThrow(/detect/);
    expect(() => parseScenario(`${file.replace(/faults:[\s\S]*$/, '')}faults:\n  - { at: 1s, link-down: [us-1, ap-1], detect: loud }\n`, 'd.yaml')).toThrow();
  });
});
