import { describe, expect, it } from 'vitest';
import { type Harness, seedTopology } from '../../test/harness.ts';
import type { AclEntrySpec } from '../acl.ts';
import { FrameKind } from '../frames.ts';
import type { PublishInput } from './types.ts';
import { ACL_DOC, supersedes } from './governance.ts';

const POLICY: AclEntrySpec[] = [
  { principal: 'service:billing', allow: [{ publish: 'orders/#' }] },
  { principal: 'service:analytics', allow: [{ subscribe: 'orders/#' }], deny: [{ subscribe: 'com.acme.*.internal' }] },
  { principal: 'service:audit', allow: [{ subscribe: 'com.acme.order.*' }] },
];

function converged(): Harness {
  const h = seedTopology();
  h.startAll();
  h.drive(1000);
  return h;
}

let seq = 0;
function input(h: Harness, topic: string, principal?: string, type = 'com.acme.order.created'): PublishInput {
  return { id: `p${seq++}`, source: '/t', type, topic, headers: {}, payload: new Uint8Array(50), publishedAtMs: h.kernel.now, ...(principal === undefined ? {} : { principal }) };
}

describe('governance documents [GOV-1..5]', () => {
  it('orders versions, then origins [GOV-2]', () => {
    const a = { doc: ACL_DOC, origin: 'us-1', version: 2, body: '[]' };
    expect(supersedes(a, undefined)).toBe(true);
    expect(supersedes(a, { ...a, version: 1 })).toBe(true);
    expect(supersedes(a, { ...a, version: 3 })).toBe(false);
    expect(supersedes(a, { ...a, origin: 'eu-1' })).toBe(true);
    expect(supersedes({ ...a, origin: 'eu-1' }, a)).toBe(false);
    expect(supersedes(a, a)).toBe(false);
    // Two configs that disagree on version 1: the same one wins everywhere.
    expect(supersedes({ ...a, body: '[{}]' }, a)).toBe(true);
    expect(supersedes(a, { ...a, body: '[{}]' })).toBe(false);
  });

  it('a change made at one broker reaches every broker, once each [GOV-3]', () => {
    const h = converged();
    const sentBefore = h.sent.length;
    const d = h.broker('us-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY));
    expect(d.version).toBe(1);
    h.drive(500);
    for (const b of h.brokers.values()) expect(b.policy.version, b.id).toBe(1);
    for (const b of h.brokers.values()) expect(b.inspect().documents()).toEqual([d]);
    // Each broker floods it to each up neighbor but the sender: no more than one frame per link direction.
    const floods = h.sent.slice(sentBefore).filter((s) => s.kind === FrameKind.Governance);
    expect(floods.length).toBeGreaterThanOrEqual(3);
    expect(floods.length).toBeLessThanOrEqual(10);
    expect(h.events.filter((e) => e.type === 'governance-installed')).toHaveLength(4);
  });

  it('two concurrent changes settle on the same version everywhere [GOV-2]', () => {
    const h = converged();
    h.broker('us-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY.slice(0, 1)));
    h.broker('ap-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY.slice(1)));
    h.drive(1000);
    const held = [...h.brokers.values()].map((b) => b.inspect().documents()[0]);
    for (const d of held) expect(d).toEqual({ doc: ACL_DOC, origin: 'us-1', version: 1, body: JSON.stringify(POLICY.slice(0, 1)) });
  });

  it('a broker cut off keeps its last version and catches up when its links return [GOV-4]', () => {
    const h = converged();
    h.broker('us-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY));
    h.drive(500);
    h.cutLink('ap-1', 'us-2');
    h.cutLink('ap-1', 'eu-1');
    h.drive(1000); // past the dead interval: ap-1 is alone
    h.broker('eu-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify([...POLICY, { principal: 'service:new', allow: [{ publish: 'x/#' }] }]));
    h.drive(500);
    expect(h.broker('us-1').policy.version).toBe(2);
    expect(h.broker('ap-1').policy.version).toBe(1);
    // Still enforcing version 1 meanwhile.
    expect(h.broker('ap-1').handlePublish(h.kernel.now, input(h, 'x/1', 'service:new'))).toBe('denied');
    h.restoreLink('ap-1', 'us-2');
    h.restoreLink('ap-1', 'eu-1');
    h.drive(2000);
    expect(h.broker('ap-1').policy.version).toBe(2);
    expect(h.broker('ap-1').handlePublish(h.kernel.now, input(h, 'x/1', 'service:new'))).toBe('accepted');
  });

  it('a document that does not compile is refused at the origin, and from a peer is not installed nor flooded [GOV-5]', () => {
    const h = converged();
    expect(() => h.broker('us-1').changeDocument(h.kernel.now, ACL_DOC, '{"not": "a list"}')).toThrow(/expected a list/);
    expect(h.broker('us-1').policy.version).toBe(0);
    // A peer's bad document: reported, the link stays up.
    const bad = { kind: FrameKind.Governance, doc: ACL_DOC, origin: 'eu-1', version: 7, body: '[{"principal": ""}]' } as const;
    h.broker('us-1').handleDecodedFrame(h.kernel.now, 'eu-1', bad, new Uint8Array(0));
    expect(h.broker('us-1').policy.version).toBe(0);
    expect(h.events.some((e) => e.type === 'protocol-error' && /governance document refused/.test(e.reason))).toBe(true);
    expect(h.broker('us-1').inspect().upNeighbors()).toContain('eu-1');
  });
});

describe('the policy in the engine [ACL-3][ACL-4][ACL-5]', () => {
  function policed(): Harness {
    const h = converged();
    h.broker('us-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY));
    h.drive(500);
    return h;
  }

  it('without a document, everything is allowed', () => {
    const h = converged();
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/1'))).toBe('accepted');
    expect(h.broker('us-1').authorizeSubscribe('anyone', 'secret/#').allowed).toBe(true);
  });

  it('refuses a publish no entry allows, counts it per principal, and sends nothing over the WAN [ACL-3]', () => {
    const h = policed();
    const sub = h.broker('ap-1').subscribe(h.kernel.now, 'orders/#', null, 1, 'ap', 'service:analytics');
    h.drive(500);
    const t0 = h.kernel.now;
    const framesBefore = h.sent.filter((s) => s.kind === FrameKind.Data).length;
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/1', 'service:intruder'))).toBe('denied');
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/1'))).toBe('denied'); // anonymous
    h.drive(500);
    expect(h.sent.filter((s) => s.kind === FrameKind.Data).length).toBe(framesBefore);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(0);
    const stats = h.broker('us-1').stats;
    expect(stats.deniedPublish).toBe(2);
    expect(stats.published).toBe(0);
    expect(h.broker('us-1').inspect().denied().get('service:intruder')).toEqual({ publish: 1, subscribe: 0, delivery: 0 });
    expect(h.broker('us-1').inspect().denied().get('anonymous')?.publish).toBe(1);
    // The allowed principal gets through, and the subscriber receives it.
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/2', 'service:billing'))).toBe('accepted');
    h.drive(500);
    expect(h.deliveriesAt('ap-1', t0).map((d) => d.sub)).toEqual([sub]);
  });

  it('refuses a subscription a deny rule intersects or no allow covers; a type rule restricts delivery [ACL-4][ACL-5]', () => {
    const h = policed();
    const ap = h.broker('ap-1');
    expect(ap.authorizeSubscribe('service:analytics', 'orders/#').allowed).toBe(true);
    expect(ap.authorizeSubscribe('service:analytics', 'payments/#').by).toBe('no-allow');
    expect(ap.authorizeSubscribe('service:billing', 'orders/#').allowed).toBe(false);
    expect(ap.authorizeSubscribe('service:analytics', '$share/g/orders/eu/#').allowed).toBe(true);
    expect(ap.stats.deniedSubscribe).toBe(2);
    const audit = ap.authorizeSubscribe('service:audit', '#');
    expect(audit).toMatchObject({ allowed: true, typesOnly: true });
    const analytics = ap.subscribe(h.kernel.now, 'orders/#', null, 3, 'analytics', 'service:analytics');
    const auditSub = ap.subscribe(h.kernel.now, '#', null, 1, 'audit', 'service:audit');
    h.drive(500);
    const t0 = h.kernel.now;
    h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/1', 'service:billing', 'com.acme.order.created'));
    h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/2', 'service:billing', 'com.acme.order.internal'));
    h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/3', 'service:billing', 'com.acme.invoice.sent'));
    h.drive(500);
    const got = h.deliveriesAt('ap-1', t0).map((d) => `${d.sub === analytics ? 'analytics' : d.sub === auditSub ? 'audit' : '?'} ${d.env.type}`);
    expect(got.sort()).toEqual(['analytics com.acme.invoice.sent', 'analytics com.acme.order.created', 'audit com.acme.order.created', 'audit com.acme.order.internal']);
    // Refused deliveries are drops with a named cause, weighted by the population's subscribers.
    const denied = h.drops.filter((d) => d.cause === 'denied');
    expect(denied.map((d) => `${d.sub === analytics ? 'analytics' : 'audit'} ${d.env.type}`).sort()).toEqual(['analytics com.acme.order.internal', 'audit com.acme.invoice.sent']);
    expect(ap.stats.deniedDelivery).toBe(3 + 1);
    expect(ap.inspect().denied().get('service:analytics')).toEqual({ publish: 0, subscribe: 1, delivery: 3 });
  });

  it('a newer policy that withdraws a subscription stops its deliveries [ACL-4]', () => {
    const h = policed();
    const sub = h.broker('ap-1').subscribe(h.kernel.now, 'orders/#', null, 1, 'analytics', 'service:analytics');
    h.drive(500);
    h.broker('eu-1').changeDocument(h.kernel.now, ACL_DOC, JSON.stringify(POLICY.filter((e) => e.principal !== 'service:analytics')));
    h.drive(500);
    const t0 = h.kernel.now;
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, 'orders/us/1', 'service:billing'))).toBe('accepted');
    h.drive(500);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(0);
    expect(h.drops.filter((d) => d.cause === 'denied' && d.sub === sub)).toHaveLength(1);
  });
});
