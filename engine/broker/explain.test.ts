import { describe, expect, it } from 'vitest';
import { type Harness, seedTopology } from '../../test/harness.ts';
import { type ExplainSource, explainEvent } from '../explain.ts';
import { ACL_DOC } from './governance.ts';
import type { PublishInput } from './types.ts';

function converged(): Harness {
  const h = seedTopology();
  h.startAll();
  h.drive(1000);
  return h;
}

const input = (topic: string, extra: Partial<PublishInput> = {}): PublishInput => ({
  id: 'x',
  source: '/t',
  type: 'com.acme.order.created',
  topic,
  headers: {},
  payload: new Uint8Array(0),
  publishedAtMs: 0,
  ...extra,
});

function source(h: Harness): ExplainSource {
  return {
    hopLimit: async (id) => (h.brokers.has(id) ? h.broker(id).config.hopLimit : null),
    origin: async (id, i, dest) => h.broker(id).explainOrigin(i, dest),
    hop: async (id, dest, left, g) => h.broker(id).explainHop(dest, left, g),
    local: async (id, i) => h.broker(id).explainLocal(i),
  };
}

const stopAt = (gates: ReadonlyArray<{ gate: string; pass: boolean; broker: string }>) => {
  const g = gates.find((x) => !x.pass);
  return g === undefined ? null : `${g.broker}:${g.gate}`;
};

describe('explain [EXPLAIN-1..5]', () => {
  it('walks the route to the subscriber and names the path', async () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#');
    h.drive(500);
    const x = await explainEvent(source(h), input('orders/ap/1'), 'us-1', 'ap-1');
    expect(x.reaches).toBe(true);
    expect(x.path).toEqual(['us-1', 'us-2', 'ap-1']);
    expect(x.verdict).toBe('reaches 1 subscription at ap-1 via us-1 → us-2 → ap-1');
    expect(x.gates.map((g) => g.gate)).toEqual(['topic', 'policy (publish)', 'interest', 'edge selector', 'route', 'hop limit', 'route', 'hop limit', 'subscription', 'slow consumer']);
  });

  it('stops where the engine would: no interest, a selector at the edge', async () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#', 'amountCents > 100');
    h.drive(500);
    expect(stopAt((await explainEvent(source(h), input('orders/eu/1'), 'us-1', 'ap-1')).gates)).toBe('us-1:interest');
    const small = await explainEvent(source(h), input('orders/ap/1', { headers: { amountCents: 50 } }), 'us-1', 'ap-1');
    expect(stopAt(small.gates)).toBe('us-1:edge selector');
    expect(small.verdict).toMatch(/amountCents > 100 is false for this event at us-1/);
    expect((await explainEvent(source(h), input('orders/ap/1', { headers: { amountCents: 500 } }), 'us-1', 'ap-1')).reaches).toBe(true);
  });

  it('no route: a guaranteed event is spooled, a realtime one dropped', async () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#');
    h.drive(500);
    h.cutLink('ap-1', 'us-2');
    h.cutLink('ap-1', 'eu-1');
    h.drive(1000);
    const g = await explainEvent(source(h), input('orders/ap/1', { guaranteed: true }), 'us-1', 'ap-1');
    expect(stopAt(g.gates)).toBe('us-1:route');
    expect(g.verdict).toMatch(/waits in the spool/);
    expect((await explainEvent(source(h), input('orders/ap/1'), 'us-1', 'ap-1')).verdict).toMatch(/realtime event is dropped/);
  });

  it('the policy: a refused publish, and a subscription refused a type', async () => {
    const h = converged();
    h.broker('us-1').changeDocument(
      h.kernel.now,
      ACL_DOC,
      JSON.stringify([
        { principal: 'service:billing', allow: [{ publish: 'orders/#' }] },
        { principal: 'service:analytics', allow: [{ subscribe: 'orders/#' }], deny: [{ subscribe: 'com.acme.*.internal' }] },
      ]),
    );
    h.drive(500);
    h.broker('ap-1').subscribe(h.kernel.now, 'orders/#', null, 1, 'a', 'service:analytics');
    h.drive(500);
    const anon = await explainEvent(source(h), input('orders/ap/1'), 'us-1', 'ap-1');
    expect(stopAt(anon.gates)).toBe('us-1:policy (publish)');
    expect(anon.verdict).toMatch(/anonymous publishing com.acme.order.created on orders\/ap\/1: no entry allows it \(policy v1\)/);
    const internal = await explainEvent(source(h), input('orders/ap/1', { principal: 'service:billing', type: 'com.acme.order.internal' }), 'us-1', 'ap-1');
    expect(stopAt(internal.gates)).toBe('ap-1:policy (delivery)');
    expect(internal.reaches).toBe(false);
    expect((await explainEvent(source(h), input('orders/ap/1', { principal: 'service:billing' }), 'us-1', 'ap-1')).reaches).toBe(true);
  });

  it('at the destination: a local selector, and a slow consumer whose queue is full', async () => {
    const h = converged();
    const sub = h.subscribe('ap-1', 'orders/#', "region = 'ap'");
    h.drive(500);
    expect(stopAt((await explainEvent(source(h), input('orders/ap/1', { headers: { region: 'eu' } }), 'ap-1', 'ap-1')).gates)).toBe('ap-1:selector');
    h.broker('ap-1').pace(sub, 1);
    h.publish('ap-1', 'orders/ap/1', { region: 'ap' });
    h.publish('ap-1', 'orders/ap/2', { region: 'ap' });
    const slow = await explainEvent(source(h), input('orders/ap/3', { headers: { region: 'ap' } }), 'ap-1', 'ap-1');
    expect(stopAt(slow.gates)).toBe('ap-1:slow consumer');
    expect(slow.verdict).toMatch(/queue holds 1 of 1/);
  });

  it('a crashed broker on the way is named', async () => {
    const h = converged();
    h.subscribe('ap-1', 'orders/ap/#');
    h.drive(500);
    const src = source(h);
    const down: ExplainSource = { ...src, hopLimit: async (id) => (id === 'us-2' ? null : src.hopLimit(id)) };
    const x = await explainEvent(down, input('orders/ap/1'), 'us-1', 'ap-1');
    expect(stopAt(x.gates)).toBe('us-2:route');
    expect(x.verdict).toMatch(/us-2 is not running/);
  });
});
