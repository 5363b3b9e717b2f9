import { describe, expect, it } from 'vitest';
import { seedTopology } from '../test/harness.ts';
import { Broker } from './broker.ts';
import { ConsumerQueue } from './consumer.ts';
import type { LocalSubscription } from './interest.ts';
import { groupKey, lagDepth, parseShared, ShareGroup, validateShared } from './share.ts';
import type { Envelope } from './types.ts';
import { UsageError } from './types.ts';

function member(id: number, count: number, queueLimit?: number): LocalSubscription {
  return {
    id,
    pattern: 'orders/#',
    filter: null,
    selector: null,
    count,
    tag: id,
    consumer: queueLimit === undefined ? null : new ConsumerQueue(queueLimit),
    share: null,
    principal: null,
    aclVersion: -1,
    aclAllowed: true,
    aclTypesOnly: false,
  };
}

const ENV = { id: 'x' } as unknown as Envelope;

/** Fills a paced member's broker-side queue to `depth` messages. */
function backlog(sub: LocalSubscription, depth: number): void {
  const q = sub.consumer as ConsumerQueue;
  while (q.depth < depth) q.offer(ENV, false, 100, true);
}

describe('shared subscription syntax [SHARE-4]', () => {
  it('splits group and pattern', () => {
    expect(parseShared('$share/billing/orders/#')).toEqual({ group: 'billing', pattern: 'orders/#' });
    expect(parseShared('orders/#')).toBeNull();
    expect(parseShared('$share/billing')).toBeNull();
  });

  it.each([
    ['$share/billing/orders/#', null],
    ['$share/billing', 'no pattern after the group'],
    ['$share//orders/#', 'the group is empty'],
    ['$share/bill+/orders/#', 'the group must not contain wildcards'],
    ['$share/billing/orders/#/x', expect.stringContaining('after "$share/billing/": ')],
  ])('%s → %s', (text, reason) => {
    expect(validateShared(text)).toEqual(reason);
  });

  it('the group key separates selectors', () => {
    expect(groupKey('g', 'a/#', null)).not.toBe(groupKey('g', 'a/#', 'x > 1'));
  });

  it('a member lags at a tenth of its queue, at least one message', () => {
    expect(lagDepth(1000)).toBe(100);
    expect(lagDepth(5)).toBe(1);
  });
});

describe('ShareGroup.pick [SHARE-2][SHARE-3]', () => {
  it('deals events by subscriber count: 1 and 3 subscribers get 1/4 and 3/4, evenly interleaved', () => {
    const g = new ShareGroup('k', 'g');
    const a = member(1, 1);
    const b = member(2, 3);
    g.add(a);
    g.add(b);
    const picks = Array.from({ length: 400 }, () => g.pick());
    expect(picks.filter((p) => p === a).length).toBe(100);
    expect(picks.filter((p) => p === b).length).toBe(300);
    // Smooth: never more than 3 in a row for b, never two in a row for a.
    const s = picks.map((p) => (p === a ? 'a' : 'b')).join('');
    expect(s).not.toContain('bbbb');
    expect(s).not.toContain('aa');
    expect(g.rebalanced).toBe(0);
  });

  it('skips a lagging member: its share moves to the healthy ones, counted', () => {
    const g = new ShareGroup('k', 'g');
    const slow = member(1, 1, 100);
    const fast = member(2, 1, 100);
    g.add(slow);
    g.add(fast);
    backlog(slow, lagDepth(100));
    for (let i = 0; i < 50; i++) expect(g.pick()).toBe(fast);
    expect(g.rebalanced).toBe(50);
    // Once it catches up (queue below the lag depth) it gets its turn again.
    (slow.consumer as ConsumerQueue).next();
    const picks = Array.from({ length: 10 }, () => g.pick());
    expect(picks).toContain(slow);
  });

  it('when every member lags, the least-queued one takes the event', () => {
    const g = new ShareGroup('k', 'g');
    const a = member(1, 1, 10);
    const b = member(2, 1, 10);
    g.add(a);
    g.add(b);
    backlog(a, 5);
    backlog(b, 3);
    expect(g.pick()).toBe(b);
  });

  it('an empty group picks nobody; remove reports emptiness', () => {
    const g = new ShareGroup('k', 'g');
    const a = member(1, 1);
    expect(g.pick()).toBeUndefined();
    g.add(a);
    expect(g.remove(member(9, 1))).toBe(false);
    expect(g.remove(a)).toBe(true);
    expect(g.pick()).toBeUndefined();
  });
});

describe('Broker: consumer groups [SHARE-1][SHARE-4]', () => {
  it('each event goes to one member; a plain subscriber on the same pattern gets every event', () => {
    const h = seedTopology();
    h.startAll();
    const a = h.subscribe('eu-1', '$share/billing/orders/#');
    const b = h.subscribe('eu-1', '$share/billing/orders/#');
    const audit = h.subscribe('eu-1', 'orders/#');
    h.drive(1000);
    // Published in the US: the group's interest travelled as the bare pattern.
    for (let i = 0; i < 100; i++) h.publish('us-1', `orders/us/${i}`);
    h.drive(1000);
    const got = h.deliveriesAt('eu-1');
    const to = (s: LocalSubscription) => got.filter((d) => d.sub === s).map((d) => d.env.id);
    expect(to(audit)).toHaveLength(100);
    expect(to(a).length + to(b).length).toBe(100);
    expect(to(a)).toHaveLength(50);
    expect(new Set([...to(a), ...to(b)]).size).toBe(100);
    expect(h.broker('eu-1').stats.subscriberDeliveries).toBe(200);
  });

  it('groups with different names each get every event', () => {
    const h = seedTopology();
    h.startAll();
    const a = h.subscribe('eu-1', '$share/billing/orders/#');
    const b = h.subscribe('eu-1', '$share/fraud/orders/#');
    h.drive(1000);
    for (let i = 0; i < 10; i++) h.publish('eu-1', `orders/eu/${i}`);
    h.drive(100);
    const got = h.deliveriesAt('eu-1');
    expect(got.filter((d) => d.sub === a)).toHaveLength(10);
    expect(got.filter((d) => d.sub === b)).toHaveLength(10);
  });

  it('the last member leaving withdraws nothing else; a malformed group is a UsageError', () => {
    const h = seedTopology();
    h.startAll();
    const a = h.subscribe('eu-1', '$share/billing/orders/#');
    const b = h.subscribe('eu-1', '$share/billing/orders/#');
    h.drive(1000);
    expect(h.broker('eu-1').unsubscribe(h.kernel.now, a)).toBe(true);
    for (let i = 0; i < 10; i++) h.publish('eu-1', `orders/eu/${i}`);
    h.drive(100);
    expect(h.deliveriesAt('eu-1').filter((d) => d.sub === b)).toHaveLength(10);
    expect(() => h.subscribe('eu-1', '$share/bi+ll/orders/#')).toThrow(UsageError);
    expect(() => h.subscribe('eu-1', '$share/billing')).toThrow('no pattern after the group');
  });
});

describe('Broker: a group backlog for guaranteed events [SHARE-5]', () => {
  /** One broker, two paced members of one group (queue 10: each lags at 1 queued message). */
  function setup() {
    const handed: Array<{ sub: LocalSubscription; id: string }> = [];
    const b = new Broker(
      { id: 'eu-1', neighbors: [], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 },
      {
        send: () => {},
        keepalive: () => {},
        disconnect: () => {},
        deliver: (sub, env) => handed.push({ sub, id: env.id }),
        setTimer: () => {},
        emit: () => {},
        drop: () => {},
      },
    );
    b.start(0);
    const slow = b.subscribe(0, '$share/billing/orders/#', null, 1);
    const fast = b.subscribe(0, '$share/billing/orders/#', null, 1);
    b.pace(slow, 10);
    b.pace(fast, 10);
    const publish = (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = b.handlePublish(1, {
          id: `e${String(i).padStart(3, '0')}`,
          source: '/t',
          type: 't',
          topic: `orders/${i}`,
          headers: {},
          payload: new Uint8Array(10),
          publishedAtMs: 1,
          guaranteed: true,
        });
        expect(r).toBe('accepted');
      }
    };
    const to = (s: LocalSubscription) => handed.filter((h) => h.sub === s).map((h) => h.id);
    return { b, slow, fast, publish, to };
  }

  it('a burst that finds every member lagging waits in the group; the member that keeps consuming takes all of it, in order', () => {
    const { b, slow, fast, publish, to } = setup();
    publish(50);
    // Each member holds one in hand and one queued; the other 46 wait in the group, on the spool's account.
    expect(to(slow)).toHaveLength(1);
    expect(to(fast)).toHaveLength(1);
    expect(slow.consumer?.depth).toBe(1);
    expect(fast.consumer?.depth).toBe(1);
    expect(slow.share?.backlogDepth).toBe(46);
    expect(b.stats.spooledSlow).toBe(46);
    expect(b.inspect().spoolExternalBytes).toBeGreaterThan(0);
    // Only the fast member consumes.
    for (let i = 0; i < 60; i++) b.handleConsumed(2 + i, fast);
    expect(slow.share?.backlogDepth).toBe(0);
    expect(b.inspect().spoolExternalBytes).toBe(0);
    // The slow member still has e000 in hand and e002 queued; the fast one had everything else.
    expect(to(slow)).toEqual(['e000']);
    expect(slow.consumer?.depth).toBe(1);
    expect(to(fast)).toHaveLength(48);
    expect(to(fast)).toEqual([...to(fast)].sort());
    expect(new Set([...to(slow), 'e002', ...to(fast)]).size).toBe(50);
  });

  it('members take from the backlog in arrival order, whoever consumes; later events join its tail', () => {
    const { b, slow, fast, publish, to } = setup();
    publish(10);
    // Weighted round-robin: e000 and e002 to slow, e001 and e003 to fast; e004..e009 wait.
    expect(to(slow)).toEqual(['e000']);
    expect(to(fast)).toEqual(['e001']);
    expect(slow.share?.backlogDepth).toBe(6);
    b.handleConsumed(2, slow); // slow is handed e002 and queues the backlog's head, e004
    expect(to(slow)).toEqual(['e000', 'e002']);
    expect(slow.share?.backlogDepth).toBe(5);
    b.handleConsumed(3, fast); // fast: e003, then queues e005
    b.handleConsumed(4, fast); // fast: e005, then queues e006
    b.handleConsumed(5, slow); // slow: e004, then queues e007
    expect(to(fast)).toEqual(['e001', 'e003', 'e005']);
    expect(to(slow)).toEqual(['e000', 'e002', 'e004']);
    expect(slow.share?.backlogDepth).toBe(2);
  });
});

describe('Broker: a paced subscriber that leaves [SLOW-2]', () => {
  it('gives back the spool bytes its overflow held (a departed client owes the spool nothing)', () => {
    const b = new Broker(
      { id: 'eu-1', neighbors: [], helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 16 },
      { send: () => {}, keepalive: () => {}, disconnect: () => {}, deliver: () => {}, setTimer: () => {}, emit: () => {}, drop: () => {} },
    );
    b.start(0);
    const sub = b.subscribe(0, 'orders/#', null, 1);
    b.pace(sub, 2);
    for (let i = 0; i < 20; i++) {
      const r = b.handlePublish(1, { id: `e${i}`, source: '/t', type: 't', topic: 'orders/x', headers: {}, payload: new Uint8Array(100), publishedAtMs: 1, guaranteed: true });
      expect(r).toBe('accepted');
    }
    // One in hand, two queued, seventeen overflowed into the spool's account.
    expect(sub.consumer?.overflowDepth).toBe(17);
    expect(b.inspect().spoolExternalBytes).toBeGreaterThan(0);
    expect(b.unsubscribe(2, sub)).toBe(true);
    expect(b.inspect().spoolExternalBytes).toBe(0);
    expect(sub.consumer?.depth).toBe(0);
  });
});
