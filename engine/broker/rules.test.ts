import { describe, expect, it } from 'vitest';
import { type Harness, seedTopology } from '../../test/harness.ts';
import { FrameKind } from '../frames.ts';

function converged(): Harness {
  const h = seedTopology();
  h.startAll();
  h.drive(1000);
  return h;
}

const dataTo = (h: Harness, to: string, since: number) => h.sent.filter((s) => s.kind === FrameKind.Data && s.to === to && s.at >= since).length;

describe('operator routing rules [RULE-1..3]', () => {
  it('send matching events to a broker with no subscriber, filtered by their selector', () => {
    const h = converged();
    h.broker('us-1').setRoutingRules([{ name: 'archive', pattern: 'orders/#', filter: 'amountCents > 100', dests: ['ap-1'] }]);
    const t0 = h.kernel.now;
    h.publish('us-1', 'orders/us/1', { amountCents: 500 });
    h.publish('us-1', 'orders/us/2', { amountCents: 5 });
    h.publish('us-1', 'payments/us/1', { amountCents: 500 });
    h.drive(500);
    // One frame, over us-2 (the route to ap-1), and none for the other two.
    expect(h.dataFrames('us-1', 'us-2', t0)).toHaveLength(1);
    expect(h.dataFrames('us-2', 'ap-1', t0)).toHaveLength(1);
    expect(dataTo(h, 'eu-1', t0)).toBe(0);
  });

  it('one copy when interest and a rule both send to the same broker; none once the rules are cleared', () => {
    const h = converged();
    const sub = h.subscribe('ap-1', 'orders/#');
    h.drive(500);
    h.broker('us-1').setRoutingRules([{ name: 'archive', pattern: 'orders/#', filter: null, dests: ['ap-1', 'us-1'] }]);
    let t0 = h.kernel.now;
    h.publish('us-1', 'orders/us/1');
    h.drive(500);
    expect(h.dataFrames('us-2', 'ap-1', t0)).toHaveLength(1);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(1);
    h.broker('us-1').setRoutingRules([]);
    h.broker('ap-1').unsubscribe(h.kernel.now, sub);
    h.drive(500);
    t0 = h.kernel.now;
    h.publish('us-1', 'orders/us/2');
    h.drive(500);
    expect(h.dataFrames('us-2', 'ap-1', t0)).toHaveLength(0);
  });

  it('a bad rule is refused whole', () => {
    const h = converged();
    expect(() => h.broker('us-1').setRoutingRules([{ name: 'bad', pattern: 'a/#/b', filter: null, dests: ['ap-1'] }])).toThrow(/routing rule bad/);
  });
});
