import { describe, expect, it } from 'vitest';
import { parseControl, quote, RateLimit } from './controls.ts';

describe('parseControl [VIZ-CTRL-1..4]', () => {
  it('accepts what the page sends', () => {
    expect(parseControl('pause', [])).toEqual({ ok: true, control: { kind: 'pause' } });
    expect(parseControl('resume', [])).toEqual({ ok: true, control: { kind: 'resume' } });
    expect(parseControl('speed', [10])).toEqual({ ok: true, control: { kind: 'speed', speed: 10 } });
    expect(parseControl('speed', ['max'])).toEqual({ ok: true, control: { kind: 'speed', speed: Infinity } });
    expect(parseControl('fault', [{ action: 'link-down', target: ['us-2', 'ap-1'] }])).toEqual({ ok: true, control: { kind: 'fault', action: 'link-down', target: ['us-2', 'ap-1'] } });
    expect(parseControl('restart', [{ seed: -7 }])).toEqual({ ok: true, control: { kind: 'restart', seed: -7 } });
  });

  it('rejects, in a table', () => {
    const rows: ReadonlyArray<readonly [unknown, unknown[], string]> = [
      ['pause', ['x'], 'pause: expected no argument, found 1 argument'],
      ['speed', [Number.NaN], 'speed: expected a positive number (0.01..10000) or "max", found NaN'],
      ['speed', [Infinity], 'speed: expected a positive number (0.01..10000) or "max", found Infinity'],
      ['speed', [-2], 'speed: expected a positive number (0.01..10000) or "max", found -2'],
      ['fault', [{ action: 'crash', target: ['a', 'b', 'c'] }], 'fault: target names one broker or the two ends of a link, found 3 entries'],
      ['fault', [Object.create({ action: 'crash', target: ['us-1'] })], 'fault: expected { action, target: [ids] }'],
      ['fault', [new Date(0)], 'fault: expected { action, target: [ids] }'],
      ['valueOf', [], 'unknown event "valueOf" (expected one of pause, resume, speed, fault, restart)'],
      [Symbol('x'), [], 'unknown event Symbol(x) (expected one of pause, resume, speed, fault, restart)'],
    ];
    for (const [event, args, error] of rows) expect(parseControl(event, args)).toEqual({ ok: false, error });
  });

  it('reads own keys only and never pollutes Object.prototype', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": "yes", "action": "crash"}, "target": ["us-1"]}') as unknown;
    expect(parseControl('fault', [evil])).toEqual({ ok: false, error: 'fault: unknown field "__proto__" (expected only action, target)' });
    const ctor = JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}, "seed": 1}') as unknown;
    expect(parseControl('restart', [ctor]).ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("quotes a client's value short", () => {
    expect(quote('a'.repeat(1000))).toBe(`"${'a'.repeat(59)}… (1002 characters)`);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(quote(cyclic)).toBe('[object Object]');
    expect(quote(undefined)).toBe('nothing');
  });
});

describe('RateLimit', () => {
  it('lets a burst through, then the steady rate', () => {
    let now = 0;
    const limit = new RateLimit(10, 20, () => now);
    let passed = 0;
    for (let i = 0; i < 50; i++) if (limit.take()) passed++;
    expect(passed).toBe(20);
    now += 1000;
    passed = 0;
    for (let i = 0; i < 50; i++) if (limit.take()) passed++;
    expect(passed).toBe(10);
  });
});
