/** [LOAD-6] The routing defaults table against the JSON Schema and the engine. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GUARANTEED_DEFAULTS } from '../../engine/broker.ts';
import { parseScenario } from '../load.ts';
import { defaultRouting, defaultValue, MODEL_DEFAULTS, ROUTING_DEFAULTS } from './routing.ts';

const schema = JSON.parse(readFileSync(new URL('../scenario.schema.json', import.meta.url), 'utf8')) as {
  $defs: Record<string, { properties: Record<string, { default?: unknown }> }>;
};

const MINIMAL = 'name: m\nduration: 1s\nregions:\n  - { id: r, brokers: [b] }\n';

describe('[LOAD-6] routing defaults: one table', () => {
  it('names exactly the keys the schema has, in its order, with its defaults', () => {
    const props = schema.$defs.routing!.properties;
    expect(Object.keys(ROUTING_DEFAULTS)).toEqual(Object.keys(props));
    for (const [key, d] of Object.entries(ROUTING_DEFAULTS)) expect(props[key]!.default, key).toEqual(d.text);
  });

  it('model defaults match the schema too', () => {
    const props = schema.$defs.model!.properties;
    expect(Object.keys(MODEL_DEFAULTS)).toEqual(Object.keys(props));
    for (const [key, d] of Object.entries(MODEL_DEFAULTS)) expect(props[key]!.default, key).toEqual(d.text);
  });

  it('agrees with the engine wherever the engine has its own default (GUARANTEED_DEFAULTS)', () => {
    const named = Object.values(ROUTING_DEFAULTS).filter((d) => d.engine !== undefined);
    // Every engine default is named by one routing key.
    expect(named.map((d) => d.engine).sort()).toEqual(Object.keys(GUARANTEED_DEFAULTS).sort());
    for (const d of named) expect(defaultValue(d), d.spec).toBe(GUARANTEED_DEFAULTS[d.engine!]);
  });

  it('is what a scenario without routing: resolves to', () => {
    const s = parseScenario(MINIMAL, 'min.yaml');
    expect(s.routing).toEqual(defaultRouting());
    expect(s.model).toEqual({ connectionBytes: 40_000, transportOverheadBytes: 62 });
  });

  it('a value the file sets replaces its default and nothing else', () => {
    const s = parseScenario(`${MINIMAL}routing: { retransmit: 300ms, spool: 1MB }\n`, 'r.yaml');
    expect(s.routing).toEqual({ ...defaultRouting(), retransmitMs: 300, spoolBytes: 1_000_000 });
  });
});
