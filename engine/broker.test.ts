import { describe, expect, it } from 'vitest';
import { seedTopology, Harness } from '../test/harness.ts';
import { encodeFrame } from './codec/index.ts';
import { FrameKind, type DataFrame } from './frames.ts';

function converged(): Harness {
  const h = seedTopology();
  h.startAll();
  h.drive(1000);
  return h;
}

describe('Broker: link state [HEL-1][LS-1][LS-2][LS-3]', () => {
  it('forms adjacencies and computes seed 002 routes (US→AP direct over us-2)', () => {
    const h = converged();
    for (const b of h.brokers.values()) expect(b.inspect().adverts).toBe(4);
    expect(h.broker('us-1').inspect().upNeighbors()).toEqual(['us-2', 'eu-1']);
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBe('us-2'); // 0.5 + 180 < 70 + 120
    expect(h.broker('eu-1').inspect().nextHop('us-2')).toBe('us-1');
    expect(h.broker('ap-1').inspect().nextHop('us-1')).toBe('us-2');
  });

  it('routes around a cut link after the dead interval, and back when it heals', () => {
    const h = converged();
    h.cutLink('us-2', 'ap-1');
    h.drive(300); // less than the 400 ms dead interval: nothing noticed yet
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBe('us-2');
    h.drive(500);
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBe('eu-1'); // US → EU → AP
    expect(h.broker('us-2').inspect().nextHop('ap-1')).toBe('us-1');
    expect(h.events.some((e) => e.type === 'neighbor-down' && e.broker === 'us-2' && e.neighbor === 'ap-1')).toBe(true);
    h.restoreLink('us-2', 'ap-1');
    h.drive(1000);
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBe('us-2');
  });

  it('adverts and interest echoed back around a cycle start no new flooding', () => {
    // A square a–b–c–d–a with one slow side, so a's adverts come back to it via the long way.
    const h = new Harness(
      ['a', 'b', 'c', 'd'],
      [
        { a: 'a', b: 'b', delayMs: 1 },
        { a: 'b', b: 'c', delayMs: 1 },
        { a: 'c', b: 'd', delayMs: 1 },
        { a: 'd', b: 'a', delayMs: 50 },
      ],
    );
    h.subscribe('a', 'x/#');
    h.startAll();
    h.drive(1000);
    const control = () => h.sent.filter((s) => s.kind === FrameKind.LinkState || s.kind === FrameKind.Interest).length;
    const settled = control();
    h.drive(3000);
    expect(control()).toBe(settled);
    expect(h.broker('a').inspect().interestSequence).toBe(1);
    expect(h.broker('c').inspect().nextHop('a')).toBe('b');
  });

  it('a restarted broker is re-adopted: its new adverts win over its old life', () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#');
    h.drive(500);
    h.crash('ap-1');
    h.drive(1000);
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBeUndefined();
    const ap = h.create('ap-1');
    h.subscribe('ap-1', 'orders/ap/#');
    ap.start(h.kernel.now);
    h.drive(1000);
    expect(h.broker('us-1').inspect().nextHop('ap-1')).toBe('us-2');
    const t0 = h.kernel.now;
    h.publish('us-1', 'orders/ap/1');
    h.drive(500);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(1);
  });
});

describe('Broker: interest and forwarding [INT-1][FWD-1][FWD-2][FWD-3]', () => {
  it('delivers only where interest is, after one-way delays along the route', () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#');
    h.subscribe('us-1', 'orders/us/+');
    h.drive(500);
    const t0 = h.kernel.now;
    h.publish('us-1', 'orders/ap/checkout');
    h.publish('us-1', 'orders/us/checkout');
    h.drive(500);
    const ap = h.deliveriesAt('ap-1', t0);
    expect(ap).toHaveLength(1);
    expect(ap[0]?.at).toBeCloseTo(t0 + 0.25 + 90, 6);
    expect(ap[0]?.env.path).toEqual(['us-1', 'us-2']);
    expect(h.deliveriesAt('us-1', t0)).toHaveLength(1);
    expect(h.deliveriesAt('eu-1', t0)).toHaveLength(0);
    expect(h.dataFrames('us-1', 'eu-1', t0)).toHaveLength(0); // no interest, no WAN bytes
  });

  it('sends one copy per next hop; the transit broker splits the destinations', () => {
    const h = converged();
    h.cutLink('us-2', 'ap-1');
    h.subscribe('eu-1', 'orders/#');
    h.subscribe('ap-1', 'orders/+/checkout');
    h.drive(1500);
    const t0 = h.kernel.now;
    h.publish('us-1', 'orders/ap/checkout');
    h.drive(500);
    const frames = h.dataFrames('us-1', 'eu-1', t0) as DataFrame[];
    expect(frames).toHaveLength(1);
    expect([...frames[0]!.dests].sort()).toEqual(['ap-1', 'eu-1']);
    expect(h.dataFrames('eu-1', 'ap-1', t0)).toHaveLength(1);
    expect(h.deliveriesAt('eu-1', t0)).toHaveLength(1);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(1);
  });

  it('filters at the edge: an event no remote selector accepts costs no WAN bytes', () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/#', 'amountCents > 10000');
    h.drive(500);
    const t0 = h.kernel.now;
    h.publish('us-1', 'orders/us/1', { amountCents: 50 });
    h.drive(500);
    expect(h.sent.filter((s) => s.kind === FrameKind.Data && s.at >= t0)).toHaveLength(0);
    expect(h.broker('us-1').stats.filteredAtEdge).toBe(1);
    h.publish('us-1', 'orders/us/2', { amountCents: 20000 });
    h.drive(500);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(1);
  });

  it('withdraws interest when the last subscriber of a pattern leaves', () => {
    const h = converged();
    const a = h.subscribe('eu-1', 'x/#');
    const b = h.subscribe('eu-1', 'x/#');
    h.drive(300);
    expect(h.broker('us-1').inspect().remotePatterns).toBe(1);
    h.broker('eu-1').unsubscribe(h.kernel.now, a);
    h.drive(300);
    expect(h.broker('us-1').inspect().remotePatterns).toBe(1);
    h.broker('eu-1').unsubscribe(h.kernel.now, b);
    h.drive(300);
    expect(h.broker('us-1').inspect().remotePatterns).toBe(0);
    const t0 = h.kernel.now;
    h.publish('us-1', 'x/1');
    h.drive(300);
    expect(h.dataFrames('us-1', 'eu-1', t0)).toHaveLength(0);
  });

  it('drops an envelope that already passed through the receiving broker (loop guard)', () => {
    const h = converged();
    h.subscribe('us-1', 'a/#');
    const frame: DataFrame = {
      kind: FrameKind.Data,
      dests: ['us-1'],
      envelope: { id: 'x', source: 's', type: 't', specversion: '1.0', topic: 'a/b', headers: {}, payload: new Uint8Array(1), publishedAtMs: 0, path: ['us-1', 'eu-1'], hopLimit: 10 },
    };
    h.broker('us-1').handleFrame(h.kernel.now, 'eu-1', encodeFrame(frame));
    expect(h.broker('us-1').stats.droppedLoop).toBe(1);
    expect(h.deliveriesAt('us-1')).toHaveLength(0);
  });

  it('does not forward past the hop limit', () => {
    const h = new Harness(
      ['a', 'b', 'c'],
      [
        { a: 'a', b: 'b', delayMs: 1 },
        { a: 'b', b: 'c', delayMs: 1 },
      ],
      { hopLimit: 1 },
    );
    h.startAll();
    h.subscribe('c', 't/#');
    h.drive(500);
    h.publish('a', 't/1');
    h.drive(100);
    expect(h.broker('b').stats.droppedHopLimit).toBe(1);
    expect(h.deliveriesAt('c')).toHaveLength(0);
  });

  it('counts a malformed frame as a protocol error and keeps routing', () => {
    const h = converged();
    h.subscribe('eu-1', 'a/#');
    h.drive(300);
    h.broker('eu-1').handleFrame(h.kernel.now, 'us-1', new Uint8Array([0, 0, 0, 3, 9, 9, 9]));
    expect(h.broker('eu-1').stats.protocolErrors).toBe(1);
    expect(h.events.some((e) => e.type === 'protocol-error')).toBe(true);
    const t0 = h.kernel.now;
    h.publish('us-1', 'a/b');
    h.drive(300);
    expect(h.deliveriesAt('eu-1', t0)).toHaveLength(1);
  });

  it('rejects a publish on an invalid topic without side effects', () => {
    const h = converged();
    expect(h.broker('us-1').handlePublish(0 + h.kernel.now, { id: '1', source: 's', type: 't', topic: 'a/+/b', headers: {}, payload: new Uint8Array(0), publishedAtMs: h.kernel.now })).toBe(
      'invalid-topic',
    );
    expect(h.broker('us-1').stats.published).toBe(0);
  });
});
