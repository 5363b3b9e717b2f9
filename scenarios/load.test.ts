import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closest, formatPath, loadScenario, parseScenario, ScenarioError } from './load.ts';

const FILE = 'scenarios/x.yaml';

/** A valid scenario; each broken case below edits one thing. Line numbers are noted on the right. */
const BASE = `name: t
duration: 10s
regions:
  - id: us
    brokers: [us-1, us-2]
  - id: eu
    brokers: [eu-1]
links:
  - between: [us-1, eu-1]
    rtt: 70ms
    bandwidth: 10Gbps
  - between: [us-2, eu-1]
    rtt: 70ms
    bandwidth: 10Gbps
publishers:
  - region: us
    rate: 1000/s
    topic: "a/{n}"
    size: 500B
subscribers:
  - broker: eu-1
    pattern: "a/#"
`;

/** Replaces exactly one occurrence, so a case cannot silently stop testing what it says. */
function edit(from: string, to: string, text = BASE): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`edit: ${JSON.stringify(from)} is not unique in the base`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

function errorOf(text: string): ScenarioError {
  try {
    parseScenario(text, FILE);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError, but the scenario loaded');
}

describe('example scenarios', () => {
  const files = readdirSync(new URL('.', import.meta.url)).filter((f) => f.endsWith('.yaml'));

  it('there are examples', () => expect(files.length).toBeGreaterThanOrEqual(3));

  it.each(files)('%s loads', (f) => {
    const s = loadScenario(`scenarios/${f}`);
    expect(s.file).toBe(`scenarios/${f}`);
    expect(s.regions.length).toBeGreaterThan(0);
  });

  it('two-region-basic resolves units and defaults', () => {
    const s = loadScenario('scenarios/two-region-basic.yaml');
    expect(s).toMatchObject({
      name: 'two-region-basic',
      seed: 42,
      durationMs: 5000,
      warmupMs: 2000,
      routing: { helloIntervalMs: 500, deadIntervalMs: 2000, hopLimit: 16 },
      model: { connectionBytes: 40_000, transportOverheadBytes: 62 },
      expect: ['delivered.ratio >= 0.999', 'latency.local.p99 < 5ms'],
    });
    expect(s.regions[1]).toEqual({ id: 'eu-west-1', brokers: ['eu-1'], clientRttMs: 1, location: { lat: 53.3, lon: -6.3 } });
    expect(s.links[0]).toEqual({
      between: ['us-1', 'eu-1'],
      rttMs: 70,
      bandwidthBps: 1e9,
      jitterMs: 1,
      loss: 0,
      cost: 70,
      queueBytes: 64e6,
    });
    expect(s.publishers[0]).toEqual({
      region: 'us-east-1',
      ratePerSec: 10_000,
      arrival: 'poisson',
      topic: 'orders/{region}/{choice:new|paid|shipped}',
      sizeBytes: 500,
      headers: { amountCents: '{rand:20000}', currency: '{choice:USD|EUR|GBP}', priority: 3 },
      type: 'com.acme.order',
      startMs: 0,
      stopMs: 5000,
    });
    expect(s.subscribers).toEqual([
      { region: 'us-east-1', count: 10, pattern: 'orders/#', patterns: 1 },
      { broker: 'eu-1', count: 5, pattern: 'orders/+/paid', patterns: 1, filter: "amountCents > 10000 AND currency <> 'GBP'" },
    ]);
  });

  it('the minimal base resolves the remaining defaults', () => {
    const s = parseScenario(BASE, FILE);
    expect(s.seed).toBe(1);
    expect(s.faults).toEqual([]);
    expect(s.publishers[0]).toMatchObject({ type: 'com.meshtwin.event', arrival: 'poisson', headers: {}, startMs: 0, stopMs: 10_000 });
    expect(s.subscribers[0]).toEqual({ broker: 'eu-1', count: 1, pattern: 'a/#', patterns: 1 });
    expect(s.links[1]).toMatchObject({ jitterMs: 0, loss: 0, cost: 70, queueBytes: 64e6 });
  });

  it('resolves faults, cost, start/stop, routing and model overrides', () => {
    const text = edit('    size: 500B\n', '    size: 500B\n    start: 1s\n    stop: 9s\n', edit('  - between: [us-2, eu-1]\n', '    cost: 5\n  - between: [us-2, eu-1]\n')) +
      `faults:
  - { at: 2s, link-down: [eu-1, us-2] }
  - { at: 4s, link-up: [us-2, eu-1] }
  - { at: 5s, crash: eu-1 }
  - { at: 6s, restart: eu-1 }
routing: { helloInterval: 100ms, deadInterval: 400ms, hopLimit: 8 }
model: { connectionBytes: 40KiB, transportOverhead: 0B }
`;
    const s = parseScenario(text, FILE);
    expect(s.links[0]!.cost).toBe(5);
    expect(s.publishers[0]).toMatchObject({ startMs: 1000, stopMs: 9000 });
    expect(s.faults).toEqual([
      { atMs: 2000, action: 'link-down', target: ['eu-1', 'us-2'] },
      { atMs: 4000, action: 'link-up', target: ['us-2', 'eu-1'] },
      { atMs: 5000, action: 'crash', target: ['eu-1'] },
      { atMs: 6000, action: 'restart', target: ['eu-1'] },
    ]);
    expect(s.routing).toEqual({ helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 8 });
    expect(s.model).toEqual({ connectionBytes: 40_960, transportOverheadBytes: 0 });
  });
});

/** [file:line:col, path, expected (substring), found (substring)] for each broken input. */
type Case = [name: string, text: string, where: string, path: string, expected: string, found: string];

const CASES: Case[] = [
  // YAML syntax
  ['YAML syntax', edit('[us-1, us-2]', '[us-1, us-2'), '6:3', '', 'valid YAML', 'a syntax error (Flow sequence'],
  ['duplicate key', edit('name: t\n', 'name: t\nname: u\n'), '2:1', '', 'each key once per map', '"name" a second time'],
  ['tab indentation', edit('    pattern: "a/#"', '\tpattern: "a/#"'), '22:1', '', 'valid YAML', 'Tabs'],
  ['empty file', '', '1:1', '', 'a scenario', 'an empty file'],
  ['unresolved alias', `${BASE}expect: [*nope]\n`, '23:10', '', 'an alias to an anchor', '*nope'],
  // schema
  ['unknown key with suggestion', edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rttt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2'), '10:5', 'links[0].rttt', 'a key of a link (between, rtt, bandwidth', 'unknown key "rttt"; did you mean "rtt"?'],
  ['unknown top-level key', `${BASE}durations: 3s\n`, '23:1', 'durations', 'a key of a scenario', 'unknown key "durations"; did you mean "duration"?'],
  ['missing required key', edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    bandwidth: 10Gbps\n  - between: [us-2'), '9:5', 'links[0].rtt', 'the required key "rtt"', 'this link without it'],
  ['missing top-level key', edit('duration: 10s\n', ''), '1:1', 'duration', 'the required key "duration"', 'this scenario without it'],
  ['bad duration', edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt: fast\n    bandwidth: 10Gbps\n  - between: [us-2'), '10:10', 'links[0].rtt', 'a duration such as "70ms"', 'found "fast"'],
  ['duration without unit', edit('duration: 10s', 'duration: 10'), '2:11', 'duration', 'a duration such as "70ms"', 'found 10'],
  ['empty value', edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt:\n    bandwidth: 10Gbps\n  - between: [us-2'), '10:5', 'links[0].rtt', 'a duration', 'found an empty value'],
  ['bad bandwidth', edit('bandwidth: 10Gbps\n  - between: [us-2', 'bandwidth: 10GB/s\n  - between: [us-2'), '11:16', 'links[0].bandwidth', 'bits per second', 'found "10GB/s"'],
  ['bad size (bits)', edit('size: 500B', 'size: 500b'), '19:11', 'publishers[0].size', 'a lowercase "b" means bits', 'found "500b"'],
  ['bad rate', edit('rate: 1000/s', 'rate: 1000'), '17:11', 'publishers[0].rate', 'a rate such as "330000/s"', 'found 1000'],
  ['bad enum with suggestion', edit('    topic:', '    arrival: posson\n    topic:'), '18:14', 'publishers[0].arrival', 'one of "poisson", "constant"', 'found "posson"; did you mean "poisson"?'],
  ['loss out of range', edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rtt: 70ms\n    loss: 1\n    bandwidth: 10Gbps\n  - between: [us-2'), '11:11', 'links[0].loss', 'a probability in [0, 1)', 'found 1'],
  ['negative loss', edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rtt: 70ms\n    loss: -0.1\n    bandwidth: 10Gbps\n  - between: [us-2'), '11:11', 'links[0].loss', 'a probability in [0, 1)', 'found -0.1'],
  ['publisher with region and broker', edit('  - region: us\n', '  - region: us\n    broker: us-1\n'), '17:5', 'publishers[0].broker', 'exactly one of "region" or "broker"', 'found both'],
  ['subscriber with neither', edit('  - broker: eu-1\n', '  - count: 2\n'), '21:5', 'subscribers[0]', 'exactly one of "region" or "broker"', 'found neither'],
  ['list expected', edit('  - id: us\n    brokers: [us-1, us-2]\n  - id: eu\n    brokers: [eu-1]\n', '  - id: us\n    brokers: us-1\n  - id: eu\n    brokers: [eu-1]\n'), '5:14', 'regions[0].brokers', 'a list', 'found "us-1"'],
  ['bad id', edit('brokers: [eu-1]', 'brokers: ["eu 1"]'), '7:15', 'regions[1].brokers[0]', 'an id such as "us-1"', 'found "eu 1"'],
  ['fault with two actions', `${BASE}faults:\n  - { at: 2s, crash: us-1, restart: us-1 }\n`, '24:5', 'faults[0]', 'exactly one action', 'found "crash" and "restart"'],
  ['hop limit zero', `${BASE}routing: { hopLimit: 0 }\n`, '23:22', 'routing.hopLimit', 'a whole number >= 1', 'found 0'],
  ['count not whole', edit('  - broker: eu-1\n', '  - broker: eu-1\n    count: 2.5\n'), '22:12', 'subscribers[0].count', 'a whole number', 'found 2.5'],
  // semantics
  ['duplicate region id', edit('id: eu', 'id: us'), '6:9', 'regions[1].id', 'a region id not used before (regions[0] is "us")', 'found "us"'],
  ['duplicate broker id', edit('brokers: [eu-1]', 'brokers: [us-2]'), '7:15', 'regions[1].brokers[0]', 'a broker id not used before (regions[0].brokers[1] is "us-2")', 'found "us-2"'],
  ['link to an unknown broker', edit('[us-2, eu-1]', '[us-2, eu-9]'), '12:21', 'links[1].between[1]', 'a broker declared under regions (us-1, us-2, eu-1)', 'found "eu-9"; did you mean "eu-1"?'],
  ['link from a broker to itself', edit('[us-2, eu-1]', '[us-2, us-2]'), '12:21', 'links[1].between[1]', 'a broker other than "us-2"', 'found "us-2"'],
  ['duplicate link (reversed)', edit('[us-2, eu-1]', '[eu-1, us-1]'), '12:14', 'links[1].between', 'not linked before (links[0] joins them)', 'found [eu-1, us-1]'],
  ['zero rtt', edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt: 0ms\n    bandwidth: 10Gbps\n  - between: [us-2'), '10:10', 'links[0].rtt', 'a round-trip time above zero', 'found "0ms"'],
  ['publisher at an unknown region', edit('region: us\n', 'region: uss\n'), '16:13', 'publishers[0].region', 'a region declared under regions (us, eu)', 'found "uss"; did you mean "us"?'],
  ['subscriber at an unknown broker', edit('broker: eu-1', 'broker: ap-1'), '21:13', 'subscribers[0].broker', 'a broker declared under regions', 'found "ap-1"'],
  ['zero rate', edit('rate: 1000/s', 'rate: 0/s'), '17:11', 'publishers[0].rate', 'a rate above zero', 'found "0/s"'],
  ['disallowed topic placeholder', edit('"a/{n}"', '"a/{i}"'), '18:12', 'publishers[0].topic', 'a topic template (placeholders: {n}, {region}', 'found "a/{i}" (placeholder "{i}" at character 3; not allowed here'],
  ['unknown topic placeholder', edit('"a/{n}"', '"a/{nn}"'), '18:12', 'publishers[0].topic', 'a topic template', 'unknown placeholder "{nn}"'],
  ['wildcard in topic', edit('"a/{n}"', '"a/+/{n}"'), '18:12', 'publishers[0].topic', 'a topic without wildcards', `"a/+/{n}", which renders as "a/+/0" (topic must not contain the wildcard '+')`],
  ['wildcard in a choice option', edit('"a/{n}"', '"a/{choice:x|#}"'), '18:12', 'publishers[0].topic', 'a topic template without wildcards', `option "#"`],
  ['bad header template', edit('    size: 500B\n', '    size: 500B\n    headers:\n      x: "{foo}"\n'), '21:10', 'publishers[0].headers.x', 'a header value template', 'unknown placeholder "{foo}"'],
  ['bad pattern', edit('"a/#"', '"a/#/b"'), '22:14', 'subscribers[0].pattern', 'a valid pattern', `"a/#/b" ('#' must be the last level)`],
  ['pattern placeholder not allowed', edit('"a/#"', '"a/{n}"'), '22:14', 'subscribers[0].pattern', 'a pattern template (placeholders: {i}, {region}, {broker})', 'not allowed here'],
  ['patterns without {i}', edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    patterns: 3\n'), '22:14', 'subscribers[0].pattern', 'a pattern with {i}', 'found "a/#"'],
  ['count below patterns', edit('    pattern: "a/#"\n', '    pattern: "a/{i}"\n    patterns: 3\n'), '23:15', 'subscribers[0].patterns', 'a count of at least patterns (3)', 'found count 1'],
  ['filter that does not parse', edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    filter: "x > (3"\n'), '23:13', 'subscribers[0].filter', 'a selector such as', `found "x > (3" (at character 7: expected ')'`],
  ['stop before start', edit('    size: 500B\n', '    size: 500B\n    start: 5s\n    stop: 2s\n'), '21:11', 'publishers[0].stop', 'a stop at or after start', 'found "2s"'],
  ['start after the run', edit('    size: 500B\n', '    size: 500B\n    start: 15s\n'), '20:12', 'publishers[0].start', 'a start within the run (duration is 10.0 s)', 'found "15s"'],
  ['fault after the run', `${BASE}faults:\n  - { at: 20s, crash: us-1 }\n`, '24:11', 'faults[0].at', 'a time within the run (duration is 10.0 s)', 'found "20s"'],
  ['fault on an unknown broker', `${BASE}faults:\n  - { at: 2s, crash: us-3 }\n`, '24:22', 'faults[0].crash', 'a broker declared under regions', 'found "us-3"; did you mean "us-1"?'],
  ['fault on a link that does not exist', `${BASE}faults:\n  - { at: 2s, link-down: [us-1, us-2] }\n`, '24:26', 'faults[0].link-down', 'a pair of brokers joined by a link', 'found [us-1, us-2]'],
  ['link-up of a link that is up', `${BASE}faults:\n  - { at: 2s, link-up: [us-1, eu-1] }\n`, '24:24', 'faults[0].link-up', 'a link that is down at 2.00 s', 'found [us-1, eu-1]'],
  ['restart of a running broker', `${BASE}faults:\n  - { at: 5s, restart: us-1 }\n  - { at: 8s, crash: us-1 }\n`, '24:24', 'faults[0].restart', 'a crashed broker at 5.00 s', 'found "us-1"'],
  ['crash of a crashed broker', `${BASE}faults:\n  - { at: 2s, crash: us-1 }\n  - { at: 3s, crash: us-1 }\n`, '25:22', 'faults[1].crash', 'a broker that is running at 3.00 s', 'found "us-1"'],
  ['deadInterval not above helloInterval', `${BASE}routing:\n  helloInterval: 1s\n  deadInterval: 1s\n`, '25:17', 'routing.deadInterval', 'a deadInterval longer than helloInterval (1.00 s)', 'found "1s"'],
  ['helloInterval above the default deadInterval', `${BASE}routing:\n  helloInterval: 3s\n`, '24:18', 'routing.helloInterval', 'a helloInterval shorter than deadInterval (default "2s")', 'found "3s"'],
  ['zero duration', edit('duration: 10s', 'duration: 0s'), '2:11', 'duration', 'a duration above zero', 'found "0s"'],
];

describe('[LOAD-3] fault sequences', () => {
  it('are checked in time order, not file order', () => {
    const s = parseScenario(`${BASE}faults:\n  - { at: 5s, restart: us-1 }\n  - { at: 2s, crash: us-1 }\n  - { at: 8s, crash: us-1 }\n`, FILE);
    expect(s.faults.map((f) => f.action)).toEqual(['restart', 'crash', 'crash']);
  });

  it('allow a fault exactly at the end of the run', () => {
    expect(parseScenario(`${BASE}faults:\n  - { at: 10s, link-down: [us-1, eu-1] }\n`, FILE).faults[0]!.atMs).toBe(10_000);
  });
});

describe('[LOAD-1] broken scenarios: one line with file:line:col, path, expected, found', () => {
  it('has at least 15 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(15));

  it.each(CASES)('%s', (_name, text, where, path, expected, found) => {
    const e = errorOf(text);
    expect(e.message).not.toContain('\n');
    expect(e.message.slice(0, FILE.length + where.length + 3)).toBe(`${FILE}:${where}: `);
    expect(`${e.line}:${e.column}`).toBe(where);
    expect(e.file).toBe(FILE);
    expect(e.path).toBe(path);
    if (path !== '') expect(e.message).toContain(`: ${path}: expected `);
    expect(e.expected).toContain(expected);
    expect(e.message).toContain(`expected ${e.expected}, found `);
    expect(e.message).toContain(found);
  });
});

describe('ScenarioError', () => {
  it('is an Error named ScenarioError with the documented message shape', () => {
    const e = errorOf(edit('rate: 1000/s', 'rate: fast'));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ScenarioError');
    expect(e.message).toBe(`${FILE}:17:11: publishers[0].rate: expected ${e.expected}, found "fast"`);
    expect(e.found).toBe('"fast"');
  });

  it('reports the earliest problem in the file first', () => {
    const e = errorOf(edit('rate: 1000/s', 'rate: fast', edit('duration: 10s', 'duration: soon')));
    expect(e.path).toBe('duration');
  });

  it('an unreadable file is a ScenarioError too', () => {
    expect(() => loadScenario('scenarios/does-not-exist.yaml')).toThrow(ScenarioError);
    expect(() => loadScenario('scenarios/does-not-exist.yaml')).toThrow('scenarios/does-not-exist.yaml: expected a readable scenario file, found no such file');
  });

  it('formats paths', () => {
    expect(formatPath(['links', 0, 'rtt'])).toBe('links[0].rtt');
    expect(formatPath(['faults', 2, 'link-down', 1])).toBe('faults[2].link-down[1]');
    expect(formatPath(['publishers', 0, 'headers', 'x.y'])).toBe('publishers[0].headers["x.y"]');
  });

  it('suggests close keys only', () => {
    expect(closest('rttt', ['rtt', 'bandwidth'])).toBe('rtt');
    expect(closest('bandwith', ['rtt', 'bandwidth'])).toBe('bandwidth');
    expect(closest('link_down', ['link-down', 'link-up'])).toBe('link-down');
    expect(closest('clientRTT', ['clientRtt'])).toBe('clientRtt');
    expect(closest('colour', ['rtt', 'bandwidth'])).toBeUndefined();
  });
});
