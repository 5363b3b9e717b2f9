import { readdirSync, readFileSync } from 'node:fs';
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
    expect(s.regions[1]).toEqual({ id: 'eu-west-1', brokers: ['eu-1'], clientRttMs: 1, location: { lat: 53.3, lon: -6.3 }, ha: [] });
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
      delivery: 'realtime',
      principal: 'anonymous',
      data: null,
    });
    expect(s.subscribers).toEqual([
      { region: 'us-east-1', count: 10, pattern: 'orders/#', patterns: 1, queueLimit: 10_000, principal: 'anonymous' },
      { broker: 'eu-1', count: 5, pattern: 'orders/+/paid', patterns: 1, filter: "amountCents > 10000 AND currency <> 'GBP'", queueLimit: 10_000, principal: 'anonymous' },
    ]);
  });

  it('the minimal base resolves the remaining defaults', () => {
    const s = parseScenario(BASE, FILE);
    expect(s.seed).toBe(1);
    expect(s.faults).toEqual([]);
    expect(s.publishers[0]).toMatchObject({ type: 'com.meshtwin.event', arrival: 'poisson', headers: {}, startMs: 0, stopMs: 10_000 });
    expect(s.subscribers[0]).toEqual({ broker: 'eu-1', count: 1, pattern: 'a/#', patterns: 1, queueLimit: 10_000, principal: 'anonymous' });
    expect(s.subscribers[0]).not.toHaveProperty('consumeRatePerSec');
    expect(s.publishers[0]!.delivery).toBe('realtime');
    expect(s.regions.map((r) => r.ha)).toEqual([[], []]);
    expect(s.routing).toEqual({
      helloIntervalMs: 500,
      deadIntervalMs: 2000,
      hopLimit: 16,
      retransmitMs: 200,
      ackDelayMs: 2,
      ledgerTtlMs: 15 * 60_000,
      spoolBytes: 50e9,
      keepaliveMs: 100,
      takeoverMs: 500,
      reconnectMs: 100,
    });
    expect(s.links[1]).toMatchObject({ jitterMs: 0, loss: 0, cost: 70, queueBytes: 64e6 });
  });

  it('resolves faults, cost, start/stop, routing and model overrides', () => {
    const text =
      edit('    size: 500B\n', '    size: 500B\n    start: 1s\n    stop: 9s\n', edit('  - between: [us-2, eu-1]\n', '    cost: 5\n  - between: [us-2, eu-1]\n')) +
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
    expect(s.routing).toMatchObject({ helloIntervalMs: 100, deadIntervalMs: 400, hopLimit: 8 });
    expect(s.model).toEqual({ connectionBytes: 40_960, transportOverheadBytes: 0 });
  });
});

/** The base with an HA backup for eu-1 (one line longer: faults start on line 25). */
const HA = edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha: [{ primary: eu-1, backup: eu-1b }]\n');
/** The base with these faults, one per line from line 24. */
const F = (...faults: string[]): string => `${BASE}faults:\n${faults.map((f) => `  - ${f}\n`).join('')}`;
/** The HA base with these faults, one per line from line 25. */
const FH = (...faults: string[]): string => `${HA}faults:\n${faults.map((f) => `  - ${f}\n`).join('')}`;

describe('HA pairs, delivery classes, consumers, partitions, degrades, slow consumers, routing timers', () => {
  const text =
    edit('    size: 500B\n', '    size: 500B\n    delivery: guaranteed\n', edit('    pattern: "a/#"\n', '    pattern: "$share/workers/a/#"\n    consume: 500/s\n    queue: 1000\n', HA)) +
    `  - region: us
    count: 4
    patterns: 2
    pattern: "t/{region}/c{i}"
  - broker: us-2
    pattern: "u/{broker}/#"
faults:
  - { at: 1s, crash: eu-1 }
  - { at: 1.5s, crash: eu-1b }
  - { at: 2s, restart: eu-1b }
  - { at: 2s, restart: eu-1 }
  - { at: 3s, partition: [eu] }
  - { at: 3.5s, partition: [eu] }
  - { at: 4s, heal: [eu] }
  - { at: 4.5s, partition: [us] }
  - { at: 5s, heal: all }
  - { at: 5s, degrade: [us-1, eu-1], loss: 0.05, rtt: 300ms, jitter: 5ms, bandwidth: 10Mbps, for: 2s }
  - { at: 7s, degrade: [eu-1, us-1], loss: 1 }
  - { at: 6s, slow-consumer: eu-1, pattern: "$share/workers/a/#", rate: 10/s, for: 1m }
  - { at: 8s, slow-consumer: us-1, pattern: "t/us/c1", rate: 2/s }
  - { at: 9s, slow-consumer: us-2, pattern: "u/{broker}/#", rate: 1/h, for: 30s }
  - { at: 9s, slow-consumer: us-2, pattern: "t/us/c0", rate: 1/s }
routing: { retransmit: 300ms, ackDelay: 0ms, ledgerTtl: 1h, spool: 1GiB, keepalive: 50ms, takeover: 200ms, reconnect: 0ms }
`;

  it('resolve to the documented Scenario values', () => {
    const s = parseScenario(text, FILE);
    expect(s.regions[1]!.ha).toEqual([{ primary: 'eu-1', backup: 'eu-1b' }]);
    expect(s.regions[0]!.ha).toEqual([]);
    expect(s.publishers[0]!.delivery).toBe('guaranteed');
    expect(s.subscribers[0]).toEqual({ broker: 'eu-1', count: 1, pattern: '$share/workers/a/#', patterns: 1, consumeRatePerSec: 500, queueLimit: 1000, principal: 'anonymous' });
    expect(s.subscribers[1]).toEqual({ region: 'us', count: 4, pattern: 't/{region}/c{i}', patterns: 2, queueLimit: 10_000, principal: 'anonymous' });
    expect(s.faults).toEqual([
      { atMs: 1000, action: 'crash', target: ['eu-1'] },
      { atMs: 1500, action: 'crash', target: ['eu-1b'] },
      { atMs: 2000, action: 'restart', target: ['eu-1b'] },
      { atMs: 2000, action: 'restart', target: ['eu-1'] },
      { atMs: 3000, action: 'partition', target: ['eu'] },
      { atMs: 3500, action: 'partition', target: ['eu'] },
      { atMs: 4000, action: 'heal', target: ['eu'] },
      { atMs: 4500, action: 'partition', target: ['us'] },
      { atMs: 5000, action: 'heal', target: [] },
      { atMs: 5000, action: 'degrade', target: ['us-1', 'eu-1'], loss: 0.05, rttMs: 300, jitterMs: 5, bandwidthBps: 10e6, forMs: 2000 },
      { atMs: 7000, action: 'degrade', target: ['eu-1', 'us-1'], loss: 1 },
      { atMs: 6000, action: 'slow-consumer', target: ['eu-1'], pattern: '$share/workers/a/#', ratePerSec: 10, forMs: 60_000 },
      // An expansion of a region entry's template with {i} (i read off the text).
      { atMs: 8000, action: 'slow-consumer', target: ['us-1'], pattern: 't/us/c1', ratePerSec: 2 },
      // A template that expands to one pattern at the broker is stored expanded; `for` may run past the end.
      { atMs: 9000, action: 'slow-consumer', target: ['us-2'], pattern: 'u/us-2/#', ratePerSec: 1 / 3600, forMs: 30_000 },
      { atMs: 9000, action: 'slow-consumer', target: ['us-2'], pattern: 't/us/c0', ratePerSec: 1 },
    ]);
    expect(s.routing).toEqual({
      helloIntervalMs: 500,
      deadIntervalMs: 2000,
      hopLimit: 16,
      retransmitMs: 300,
      ackDelayMs: 0,
      ledgerTtlMs: 3_600_000,
      spoolBytes: 1024 ** 3,
      keepaliveMs: 50,
      takeoverMs: 200,
      reconnectMs: 0,
    });
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
  [
    'unknown key with suggestion',
    edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rttt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2'),
    '10:5',
    'links[0].rttt',
    'a key of a link (between, rtt, bandwidth',
    'unknown key "rttt"; did you mean "rtt"?',
  ],
  ['unknown top-level key', `${BASE}durations: 3s\n`, '23:1', 'durations', 'a key of a scenario', 'unknown key "durations"; did you mean "duration"?'],
  [
    'missing required key',
    edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    bandwidth: 10Gbps\n  - between: [us-2'),
    '9:5',
    'links[0].rtt',
    'the required key "rtt"',
    'this link without it',
  ],
  ['missing top-level key', edit('duration: 10s\n', ''), '1:1', 'duration', 'the required key "duration"', 'this scenario without it'],
  [
    'bad duration',
    edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt: fast\n    bandwidth: 10Gbps\n  - between: [us-2'),
    '10:10',
    'links[0].rtt',
    'a duration such as "70ms"',
    'found "fast"',
  ],
  ['duration without unit', edit('duration: 10s', 'duration: 10'), '2:11', 'duration', 'a duration such as "70ms"', 'found 10'],
  ['empty value', edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt:\n    bandwidth: 10Gbps\n  - between: [us-2'), '10:5', 'links[0].rtt', 'a duration', 'found an empty value'],
  ['bad bandwidth', edit('bandwidth: 10Gbps\n  - between: [us-2', 'bandwidth: 10GB/s\n  - between: [us-2'), '11:16', 'links[0].bandwidth', 'bits per second', 'found "10GB/s"'],
  ['bad size (bits)', edit('size: 500B', 'size: 500b'), '19:11', 'publishers[0].size', 'a lowercase "b" means bits', 'found "500b"'],
  ['bad rate', edit('rate: 1000/s', 'rate: 1000'), '17:11', 'publishers[0].rate', 'a rate such as "330000/s"', 'found 1000'],
  ['bad enum with suggestion', edit('    topic:', '    arrival: posson\n    topic:'), '18:14', 'publishers[0].arrival', 'one of "poisson", "constant"', 'found "posson"; did you mean "poisson"?'],
  [
    'loss out of range',
    edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rtt: 70ms\n    loss: 1\n    bandwidth: 10Gbps\n  - between: [us-2'),
    '11:11',
    'links[0].loss',
    'a probability in [0, 1)',
    'found 1',
  ],
  [
    'negative loss',
    edit('    rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', '    rtt: 70ms\n    loss: -0.1\n    bandwidth: 10Gbps\n  - between: [us-2'),
    '11:11',
    'links[0].loss',
    'a probability in [0, 1)',
    'found -0.1',
  ],
  ['publisher with region and broker', edit('  - region: us\n', '  - region: us\n    broker: us-1\n'), '17:5', 'publishers[0].broker', 'exactly one of "region" or "broker"', 'found both'],
  ['subscriber with neither', edit('  - broker: eu-1\n', '  - count: 2\n'), '21:5', 'subscribers[0]', 'exactly one of "region" or "broker"', 'found neither'],
  [
    'list expected',
    edit('  - id: us\n    brokers: [us-1, us-2]\n  - id: eu\n    brokers: [eu-1]\n', '  - id: us\n    brokers: us-1\n  - id: eu\n    brokers: [eu-1]\n'),
    '5:14',
    'regions[0].brokers',
    'a list',
    'found "us-1"',
  ],
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
  [
    'zero rtt',
    edit('rtt: 70ms\n    bandwidth: 10Gbps\n  - between: [us-2', 'rtt: 0ms\n    bandwidth: 10Gbps\n  - between: [us-2'),
    '10:10',
    'links[0].rtt',
    'a round-trip time above zero',
    'found "0ms"',
  ],
  ['publisher at an unknown region', edit('region: us\n', 'region: uss\n'), '16:13', 'publishers[0].region', 'a region declared under regions (us, eu)', 'found "uss"; did you mean "us"?'],
  ['subscriber at an unknown broker', edit('broker: eu-1', 'broker: ap-1'), '21:13', 'subscribers[0].broker', 'a broker declared under regions', 'found "ap-1"'],
  ['zero rate', edit('rate: 1000/s', 'rate: 0/s'), '17:11', 'publishers[0].rate', 'a rate above zero', 'found "0/s"'],
  [
    'disallowed topic placeholder',
    edit('"a/{n}"', '"a/{i}"'),
    '18:12',
    'publishers[0].topic',
    'a topic template (placeholders: {n}, {region}',
    'found "a/{i}" (placeholder "{i}" at character 3; not allowed here',
  ],
  ['unknown topic placeholder', edit('"a/{n}"', '"a/{nn}"'), '18:12', 'publishers[0].topic', 'a topic template', 'unknown placeholder "{nn}"'],
  ['wildcard in topic', edit('"a/{n}"', '"a/+/{n}"'), '18:12', 'publishers[0].topic', 'a topic without wildcards', `"a/+/{n}", which renders as "a/+/0" (topic must not contain the wildcard '+')`],
  ['wildcard in a choice option', edit('"a/{n}"', '"a/{choice:x|#}"'), '18:12', 'publishers[0].topic', 'a topic template without wildcards', `option "#"`],
  ['bad header template', edit('    size: 500B\n', '    size: 500B\n    headers:\n      x: "{foo}"\n'), '21:10', 'publishers[0].headers.x', 'a header value template', 'unknown placeholder "{foo}"'],
  ['bad pattern', edit('"a/#"', '"a/#/b"'), '22:14', 'subscribers[0].pattern', 'a valid pattern', `"a/#/b" ('#' must be the last level)`],
  ['pattern placeholder not allowed', edit('"a/#"', '"a/{n}"'), '22:14', 'subscribers[0].pattern', 'a pattern template (placeholders: {i}, {region}, {broker})', 'not allowed here'],
  ['patterns without {i}', edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    patterns: 3\n'), '22:14', 'subscribers[0].pattern', 'a pattern with {i}', 'found "a/#"'],
  ['count below patterns', edit('    pattern: "a/#"\n', '    pattern: "a/{i}"\n    patterns: 3\n'), '23:15', 'subscribers[0].patterns', 'a count of at least patterns (3)', 'found count 1'],
  [
    'filter that does not parse',
    edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    filter: "x > (3"\n'),
    '23:13',
    'subscribers[0].filter',
    'a selector such as',
    `found "x > (3" (at character 7: expected ')'`,
  ],
  ['stop before start', edit('    size: 500B\n', '    size: 500B\n    start: 5s\n    stop: 2s\n'), '21:11', 'publishers[0].stop', 'a stop at or after start', 'found "2s"'],
  ['start after the run', edit('    size: 500B\n', '    size: 500B\n    start: 15s\n'), '20:12', 'publishers[0].start', 'a start within the run (duration is 10.0 s)', 'found "15s"'],
  ['fault after the run', `${BASE}faults:\n  - { at: 20s, crash: us-1 }\n`, '24:11', 'faults[0].at', 'a time within the run (duration is 10.0 s)', 'found "20s"'],
  ['fault on an unknown broker', `${BASE}faults:\n  - { at: 2s, crash: us-3 }\n`, '24:22', 'faults[0].crash', 'a broker declared under regions', 'found "us-3"; did you mean "us-1"?'],
  ['fault on a link that does not exist', `${BASE}faults:\n  - { at: 2s, link-down: [us-1, us-2] }\n`, '24:26', 'faults[0].link-down', 'a pair of brokers joined by a link', 'found [us-1, us-2]'],
  ['link-up of a link that is up', `${BASE}faults:\n  - { at: 2s, link-up: [us-1, eu-1] }\n`, '24:24', 'faults[0].link-up', 'a link that is down at 2.00 s', 'found [us-1, eu-1]'],
  ['restart of a running broker', `${BASE}faults:\n  - { at: 5s, restart: us-1 }\n  - { at: 8s, crash: us-1 }\n`, '24:24', 'faults[0].restart', 'a crashed broker at 5.00 s', 'found "us-1"'],
  ['crash of a crashed broker', `${BASE}faults:\n  - { at: 2s, crash: us-1 }\n  - { at: 3s, crash: us-1 }\n`, '25:22', 'faults[1].crash', 'a broker that is running at 3.00 s', 'found "us-1"'],
  [
    'deadInterval not above helloInterval',
    `${BASE}routing:\n  helloInterval: 1s\n  deadInterval: 1s\n`,
    '25:17',
    'routing.deadInterval',
    'a deadInterval longer than helloInterval (1.00 s)',
    'found "1s"',
  ],
  [
    'helloInterval above the default deadInterval',
    `${BASE}routing:\n  helloInterval: 3s\n`,
    '24:18',
    'routing.helloInterval',
    'a helloInterval shorter than deadInterval (default "2s")',
    'found "3s"',
  ],
  ['zero duration', edit('duration: 10s', 'duration: 0s'), '2:11', 'duration', 'a duration above zero', 'found "0s"'],
  // HA pairs, delivery classes, consumers, shared subscriptions, the new faults, routing timers
  ['unknown region in partition', F('{ at: 2s, partition: [ap] }'), '24:27', 'faults[0].partition[0]', 'a region declared under regions (us, eu)', '"ap"'],
  ['partition of every region', F('{ at: 2s, partition: [us, eu] }'), '24:26', 'faults[0].partition', 'some regions but not all (a partition cuts them off from the rest; there are 2)', '[us, eu]'],
  ['region twice in a partition', F('{ at: 2s, partition: [eu, eu] }'), '24:31', 'faults[0].partition[1]', 'each region once (faults[0].partition[0] is "eu")', '"eu"'],
  ['empty partition', F('{ at: 2s, partition: [] }'), '24:26', 'faults[0].partition', 'a list of at least 1 item', 'an empty list'],
  ['heal with nothing partitioned', F('{ at: 2s, heal: all }'), '24:21', 'faults[0].heal', 'a partition to heal at 2.00 s (no region is partitioned then)', '"all"'],
  ['heal of a region not partitioned', F('{ at: 2s, partition: [eu] }', '{ at: 3s, heal: [us] }'), '25:22', 'faults[1].heal[0]', 'a region partitioned at 3.00 s (eu)', '"us"'],
  [
    'heal after everything healed',
    F('{ at: 2s, partition: [eu] }', '{ at: 3s, heal: all }', '{ at: 4s, heal: [eu] }'),
    '26:21',
    'faults[2].heal',
    'a partition to heal at 4.00 s (no region is partitioned then)',
    '[eu]',
  ],
  ['heal with a bad value', F('{ at: 2s, heal: everything }'), '24:21', 'faults[0].heal', 'a list of region ids such as [ap-southeast-1], or "all"', '"everything"'],
  ['degrade without any property', F('{ at: 2s, degrade: [us-1, eu-1] }'), '24:15', 'faults[0].degrade', 'a degrade with at least one of loss, rtt, jitter, bandwidth', 'none of them'],
  ['degrade with only for', F('{ at: 2s, degrade: [us-1, eu-1], for: 3s }'), '24:15', 'faults[0].degrade', 'a degrade with at least one of loss, rtt, jitter, bandwidth', 'none of them'],
  ['degrade of a pair without a link', F('{ at: 2s, degrade: [us-1, us-2], loss: 0.1 }'), '24:24', 'faults[0].degrade', 'a pair of brokers joined by a link under links', '[us-1, us-2]'],
  ['degrade loss above 1', F('{ at: 2s, degrade: [us-1, eu-1], loss: 1.5 }'), '24:44', 'faults[0].loss', 'a probability in [0, 1], such as 0.05', '1.5'],
  ['degrade zero rtt', F('{ at: 2s, degrade: [us-1, eu-1], rtt: 0ms }'), '24:43', 'faults[0].rtt', 'a round-trip time above zero, such as "300ms"', '"0ms"'],
  [
    'degrade while degraded',
    F('{ at: 2s, degrade: [us-1, eu-1], loss: 0.1, for: 5s }', '{ at: 4s, degrade: [eu-1, us-1], rtt: 1s }'),
    '25:24',
    'faults[1].degrade',
    'a link not degraded at 4.00 s (faults[0] degrades it until 7.00 s)',
    '[eu-1, us-1]',
  ],
  [
    'degrade after an endless degrade',
    F('{ at: 2s, degrade: [us-1, eu-1], loss: 0.1 }', '{ at: 8s, degrade: [eu-1, us-1], rtt: 1s }'),
    '25:24',
    'faults[1].degrade',
    'a link not degraded at 8.00 s (faults[0] degrades it to the end of the run)',
    '[eu-1, us-1]',
  ],
  [
    'rate on link-down',
    F('{ at: 2s, link-down: [us-1, eu-1], rate: 10/s }'),
    '24:40',
    'faults[0].rate',
    'a key of a link-down fault (at, link-down, detect)',
    '"rate", which only slow-consumer takes',
  ],
  [
    'loss on slow-consumer',
    F('{ at: 2s, slow-consumer: eu-1, rate: 10/s, loss: 0.1 }'),
    '24:48',
    'faults[0].loss',
    'a key of a slow-consumer fault (at, slow-consumer, pattern, rate, for)',
    '"loss", which only degrade takes',
  ],
  ['for on a crash', F('{ at: 2s, crash: eu-1, for: 3s }'), '24:28', 'faults[0].for', 'a key of a crash fault (at, crash)', '"for", which only degrade and slow-consumer take'],
  ['option without an action', F('{ at: 2s, rate: 10/s }'), '24:5', 'faults[0]', 'exactly one action: link-down, link-up, crash, restart, partition, heal, degrade or slow-consumer', 'no action'],
  ['zero for', F('{ at: 2s, degrade: [us-1, eu-1], loss: 0.1, for: 0s }'), '24:54', 'faults[0].for', 'a duration above zero, such as "10s" (leave it out to last until the end of the run)', '"0s"'],
  ['slow-consumer without rate', F('{ at: 2s, slow-consumer: eu-1 }'), '24:5', 'faults[0].rate', 'the required key "rate" of a slow-consumer fault', 'this slow-consumer without it'],
  [
    'slow-consumer zero rate',
    F('{ at: 2s, slow-consumer: eu-1, rate: 0/s }'),
    '24:42',
    'faults[0].rate',
    'a rate above zero, such as "10/s" (for a stalled consumer, a tiny one such as "1/h")',
    '"0/s"',
  ],
  [
    'slow-consumer pattern matching nothing',
    F('{ at: 2s, slow-consumer: eu-1, pattern: "b/#", rate: 10/s }'),
    '24:45',
    'faults[0].pattern',
    'the pattern of subscribers on eu-1 ("a/#")',
    '"b/#"; did you mean "a/#"?',
  ],
  ['slow-consumer where nobody subscribes', F('{ at: 2s, slow-consumer: us-1, rate: 10/s }'), '24:30', 'faults[0].slow-consumer', 'a broker with subscribers (eu-1)', '"us-1"'],
  [
    'slow-consumer on slow subscribers',
    F('{ at: 2s, slow-consumer: eu-1, rate: 10/s, for: 5s }', '{ at: 3s, slow-consumer: eu-1, pattern: "a/#", rate: 1/s }'),
    '25:30',
    'faults[1].slow-consumer',
    'subscribers not already slow at 3.00 s (faults[0] slows every subscriber on eu-1 until 7.00 s)',
    '"eu-1"',
  ],
  [
    'slow-consumer at a backup',
    FH('{ at: 2s, slow-consumer: eu-1b, rate: 10/s }'),
    '25:30',
    'faults[0].slow-consumer',
    'a broker declared under regions (us-1, us-2, eu-1)',
    `"eu-1b", the HA backup of "eu-1" (clients attach to the primary's address); use "eu-1"`,
  ],
  [
    'link fault on a backup',
    FH('{ at: 2s, link-down: [us-1, eu-1b] }'),
    '25:33',
    'faults[0].link-down[1]',
    'a broker declared under regions (us-1, us-2, eu-1)',
    `"eu-1b", the HA backup of "eu-1" (a backup takes over its primary's links and has none of its own); use "eu-1"`,
  ],
  [
    'crash of an unknown broker with backups',
    FH('{ at: 2s, crash: eu-2b }'),
    '25:22',
    'faults[0].crash',
    'a broker or HA backup declared under regions (us-1, us-2, eu-1, eu-1b)',
    '"eu-2b"; did you mean "eu-1b"?',
  ],
  ['restart of a running backup', FH('{ at: 2s, restart: eu-1b }'), '25:24', 'faults[0].restart', 'a crashed broker at 2.00 s (brokers start running)', '"eu-1b"'],
  [
    'backup reused as broker',
    edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha: [{ primary: eu-1, backup: us-2 }]\n'),
    '8:35',
    'regions[1].ha[0].backup',
    `a new id for the standby, not a broker's (regions[0].brokers[1] is "us-2")`,
    '"us-2"',
  ],
  [
    'backup used twice',
    edit('    brokers: [us-1, us-2]\n', '    brokers: [us-1, us-2]\n    ha: [{ primary: us-1, backup: b }, { primary: us-2, backup: b }]\n'),
    '6:65',
    'regions[0].ha[1].backup',
    'a backup id not used before (regions[0].ha[0].backup is "b")',
    '"b"',
  ],
  [
    'primary of another region',
    edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha: [{ primary: us-1, backup: x }]\n'),
    '8:21',
    'regions[1].ha[0].primary',
    'a broker of region "eu" (eu-1)',
    '"us-1", a broker of region "us"',
  ],
  [
    'primary that does not exist',
    edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha: [{ primary: eu-2, backup: x }]\n'),
    '8:21',
    'regions[1].ha[0].primary',
    'a broker of region "eu" (eu-1)',
    '"eu-2"; did you mean "eu-1"?',
  ],
  [
    'primary with two backups',
    edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha:\n      - { primary: eu-1, backup: x }\n      - { primary: eu-1, backup: y }\n'),
    '10:20',
    'regions[1].ha[1].primary',
    'a primary with at most one backup (regions[1].ha[0] already pairs "eu-1")',
    '"eu-1"',
  ],
  [
    'ha pair without backup',
    edit('    brokers: [eu-1]\n', '    brokers: [eu-1]\n    ha: [{ primary: eu-1 }]\n'),
    '8:10',
    'regions[1].ha[0].backup',
    `the required key "backup" (the standby's id, used nowhere else as a broker id)`,
    'this HA pair without it',
  ],
  [
    'backup in links',
    edit('[us-2, eu-1]', '[us-2, eu-1b]', HA),
    '13:21',
    'links[1].between[1]',
    'a broker declared under regions (us-1, us-2, eu-1)',
    `"eu-1b", the HA backup of "eu-1" (a backup takes over its primary's links and has none of its own); use "eu-1"`,
  ],
  [
    'publisher at a backup',
    edit('  - region: us\n', '  - broker: eu-1b\n', HA),
    '17:13',
    'publishers[0].broker',
    'a broker declared under regions (us-1, us-2, eu-1)',
    `"eu-1b", the HA backup of "eu-1" (clients attach to the primary's address); use "eu-1"`,
  ],
  [
    'subscriber at a backup',
    edit('broker: eu-1\n', 'broker: eu-1b\n', HA),
    '22:13',
    'subscribers[0].broker',
    'a broker declared under regions (us-1, us-2, eu-1)',
    `"eu-1b", the HA backup of "eu-1" (clients attach to the primary's address); use "eu-1"`,
  ],
  ['keepalive not below the default takeover', `${BASE}routing: { keepalive: 500ms }\n`, '23:23', 'routing.keepalive', 'a keepalive shorter than takeover (default "500ms")', '"500ms"'],
  ['takeover not above keepalive', `${BASE}routing:\n  keepalive: 200ms\n  takeover: 200ms\n`, '25:13', 'routing.takeover', 'a takeover longer than keepalive (200 ms)', '"200ms"'],
  ['zero keepalive', `${BASE}routing: { keepalive: 0ms }\n`, '23:23', 'routing.keepalive', 'a keepalive above zero, such as "100ms"', '"0ms"'],
  ['retransmit not above ackDelay', `${BASE}routing: { retransmit: 1ms }\n`, '23:24', 'routing.retransmit', 'a retransmit longer than ackDelay (2.00 ms)', '"1ms"'],
  ['zero ledgerTtl', `${BASE}routing: { ledgerTtl: 0s }\n`, '23:23', 'routing.ledgerTtl', 'a ledgerTtl above zero, such as "15m"', '"0s"'],
  [
    'bad spool',
    `${BASE}routing: { spool: 50Gb }\n`,
    '23:19',
    'routing.spool',
    'a size such as "500B" or "4KB" (units: B, KB, MB, GB = powers of 1000; KiB, MiB, GiB = powers of 1024); a lowercase "b" means bits, sizes are in bytes ("B")',
    '"50Gb"',
  ],
  [
    'unknown routing key',
    `${BASE}routing: { keepAlive: 1s }\n`,
    '23:12',
    'routing.keepAlive',
    'a key of a routing (helloInterval, deadInterval, hopLimit, retransmit, ackDelay, ledgerTtl, spool, keepalive, takeover, reconnect)',
    'unknown key "keepAlive"; did you mean "keepalive"?',
  ],
  [
    '$share with an empty group',
    edit('"a/#"', '"$share//a/#"'),
    '22:14',
    'subscribers[0].pattern',
    'a shared subscription "$share/GROUP/PATTERN" (GROUP one level without wildcards, PATTERN a valid pattern)',
    '"$share//a/#" (the group is empty)',
  ],
  [
    '$share with a wildcard group',
    edit('"a/#"', '"$share/+/a/#"'),
    '22:14',
    'subscribers[0].pattern',
    'a shared subscription "$share/GROUP/PATTERN" (GROUP one level without wildcards, PATTERN a valid pattern)',
    '"$share/+/a/#" (the group must not contain wildcards)',
  ],
  [
    '$share without a pattern',
    edit('"a/#"', '"$share/workers"'),
    '22:14',
    'subscribers[0].pattern',
    'a shared subscription "$share/GROUP/PATTERN" (GROUP one level without wildcards, PATTERN a valid pattern)',
    '"$share/workers" (no pattern after the group)',
  ],
  [
    '$share with a bad pattern',
    edit('"a/#"', '"$share/w/a/#/b"'),
    '22:14',
    'subscribers[0].pattern',
    'a shared subscription "$share/GROUP/PATTERN" (GROUP one level without wildcards, PATTERN a valid pattern)',
    `"$share/w/a/#/b" (after "$share/w/": '#' must be the last level)`,
  ],
  [
    'bad delivery',
    edit('    size: 500B\n', '    size: 500B\n    delivery: guarantee\n'),
    '20:15',
    'publishers[0].delivery',
    'one of "realtime", "guaranteed"',
    '"guarantee"; did you mean "guaranteed"?',
  ],
  [
    'zero consume',
    edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    consume: 0/s\n'),
    '23:14',
    'subscribers[0].consume',
    'a consume rate above zero, such as "500/s" (leave it out to consume as fast as messages arrive)',
    '"0/s"',
  ],
  [
    'consume without unit',
    edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    consume: 500\n'),
    '23:14',
    'subscribers[0].consume',
    'a rate such as "330000/s", "330k/s" or "100/ms"; a rate needs a time unit such as "/s"',
    '500',
  ],
  ['zero queue', edit('    pattern: "a/#"\n', '    pattern: "a/#"\n    queue: 0\n'), '23:12', 'subscribers[0].queue', 'a whole number >= 1', '0'],
  [
    'slow-consumer template expanding to many',
    `${edit('    pattern: "a/#"\n', '    pattern: "a/{i}"\n    count: 2\n    patterns: 2\n')}faults:\n  - { at: 2s, slow-consumer: eu-1, pattern: "a/{i}", rate: 1/s }\n`,
    '26:45',
    'faults[0].pattern',
    'one pattern of the subscribers on eu-1, such as "a/0" (leave pattern out for all of them)',
    '"a/{i}", which expands to 2 patterns',
  ],
  [
    'slow-consumer expansion out of range',
    `${edit('    pattern: "a/#"\n', '    pattern: "a/{i}"\n    count: 2\n    patterns: 2\n')}faults:\n  - { at: 2s, slow-consumer: eu-1, pattern: "a/2", rate: 1/s }\n`,
    '26:45',
    'faults[0].pattern',
    'the pattern of subscribers on eu-1 ("a/{i}")',
    '"a/2"',
  ],
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

describe('scenario.schema.json', () => {
  type Schema = { [k: string]: unknown; properties?: Record<string, Schema>; $defs?: Record<string, Schema>; items?: Schema; anyOf?: Schema[] };
  const schema = JSON.parse(readFileSync(new URL('./scenario.schema.json', import.meta.url), 'utf8')) as Schema;
  const walk = (node: Schema, path: string, visit: (n: Schema, p: string) => void): void => {
    visit(node, path);
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
    for (const [k, v] of Object.entries(node.$defs ?? {})) walk(v, `$defs.${k}`, visit);
    if (node.items !== undefined) walk(node.items, `${path}[]`, visit);
  };

  it('describes every key and closes every map', () => {
    const undescribed: string[] = [];
    const open: string[] = [];
    walk(schema, '', (n, p) => {
      for (const [k, v] of Object.entries(n.properties ?? {})) if (typeof v.description !== 'string') undescribed.push(`${p}.${k}`);
      if (n.type === 'object' && n.additionalProperties !== false && p !== '$defs.publisher.headers') open.push(p);
    });
    expect(undescribed).toEqual([]);
    expect(open).toEqual([]);
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

describe('expect: assertions are checked for syntax and units on load [EXPECT-1]', () => {
  it('a well-formed list loads as written', () => {
    const s = parseScenario(`${BASE}expect:\n  - "messages.lost == 0"\n  - "links[us-1>eu-1].mbpsPeak < 800Mbps"\n`, FILE);
    expect(s.expect).toEqual(['messages.lost == 0', 'links[us-1>eu-1].mbpsPeak < 800Mbps']);
  });

  it('a bad operator names the line, the entry and the column inside the assertion', () => {
    const e = errorOf(`${BASE}expect:\n  - "messages.lost == 0"\n  - "messages.lost === 0"\n`);
    expect(e.message).toBe('scenarios/x.yaml:25:5: expect[1]: expected a number, optionally with a unit, such as "0", "1.5s" or "99.9%", found "= 0" at column 17 of "messages.lost === 0"');
  });

  it('a unit that does not fit the field is an error', () => {
    const e = errorOf(`${BASE}expect:\n  - "latencyMs.local.p99 < 3KB"\n`);
    expect(e.message).toMatch(/^scenarios\/x\.yaml:24:5: expect\[0\]: expected .*found "KB" \(a size\) at column 24 of "latencyMs\.local\.p99 < 3KB"$/);
  });
});
