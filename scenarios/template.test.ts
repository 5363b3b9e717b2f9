import fc from 'fast-check';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { compileTemplate, HEADER_PLACEHOLDERS, isTemplateError, PATTERN_PLACEHOLDERS, TOPIC_PLACEHOLDERS, type CompiledTemplate, type TemplateContext } from './template.ts';

function compiled(src: string, allowed: readonly string[] = TOPIC_PLACEHOLDERS): CompiledTemplate {
  const t = compileTemplate(src, allowed);
  if (isTemplateError(t)) throw new Error(t.error);
  return t;
}

function ctx(over: Partial<TemplateContext> = {}): TemplateContext {
  return { n: 7, i: 3, region: 'us-east-1', broker: 'us-1', rand: seedrandom('42'), ...over };
}

describe('[TPL-1] rendering', () => {
  it.each([
    ['orders/us/{n}', 'orders/us/7'],
    ['orders/{region}/{broker}', 'orders/us-east-1/us-1'],
    ['plain/topic', 'plain/topic'],
    ['{n}{n}', '77'],
    ['a{{b}}c', 'a{b}c'],
    ['', ''],
  ])('%j → %j', (src, out) => expect(compiled(src).render(ctx())).toBe(out));

  it('patterns render {i}', () => {
    expect(compiled('orders/{region}/{i}/#', PATTERN_PLACEHOLDERS).render(ctx())).toBe('orders/us-east-1/3/#');
  });

  it('[TPL-3] a seeded rand gives the same strings run after run', () => {
    const t = compiled('x/{choice:a|b|c}/{rand:1000}');
    const run = () => {
      const c = ctx({ rand: seedrandom('seed-1') });
      return Array.from({ length: 50 }, (_, n) => t.render({ ...c, n }));
    };
    const first = run();
    expect(run()).toEqual(first);
    for (const s of first) expect(s).toMatch(/^x\/[abc]\/\d{1,3}$/);
    expect(new Set(first.map((s) => s.split('/')[1])).size).toBe(3);
  });

  it('[TPL-3] draws rand() exactly once per random placeholder, left to right', () => {
    const draws = [0.0, 0.99, 0.5];
    let k = 0;
    const t = compiled('{choice:a|b}/{rand:10}/{choice:x|y|z}');
    expect(t.render(ctx({ rand: () => draws[k++]! }))).toBe('a/9/y');
    expect(k).toBe(3);
    expect(t.randomPlaceholders).toBe(3);
  });

  it('clamps a rand() of exactly 1 to the last option', () => {
    expect(compiled('{choice:a|b}-{rand:5}').render(ctx({ rand: () => 1 }))).toBe('b-4');
  });

  it('{rand:N} stays within 0..N-1 and covers it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const v = compiled(`{rand:${n}}`).renderValue(ctx({ rand: () => r }));
        return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n;
      }),
    );
  });
});

describe('renderValue for headers', () => {
  it.each([
    ['{n}', 7],
    ['{rand:1}', 0],
    ['{n}-x', '7-x'],
    ['{region}', 'us-east-1'],
    ['{choice:1|2}', '1'],
    ['42', '42'],
  ])('%j → %j', (src, value) => {
    expect(compiled(src, HEADER_PLACEHOLDERS).renderValue(ctx({ rand: () => 0 }))).toBe(value);
  });

  it('{i} alone is a number in patterns context', () => {
    expect(compiled('{i}', PATTERN_PLACEHOLDERS).renderValue(ctx())).toBe(3);
  });
});

describe('isConstant, placeholders, randomPlaceholders', () => {
  it.each([
    ['a/b', true, [], 0],
    ['a/{n}', false, ['n'], 0],
    ['{region}/{broker}/{region}', false, ['region', 'broker'], 0],
    ['{choice:a|b}/{rand:3}/{n}', false, ['choice', 'rand', 'n'], 2],
    ['a{{n}}', true, [], 0],
  ])('%j', (src, constant, names, random) => {
    const t = compiled(src);
    expect(t.isConstant).toBe(constant);
    expect(t.placeholders).toEqual(names);
    expect(t.randomPlaceholders).toBe(random);
  });

  it('keeps its parts as data', () => {
    expect(compiled('a/{n}/{choice:x|y}').parts).toEqual([{ kind: 'literal', text: 'a/' }, { kind: 'n' }, { kind: 'literal', text: '/' }, { kind: 'choice', options: ['x', 'y'] }]);
  });
});

describe('[TPL-2] rejects bad templates with a reason and a position', () => {
  it.each([
    ['orders/{foo}', TOPIC_PLACEHOLDERS, 7, 'unknown placeholder "{foo}"'],
    ['orders/{i}', TOPIC_PLACEHOLDERS, 7, 'not allowed here'],
    ['orders/{n}', PATTERN_PLACEHOLDERS, 7, 'not allowed here; allowed here: {i}, {region}, {broker}'],
    ['orders/{choice:a|b}', PATTERN_PLACEHOLDERS, 7, 'not allowed here'],
    ['orders/{n', TOPIC_PLACEHOLDERS, 7, 'without its "}"'],
    ['orders/{n{region}}', TOPIC_PLACEHOLDERS, 7, 'without its "}"'],
    ['orders/n}', TOPIC_PLACEHOLDERS, 8, 'without its "{"'],
    ['{n:3}', TOPIC_PLACEHOLDERS, 0, 'takes no argument'],
    ['{choice:}', TOPIC_PLACEHOLDERS, 0, 'needs options'],
    ['{choice}', TOPIC_PLACEHOLDERS, 0, 'needs options'],
    ['{choice:a||b}', TOPIC_PLACEHOLDERS, 0, 'empty option'],
    ['{rand:0}', TOPIC_PLACEHOLDERS, 0, 'whole number N ≥ 1'],
    ['{rand:x}', TOPIC_PLACEHOLDERS, 0, 'whole number N ≥ 1'],
    ['{rand}', TOPIC_PLACEHOLDERS, 0, 'whole number N ≥ 1'],
    ['{rand:1.5}', TOPIC_PLACEHOLDERS, 0, 'whole number N ≥ 1'],
  ])('%j', (src, allowed, position, reason) => {
    const t = compileTemplate(src, allowed);
    expect(isTemplateError(t)).toBe(true);
    if (!isTemplateError(t)) return;
    expect(t.position).toBe(position);
    expect(t.error).toContain(reason);
    expect(t.error).toContain(`at character ${position + 1}`);
  });

  it('any string either compiles or gives an error, never throws (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('{', '}', 'n', 'i', ':', '|', 'a', 'rand', 'choice', '/', '1') }), (s) => {
        const t = compileTemplate(s, TOPIC_PLACEHOLDERS);
        if (isTemplateError(t)) return t.position >= 0 && t.position < s.length;
        return typeof t.render(ctx()) === 'string';
      }),
    );
  });
});
