/** [CP-TRACE] Sampling by id hash and topic, and W3C traceparent parsing (the spec's own cases). */
import { describe, expect, it } from 'vitest';
import { derivedTraceId, formatTraceparent, idHash, newSpanId, parseTraceparent, TraceSampler } from './tracecontext.ts';

describe('[CP-TRACE-2] traceparent (W3C Trace Context §3.2)', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';
  it.each([
    [`00-${TRACE}-${SPAN}-01`, { traceId: TRACE, spanId: SPAN, sampled: true }],
    [`00-${TRACE}-${SPAN}-00`, { traceId: TRACE, spanId: SPAN, sampled: false }],
    [`00-${TRACE}-${SPAN}-03`, { traceId: TRACE, spanId: SPAN, sampled: true }],
    // A later version may append fields after a dash.
    [`01-${TRACE}-${SPAN}-01-what-comes-next`, { traceId: TRACE, spanId: SPAN, sampled: true }],
    [`01-${TRACE}-${SPAN}-01`, { traceId: TRACE, spanId: SPAN, sampled: true }],
  ])('takes %s', (s, want) => {
    expect(parseTraceparent(s)).toEqual(want);
  });

  it.each([
    [`00-${TRACE}-${SPAN}-01-extra`, 'version 00 with more'],
    [`ff-${TRACE}-${SPAN}-01`, 'version ff'],
    [`00-${'0'.repeat(32)}-${SPAN}-01`, 'all-zero trace id'],
    [`00-${TRACE}-${'0'.repeat(16)}-01`, 'all-zero span id'],
    [`00-${TRACE.toUpperCase()}-${SPAN}-01`, 'upper case'],
    [`00-${TRACE}-${SPAN}-0x`, 'bad flags'],
    [`00_${TRACE}_${SPAN}_01`, 'bad separators'],
    [`01-${TRACE}-${SPAN}-01x`, 'a later version without a dash'],
    ['00-abc', 'too short'],
    [42, 'not a string'],
    [undefined, 'absent'],
  ] as Array<[unknown, string]>)('refuses %s (%s)', (s) => {
    expect(parseTraceparent(s)).toBeNull();
  });

  it('formats what it parses, and makes valid ids', () => {
    const c = { traceId: derivedTraceId('/billing', 'evt-1'), spanId: newSpanId(), sampled: true };
    expect(parseTraceparent(formatTraceparent(c))).toEqual(c);
    expect(derivedTraceId('/billing', 'evt-1')).toBe(derivedTraceId('/billing', 'evt-1'));
    expect(derivedTraceId('/billing', 'evt-1')).not.toBe(derivedTraceId('/shipping', 'evt-1'));
    expect(derivedTraceId('/a', 'b/c')).not.toBe(derivedTraceId('/a/b', 'c'));
  });
});

describe('[CP-TRACE-1] sampling', () => {
  it('is a pure function of the id: the same answer everywhere, about 1 in N', () => {
    // Fixed values (checked against an independent Python FNV-1a + fmix32): any broker must agree.
    expect([idHash(''), idHash('evt-1'), idHash('évt-😀')]).toEqual([2872998923, 2700154779, 1563825085]);
    expect(idHash('evt-1')).not.toBe(idHash('evt-2'));
    const s = new TraceSampler(100, []);
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (s.sampled(`evt-${i}`, 'orders/us/1') !== null) n++;
    // Binomial(100000, 0.01): sd ≈ 31.5; ±6 sd.
    expect(n).toBeGreaterThan(1000 - 190);
    expect(n).toBeLessThan(1000 + 190);
  });

  it("samples every event of a marked topic, none of the mesh's own, none when N is 0", () => {
    const s = new TraceSampler(0, ['payments/#', 'orders/+/vip']);
    expect(s.sampled('x', 'payments/eu/1')).toBe('topic');
    expect(s.sampled('x', 'orders/eu/vip')).toBe('topic');
    expect(s.sampled('x', 'orders/eu/std')).toBeNull();
    expect(new TraceSampler(1, ['#']).sampled('x', '$mesh/retained/a')).toBeNull();
    expect(new TraceSampler(1, []).sampled('x', 'a')).toBe('hash');
    expect(() => new TraceSampler(-1, [])).toThrow(RangeError);
    expect(() => new TraceSampler(1.5, [])).toThrow(RangeError);
  });
});
