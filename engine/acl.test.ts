/**
 * [ACL-1..5] The policy set: rule kinds, deny wins, default deny, subscribe cover/intersect,
 * delivery by type; [TOPIC-5] filter cover checked against the reference matcher.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AclPolicy, classifyPattern, globRegExp } from './acl.ts';
import { filterCovers, matchesPattern } from './topic.ts';
import { UsageError } from './types.ts';

const seed004 = new AclPolicy([
  {
    name: 'production-access',
    principal: 'service:payment-service',
    allow: [{ publish: 'com.company.payment.*' }, { subscribe: 'com.company.order.created' }, { subscribe: 'orders/#' }],
    deny: [{ subscribe: 'com.company.*.internal' }, { subscribe: 'orders/secret/#' }],
  },
  { name: 'sensors', principal: 'mqtt:*', allow: [{ publish: 'sensors/+/temp' }], deny: [{ publish: 'sensors/lab/#' }] },
]);

describe('[ACL-1] rule kinds', () => {
  it.each([
    ['orders/#', 'topic', 'orders/#'],
    ['orders', 'topic', 'orders'],
    ['com.company.payment.*', 'type', 'com.company.payment.*'],
    ['*', 'type', '*'],
    ['type:orders', 'type', 'orders'],
    ['topic:a.b', 'topic', 'a.b'],
  ])('%s is a %s rule', (written, kind, pattern) => {
    expect(classifyPattern(written)).toEqual({ kind, pattern });
  });

  it('globs are anchored, `*` spans dots, other characters are literal', () => {
    const g = globRegExp('com.company.*.internal');
    expect(g.test('com.company.order.internal')).toBe(true);
    expect(g.test('com.company.a.b.internal')).toBe(true);
    expect(g.test('comXcompany.order.internal')).toBe(false);
    expect(g.test('com.company.order.internal.x')).toBe(false);
  });

  it('a bad rule is a one-line usage error naming where', () => {
    expect(() => new AclPolicy([{ principal: 'x', allow: [{ publish: 'a/#/b' }] }])).toThrow(new UsageError(`acl[0].allow[0].publish: "a/#/b": '#' must be the last level`));
    expect(() => new AclPolicy([{ principal: 'x', deny: [{ produce: 'a' } as never] }])).toThrow(/acl\[0\]\.deny\[0\]: expected one of publish/);
    expect(() => new AclPolicy([{ principal: '' }])).toThrow(/acl\[0\]\.principal/);
  });
});

describe('[ACL-2][ACL-3] publish', () => {
  it('no policies: open', () => {
    expect(new AclPolicy([]).decidePublish('anyone', 'a/b', 't').by).toBe('open');
  });

  it('an allow type glob allows; what no entry allows is denied', () => {
    expect(seed004.decidePublish('service:payment-service', 'payments/eu', 'com.company.payment.settled')).toMatchObject({
      allowed: true,
      by: 'allow',
      entry: 'production-access',
      rule: 'publish: com.company.payment.*',
    });
    expect(seed004.decidePublish('service:payment-service', 'payments/eu', 'com.company.order.created')).toMatchObject({ allowed: false, by: 'no-allow' });
    expect(seed004.decidePublish('service:unknown', 'payments/eu', 'com.company.payment.settled')).toMatchObject({ allowed: false, by: 'no-allow' });
  });

  it('deny wins over allow, principal globs match', () => {
    expect(seed004.decidePublish('mqtt:sensor-7', 'sensors/plant/temp', 'mqtt.publish')).toMatchObject({ allowed: true, entry: 'sensors' });
    expect(seed004.decidePublish('mqtt:sensor-7', 'sensors/lab/temp', 'mqtt.publish')).toMatchObject({ allowed: false, by: 'deny', rule: 'publish: sensors/lab/#' });
  });
});

describe('[ACL-4][ACL-5] subscribe and delivery', () => {
  const p = 'service:payment-service';
  it('a filter an allow rule covers is allowed outright', () => {
    expect(seed004.decideSubscribe(p, 'orders/eu/+')).toMatchObject({ allowed: true, typesOnly: false, rule: 'subscribe: orders/#' });
  });
  it('a filter a deny rule intersects is refused, even inside an allow', () => {
    expect(seed004.decideSubscribe(p, 'orders/#')).toMatchObject({ allowed: false, by: 'deny', rule: 'subscribe: orders/secret/#' });
    expect(seed004.decideSubscribe(p, 'orders/+/x')).toMatchObject({ allowed: false, by: 'deny' });
  });
  it('elsewhere, allow type rules allow a subscription limited to those types', () => {
    const d = seed004.decideSubscribe(p, 'billing/#');
    expect(d).toMatchObject({ allowed: true, typesOnly: true, rule: 'subscribe: com.company.order.created' });
    expect(seed004.deliveryRefusal(p, 'com.company.order.created', true)).toBeNull();
    expect(seed004.deliveryRefusal(p, 'com.company.order.shipped', true)).toBe('no allow subscribe rule matches the type');
    expect(seed004.deliveryRefusal(p, 'com.company.order.shipped', false)).toBeNull();
  });
  it('a deny type rule stops delivery on any subscription', () => {
    expect(seed004.deliveryRefusal(p, 'com.company.order.internal', false)).toBe('subscribe: com.company.*.internal');
  });
  it('a principal with no subscribe rules is refused', () => {
    expect(seed004.decideSubscribe('mqtt:sensor-7', 'sensors/#')).toMatchObject({ allowed: false, by: 'no-allow' });
  });
});

describe('[TOPIC-5] filterCovers', () => {
  it.each([
    ['orders/#', 'orders/+/x', true],
    ['orders/#', 'orders', true],
    ['orders/#', 'orders/#', true],
    ['orders/+', 'orders/#', false],
    ['orders/+', 'orders/a', true],
    ['orders/a', 'orders/+', false],
    ['#', '$SYS/x', false],
    ['+/+/#', 'a/b', true],
    ['a/b', 'a/b/c', false],
  ])('%s covers %s: %s', (rule, f, want) => {
    expect(filterCovers(rule, f)).toBe(want);
  });

  it('agrees with the reference matcher: every topic f matches, rule matches', () => {
    const filter = fc.tuple(fc.array(fc.constantFrom('a', 'b', '$s', '', '+'), { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ls, hash]) => (hash ? [...ls, '#'] : ls).join('/'));
    const topics: string[] = [];
    const all = ['a', 'b', '$s', '', 'c'];
    const grow = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) topics.push(prefix.join('/'));
      if (depth === 0) return;
      for (const l of all) grow([...prefix, l], depth - 1);
    };
    grow([], 5);
    fc.assert(
      fc.property(filter, filter, (rule, f) => {
        // Topics up to 5 levels over a, b, $s, '' and c (which no filter names, standing for any other level).
        const covered = topics.every((t) => !matchesPattern(f, t) || matchesPattern(rule, t));
        expect(filterCovers(rule, f)).toBe(covered);
      }),
      { numRuns: 600 },
    );
  });
});
