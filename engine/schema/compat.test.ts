/**
 * [SCHEMA-4..6] Compatibility as a table: each row is an evolution v1 → v2, the verdict expected
 * in each direction (backward: v2 reads what v1 wrote; forward: v1 reads what v2 writes), and
 * data. The data keeps the verdicts honest against ajv itself: where a direction is judged
 * compatible, every datum v1 (the writer) accepts must validate under v2 (the reader) —
 * and where it is judged incompatible, some datum must prove it (a witness), except in rows
 * marked conservative, where [SCHEMA-5.8/5.9] refuses to judge what may in fact be compatible.
 */
import { describe, expect, it } from 'vitest';
import { compile, type Validator } from './ajv.ts';
import { COMPATIBILITY_MODES, type Compatibility, compatibilityProblems, readerProblems } from './compat.ts';

type S = Record<string, unknown> | boolean;

interface Row {
  readonly what: string;
  readonly v1: S;
  readonly v2: S;
  readonly backward: boolean;
  readonly forward: boolean;
  readonly data: readonly unknown[];
  /** A direction judged incompatible without a witness: not judged structurally [SCHEMA-5.8, 5.9]. */
  readonly conservative?: boolean;
}

const obj = (properties: Record<string, S>, extra: Record<string, unknown> = {}): S => ({ type: 'object', properties, ...extra });
const closed = (properties: Record<string, S>, extra: Record<string, unknown> = {}): S => obj(properties, { additionalProperties: false, ...extra });
const INT: S = { type: 'integer' };
const STR: S = { type: 'string' };
const NUM: S = { type: 'number' };

const ROWS: readonly Row[] = [
  { what: 'an optional property added to a closed model', v1: closed({ a: INT }), v2: closed({ a: INT, b: STR }), backward: true, forward: false, data: [{ a: 1 }, { a: 1, b: 'x' }] },
  { what: 'an optional property added to an open model', v1: obj({ a: INT }), v2: obj({ a: INT, b: STR }), backward: false, forward: true, data: [{ a: 1 }, { a: 1, b: 2 }, { a: 1, b: 'x' }] },
  {
    what: 'a required property added',
    v1: obj({ a: INT }, { required: ['a'] }),
    v2: obj({ a: INT, b: STR }, { required: ['a', 'b'] }),
    backward: false,
    forward: true,
    data: [{ a: 1 }, { a: 1, b: 'x' }, { a: 1, b: 2 }],
  },
  {
    what: 'a required property added with a default (Confluent allows it; the mesh does not fill defaults)',
    v1: closed({ a: INT }, { required: ['a'] }),
    v2: closed({ a: INT, b: { type: 'string', default: 'x' } }, { required: ['a', 'b'] }),
    backward: false,
    forward: false,
    data: [{ a: 1 }, { a: 1, b: 'x' }],
  },
  {
    what: 'a property made optional',
    v1: obj({ a: INT, b: STR }, { required: ['a', 'b'] }),
    v2: obj({ a: INT, b: STR }, { required: ['a'] }),
    backward: true,
    forward: false,
    data: [{ a: 1, b: 'x' }, { a: 1 }],
  },
  {
    what: 'a property removed from an open model',
    v1: obj({ a: INT, b: STR }),
    v2: obj({ a: INT }),
    backward: true,
    forward: false,
    data: [
      { a: 1, b: 'x' },
      { a: 1, b: 5 },
    ],
  },
  { what: 'a property removed from a closed model', v1: closed({ a: INT, b: STR }), v2: closed({ a: INT }), backward: false, forward: true, data: [{ a: 1 }, { a: 1, b: 'x' }] },
  { what: 'integer widened to number', v1: obj({ a: INT }), v2: obj({ a: NUM }), backward: true, forward: false, data: [{ a: 1 }, { a: 1.5 }] },
  { what: 'number narrowed to integer', v1: obj({ a: NUM }), v2: obj({ a: INT }), backward: false, forward: true, data: [{ a: 1 }, { a: 1.5 }] },
  { what: 'a type changed', v1: obj({ a: STR }), v2: obj({ a: INT }), backward: false, forward: false, data: [{ a: 'x' }, { a: 1 }] },
  { what: 'null added to a type', v1: obj({ a: STR }), v2: obj({ a: { type: ['string', 'null'] } }), backward: true, forward: false, data: [{ a: 'x' }, { a: null }] },
  {
    what: 'an enum extended',
    v1: obj({ s: { enum: ['new', 'paid'] } }),
    v2: obj({ s: { enum: ['new', 'paid', 'refunded'] } }),
    backward: true,
    forward: false,
    data: [{ s: 'new' }, { s: 'refunded' }],
  },
  { what: 'an enum narrowed', v1: obj({ s: { enum: ['new', 'paid'] } }), v2: obj({ s: { enum: ['new'] } }), backward: false, forward: true, data: [{ s: 'new' }, { s: 'paid' }] },
  { what: 'a const widened to an enum', v1: obj({ s: { const: 'new' } }), v2: obj({ s: { enum: ['new', 'paid'] } }), backward: true, forward: false, data: [{ s: 'new' }, { s: 'paid' }] },
  { what: 'maxLength raised', v1: obj({ a: { type: 'string', maxLength: 3 } }), v2: obj({ a: { type: 'string', maxLength: 5 } }), backward: true, forward: false, data: [{ a: 'abc' }, { a: 'abcd' }] },
  { what: 'minimum raised', v1: obj({ a: { type: 'integer', minimum: 0 } }), v2: obj({ a: { type: 'integer', minimum: 1 } }), backward: false, forward: true, data: [{ a: 0 }, { a: 1 }] },
  {
    what: 'an inclusive minimum made exclusive',
    v1: obj({ a: { type: 'number', minimum: 0 } }),
    v2: obj({ a: { type: 'number', exclusiveMinimum: 0 } }),
    backward: false,
    forward: true,
    data: [{ a: 0 }, { a: 0.5 }],
  },
  { what: 'a maximum removed', v1: obj({ a: { type: 'integer', maximum: 9 } }), v2: obj({ a: INT }), backward: true, forward: false, data: [{ a: 9 }, { a: 10 }] },
  {
    what: 'multipleOf 10 relaxed to 5',
    v1: obj({ a: { type: 'integer', multipleOf: 10 } }),
    v2: obj({ a: { type: 'integer', multipleOf: 5 } }),
    backward: true,
    forward: false,
    data: [{ a: 20 }, { a: 5 }],
  },
  { what: 'a pattern added', v1: obj({ a: STR }), v2: obj({ a: { type: 'string', pattern: '^[A-Z]{3}$' } }), backward: false, forward: true, data: [{ a: 'USD' }, { a: 'usd' }] },
  { what: 'a format removed', v1: obj({ a: { type: 'string', format: 'email' } }), v2: obj({ a: STR }), backward: true, forward: false, data: [{ a: 'a@b.co' }, { a: 'nope' }] },
  { what: 'an open model closed', v1: obj({ a: INT }), v2: closed({ a: INT }), backward: false, forward: true, data: [{ a: 1 }, { a: 1, z: true }] },
  { what: 'a closed model opened', v1: closed({ a: INT }), v2: obj({ a: INT }), backward: true, forward: false, data: [{ a: 1 }, { a: 1, z: true }] },
  { what: 'array items narrowed', v1: { type: 'array', items: NUM }, v2: { type: 'array', items: INT }, backward: false, forward: true, data: [[1, 2], [1.5]] },
  { what: 'minItems raised', v1: { type: 'array', items: INT }, v2: { type: 'array', items: INT, minItems: 1 }, backward: false, forward: true, data: [[], [1]] },
  {
    what: 'uniqueItems added',
    v1: { type: 'array', items: INT },
    v2: { type: 'array', items: INT, uniqueItems: true },
    backward: false,
    forward: true,
    data: [
      [1, 2],
      [1, 1],
    ],
  },
  {
    what: 'a branch added to anyOf',
    v1: obj({ a: { anyOf: [STR, INT] } }),
    v2: obj({ a: { anyOf: [STR, INT, { type: 'boolean' }] } }),
    backward: true,
    forward: false,
    data: [{ a: 'x' }, { a: 1 }, { a: true }],
  },
  {
    what: 'a nested property narrowed',
    v1: obj({ customer: obj({ id: STR }) }),
    v2: obj({ customer: obj({ id: { type: 'string', minLength: 3 } }) }),
    backward: false,
    forward: true,
    data: [{ customer: { id: 'abcd' } }, { customer: { id: 'a' } }],
  },
  { what: 'anything narrowed to an object', v1: {}, v2: { type: 'object' }, backward: false, forward: true, data: [{}, 'x', 1] },
  {
    what: 'annotations only (title, description, examples)',
    v1: obj({ a: INT }, { title: 'Order' }),
    v2: obj({ a: { type: 'integer', description: 'cents' } }, { title: 'An order', examples: [{ a: 1 }] }),
    backward: true,
    forward: true,
    data: [{ a: 1 }, { a: 'x' }],
  },
  {
    what: 'a $ref to unchanged definitions',
    v1: { $defs: { money: { type: 'integer', minimum: 0 } }, type: 'object', properties: { a: { $ref: '#/$defs/money' } } },
    v2: { $defs: { money: { type: 'integer', minimum: 0 } }, type: 'object', properties: { a: { $ref: '#/$defs/money' } }, description: 'v2' },
    backward: true,
    forward: true,
    data: [{ a: 1 }, { a: -1 }],
  },
  {
    what: 'a $ref whose definition narrowed',
    v1: { $defs: { money: { type: 'integer' } }, type: 'object', properties: { a: { $ref: '#/$defs/money' } } },
    v2: { $defs: { money: { type: 'integer', minimum: 0 } }, type: 'object', properties: { a: { $ref: '#/$defs/money' } } },
    backward: false,
    forward: false,
    conservative: true,
    data: [{ a: -1 }, { a: 1 }],
  },
  {
    what: 'a oneOf changed (exactly-one is not judged)',
    v1: obj({ a: { oneOf: [STR, INT] } }),
    v2: obj({ a: { oneOf: [STR, NUM] } }),
    backward: false,
    forward: false,
    conservative: true,
    data: [{ a: 'x' }, { a: 1 }, { a: 1.5 }],
  },
  {
    what: 'an unchanged not',
    v1: obj({ a: { type: 'string', not: { const: 'x' } } }),
    v2: obj({ a: { type: 'string', not: { const: 'x' } }, b: true }),
    backward: true,
    forward: true,
    data: [{ a: 'y' }, { a: 'x' }],
  },
  {
    what: 'a changed not (judged by equality)',
    v1: obj({ a: { type: 'string', not: { const: 'x' } } }),
    v2: obj({ a: { type: 'string', not: { const: 'y' } } }),
    backward: false,
    forward: false,
    data: [{ a: 'x' }, { a: 'y' }],
  },
  {
    what: 'patternProperties changed (judged by identity)',
    v1: { type: 'object', patternProperties: { '^x-': STR } },
    v2: { type: 'object', patternProperties: { '^x-': { type: 'string', description: 'ext' } } },
    backward: false,
    forward: false,
    conservative: true,
    data: [{ 'x-a': 'y' }],
  },
  {
    what: 'two dialects (draft-07, 2020-12)',
    v1: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
    v2: { type: 'object' },
    backward: false,
    forward: false,
    conservative: true,
    data: [{}],
  },
  { what: 'true to false', v1: true, v2: false, backward: false, forward: true, data: [1, 'x'] },
];

const validators = new Map<S, Validator>();
function validatorOf(s: S): Validator {
  let v = validators.get(s);
  if (v === undefined) {
    const c = compile(s);
    if ('error' in c) throw new Error(`test schema does not compile: ${c.error}`);
    validators.set(s, (v = c));
  }
  return v;
}

/** A datum the writer accepts and the reader rejects, if any in `data`. */
function witness(reader: S, writer: S, data: readonly unknown[]): unknown {
  return data.find((d) => validatorOf(writer)(d) && !validatorOf(reader)(d));
}

describe('[SCHEMA-5] the reader covers the writer, row by row', () => {
  for (const row of ROWS) {
    it(row.what, () => {
      const backward = readerProblems(row.v2, row.v1, 'v2', 'v1');
      const forward = readerProblems(row.v1, row.v2, 'v1', 'v2');
      expect(backward.length === 0, `backward: ${backward.join(' | ')}`).toBe(row.backward);
      expect(forward.length === 0, `forward: ${forward.join(' | ')}`).toBe(row.forward);
      // Ground truth from ajv on the row's data.
      for (const [reader, writer, compatible] of [
        [row.v2, row.v1, row.backward],
        [row.v1, row.v2, row.forward],
      ] as const) {
        const w = witness(reader, writer, row.data);
        if (compatible) expect(w, `judged compatible, but ${JSON.stringify(w)} is a witness`).toBeUndefined();
        else if (row.conservative !== true) expect(w, 'judged incompatible: some datum must show it').not.toBeUndefined();
      }
    });
  }

  it('names the schema node and both versions in each problem', () => {
    const p = readerProblems(obj({ a: INT, b: STR }, { required: ['a', 'b'] }), obj({ a: INT }, { required: ['a'] }), 'version 2', 'version 1');
    expect(p).toContain('#/required: version 2 requires "b", version 1 does not (its data may lack it)');
    expect(p.some((x) => x.startsWith('#/properties/b: version 2 declares "b"'))).toBe(true);
    expect(readerProblems(obj({ a: INT }), obj({ a: NUM }), 'version 2', 'version 1')).toEqual(['#/properties/a/type: version 2 accepts integers only, version 1 allows any number']);
  });
});

describe('[SCHEMA-4] the modes', () => {
  const v = (version: number, schema: S) => ({ version, schema });
  const expectVerdict = (mode: Compatibility, candidate: S, past: Array<{ version: number; schema: S }>, ok: boolean) => {
    const problems = compatibilityProblems(mode, candidate, past, past.length + 1);
    expect(problems.length === 0, `${mode}: ${problems.join(' | ')}`).toBe(ok);
  };

  it('every mode against one earlier version: the table rows', () => {
    for (const row of ROWS.slice(0, 12)) {
      const past = [v(1, row.v1)];
      expectVerdict('NONE', row.v2, past, true);
      for (const mode of ['BACKWARD', 'BACKWARD_TRANSITIVE'] as const) expectVerdict(mode, row.v2, past, row.backward);
      for (const mode of ['FORWARD', 'FORWARD_TRANSITIVE'] as const) expectVerdict(mode, row.v2, past, row.forward);
      for (const mode of ['FULL', 'FULL_TRANSITIVE'] as const) expectVerdict(mode, row.v2, past, row.backward && row.forward);
    }
  });

  it('FULL passes only what is both: a description change, not a new optional property', () => {
    expectVerdict('FULL', obj({ a: INT }, { description: 'x' }), [v(1, obj({ a: INT }))], true);
    expectVerdict('FULL', closed({ a: INT, b: STR }), [v(1, closed({ a: INT }))], false);
    expectVerdict('FULL', obj({ a: INT, b: true }), [v(1, obj({ a: INT }))], true); // an any-value property, the one addition both ways
  });

  it('a _TRANSITIVE mode checks every earlier version, the plain one only the latest', () => {
    // v2 narrowed v1 (registered under NONE, say); v3 only re-describes v2.
    const past = [v(1, obj({ a: NUM })), v(2, obj({ a: INT }))];
    const v3 = obj({ a: { type: 'integer', description: 'cents' } });
    expectVerdict('BACKWARD', v3, past, true);
    expectVerdict('BACKWARD_TRANSITIVE', v3, past, false);
    expectVerdict('FULL', v3, past, true);
    expectVerdict('FULL_TRANSITIVE', v3, past, false);
    const problems = compatibilityProblems('BACKWARD_TRANSITIVE', v3, past, 3);
    expect(problems).toEqual(['version 3 must accept data written with version 1: #/properties/a/type: version 3 accepts integers only, version 1 allows any number']);
    // Forward: v1 (closed) must read v3's data; v2 (open) could.
    const fpast = [v(1, closed({ a: INT })), v(2, obj({ a: INT }))];
    const f3 = obj({ a: INT, b: STR });
    expectVerdict('FORWARD', f3, fpast, true);
    expectVerdict('FORWARD_TRANSITIVE', f3, fpast, false);
  });

  it('a first version is never checked, and NONE checks nothing', () => {
    for (const mode of COMPATIBILITY_MODES) expectVerdict(mode, obj({ a: INT }), [], true);
    expectVerdict('NONE', STR, [v(1, INT)], true);
  });
});
