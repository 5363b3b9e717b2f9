/**
 * The loader under hostile input: every text either loads to a Scenario or gives one
 * ScenarioError (a one-line message), each within a time bound (a hang detector, generous on a
 * shared machine). Mutations start from the shipped scenario files: bytes flipped, lines
 * dropped, doubled, swapped or re-indented, tokens spliced in; plus alias bombs and deep nesting.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ALIASES, parseScenario, ScenarioError } from './load.ts';

/** Per input: a hang detector, not a benchmark. */
const BOUND_MS = 2000;

const SHIPPED = [
  ...readdirSync('scenarios')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `scenarios/${f}`),
  ...readdirSync('scenarios/failover')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `scenarios/failover/${f}`),
].sort();
const TEXTS = SHIPPED.map((f) => readFileSync(f, 'utf8'));

/** Loads `text`: 'ok', or the ScenarioError's message; anything else fails the test. */
function outcome(text: string): string {
  const t0 = performance.now();
  let result: string;
  try {
    parseScenario(text, 'fuzz.yaml');
    result = 'ok';
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`not a ScenarioError: ${(e as Error)?.stack ?? String(e)}\n--- input ---\n${text.slice(0, 2000)}`);
    expect(e.message).not.toContain('\n');
    expect(e.message.startsWith('fuzz.yaml')).toBe(true);
    result = e.message;
  }
  const ms = performance.now() - t0;
  if (ms > BOUND_MS) throw new Error(`took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)\n--- input ---\n${text.slice(0, 2000)}`);
  return result;
}

const TOKENS = [
  '',
  ' ',
  '\t',
  ':',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '&a ',
  '*a',
  '*zz',
  '!!binary ',
  '!!str ',
  '? ',
  '|',
  '>',
  '#',
  '"',
  "'",
  '\\',
  '%YAML 1.2\n',
  '---\n',
  '...\n',
  '~',
  'null',
  '-1',
  '0',
  '1e309',
  'NaN',
  '.inf',
  '1e12/s',
  '100MB',
  '1e9s',
  '999999999999',
  'true',
  '<<: *a',
  '\u0000',
  '\uFEFF',
  '\u2028',
  'é',
  '🙂',
  '\n',
  '\n  ',
  '\n- ',
];

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'dropLine'; at: number }
  | { kind: 'dupLine'; at: number }
  | { kind: 'swapLines'; at: number; with: number }
  | { kind: 'indent'; at: number; by: number }
  | { kind: 'splice'; at: number; token: string }
  | { kind: 'truncate'; at: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const li = (n: number) => n % lines.length;
  switch (m.kind) {
    case 'flip': {
      const at = m.at % Math.max(1, text.length);
      return text.slice(0, at) + String.fromCharCode(m.byte) + text.slice(at + 1);
    }
    case 'dropLine':
      lines.splice(li(m.at), 1);
      return lines.join('\n');
    case 'dupLine':
      lines.splice(li(m.at), 0, lines[li(m.at)]!);
      return lines.join('\n');
    case 'swapLines': {
      const a = li(m.at);
      const b = li(m.with);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    case 'indent': {
      const i = li(m.at);
      lines[i] = m.by >= 0 ? ' '.repeat(m.by) + lines[i]! : lines[i]!.slice(-m.by);
      return lines.join('\n');
    }
    case 'splice': {
      const at = m.at % Math.max(1, text.length);
      return text.slice(0, at) + m.token + text.slice(at);
    }
    case 'truncate':
      return text.slice(0, m.at % Math.max(1, text.length));
    default: {
      const never: never = m;
      return never;
    }
  }
}

describe('loader fuzz: a Scenario or a ScenarioError, in bounded time', () => {
  it('every shipped scenario loads', () => {
    for (const [i, t] of TEXTS.entries()) expect(outcome(t), SHIPPED[i]).toBe('ok');
  });

  it('seeded mutations of the shipped files (1 to 4 mutations each)', () => {
    fc.assert(
      fc.property(fc.nat({ max: TEXTS.length - 1 }), fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
        outcome(ms.reduce(mutate, TEXTS[which]!));
      }),
      { numRuns: 1500, seed: 8 },
    );
  }, 120_000);

  it('random strings and YAML-ish token soup', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.array(fc.constantFrom(...TOKENS, 'name', 'regions', 'duration', 'id', 'brokers', 'links')).map((t) => t.join('')),
        ),
        (text) => {
          outcome(text);
        },
      ),
      { numRuns: 1500, seed: 9 },
    );
  }, 120_000);

  it('a list entry that is a plain value where a map belongs is a one-line error naming it', () => {
    const base = 'name: m\nduration: 1s\nregions:\n  - { id: r, brokers: [b] }\n';
    for (const [key, value, found] of [
      ['publishers', '["oops"]', '"oops"'],
      ['subscribers', '[5]', '5'],
      ['faults', '["oops"]', '"oops"'],
      ['links', '[true]', 'true'],
    ] as const) {
      const m = outcome(`${base}${key}: ${value}\n`);
      expect(m, key).toMatch(new RegExp(`${key}\\[0\\]: expected a map describing an? \\w+, found ${found.replace(/[[\]"]/g, '\\$&')}`));
    }
  });

  it(`alias bombs: 10,000 aliases are refused at once (more than ${MAX_ALIASES}), nested ones by expansion count`, () => {
    const many = `name: a\nx: &a [1]\ny: [${Array.from({ length: 10_000 }, () => '*a').join(', ')}]\n`;
    const t0 = performance.now();
    expect(outcome(many)).toMatch(/expected at most 1000 aliases \(\*name\), found 10000/);
    expect(performance.now() - t0).toBeLessThan(1000);
    let laughs = 'name: lol\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) laughs += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
    expect(outcome(laughs)).toMatch(/expected YAML that resolves to plain data, found an error \(.*alias/i);
    expect(outcome('name: x\na: *nope\n')).toMatch(/expected an alias to an anchor defined above it, found \*nope/);
    expect(outcome('name: x\na: *b\nb: &b 1\n')).toMatch(/found \*b/);
  });

  it('deep nesting is an error, not a RangeError', () => {
    expect(outcome(`name: deep\nx: ${'['.repeat(101)}${']'.repeat(101)}\n`)).toMatch(/^fuzz\.yaml:2:104: expected lists and maps nested at most 100 deep/);
    for (const depth of [1000, 100_000]) {
      outcome(`name: deep\nx: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
      outcome(`name: deep\nx: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`);
      outcome(`name: deep\n${Array.from({ length: Math.min(depth, 5000) }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`);
    }
  });

  it('a list or map as a key is an error (yaml would stringify it with a warning)', () => {
    expect(outcome('name: k\n? [a, b]\n: 1\n')).toMatch(/^fuzz\.yaml:2:3: expected a key that is a plain word, found a list or map as a key/);
    expect(outcome('name: k\nx: &a 1\n*a : 2\n')).toMatch(/found an alias as a key/);
    expect(outcome('name: k\n!!binary aGk= : 1\n')).toMatch(/expected a key that is a plain word/);
  });

  it('a recursive alias (an anchor holding an alias to itself) is an error', () => {
    outcome('name: r\nregions: &r [*r]\n');
  });
});
