import { describe, expect, it } from 'vitest';
import { ALIASES, checkAssertionSyntax, describeResult, evaluateAssertion, evaluateAssertions, ExpectError, formatValue, numericPaths, parseAssertion, type AssertionResult } from './expect.ts';

/** A summary.json as a failover run writes it (the fields the reports add for HA and faults included). */
const SUMMARY: Record<string, unknown> = {
  scenario: 'failover',
  seed: 42,
  simulatedSeconds: 30,
  messages: {
    published: 1000,
    delivered: 2990,
    dropped: 3,
    duplicates: 0,
    rejected: 0,
    expected: 3000,
    lost: 0,
    deliveredRatio: 0.999,
    spooled: 120,
    retransmitted: 7,
    duplicatesSuppressed: 4,
    backpressured: 0,
  },
  latencyMs: {
    local: { count: 2000, mean: 1, p50: 1, p99: 4.2, p999: 4.9, max: 5.1 },
    crossRegion: { count: 990, mean: 36.5, p50: 36.6, p99: 37, p999: 37.1, max: 40 },
  },
  wan: { mbpsAvg: 6.4, mbpsPeak: 6.6, bytes: 1_615_886 },
  links: [
    { from: 'us-1', to: 'eu-1', wan: true, mbpsAvg: 6.4, mbpsPeak: 812.5, utilizationPeak: 0.81, bytes: 1_615_554, frames: 2286, bandwidthBps: 1e9, queueWaitMsMax: 0.2 },
    { from: 'eu-1', to: 'us-1', wan: true, mbpsAvg: 0.1, mbpsPeak: 0.2, utilizationPeak: 0, bytes: 3000, frames: 20, bandwidthBps: 1e9, queueWaitMsMax: 0 },
  ],
  brokers: [
    { id: 'us-1', region: 'us-east-1', routingEntries: 2, routingTableBytes: 900, connections: 10, connectionBytes: 400_000, routes: { 'eu-1': 'eu-1' } },
    { id: 'eu-1', region: 'eu-west-1', routingEntries: 1, routingTableBytes: 450, connections: 5, connectionBytes: 200_000, routes: { 'us-1': 'us-1' } },
  ],
  convergence: { warmupMs: 2000, initialMs: 105, maxMs: 1840 },
  faults: [
    {
      index: 0,
      at: 10_000,
      action: 'link-down',
      target: ['us-1', 'eu-1'],
      convergenceMs: 1840,
      detectMsMax: 1500,
      spooled: 120,
      dropped: 0,
      retransmitted: 7,
      duplicatesSuppressed: 4,
      takeoverMs: null,
      rebuildMs: null,
    },
    {
      index: 1,
      at: 20_000,
      action: 'crash',
      target: ['eu-1'],
      convergenceMs: 900,
      detectMsMax: 600,
      spooled: 0,
      dropped: 0,
      retransmitted: 0,
      duplicatesSuppressed: 0,
      takeoverMs: 450,
      rebuildMs: 700,
    },
  ],
  ha: { takeoverMs: 450, rebuildMs: 700 },
  decisionUs: { samples: 100, p50: 2.5, p99: 40, mean: 3 },
  run: { wallSeconds: 0.5, kernelEvents: 10_000 },
  traceHash: 'ab12',
};

function errorOf(f: () => unknown): ExpectError {
  try {
    f();
  } catch (e) {
    if (e instanceof ExpectError) return e;
    throw e;
  }
  throw new Error('expected an ExpectError');
}

const check = (text: string): AssertionResult => evaluateAssertion(text, SUMMARY);

describe('[EXPECT-1] parsing: field, operator, value', () => {
  it.each([
    // text, canonical field, op, expected (field unit), unit
    ['convergence.max < 1.5s', 'convergence.maxMs', '<', 1500, 'ms'],
    ['messages.lost == 0', 'messages.lost', '==', 0, ''],
    ['duplicates.delivered == 0', 'messages.duplicates', '==', 0, ''],
    ['links[us-1>eu-1].mbpsPeak < 800', 'links[us-1>eu-1].mbpsPeak', '<', 800, 'Mbps'],
    ['links[ us-1 > eu-1 ].mbpsPeak<800', 'links[us-1>eu-1].mbpsPeak', '<', 800, 'Mbps'],
    ['delivered.ratio >= 0.999', 'messages.deliveredRatio', '>=', 0.999, ''],
    ['latency.local.p99 < 5ms', 'latencyMs.local.p99', '<', 5, 'ms'],
    ['brokers[eu-1].routingEntries > 0', 'brokers[eu-1].routingEntries', '>', 0, ''],
    ['faults[0].convergenceMs < 3s', 'faults[0].convergenceMs', '<', 3000, 'ms'],
    ['ha.takeoverMs <= 500ms', 'ha.takeoverMs', '<=', 500, 'ms'],
    ['  messages.published   !=   -1  ', 'messages.published', '!=', -1, ''],
    ['messages.delivered > 1e3', 'messages.delivered', '>', 1000, ''],
    ['messages.delivered>.5', 'messages.delivered', '>', 0.5, ''],
  ] as const)('%s', (text, field, op, expected, unit) => {
    const a = parseAssertion(text);
    expect(a.field).toBe(field);
    expect(a.op).toBe(op);
    expect(a.expected).toBe(expected);
    expect(a.unit.symbol).toBe(unit);
    expect(checkAssertionSyntax(text)).toBeNull();
  });
});

describe("[EXPECT-2] units: written in any unit, compared in the field's", () => {
  it.each([
    // durations → ms (or the field's own time unit)
    ['convergence.maxMs < 1500', 1500, 'ms'],
    ['convergence.maxMs < 250us', 0.25, 'ms'],
    ['convergence.maxMs < 2m', 120_000, 'ms'],
    ['convergence.maxMs < 1.5 s', 1500, 'ms'],
    ['faults[1].detectMsMax < 1s', 1000, 'ms'],
    ['links[us-1>eu-1].queueWaitMsMax < 2ms', 2, 'ms'],
    ['latency.crossRegion.max < 0.1s', 100, 'ms'],
    ['decisionUs.p99 < 1ms', 1000, 'µs'],
    ['run.wallSeconds < 1m', 60, 's'],
    // bandwidth → Mbps for *mbps* fields, bps for *Bps fields
    ['wan.mbpsPeak < 1Gbps', 1000, 'Mbps'],
    ['wan.mbpsAvg < 500Kbps', 0.5, 'Mbps'],
    ['wan.mbpsAvg < 500kbps', 0.5, 'Mbps'],
    ['wan.mbpsAvg < 2000000bps', 2, 'Mbps'],
    ['links[us-1>eu-1].mbpsPeak < 800Mbps', 800, 'Mbps'],
    ['links[us-1>eu-1].bandwidthBps >= 1Gbps', 1e9, 'bps'],
    // sizes → bytes
    ['wan.bytes < 64MB', 64e6, 'bytes'],
    ['wan.bytes < 4KiB', 4096, 'bytes'],
    ['brokers[us-1].routingTableBytes < 1GB', 1e9, 'bytes'],
    ['brokers[us-1].connectionBytes <= 500B', 500, 'bytes'],
    // percentages on dimensionless fields
    ['delivered.ratio >= 99.9%', 0.999, ''],
    ['links[us-1>eu-1].utilizationPeak < 80%', 0.8, ''],
    // a statistic of a block named for a unit takes that unit; a count does not
    ['latencyMs.local.p999 < 5ms', 5, 'ms'],
    ['latencyMs.local.count > 0', 0, ''],
  ] as const)('%s', (text, expected, unit) => {
    const a = parseAssertion(text);
    expect(a.expected).toBe(expected);
    expect(a.unit.symbol).toBe(unit);
  });

  it.each([
    ['links[us-1>eu-1].mbpsPeak < 5ms', 30, /a bandwidth .* in Mbps/, '"ms" (a duration)'],
    ['convergence.max < 1Gbps', 20, /a duration .* in ms/, '"Gbps" (a bandwidth)'],
    ['wan.bytes < 2s', 14, /a size .* in bytes/, '"s" (a duration)'],
    ['messages.lost < 3KB', 18, /a plain number or a percentage \(the field "messages.lost" has no unit\)/, '"KB" (a size)'],
    ['convergence.maxMs < 50%', 23, /a duration/, '"%" (a percentage)'],
    ['convergence.maxMs < 5 parsecs', 23, /a unit: ms, s, m .*Mbps.*KiB.*%/, '"parsecs"'],
    ['wan.mbpsPeak < 5mbps', 17, /a unit:/, '"mbps"'],
  ] as const)('a unit that does not fit: %s', (text, column, expected, found) => {
    const p = checkAssertionSyntax(text);
    expect(p).not.toBeNull();
    expect(p!.column).toBe(column);
    expect(p!.expected).toMatch(expected);
    expect(p!.found).toBe(found);
  });
});

describe('[EXPECT-1] aliases', () => {
  it.each([
    ['latency.local.p99 < 5ms', 'latencyMs.local.p99', 4.2],
    ['latency.crossRegion.p50 < 40ms', 'latencyMs.crossRegion.p50', 36.6],
    ['delivered.ratio >= 0.999', 'messages.deliveredRatio', 0.999],
    ['duplicates.delivered == 0', 'messages.duplicates', 0],
    ['duplicates.suppressed == 4', 'messages.duplicatesSuppressed', 4],
    ['convergence.max < 2s', 'convergence.maxMs', 1840],
    ['lost == 0', 'messages.lost', 0],
  ] as const)('%s → %s', (text, field, actual) => {
    const r = check(text);
    expect(r).toMatchObject({ field, actual, pass: true });
  });

  it('every alias in the table is tested above', () => {
    const tested = ['latency', 'delivered.ratio', 'duplicates.delivered', 'duplicates.suppressed', 'convergence.max', 'lost'];
    expect(ALIASES.map(([a]) => a).sort()).toEqual([...tested].sort());
  });

  it('canonical names still work beside their aliases', () => {
    expect(check('latencyMs.local.p99 < 5ms').actual).toBe(4.2);
    expect(check('convergence.maxMs < 2000').actual).toBe(1840);
    expect(check('messages.deliveredRatio >= 0.999').pass).toBe(true);
  });
});

describe('evaluation against a summary', () => {
  it.each([
    ['messages.lost == 0', true, 0],
    ['messages.lost != 0', false, 0],
    ['delivered.ratio >= 99.9%', true, 0.999],
    ['delivered.ratio > 0.999', false, 0.999],
    ['convergence.max < 1.5s', false, 1840],
    ['convergence.max <= 1840ms', true, 1840],
    ['links[us-1>eu-1].mbpsPeak < 800', false, 812.5],
    ['links[eu-1>us-1].mbpsPeak < 800', true, 0.2],
    ['links[us-1>eu-1].mbpsPeak < 1Gbps', true, 812.5],
    ['brokers[eu-1].routingEntries > 0', true, 1],
    ['faults[0].convergenceMs < 3s', true, 1840],
    ['faults[1].takeoverMs <= 500ms', true, 450],
    ['ha.takeoverMs <= 500ms', true, 450],
    ['ha.rebuildMs < 1s', true, 700],
    ['latency.local.p99 < 4ms', false, 4.2],
    ['decisionUs.p99 < 10us', false, 40],
  ] as const)('%s → pass %s (measured %s)', (text, pass, actual) => {
    expect(check(text)).toMatchObject({ text, pass, actual });
  });

  it('a result carries text, canonical field, op, expected, actual, pass and unit', () => {
    expect(check('convergence.max < 1.5s')).toEqual({
      text: 'convergence.max < 1.5s',
      field: 'convergence.maxMs',
      op: '<',
      expected: 1500,
      actual: 1840,
      pass: false,
      unit: 'ms',
      noData: false,
      orNone: false,
    });
  });

  describe('[EXPECT-5] a figure with no samples is no data, not a pass', () => {
    const empty = { ...SUMMARY, latencyMs: { ...(SUMMARY.latencyMs as Record<string, unknown>), local: { count: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0 } } };
    it('latency.local.p99 < 5ms fails when nothing was local', () => {
      const r = evaluateAssertion('latency.local.p99 < 5ms', empty);
      expect(r).toMatchObject({ pass: false, noData: true, actual: undefined });
      expect(describeResult(r)).toBe('latencyMs.local.p99: no data (no samples), expected < 5 ms');
    });
    it('... or none passes when there is no data, and still judges a figure that has data', () => {
      expect(evaluateAssertion('latency.local.p99 < 5ms or none', empty)).toMatchObject({ pass: true, noData: true, orNone: true });
      expect(evaluateAssertion('latency.local.p99 < 4ms or none', SUMMARY)).toMatchObject({ pass: false, actual: 4.2 });
      expect(evaluateAssertion('latency.local.p99 < 5ms or none', SUMMARY)).toMatchObject({ pass: true, actual: 4.2 });
      expect(evaluateAssertion('faults[0].takeoverMs < 500ms or none', SUMMARY)).toMatchObject({ pass: true, actual: undefined, noData: false });
    });
    it('the count itself is a figure (0 deliveries is data)', () => {
      expect(evaluateAssertion('latency.local.count == 0', empty)).toMatchObject({ pass: true, actual: 0 });
    });
    it('anything after the value other than "or none" is a syntax error', () => {
      expect(() => evaluateAssertion('latency.local.p99 < 5ms or nothing', SUMMARY)).toThrow(/or none/);
    });
  });

  it('[EXPECT-4] a null field fails with no measured value (a figure the run did not produce)', () => {
    const r = check('faults[0].takeoverMs < 500ms');
    expect(r).toMatchObject({ actual: undefined, pass: false });
    expect(r.actual).toBeUndefined();
    expect(describeResult(r)).toBe('faults[0].takeoverMs was not measured (null), expected < 500 ms');
  });

  it("failure text gives measured and expected in the field's unit", () => {
    expect(describeResult(check('convergence.max < 1.5s'))).toBe('convergence.maxMs = 1,840 ms, expected < 1,500 ms');
    expect(describeResult(check('delivered.ratio > 99.9%'))).toBe('messages.deliveredRatio = 0.999, expected > 0.999');
    expect(formatValue(6.587512, 'Mbps')).toBe('6.587512 Mbps');
    expect(formatValue(undefined, 'ms')).toBe('not measured');
  });

  it('evaluateAssertions keeps going past a bad assertion and numbers them from 1', () => {
    const rs = evaluateAssertions(['messages.lost == 0', 'nope > 0', 'convergence.max < 1s'], SUMMARY);
    expect(rs[0]).toMatchObject({ pass: true });
    expect(rs[1]).toBeInstanceOf(ExpectError);
    expect((rs[1] as ExpectError).message).toContain('assertion 2 ("nope > 0")');
    expect(rs[2]).toMatchObject({ pass: false });
  });
});

describe('[EXPECT-3] errors: unknown fields, ids, non-numbers, syntax', () => {
  it('an unknown field names it and the nearest existing path', () => {
    const e = errorOf(() => evaluateAssertion('mesages.lost == 0', SUMMARY, 2));
    expect(e.message).toBe('unknown field "mesages.lost" in assertion 2 ("mesages.lost == 0"); did you mean "messages.lost"?');
  });

  it.each([
    ['latency.local.p98 < 5ms', 'latency.local.p99'],
    ['messages.deliverdRatio > 0.9', 'messages.deliveredRatio'],
    ['links[us-1>eu-1].mbpsPeek < 1', 'links[us-1>eu-1].mbpsPeak'],
    ['brokers[eu-1].routingEntry > 0', 'brokers[eu-1].routingEntries'],
    ['faults[1].takeOverMs < 1s', 'faults[1].takeoverMs'],
    ['ha.takeover < 1s', 'ha.takeoverMs'],
    ['delivered.ratoi > 0', 'delivered.ratio'],
  ])('did you mean: %s → %s', (text, suggestion) => {
    expect(errorOf(() => check(text)).message).toContain(`did you mean "${suggestion}"?`);
  });

  it('with no near path, the misspelled key at its level, or the fields there', () => {
    const summary = { messages: { published: 1, delivered: 2 } };
    expect(errorOf(() => evaluateAssertion('mesages.lost == 0', summary)).message).toBe(
      'unknown field "mesages.lost" in assertion 1 ("mesages.lost == 0"); did you mean "messages"? (fields at the top: messages)',
    );
    expect(errorOf(() => evaluateAssertion('messages.entirelyDifferent == 0', summary)).message).toBe(
      'unknown field "messages.entirelyDifferent" in assertion 1 ("messages.entirelyDifferent == 0"); fields of "messages": published, delivered',
    );
  });

  it('a misspelled field is reported before a unit that does not fit its guessed unit', () => {
    expect(checkAssertionSyntax('ha.takeover < 1s')).toMatchObject({ column: 16, found: '"s" (a duration)' });
    expect(errorOf(() => check('ha.takeoverMs < 1Gbps')).message).toMatch(/column 18: expected a duration .*found "Gbps" \(a bandwidth\)$/);
  });

  it('an unknown link or broker names it and lists the known ones', () => {
    expect(errorOf(() => check('links[us-1>ap-1].mbpsPeak < 800')).message).toBe('unknown link "us-1>ap-1" in assertion 1 ("links[us-1>ap-1].mbpsPeak < 800"); known links: us-1>eu-1, eu-1>us-1');
    expect(errorOf(() => check('brokers[eu-9].routingEntries > 0')).message).toBe('unknown broker "eu-9" in assertion 1 ("brokers[eu-9].routingEntries > 0"); known brokers: us-1, eu-1');
  });

  it('a fault index past the end says how many there are', () => {
    expect(errorOf(() => check('faults[2].convergenceMs < 1s')).message).toBe(
      'faults[2] in assertion 1 ("faults[2].convergenceMs < 1s") is out of range: "faults" has 2 faults (faults[0]..faults[1])',
    );
    expect(errorOf(() => check('faults[x].convergenceMs < 1s')).message).toContain('selected by index, e.g. faults[0]');
  });

  it('a field that is not a number is an error, naming the numbers inside a map', () => {
    expect(errorOf(() => check('ha > 0')).message).toBe('field "ha" in assertion 1 ("ha > 0") is a map, not a number; its numbers: ha.takeoverMs, ha.rebuildMs');
    expect(errorOf(() => check('traceHash == 0')).message).toBe('field "traceHash" in assertion 1 ("traceHash == 0") is the text "ab12", not a number');
    expect(errorOf(() => check('links[us-1>eu-1].wan == 1')).message).toContain('is true, not a number');
    expect(errorOf(() => check('links > 0')).message).toContain('is a list, not a number');
    expect(errorOf(() => check('messages[0] > 0')).message).toContain('"messages" in assertion 1 ("messages[0] > 0") is not a list');
  });

  it.each([
    // text, column, expected (pattern), found
    ['', 1, /a field/, 'the end of the assertion'],
    ['messages.lost = 0', 15, /an operator \(<, <=, >, >=, ==, !=\)/, '"=" (compare with "==")'],
    ['messages.lost 0', 15, /an operator/, '"0"'],
    ['messages.lost =< 0', 15, /an operator/, '"=< 0"'],
    ['messages.lost ==', 17, /a number/, 'the end of the assertion'],
    ['messages.lost == zero', 18, /a number/, '"zero"'],
    ['messages.lost == 0 and more', 20, /a unit/, '"and"'],
    ['messages.lost == 0 0', 20, /the end of the assertion/, '"0"'],
    ['messages. lost == 0', 10, /a field name after "."/, '" lost == 0"'],
    ['links[us-1>eu-1.mbpsPeak < 1', 29, /"]" closing the "\[" at column 6/, 'the end of the assertion'],
    ['links[].mbpsPeak < 1', 6, /a row inside "\[ \]"/, '"[]"'],
    ['3 > 0', 1, /a field/, '"3 > 0"'],
  ] as const)('syntax error in %j at column %i', (text, column, expected, found) => {
    const p = checkAssertionSyntax(text);
    expect(p).not.toBeNull();
    expect(p).toMatchObject({ column, found });
    expect(p!.expected).toMatch(expected);
    const e = errorOf(() => parseAssertion(text, 3));
    expect(e.problem).toEqual(p);
    expect(e.message).toBe(`assertion 3 (${JSON.stringify(text)}), column ${column}: expected ${p!.expected}, found ${found}`);
  });

  it('messages are one line', () => {
    for (const t of ['mesages.lost == 0', 'links[a>b].x < 1', 'ha > 0', 'x = 1']) {
      const e = errorOf(() => check(t));
      expect(e.message).not.toContain('\n');
    }
  });
});

describe('numericPaths', () => {
  it('lists canonical paths with row selectors, and their aliased forms', () => {
    const paths = numericPaths(SUMMARY);
    for (const p of [
      'messages.lost',
      'links[us-1>eu-1].mbpsPeak',
      'brokers[eu-1].routingEntries',
      'faults[0].convergenceMs',
      'faults[0].takeoverMs',
      'ha.takeoverMs',
      'latency.local.p99',
      'lost',
      'delivered.ratio',
    ]) {
      expect(paths).toContain(p);
    }
    expect(paths).not.toContain('traceHash');
    expect(paths).not.toContain('brokers[us-1].region');
  });
});
