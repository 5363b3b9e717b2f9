import { describe, expect, it } from 'vitest';
import { compileData, type DataTemplate } from './data.ts';

function compiled(value: unknown): DataTemplate {
  const t = compileData(value);
  if ('error' in t) throw new Error(t.error);
  return t;
}

describe('[DATA-1..3] data templates', () => {
  const draws = (...xs: number[]) => {
    let i = 0;
    return () => xs[i++] ?? 0;
  };

  it('render JSON: a lone numeric placeholder is a number, other strings stay strings', () => {
    const t = compiled({ id: 'o-{n}', cents: '{rand:100}', n: '{n}', cur: '{choice:USD|EUR}', where: '{region}/{broker}', lit: 'a "quoted" {{x}}', list: [1, '{n}', null, true], nested: { k: 2.5 } });
    expect(t.isConstant).toBe(false);
    const text = t.render({ n: 7, i: 0, region: 'us', broker: 'us-1', rand: draws(0.42, 0.9) });
    expect(JSON.parse(text)).toEqual({ id: 'o-7', cents: 42, n: 7, cur: 'EUR', where: 'us/us-1', lit: 'a "quoted" {x}', list: [1, 7, null, true], nested: { k: 2.5 } });
    expect(text).toBe('{"id":"o-7","cents":42,"n":7,"cur":"EUR","where":"us/us-1","lit":"a \\"quoted\\" {x}","list":[1,7,null,true],"nested":{"k":2.5}}');
  });

  it('a template without placeholders renders once, as JSON.stringify would', () => {
    const v = { a: [1, { b: 'x' }], c: 'y', d: null };
    const t = compiled(v);
    expect(t.isConstant).toBe(true);
    expect(t.render({ n: 1, i: 0, region: '', broker: '', rand: () => 0.5 })).toBe(JSON.stringify(v));
    expect(compiled('plain').render({ n: 0, i: 0, region: '', broker: '', rand: () => 0 })).toBe('"plain"');
  });

  it('says where a bad placeholder is', () => {
    expect(compileData({ a: [1, { b: '{i}' }] })).toMatchObject({ path: ['a', 1, 'b'], error: expect.stringMatching(/^"\{i\}" \(/) });
    expect(compileData({ a: '{rand:0}' })).toMatchObject({ path: ['a'] });
  });
});
