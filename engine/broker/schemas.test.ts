/**
 * The schema registry as a mesh-wide document [SCHEMA-3][GOV-1..5] and its enforcement at
 * ingress [SCHEMA-7][SCHEMA-8], on the test harness's four brokers (seed 002's topology).
 */
import { describe, expect, it } from 'vitest';
import { type Harness, seedTopology } from '../../test/harness.ts';
import { FrameKind } from '../frames.ts';
import { type Registration, SCHEMAS_DOC, SchemaRegistry } from '../schema/registry.ts';
import type { Broker } from './broker.ts';
import { INTERNAL, type PublishInput } from './types.ts';

const ORDER = { type: 'object', properties: { orderId: { type: 'string' }, amountCents: { type: 'integer' } }, required: ['orderId', 'amountCents'] };
const ORDER_V2 = { ...ORDER, properties: { ...ORDER.properties, amountCents: { type: 'number' } } };
const enc = new TextEncoder();

function converged(): Harness {
  const h = seedTopology();
  h.startAll();
  h.drive(1000);
  return h;
}

/** Registers at `b` as an operator would: the registry's answer, and the document change it makes. */
function register(h: Harness, b: Broker, subject: string, schema: unknown): Registration {
  const r = b.schemas.register(subject, schema);
  if (r.kind === 'registered') b.changeDocument(h.kernel.now, SCHEMAS_DOC, r.body);
  return r;
}

let seq = 0;
function input(h: Harness, data: unknown, extra: Partial<PublishInput> = {}): PublishInput {
  const payload = typeof data === 'string' ? enc.encode(data) : enc.encode(JSON.stringify(data));
  return { id: `s${seq++}`, source: '/t', type: 'com.acme.order.created', topic: 'orders/us/1', headers: {}, payload, publishedAtMs: h.kernel.now, ...extra };
}

describe('[SCHEMA-3] the registry is a governance document', () => {
  it('a registration at one broker reaches every broker, with the same subjects, versions and ids', () => {
    const h = converged();
    const r = register(h, h.broker('us-1'), 'com.acme.order.*', ORDER);
    expect(r).toMatchObject({ kind: 'registered', version: 1, id: 1 });
    h.drive(500);
    const bodies = new Set([...h.brokers.values()].map((b) => b.schemas.toBody()));
    expect(bodies.size).toBe(1);
    for (const b of h.brokers.values()) expect([b.id, b.inspect().schemasVersion, b.schemas.subject('com.acme.order.*')?.latest?.id]).toEqual([b.id, 1, 1]);
    // A second version registered at another broker, checked against what it holds.
    expect(register(h, h.broker('ap-1'), 'com.acme.order.*', ORDER_V2)).toMatchObject({ kind: 'registered', version: 2, id: 2 });
    h.drive(500);
    for (const b of h.brokers.values()) expect(b.schemas.subject('com.acme.order.*')?.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(h.events.filter((e) => e.type === 'governance-installed' && e.doc === SCHEMAS_DOC)).toHaveLength(8);
  });

  it('two registrations at once settle on the same registry everywhere [GOV-2]', () => {
    const h = converged();
    register(h, h.broker('us-1'), 'a.b', { type: 'integer' });
    register(h, h.broker('ap-1'), 'c.d', { type: 'string' });
    h.drive(1000);
    const held = [...h.brokers.values()].map((b) =>
      b
        .inspect()
        .documents()
        .find((d) => d.doc === SCHEMAS_DOC),
    );
    for (const d of held) expect(d).toEqual(held[0]);
    // us-1 > ap-1: us-1's registration won everywhere; ap-1's must be made again.
    expect(held[0]?.origin).toBe('us-1');
    for (const b of h.brokers.values()) expect(b.schemas.subjects.map((s) => s.name)).toEqual(['a.b']);
  });

  it('a broker cut off keeps enforcing its last registry, and catches up when its links return [GOV-4]', () => {
    const h = converged();
    register(h, h.broker('us-1'), 'com.acme.order.*', ORDER);
    h.drive(500);
    h.cutLink('ap-1', 'us-2');
    h.cutLink('ap-1', 'eu-1');
    h.drive(1000);
    register(h, h.broker('eu-1'), 'com.acme.order.*', ORDER_V2);
    h.drive(500);
    const fractional = { orderId: 'o', amountCents: 1.5 };
    expect(h.broker('us-1').handlePublish(h.kernel.now, input(h, fractional))).toBe('accepted');
    expect(h.broker('ap-1').handlePublish(h.kernel.now, input(h, fractional))).toBe('invalid-data');
    expect(h.broker('ap-1').inspect().schemasVersion).toBe(1);
    h.restoreLink('ap-1', 'us-2');
    h.restoreLink('ap-1', 'eu-1');
    h.drive(2000);
    expect(h.broker('ap-1').inspect().schemasVersion).toBe(2);
    expect(h.broker('ap-1').handlePublish(h.kernel.now, input(h, fractional))).toBe('accepted');
  });

  it("a peer's registry that does not compile is neither installed nor flooded, and the link stays up [GOV-5]", () => {
    const h = converged();
    const body = JSON.stringify({ subjects: [{ subject: 'a.b', compatibility: 'BACKWARD', versions: [{ version: 1, id: 1, schema: { type: 'integr' } }] }] });
    const sentBefore = h.sent.length;
    h.broker('us-1').handleDecodedFrame(h.kernel.now, 'eu-1', { kind: FrameKind.Governance, doc: SCHEMAS_DOC, origin: 'eu-1', version: 3, body }, new Uint8Array(0));
    expect(h.broker('us-1').inspect().schemasVersion).toBe(0);
    expect(h.sent.slice(sentBefore).filter((s) => s.kind === FrameKind.Governance)).toHaveLength(0);
    expect(h.events.some((e) => e.type === 'protocol-error' && /governance document refused: schemas v3 from eu-1\.subjects\[0\]\.versions\[0\]\.schema/.test(e.reason))).toBe(true);
    expect(h.broker('us-1').inspect().upNeighbors()).toContain('eu-1');
    // An operator's is refused before anything changes.
    expect(() => h.broker('us-1').changeDocument(h.kernel.now, SCHEMAS_DOC, body)).toThrow(/schema is invalid/);
  });
});

describe('[SCHEMA-7][SCHEMA-8] enforcement at ingress', () => {
  function registered(): Harness {
    const h = converged();
    const body = SchemaRegistry.bodyOf([{ subject: 'com.acme.order.*', schema: ORDER }]);
    for (const b of h.brokers.values()) b.offerDocument(h.kernel.now, { doc: SCHEMAS_DOC, origin: '', version: 1, body });
    h.drive(100);
    return h;
  }

  it('refuses invalid data: counted, not published, never forwarded; the refusal names the path', () => {
    const h = registered();
    const sub = h.broker('ap-1').subscribe(h.kernel.now, 'orders/#', null, 1, 'ap');
    h.drive(500);
    const t0 = h.kernel.now;
    const before = h.sent.filter((s) => s.kind === FrameKind.Data).length;
    const us = h.broker('us-1');
    expect(us.handlePublish(h.kernel.now, input(h, { orderId: 'o-1', amountCents: '12' }))).toBe('invalid-data');
    expect(us.schemaRefusal()).toEqual({
      subject: 'com.acme.order.*',
      version: 1,
      id: 1,
      error: { path: '/amountCents', keyword: 'type', message: 'must be integer', schemaPath: '#/properties/amountCents/type' },
    });
    expect(us.handlePublish(h.kernel.now, input(h, 'not json', { guaranteed: true }))).toBe('invalid-data');
    expect(us.schemaRefusal()?.error.keyword).toBe('json');
    h.drive(500);
    expect(h.sent.filter((s) => s.kind === FrameKind.Data).length).toBe(before);
    expect(h.deliveriesAt('ap-1', t0)).toHaveLength(0);
    expect(us.stats).toMatchObject({ published: 0, schemaValidated: 2, invalidData: 2 });
    expect(us.inspect().schemas.subject('com.acme.order.*')).toMatchObject({ validated: 2, invalid: 2 });
    // Valid data goes through, and is delivered across the mesh.
    expect(us.handlePublish(h.kernel.now, input(h, { orderId: 'o-2', amountCents: 12 }))).toBe('accepted');
    h.drive(500);
    expect(h.deliveriesAt('ap-1', t0).map((d) => d.sub)).toEqual([sub]);
    expect(us.stats).toMatchObject({ published: 1, schemaValidated: 3, invalidData: 2 });
  });

  it('an event no subject applies to is not checked', () => {
    const h = registered();
    const us = h.broker('us-1');
    expect(us.handlePublish(h.kernel.now, input(h, 'not json', { type: 'com.other.event' }))).toBe('accepted');
    expect(us.stats).toMatchObject({ published: 1, schemaValidated: 0, invalidData: 0 });
  });

  it("the mesh's own publishes are not checked again [ACL-7]", () => {
    const h = registered();
    const us = h.broker('us-1');
    expect(us.handlePublish(h.kernel.now, input(h, 'not json', { principal: INTERNAL }))).toBe('accepted');
    expect(us.stats.schemaValidated).toBe(0);
  });

  it('the policy is asked first: a denied publish is not validated', () => {
    const h = registered();
    const us = h.broker('us-1');
    us.changeDocument(h.kernel.now, 'acl', JSON.stringify([{ principal: 'service:billing', allow: [{ publish: 'orders/#' }] }]));
    expect(us.handlePublish(h.kernel.now, input(h, 'not json', { principal: 'service:other' }))).toBe('denied');
    expect(us.stats.schemaValidated).toBe(0);
    expect(us.handlePublish(h.kernel.now, input(h, 'not json', { principal: 'service:billing' }))).toBe('invalid-data');
  });
});
