import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FAULT_ACTION_NAMES, FAULT_ACTIONS, faultToYaml } from './faults.ts';
import { parseScenario } from './load.ts';
import type { FaultSpec } from './types.ts';

const FILE = 'scenarios/x.yaml';

/** Three regions, an HA backup for eu-1, subscribers with templates: room for every fault. */
const BASE = `name: faults
duration: 60s
regions:
  - id: us
    brokers: [us-1, us-2]
  - id: eu
    brokers: [eu-1]
    ha: [{ primary: eu-1, backup: eu-1b }]
  - id: ap
    brokers: [ap-1]
links:
  - { between: [us-1, eu-1], rtt: 70ms, bandwidth: 10Gbps }
  - { between: [us-2, ap-1], rtt: 180ms, bandwidth: 10Gbps }
  - { between: [eu-1, ap-1], rtt: 120ms, bandwidth: 10Gbps }
publishers:
  - { region: us, rate: 100/s, topic: "orders/{region}/{n}", size: 500B }
subscribers:
  - { broker: eu-1, pattern: "orders/{region}/#" }
  - { region: ap, count: 4, patterns: 4, pattern: "$share/workers/orders/c{i}" }
`;

/** Every fault form, in an order whose sequence is valid (heals after partitions and so on). */
const FAULTS = `faults:
  - { at: 20s, link-down: [us-2, ap-1] }
  - { at: 25.5s, link-up: [ap-1, us-2] }
  - { at: 1s, crash: eu-1 }
  - { at: 1.2s, crash: eu-1b }
  - { at: 2s, restart: eu-1b }
  - { at: 2500ms, restart: eu-1 }
  - { at: 10s, partition: [ap] }
  - { at: 11s, partition: [ap, eu] }
  - { at: 12s, heal: [eu] }
  - { at: 13s, heal: all }
  - { at: 30s, partition: [us] }
  - { at: 40s, heal: [us] }
  - { at: 5s, degrade: [us-1, eu-1], loss: 0.05, rtt: 300ms, jitter: 1.5ms, bandwidth: 10Mbps, for: 10s }
  - { at: 15s, degrade: [eu-1, ap-1], bandwidth: 1.5Gbps }
  - { at: 16s, degrade: [us-1, eu-1], loss: 1, for: 1m }
  - { at: 5s, slow-consumer: eu-1, pattern: "orders/{region}/#", rate: 10/s, for: 20s }
  - { at: 26s, slow-consumer: eu-1, rate: 0.5/s }
  - { at: 3s, slow-consumer: ap-1, pattern: "$share/workers/orders/c3", rate: 330k/s, for: 250us }
  - { at: 59s, slow-consumer: ap-1, rate: 1/h, for: 1h }
`;

function faultsOf(yaml: string): readonly FaultSpec[] {
  return parseScenario(`${BASE}${yaml}`, FILE).faults;
}

describe('[FAULT-2] faultToYaml', () => {
  const loaded = faultsOf(FAULTS);

  it('the sample covers every action', () => {
    expect(new Set(loaded.map((f) => f.action))).toEqual(new Set(FAULT_ACTION_NAMES));
  });

  it('writes the YAML object form with unit strings', () => {
    expect(loaded.map(faultToYaml)).toEqual([
      { at: '20s', 'link-down': ['us-2', 'ap-1'] },
      { at: '25.5s', 'link-up': ['ap-1', 'us-2'] },
      { at: '1s', crash: 'eu-1' },
      { at: '1.2s', crash: 'eu-1b' },
      { at: '2s', restart: 'eu-1b' },
      { at: '2.5s', restart: 'eu-1' },
      { at: '10s', partition: ['ap'] },
      { at: '11s', partition: ['ap', 'eu'] },
      { at: '12s', heal: ['eu'] },
      { at: '13s', heal: 'all' },
      { at: '30s', partition: ['us'] },
      { at: '40s', heal: ['us'] },
      { at: '5s', degrade: ['us-1', 'eu-1'], loss: 0.05, rtt: '300ms', jitter: '1.5ms', bandwidth: '10Mbps', for: '10s' },
      { at: '15s', degrade: ['eu-1', 'ap-1'], bandwidth: '1.5Gbps' },
      { at: '16s', degrade: ['us-1', 'eu-1'], loss: 1, for: '1m' },
      // The loader stored the template's one expansion at eu-1.
      { at: '5s', 'slow-consumer': 'eu-1', pattern: 'orders/eu/#', rate: '10/s', for: '20s' },
      { at: '26s', 'slow-consumer': 'eu-1', rate: '0.5/s' },
      { at: '3s', 'slow-consumer': 'ap-1', pattern: '$share/workers/orders/c3', rate: '330k/s', for: '250us' },
      { at: '59s', 'slow-consumer': 'ap-1', rate: '1/h', for: '1h' },
    ]);
  });

  it('round-trips every fault through a scenario file', () => {
    const written = stringify({ faults: loaded.map(faultToYaml) });
    expect(faultsOf(written)).toEqual(loaded);
  });

  it('round-trips each fault on its own where the sequence allows it', () => {
    for (const f of loaded) {
      if (f.action === 'heal' || f.action === 'link-up' || f.action === 'restart') continue; // need an earlier fault
      expect(faultsOf(stringify({ faults: [faultToYaml(f)] }))).toEqual([f]);
    }
  });

  it('writes keys in the order at, action, then the action’s options', () => {
    const f = loaded.find((x) => x.action === 'degrade')!;
    expect(Object.keys(faultToYaml(f))).toEqual(['at', 'degrade', ...FAULT_ACTIONS.degrade.options]);
  });

  it('refuses a FaultSpec the loader could not have produced', () => {
    expect(() => faultToYaml({ atMs: 0, action: 'link-down', target: ['us-1', 'eu-1'], ratePerSec: 10 })).toThrow('ratePerSec does not apply to link-down');
    expect(() => faultToYaml({ atMs: 0, action: 'crash', target: ['us-1', 'eu-1'] })).toThrow('crash takes one broker id');
    expect(() => faultToYaml({ atMs: 0, action: 'partition', target: [] })).toThrow('partition takes at least one region id');
    expect(() => faultToYaml({ atMs: -1, action: 'crash', target: ['us-1'] })).toThrow(RangeError);
  });
});

describe('[FAULT-1] the action table', () => {
  it('names every option of an action only once, required and at-least-one keys among them', () => {
    for (const name of FAULT_ACTION_NAMES) {
      const rule = FAULT_ACTIONS[name];
      expect(new Set(rule.options).size).toBe(rule.options.length);
      for (const k of [...rule.required, ...rule.oneOf]) expect(rule.options).toContain(k);
    }
  });
});
