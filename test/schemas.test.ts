/**
 * The schema registry in a simulated run [SCHEMA-1..9][LOAD-8][DATA-1..3]: publishers' data
 * rendered from templates, a share of invalid events refused at their broker (counted per subject
 * in the summary, the CSV and the report; never published, expected or sent on the WAN), and what
 * a check costs, measured.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCsvFiles } from '../reports/csv.ts';
import { humanReport } from '../reports/human.ts';
import { toSummary } from '../reports/summary.ts';
import { loadScenario, parseScenario, ScenarioError } from '../scenarios/load.ts';
import type { Scenario } from '../scenarios/types.ts';
import type { Mesh } from '../sim/mesh.ts';
import { runScenario } from '../sim/run.ts';

const file = join(import.meta.dirname, '..', 'scenarios', 'schema-registry.yaml');

/** The scenario with every publisher that has invalid data publishing it at `share`. */
function withInvalid(s: Scenario, share: number): Scenario {
  return { ...s, publishers: s.publishers.map((p) => (p.data === null || p.data.invalidTemplate === null ? p : { ...p, data: { ...p.data, invalid: share } })) };
}

describe('schemas in a simulated run', () => {
  const s = loadScenario(file);
  let mesh: Mesh | undefined;
  const r = runScenario(s, { durationMs: 3000, measureHeap: false, onMesh: (m) => (mesh = m) });

  it('refuses exactly the invalid events, at their broker, per subject [SCHEMA-7]', () => {
    expect(r.messages.invalid).toBeGreaterThan(0);
    expect(r.messages.invalid).toBe(mesh?.invalidSent);
    // Every publisher here has a subject: each publish was checked, and is published or refused.
    expect(r.schemas.validated).toBe(r.messages.published + r.messages.invalid);
    expect(r.schemas.invalid).toBe(r.messages.invalid);
    expect(r.schemas.bySubject['com.acme.order.*']?.invalid).toBe(r.messages.invalid);
    expect(r.schemas.bySubject['topic:payments/#']).toMatchObject({ invalid: 0 });
    expect(r.schemas.bySubject['topic:payments/#']?.validated).toBeGreaterThan(1000); // ap-1's 500/s for 3 s
    // us-1 leaves orderId out of 5%, eu-1 sends CHF in 20%.
    const at = (id: string) => r.brokers.find((b) => b.id === id);
    expect((at('us-1')?.invalidData ?? 0) / (at('us-1')?.schemaValidated ?? 1)).toBeCloseTo(0.05, 1);
    expect((at('eu-1')?.invalidData ?? 0) / (at('eu-1')?.schemaValidated ?? 1)).toBeCloseTo(0.2, 1);
    expect(at('ap-1')?.invalidData).toBe(0);
    expect(r.messages.unaccounted).toBe(0);
    for (const b of r.brokers) expect(b.schemasVersion).toBe(1);
  });

  it('measures what a check costs, per checked event [SCHEMA-7]', () => {
    const v = r.schemas.validationUs;
    expect(v.samples).toBeGreaterThan(20); // 1 in 64 after the first 8,192 of ~10,500
    expect(v.p50).toBeGreaterThan(0);
    expect(v.p50).toBeLessThan(1000);
    expect(v.p99).toBeGreaterThanOrEqual(v.p50);
  });

  it('keeps invalid events off the WAN and out of what is expected: invalid 0 against 0.2 [DATA-3]', () => {
    const clean = runScenario(withInvalid(s, 0), { durationMs: 3000, measureHeap: false });
    const dirty = runScenario(withInvalid(s, 0.2), { durationMs: 3000, measureHeap: false });
    expect(clean.messages.invalid).toBe(0);
    // The data's own source decides what is invalid: both runs publish the same events.
    const checked = (x: typeof r) => x.brokers.map((b) => b.schemaValidated);
    expect(checked(dirty)).toEqual(checked(clean));
    const orders = (x: typeof r) => x.schemas.bySubject['com.acme.order.*']?.validated ?? 0;
    expect(dirty.messages.invalid / orders(dirty)).toBeCloseTo(0.2, 1);
    // us-1's orders are what crosses us-1 > eu-1 (eu-1 wants orders/us/#): one frame fewer per refusal there.
    const link = (x: typeof r) => x.links.find((l) => l.from === 'us-1' && l.to === 'eu-1') as (typeof r.links)[number];
    const refusedAtUs = dirty.brokers.find((b) => b.id === 'us-1')?.invalidData ?? 0;
    expect(refusedAtUs).toBeGreaterThan(0);
    expect(link(clean).dataFrames - link(dirty).dataFrames).toBe(refusedAtUs);
    expect(link(dirty).codecDataBytes / link(clean).codecDataBytes).toBeCloseTo(0.8, 1);
    expect(dirty.wan.dataBytes).toBeLessThan(clean.wan.dataBytes * 0.9);
    expect(dirty.messages.published).toBe(clean.messages.published - dirty.messages.invalid);
    expect(dirty.messages.expected).toBeLessThan(clean.messages.expected * 0.9);
    expect(dirty.messages.unaccounted).toBe(0);
    expect(clean.messages.unaccounted).toBe(0);
  });

  it('is deterministic: the same seed gives the same payloads, refusals and trace', () => {
    const again = runScenario(s, { durationMs: 3000, measureHeap: false });
    expect(again.traceHash).toBe(r.traceHash);
    expect(again.messages).toEqual(r.messages);
    expect(again.schemas.bySubject).toEqual(r.schemas.bySubject);
  });

  it('reports it the same everywhere: summary.json, brokers.csv, the text report', () => {
    const summary = toSummary(r) as { schemas: typeof r.schemas; messages: { invalid: number } };
    expect(summary.schemas).toEqual(r.schemas);
    expect(summary.messages.invalid).toBe(r.messages.invalid);
    const csv = toCsvFiles(r).find((f) => f.name === 'brokers.csv')?.text ?? '';
    expect(csv.split('\n')[0]).toMatch(/schemasVersion,schemaValidated,invalidData$/);
    const text = humanReport(r, s);
    const n = (x: number) => x.toLocaleString('en-US');
    expect(text).toContain(
      `Schemas   2 subjects, registry version 1 at every broker · checked ${n(r.schemas.validated)} publishes at ingress, refused ${n(r.messages.invalid)} as invalid (com.acme.order.* ${n(r.messages.invalid)})`,
    );
    expect(text).toMatch(/a check costs [\d.]+ µs wall clock per event \(p50 [\d.]+, p99 [\d.]+; measured, [\d,]+ samples\)/);
    expect(humanReport(runScenario(loadScenario(join(import.meta.dirname, '..', 'scenarios', 'two-region-basic.yaml')), { durationMs: 500, measureHeap: false }), s)).not.toContain('Schemas ');
  });
});

describe('schemas: and data: in a scenario file [LOAD-8]', () => {
  const base = `name: x
duration: 1s
regions: [{ id: r, brokers: [a] }]
schemas:
  - subject: com.acme.order
    schema: { type: object, properties: { id: { type: string }, cents: { type: integer } }, required: [id, cents] }
`;
  const pub = (extra: string) => `${base}publishers:\n  - { broker: a, rate: 1/s, topic: t, type: com.acme.order, ${extra} }\n`;
  const oneLine = (yaml: string): string => {
    try {
      parseScenario(yaml, 'f.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      const m = (e as Error).message;
      expect(m.split('\n')).toHaveLength(1);
      return m;
    }
    throw new Error('expected a ScenarioError');
  };

  it('renders data templates: a lone numeric placeholder is a number, the size is the render', () => {
    const s = parseScenario(pub('data: { id: "o-{n}", cents: "{rand:100}", tag: "{{x}}" }'), 'f.yaml');
    expect(s.publishers[0]?.data?.template).toEqual({ id: 'o-{n}', cents: '{rand:100}', tag: '{{x}}' });
    expect(s.publishers[0]?.sizeBytes).toBe('{"id":"o-0","cents":0,"tag":"{x}"}'.length);
    expect(s.schemas.map((x) => x.subject)).toEqual(['com.acme.order']);
  });

  it('data a subject refuses, on its first render, is one line naming the path', () => {
    expect(oneLine(pub('data: { id: "o-{n}", cents: "x{n}" }'))).toMatch(
      /^f\.yaml:8:\d+: publishers\[0\]\.data: expected data the schemas accept, found \{"id":"o-0","cents":"x0"\}, which subject "com\.acme\.order" v1 refuses: \/cents must be integer$/,
    );
  });

  it('invalid: needs a subject that applies, and something to leave out or invalidData:', () => {
    expect(parseScenario(pub('data: { id: "o-{n}", cents: 1 }, invalid: 0.1'), 'f.yaml').publishers[0]?.data?.invalidTemplate).toEqual({ cents: 1 });
    expect(oneLine(pub('data: { cents: 1, id: "x" }, invalid: 0.1').replace('type: com.acme.order', 'type: other'))).toMatch(
      /publishers\[0\]\.invalid: expected a publisher whose events a schemas: subject applies to/,
    );
    expect(oneLine(pub('data: { id: "o", cents: 1 }, invalid: 0.1, invalidData: { id: "p", cents: 2 }'))).toMatch(
      /publishers\[0\]\.invalidData: expected data the schemas refuse for invalid events \(invalidData\), found \{"id":"p","cents":2\}, which they accept$/,
    );
    expect(oneLine(pub('data: { cents: 1 }, invalid: 0.1').replace('required: [id, cents]', 'required: [id]'))).toMatch(/publishers\[0\]\.data: expected data the schemas accept/);
    expect(oneLine(pub('data: { cents: 1, id: "o" }, invalid: 0.1').replace('required: [id, cents]', 'required: []'))).toMatch(
      /publishers\[0\]\.invalid: expected invalidData: .*, found none to leave out$/,
    );
    expect(oneLine(pub('size: 10B, invalid: 0.1'))).toMatch(/publishers\[0\]\.invalid: expected a publisher with data:/);
    expect(oneLine(pub('data: 5, invalid: 2'))).toMatch(/publishers\[0\]\.invalid: expected a number <= 1/);
  });

  it('size: or data:, exactly one; a bad placeholder names its place in the data', () => {
    expect(oneLine(pub('size: 10B, data: { id: "o", cents: 1 }'))).toMatch(/publishers\[0\]\.size: expected size: or data:, not both/);
    expect(oneLine(pub('rate: 2/s').replace('rate: 1/s, ', ''))).toMatch(/publishers\[0\]\.size: expected the required key "size" .* or data:/);
    expect(oneLine(pub('data: { id: "{nope}", cents: 1 }'))).toMatch(/publishers\[0\]\.data\.id: expected a data template/);
  });

  it('a later version that breaks its compatibility is refused on load, on that version', () => {
    const yaml = `name: x\nduration: 1s\nregions: [{ id: r, brokers: [a] }]\nschemas:\n  - subject: a.b\n    versions:\n      - { type: number }\n      - { type: integer }\n`;
    expect(oneLine(yaml)).toMatch(
      /^f\.yaml:8:\d+: schemas\[0\]\.versions\[1\]: expected a JSON Schema that compiles .*, found not BACKWARD compatible: version 2 must accept data written with version 1: #\/type: version 2 accepts integers only, version 1 allows any number$/,
    );
    expect(oneLine(yaml.replace('- { type: integer }', '- { type: integr }'))).toMatch(/schemas\[0\]\.versions\[1\]: .*schema is invalid/);
    expect(parseScenario(yaml.replace('versions:', 'compatibility: NONE\n    versions:'), 'f.yaml').schemas[0]?.versions).toHaveLength(2);
  });
});
