import fc from 'fast-check';
import { createRng } from '../../sim/rng.ts';
import { describe, expect, it } from 'vitest';
import type { Headers } from '../types.ts';
import { MAX_SELECTOR_DEPTH, SelectorError, parseSelector, type SelectorEvent, tryParseSelector } from './index.ts';

/** An event with these headers, its envelope attributes unlike any header value the tests use. */
function on(headers: Headers): SelectorEvent {
  return { headers, id: 'evt-attr', source: '/attr/source', type: 'attr.type', topic: 'attr/topic' };
}

// ---------------------------------------------------------------------------------------------
// Table: (selector, expected) against one set of headers.
// ---------------------------------------------------------------------------------------------

const H: Headers = {
  amountCents: 20000,
  type: 'com.acme.order',
  region: 'us',
  flag: true,
  off: false,
  zero: 0,
  n: 5,
  s: 'abc',
  empty: '',
  'headers.x': 'hx',
  'content-type': 'json',
  and: 'kw',
  neg: -3,
  dec: 2.5,
  big: 1e21,
  quote: "it's",
  paren: 'f(x)',
  star: 'a*b',
  pct: '50%',
  under: 'a_b',
  back: 'a\\b',
  nl: 'a\nb',
  emoji: '😀',
  meta: '^$.*+?()[]{}|/\\-',
  numstr: '10',
  nan: NaN,
  inf: Infinity,
  $d: 1,
  _e: 2,
  ünï: 'u',
};

/** [selector, expected `matches(H)`]; each row also checks that `NOT (selector)` is consistent. */
const ROWS: readonly (readonly [string, boolean])[] = [
  // comparisons on numbers [SEL-CMP]
  ['amountCents > 10000', true],
  ['amountCents > 20000', false],
  ['amountCents >= 20000', true],
  ['amountCents < 20000', false],
  ['amountCents <= 20000', true],
  ['amountCents = 20000', true],
  ['amountCents <> 20000', false],
  ['amountCents != 20000', false],
  ['amountCents != 1', true],
  ['n=5', true],
  ['dec = 2.5', true],
  ['dec = 25e-1', true],
  ['dec = .25E1', true],
  ['n = 5.', true],
  ['n = 5.0', true],
  ['neg = -3', true],
  ['neg < 0', true],
  ['big = 1e21', true],
  ['big = 1E+21', true],
  ['inf > 1e308', true],
  // comparisons on strings and booleans
  ["region = 'us'", true],
  ["region <> 'eu'", true],
  ["region = 'US'", false],
  ["s < 'abd'", true],
  ["s > 'ab'", true],
  ["s >= 'abc'", true],
  ["empty = ''", true],
  ["quote = 'it''s'", true],
  ['flag = TRUE', true],
  ['flag = true', true],
  ['flag <> False', true],
  ['off = FALSE', true],
  ['flag', true],
  ['off', false],
  ['TRUE', true],
  ['FALSE', false],
  ['NULL', false],
  ['(flag)', true],
  ['flag = off', false],
  ['(n > 1) = TRUE', true],
  ['(n > 1) <> (n < 1)', true],
  // no implicit conversion: mixed types are unknown
  ['numstr = 10', false],
  ['numstr <> 10', false],
  ["n = '5'", false],
  ['flag = 1', false],
  ['flag <> 1', false],
  ['region < 5', false],
  ['region', false],
  ['n', false],
  // identifiers
  ["headers.x = 'hx'", true],
  ['"headers.x" = \'hx\'', true],
  ['"content-type" = \'json\'', true],
  ['"and" = \'kw\'', true],
  ['$d = 1', true],
  ['_e = 2', true],
  ["ünï = 'u'", true],
  ['N = 5', false], // identifiers are case-sensitive
  ['toString IS NULL', true], // only own properties are headers
  ['constructor IS NULL', true],
  ['__proto__ IS NULL', true],
  // NULL and IS [NOT] NULL [SEL-3VL]
  ['missing IS NULL', true],
  ['missing IS NOT NULL', false],
  ['n IS NULL', false],
  ['n is not null', true],
  ['nan IS NULL', true], // [SEL-NAN]
  ['missing = 1', false],
  ['missing <> 1', false],
  ['missing = missing', false],
  ['missing = NULL', false],
  ['NULL = NULL', false],
  ['NULL IS NULL', true],
  ['(missing + 1) IS NULL', true],
  ['(n > missing) IS NULL', true],
  ['(missing > 1 OR n = 5)', true],
  ['missing > 1 OR n = 6', false],
  ['missing > 1 AND n = 6', false],
  ['missing > 1 AND n = 5', false],
  ['NOT (missing > 1 AND n = 6)', true], // unknown AND false = false
  ['NOT (missing > 1 OR n = 6)', false], // unknown OR false = unknown
  ['(missing > 1 OR n = 5) IS NULL', false], // unknown OR true = true
  ['(missing > 1 AND n = 5) IS NULL', true], // unknown AND true = unknown
  ['NOT missing', false],
  ['NOT NOT missing', false],
  ['NOT region', false], // a string used as a condition is unknown
  ['(NOT region) IS NULL', true],
  // precedence: OR < AND < NOT < comparison < +,- < *,/ < unary
  ['n = 5 OR n = 6 AND n = 7', true],
  ['(n = 5 OR n = 6) AND n = 7', false],
  ['NOT n = 6', true],
  ['NOT n = 5 OR TRUE', true],
  ['NOT (n = 5 OR TRUE)', false],
  ['NOT n = 5 AND FALSE', false],
  ['n + 1 * 2 = 7', true],
  ['(n + 1) * 2 = 12', true],
  ['n - 3 - 1 = 1', true],
  ['n - (3 - 1) = 3', true],
  ['n / 5 * 2 = 2', true],
  ['n * 2 / 4 = 2.5', true],
  ['-n = -5', true],
  ['- -n = 5', true],
  ['--n = 5', true],
  ['+n = 5', true],
  ['-n * -2 = 10', true],
  ['2 * -n + 1 = -9', true],
  ['1-1 = 0', true],
  ['n-1 = 4', true],
  // arithmetic [SEL-ARITH]
  ['n / 2 = 2.5', true],
  ['n / 0 IS NULL', true],
  ['n / zero IS NULL', true],
  ['zero / n = 0', true],
  ['n + numstr IS NULL', true],
  ['n + flag IS NULL', true],
  ['-region IS NULL', true],
  ['inf - inf IS NULL', true], // NaN is unknown
  ['inf + 1 > 0', true],
  ['0.1 + 0.2 > 0.3', true], // IEEE doubles, as Java's double would
  // BETWEEN [SEL-BETWEEN]
  ['n BETWEEN 1 AND 5', true],
  ['n BETWEEN 5 AND 5', true],
  ['n BETWEEN 6 AND 10', false],
  ['n NOT BETWEEN 6 AND 10', true],
  ['n NOT BETWEEN 1 AND 10', false],
  ['n BETWEEN 1 + 1 AND n * 2', true],
  ["n BETWEEN 1 AND 5 AND s = 'abc'", true],
  ["s BETWEEN 'abb' AND 'abd'", true],
  ["s BETWEEN 1 AND 'z'", false],
  ['n BETWEEN missing AND 10', false],
  ['(n BETWEEN missing AND 10) IS NULL', true],
  ['n BETWEEN missing AND 4', false],
  ['(n BETWEEN missing AND 4) IS NULL', false], // 5 <= 4 is false, so FALSE, not unknown
  ['n NOT BETWEEN missing AND 4', true],
  ['missing NOT BETWEEN 1 AND 2', false],
  // IN [SEL-IN]
  ["region IN ('us', 'eu')", true],
  ["region IN ('eu', 'ap')", false],
  ["region NOT IN ('eu', 'ap')", true],
  ["region NOT IN ('us')", false],
  ['n IN (1, 5, 9)', true],
  ['n IN (1.0, 5.0)', true],
  ['neg IN (-3, 3)', true],
  ['n IN (+5)', true],
  ['n IN (1, 2)', false],
  ["n IN ('a', 'b', 5)", true],
  ["region IN ('a','b', 3)", false],
  ["(region IN ('a', 'b', 3)) IS NULL", true], // 'us' = 3 is unknown
  ["region NOT IN ('a', 'b', 3)", false],
  ["(region IN ('a', 'b')) IS NULL", false],
  ['numstr IN (10)', false],
  ['missing IN (1, 2)', false],
  ['missing NOT IN (1, 2)', false],
  ["flag IN ('true', 1)", false],
  ["quote IN ('it''s')", true],
  // LIKE [SEL-LIKE]
  ["type LIKE 'com.acme.%'", true],
  ["type LIKE 'com_acme_%'", true],
  ["type LIKE 'com.acme.'", false],
  ["type LIKE 'com.acme.order'", true],
  ["type LIKE 'COM.ACME.%'", false],
  ["type NOT LIKE 'com.acme.%'", false],
  ["type NOT LIKE 'org.%'", true],
  ["type LIKE 'com.acme'", false],
  ["s LIKE 'a.c'", false], // '.' is literal
  ["s LIKE 'a_c'", true],
  ["s LIKE 'a*c'", false],
  ["s LIKE '___'", true],
  ["s LIKE '____'", false],
  ["s LIKE '%'", true],
  ["s LIKE '%%'", true],
  ["s LIKE ''", false],
  ["empty LIKE ''", true],
  ["empty LIKE '%'", true],
  ["empty LIKE '_'", false],
  ["s LIKE '%b%'", true],
  ["s LIKE '%c'", true],
  ["s LIKE '%a'", false],
  ["s LIKE 'a%c%'", true],
  ["s LIKE '%a%b%c%'", true],
  ["s LIKE '%c%b%'", false],
  ["paren LIKE 'f(%)'", true],
  ["paren LIKE 'f(_)'", true],
  ["paren LIKE 'f(x'", false],
  ["star LIKE 'a*b'", true],
  ["star LIKE 'a%b'", true],
  ["meta LIKE '^$.*+?()[]{}|/\\-'", true],
  ["meta LIKE '^$.*+?()[]{}|/\\'", false],
  ["meta LIKE '%[]{}%'", true],
  ["back LIKE 'a\\b'", true], // no ESCAPE clause: a backslash is just a backslash
  ["pct LIKE '50\\%' ESCAPE '\\'", true],
  ["pct LIKE '5\\%' ESCAPE '\\'", false],
  ["s LIKE 'ab\\%' ESCAPE '\\'", false],
  ["under LIKE 'a!_b' ESCAPE '!'", true],
  ["s LIKE 'a!_c' ESCAPE '!'", false],
  ["s LIKE 'a!bc' ESCAPE '!'", true], // an escaped ordinary character is itself
  ["back LIKE 'a\\\\b' ESCAPE '\\'", true],
  ["pct LIKE '50%%' ESCAPE '%'", true],
  ["quote LIKE 'it''_'", true],
  ["quote like 'IT%' escape 'x'", false],
  ["nl LIKE 'a_b'", true], // `_` matches a newline
  ["nl LIKE 'a%'", true],
  ["nl LIKE '%b'", true],
  ["emoji LIKE '_'", true], // one code point
  ["emoji LIKE '😀'", true],
  ["emoji LIKE '%😀%'", true],
  ["missing LIKE '%'", false],
  ["missing NOT LIKE '%'", false],
  ["n LIKE '5'", false],
  ["n NOT LIKE '5'", false],
  ["'abc' LIKE 'a%'", true],
  // AND/OR/NOT, case-insensitive keywords, n-ary chains
  ["n = 5 AND region = 'us'", true],
  ["n = 5 and region = 'eu'", false],
  ["n = 6 or region = 'us'", true],
  ['n = 6 Or n = 7 oR n = 5', true],
  ['n = 5 AND n > 1 AND n < 9 AND flag', true],
  ['n = 5 AND n > 1 AND n < 9 AND off', false],
  ['n = 6 OR n = 7 OR missing = 1', false],
  ['(n = 6 OR n = 7 OR missing = 1) IS NULL', true],
  ['n = 5 AND n > 1 AND missing = 1', false],
  ['(n = 5 AND n > 1 AND missing = 1) IS NULL', true],
  ['Not n = 6', true],
  ['\tn\n=\r\n5\f', true],
  ['(((n)))=((5))', true],
];

/** The three-valued result, read off three selectors: X, NOT (X) and (X) IS NULL. */
function tri(source: string, headers: Headers): boolean | null {
  const isTrue = parseSelector(source).matches(on(headers));
  const isFalse = parseSelector(`NOT (${source})`).matches(on(headers));
  const isNull = parseSelector(`(${source}) IS NULL`).matches(on(headers));
  expect([isTrue, isFalse].filter(Boolean).length).toBeLessThanOrEqual(1);
  if (isTrue) return true;
  if (isFalse) return false;
  return isNull ? null : ('neither TRUE, FALSE nor NULL' as never);
}

describe('selector table', () => {
  it.each(ROWS)('%s → %s', (source, expected) => {
    const sel = parseSelector(source);
    expect(sel.source).toBe(source);
    expect(sel.matches(on(H))).toBe(expected);
    // NOT (x) matches exactly when x is FALSE; never both.
    if (expected) expect(parseSelector(`NOT (${source})`).matches(on(H))).toBe(false);
  });

  it('[SEL-3VL] truth tables for AND, OR, NOT over TRUE, FALSE, unknown', () => {
    const vals = { T: 'n = 5', F: 'n = 6', U: 'missing = 1' } as const;
    const v = { T: true, F: false, U: null } as const;
    const and = (a: boolean | null, b: boolean | null) => (a === false || b === false ? false : a === null || b === null ? null : true);
    const or = (a: boolean | null, b: boolean | null) => (a === true || b === true ? true : a === null || b === null ? null : false);
    for (const a of ['T', 'F', 'U'] as const) {
      expect(tri(`NOT ${vals[a]}`, H)).toBe(v[a] === null ? null : !v[a]);
      for (const b of ['T', 'F', 'U'] as const) {
        expect(tri(`${vals[a]} AND ${vals[b]}`, H), `${a} AND ${b}`).toBe(and(v[a], v[b]));
        expect(tri(`${vals[a]} OR ${vals[b]}`, H), `${a} OR ${b}`).toBe(or(v[a], v[b]));
      }
    }
  });

  it('keeps the source and works unbound', () => {
    const sel = parseSelector('amountCents > 10000');
    const { matches } = sel;
    expect(matches(on({ amountCents: 10001 }))).toBe(true);
    expect(matches(on({ amountCents: 10000 }))).toBe(false);
    expect(matches(on({}))).toBe(false);
    expect(String(sel)).toBe('amountCents > 10000');
  });

  it('evaluates against headers without a prototype and with non-header values', () => {
    const h = Object.assign(Object.create(null) as Record<string, unknown>, { n: 5, o: { a: 1 } });
    expect(parseSelector('n = 5').matches(on(h as Headers))).toBe(true);
    expect(parseSelector('o IS NULL').matches(on(h as Headers))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// [SEL-ATTR] Envelope attributes behind identifiers the headers do not have.
// ---------------------------------------------------------------------------------------------

describe('[SEL-ATTR] envelope attributes', () => {
  const ENV: SelectorEvent = {
    headers: { amountCents: 12500, region: 'eu' },
    id: 'evt-42',
    source: '/billing/eu',
    type: 'com.acme.order',
    specversion: '1.0',
    topic: 'orders/eu/created',
  };
  const ROWS_ATTR: readonly (readonly [string, boolean | null])[] = [
    ["type = 'com.acme.order'", true],
    ["type LIKE 'com.acme.%'", true],
    ["type = 'com.acme.invoice'", false],
    ["source LIKE '/billing%'", true],
    ["source = '/shipping'", false],
    ["id = 'evt-42'", true],
    ["id IN ('evt-41', 'evt-42')", true],
    ["topic LIKE 'orders/%/created'", true],
    ["specversion = '1.0'", true],
    ['"type" = \'com.acme.order\'', true], // a quoted identifier is the same name
    ["type = 'com.acme.order' AND amountCents > 10000 AND region = 'eu'", true],
    // Only those five names: other CloudEvents attributes are headers or nothing.
    ["subject = 'x'", null],
    ["datacontenttype = 'application/json'", null],
    ["time = 'x'", null],
    ["Type = 'com.acme.order'", null], // identifiers are case-sensitive
    ['type = 1', null], // no conversion: a string attribute against a number is unknown
  ];
  it.each(ROWS_ATTR)('%s → %s', (source, expected) => {
    expect(tri3(source, ENV)).toBe(expected);
  });

  it('a header of the same name wins, whatever its value', () => {
    const withType = (type: unknown): SelectorEvent => ({ ...ENV, headers: { ...ENV.headers, type } as Headers });
    expect(tri3("type = 'order'", withType('order'))).toBe(true);
    expect(tri3("type = 'com.acme.order'", withType('order'))).toBe(false);
    expect(tri3('type = 7', withType(7))).toBe(true);
    // A header that is no selector value (an object) is NULL; it does not fall back to the attribute.
    expect(tri3('type IS NULL', withType({ nested: 1 }))).toBe(true);
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { source: '/shadow' });
    expect(tri3("source = '/shadow'", { ...ENV, headers: nullProto as Headers })).toBe(true);
    expect(tri3("source = '/billing/eu'", { ...ENV, headers: nullProto as Headers })).toBe(false);
  });

  it('a publish input without specversion reads "1.0", what the broker stamps on its envelope', () => {
    const { specversion: _, ...input } = ENV;
    expect(tri3("specversion = '1.0'", input)).toBe(true);
  });
});

/** tri() on a whole event. */
function tri3(source: string, ev: SelectorEvent): boolean | null {
  const isTrue = parseSelector(source).matches(ev);
  const isFalse = parseSelector(`NOT (${source})`).matches(ev);
  const isNull = parseSelector(`(${source}) IS NULL`).matches(ev);
  expect([isTrue, isFalse, isNull].filter(Boolean).length).toBe(1);
  return isTrue ? true : isFalse ? false : null;
}

// ---------------------------------------------------------------------------------------------
// Bad selectors: position and reason.
// ---------------------------------------------------------------------------------------------

const BAD: readonly (readonly [string, number, string])[] = [
  ['(a = 1', 6, "expected ')', found end of input"],
  ['(a = 1   ', 9, "expected ')', found end of input"],
  ['a = ', 4, 'expected an expression, found end of input'],
  ['', 0, 'expected an expression, found end of input'],
  ['   ', 3, 'expected an expression, found end of input'],
  ['a = = 1', 4, "expected an expression, found '='"],
  ['a == 1', 3, "expected an expression, found '='"],
  ['a = 1 = 2', 6, "expected end of input, found '='"],
  ['a = 1)', 5, "expected end of input, found ')'"],
  ['a b', 2, 'expected end of input, found identifier b'],
  [') = 1', 0, "expected an expression, found ')'"],
  [') #', 0, "expected an expression, found ')'"], // the first error by position
  ['AND = 1', 0, "expected an expression, found 'AND'"],
  ['a = 1 and or b = 2', 10, "expected an expression, found 'or'"],
  ['a = 1 AND', 9, 'expected an expression, found end of input'],
  ['a = NOT b', 4, "expected an expression, found 'NOT'"],
  ['a = 1 #', 6, "unexpected character '#'"],
  ['a ! b', 2, "unexpected character '!'"],
  ["'a' || 'b'", 4, "unexpected character '|'"],
  ['a = \u0001', 4, 'unexpected character U+0001'],
  // [SEL-TYPE] static types
  ['42', 0, 'selector must be a condition, found a number'],
  ["'abc'", 0, 'selector must be a condition, found a string'],
  ['1 + 2', 0, 'selector must be a condition, found a number'],
  ['(1 + 2)', 0, 'selector must be a condition, found a number'],
  ['-a', 0, 'selector must be a condition, found a number'],
  ['a AND 42', 6, 'expected a condition, found a number'],
  ["'x' OR a", 0, 'expected a condition, found a string'],
  ["NOT 'x'", 4, 'expected a condition, found a string'],
  ["a + 'x' > 1", 4, 'expected a number, found a string'],
  ["'x' * a > 1", 0, 'expected a number, found a string'],
  ["-'x' = 1", 1, 'expected a number, found a string'],
  ['TRUE + 1 = 2', 0, 'expected a number, found a boolean'],
  ['a + (b > 1) = 2', 4, 'expected a number, found a condition'],
  ['a < TRUE', 4, 'expected a number or a string, found a boolean'],
  ['(a = 1) > 0', 0, 'expected a number or a string, found a condition'],
  ['TRUE BETWEEN 1 AND 2', 0, 'expected a number or a string, found a boolean'],
  ['a BETWEEN FALSE AND 2', 10, 'expected a number or a string, found a boolean'],
  ['(a > 1) IN (1)', 0, 'expected a number or a string, found a condition'],
  ["5 LIKE 'x'", 0, 'expected a string, found a number'],
  ["(a = 1) LIKE 'x'", 0, 'expected a string, found a condition'],
  // predicates
  ['a NOT b', 6, 'expected BETWEEN, IN or LIKE after NOT, found identifier b'],
  ['a NOT NULL', 6, "expected BETWEEN, IN or LIKE after NOT, found 'NULL'"],
  ['a IS 1', 5, 'expected NULL, found number 1'],
  ['a IS NOT', 8, 'expected NULL, found end of input'],
  ['a BETWEEN 1', 11, 'expected AND, found end of input'],
  ['a BETWEEN 1 OR 2', 12, "expected AND, found 'OR'"],
  ['a IN 1', 5, "expected '(', found number 1"],
  ['a IN ()', 6, "expected a string or number literal, found ')'"],
  ['a IN (1,)', 8, "expected a string or number literal, found ')'"],
  ['a IN (1 2)', 8, "expected ',' or ')', found number 2"],
  ["a IN (-'x')", 7, "expected a number, found string 'x'"],
  ['a IN (b)', 6, 'expected a string or number literal, found identifier b'],
  ['a IN (TRUE)', 6, "expected a string or number literal, found 'TRUE'"],
  ['a IN (1', 7, "expected ',' or ')', found end of input"],
  ['a LIKE b', 7, 'expected a string literal pattern, found identifier b'],
  ["a LIKE 'x' ESCAPE 'ab'", 18, "expected a one-character ESCAPE string, found string 'ab'"],
  ["a LIKE 'x' ESCAPE ''", 18, "expected a one-character ESCAPE string, found string ''"],
  ["a LIKE 'x' ESCAPE", 17, 'expected a one-character ESCAPE string, found end of input'],
  ["a LIKE 'x\\' ESCAPE '\\'", 9, 'ESCAPE character at the end of the LIKE pattern'],
  ["a LIKE 'it''s\\' ESCAPE '\\'", 13, 'ESCAPE character at the end of the LIKE pattern'],
  // literals
  ["a = 'abc", 4, 'unterminated string literal'],
  ["a = 'it''s", 4, 'unterminated string literal'],
  ['a = "b', 4, 'unterminated quoted identifier'],
  ['"" = 1', 0, 'empty quoted identifier'],
  ['a = 1e', 6, 'expected a digit in the exponent, found end of input'],
  ['a = 1e+', 7, 'expected a digit in the exponent, found end of input'],
  ['a = 1ex', 6, "expected a digit in the exponent, found 'x'"],
  ['a = 12abc', 4, 'malformed number 12abc'],
  ['a = 1.2.3', 4, 'malformed number 1.2.3'],
  ['n>=5AND n<=5', 3, 'malformed number 5AND'],
  ['a = 1e999', 4, 'number out of range 1e999'],
];

describe('bad selectors', () => {
  it.each(BAD)('%j → at %i: %s', (source, position, reason) => {
    let caught: unknown;
    try {
      parseSelector(source);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SelectorError);
    const err = caught as SelectorError;
    expect({ position: err.position, reason: err.reason }).toEqual({ position, reason });
    expect(err.message).toContain(` at ${position}`);
    const r = tryParseSelector(source);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.position).toBe(position);
  });

  it('says what was expected, where, and what was found', () => {
    expect(() => parseSelector('(amountCents > 1')).toThrow("expected ')' at 16, found end of input");
    expect(() => parseSelector('42')).toThrow('selector must be a condition at 0, found a number');
    const r = tryParseSelector('x = ');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(Error);
      expect(r.error.name).toBe('SelectorError');
    }
    const good = tryParseSelector('x = 1');
    expect(good.ok && good.selector.matches(on({ x: 1 }))).toBe(true);
  });

  it('[SEL-DEPTH] rejects deep nesting with a SelectorError, not a stack overflow', () => {
    const deep = ['('.repeat(100_000) + 'a', 'NOT '.repeat(100_000) + 'a', '-'.repeat(100_000) + '1 > 0', 'a' + ' + a'.repeat(100_000) + ' > 0', 'a' + ' * a'.repeat(100_000) + ' > 0'];
    for (const source of deep) {
      const r = tryParseSelector(source);
      expect(r.ok, source.slice(0, 20)).toBe(false);
      if (!r.ok) expect(r.error.reason).toContain(`deeper than ${MAX_SELECTOR_DEPTH}`);
    }
    // ...but a reasonable depth is fine, and long AND/OR chains are flat.
    const ok = '('.repeat(50) + 'a = 1' + ')'.repeat(50);
    expect(parseSelector(ok).matches(on({ a: 1 }))).toBe(true);
    const longOr = Array.from({ length: 10_000 }, (_, i) => `a = ${i}`).join(' OR ');
    expect(parseSelector(longOr).matches(on({ a: 9_999 }))).toBe(true);
    expect(parseSelector(longOr).matches(on({ a: 10_000 }))).toBe(false);
    const longAnd = Array.from({ length: 10_000 }, (_, i) => `a <> ${i}`).join(' AND ');
    expect(parseSelector(longAnd).matches(on({ a: 10_000 }))).toBe(true);
  });

  it('[SEL-LIKE] patterns from peers cannot backtrack catastrophically', () => {
    // A moderate case first: a backtracking RegExp takes seconds here, not hours.
    const small = { s: 'a'.repeat(400) };
    const started = process.hrtime.bigint();
    expect(parseSelector("s LIKE '%a%a%a%b'").matches(on(small))).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    const subject = { s: 'a'.repeat(50_000) };
    for (const pattern of ['%a%a%a%a%a%a%a%a%b', '%a%a%a%a%a%a%a%a%b%', '%_a%_a%_a%_a%_a%b', 'a%a%a%a%a%c']) {
      const started = process.hrtime.bigint();
      expect(parseSelector(`s LIKE '${pattern}'`).matches(on(subject))).toBe(false);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(ms, pattern).toBeLessThan(1_000);
    }
    expect(parseSelector("s LIKE '%a%a%a%a%a%a%a%a%'").matches(on(subject))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: random ASTs, printed and parsed back, against a reference interpreter.
// ---------------------------------------------------------------------------------------------

type V = string | number | boolean | null;
type LikeTok = { readonly lit: string } | '%' | '_';
type T =
  | { readonly k: 'lit'; readonly v: V }
  | { readonly k: 'id'; readonly name: string }
  | { readonly k: 'neg' | 'pos'; readonly e: T }
  | { readonly k: 'arith'; readonly op: '+' | '-' | '*' | '/'; readonly l: T; readonly r: T }
  | { readonly k: 'cmp'; readonly op: '=' | '<>' | '<' | '<=' | '>' | '>='; readonly l: T; readonly r: T }
  | { readonly k: 'and' | 'or'; readonly l: T; readonly r: T }
  | { readonly k: 'not'; readonly e: T }
  | { readonly k: 'between'; readonly neg: boolean; readonly v: T; readonly lo: T; readonly hi: T }
  | { readonly k: 'in'; readonly neg: boolean; readonly v: T; readonly items: readonly (string | number)[] }
  | { readonly k: 'like'; readonly neg: boolean; readonly v: T; readonly pat: readonly LikeTok[]; readonly esc: string | null }
  | { readonly k: 'isnull'; readonly neg: boolean; readonly v: T };

/** Header names; 'in' and 'content-type' can only be written quoted. */
const NAMES = ['a', 'b', 'c', 'headers.x', '$d', '_e', 'in', 'content-type'] as const;

// ---- the reference interpreter: straight from the spec, no cleverness ----

function refTruth(v: V): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

function refCmp(op: string, a: V, b: V): boolean | null {
  if (a === null || b === null || typeof a !== typeof b) return null;
  if (typeof a === 'boolean' && op !== '=' && op !== '<>') return null;
  switch (op) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return (a as number) < (b as number);
    case '<=':
      return (a as number) <= (b as number);
    case '>':
      return (a as number) > (b as number);
    case '>=':
      return (a as number) >= (b as number);
  }
  throw new Error(op);
}

function refAnd(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function refOr(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

function refNot(a: boolean | null): boolean | null {
  return a === null ? null : !a;
}

/** LIKE by dynamic programming over code points. */
function refLike(s: string, pat: readonly LikeTok[]): boolean {
  const cs = Array.from(s);
  // can[j] = pat[0..i) matches cs[0..j)
  let can = cs.map(() => false).concat([false]);
  can[0] = true;
  for (const t of pat) {
    const next = can.map(() => false);
    for (let j = 0; j <= cs.length; j++) {
      if (t === '%') next[j] = can[j] === true || (j > 0 && next[j - 1] === true);
      else if (j > 0 && can[j - 1]) next[j] = t === '_' || cs[j - 1] === t.lit;
    }
    can = next;
  }
  return can[cs.length] === true;
}

function ref(e: T, h: Record<string, unknown>): V {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'id': {
      if (!Object.hasOwn(h, e.name)) return null;
      const v = h[e.name];
      if (typeof v === 'number') return Number.isNaN(v) ? null : v;
      return typeof v === 'string' || typeof v === 'boolean' ? v : null;
    }
    case 'neg':
    case 'pos': {
      const v = ref(e.e, h);
      if (typeof v !== 'number') return null;
      return e.k === 'neg' ? -v : v;
    }
    case 'arith': {
      const a = ref(e.l, h);
      const b = ref(e.r, h);
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      if (e.op === '/' && b === 0) return null;
      const x = e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
      return Number.isNaN(x) ? null : x;
    }
    case 'cmp':
      return refCmp(e.op, ref(e.l, h), ref(e.r, h));
    case 'and':
      return refAnd(refTruth(ref(e.l, h)), refTruth(ref(e.r, h)));
    case 'or':
      return refOr(refTruth(ref(e.l, h)), refTruth(ref(e.r, h)));
    case 'not':
      return refNot(refTruth(ref(e.e, h)));
    case 'between': {
      const v = ref(e.v, h);
      const r = refAnd(refCmp('<=', ref(e.lo, h), v), refCmp('<=', v, ref(e.hi, h)));
      return e.neg ? refNot(r) : r;
    }
    case 'in': {
      const v = ref(e.v, h);
      let r: boolean | null = false;
      for (const item of e.items) r = refOr(r, refCmp('=', v, item));
      return e.neg ? refNot(r) : r;
    }
    case 'like': {
      const v = ref(e.v, h);
      if (typeof v !== 'string') return null;
      const r = refLike(v, e.pat);
      return e.neg ? !r : r;
    }
    case 'isnull': {
      const isNull = ref(e.v, h) === null;
      return e.neg ? !isNull : isNull;
    }
  }
}

// ---- a printer that varies spelling, spacing and parentheses ----

/** The printer's own seeded choices, from the project's seeded generator. */
function rng(seed: number): () => number {
  const r = createRng(seed);
  return () => r.next();
}

function level(e: T): number {
  switch (e.k) {
    case 'or':
      return 1;
    case 'and':
      return 2;
    case 'not':
      return 3;
    case 'cmp':
    case 'between':
    case 'in':
    case 'like':
    case 'isnull':
      return 4;
    case 'arith':
      return e.op === '+' || e.op === '-' ? 5 : 6;
    case 'neg':
    case 'pos':
      return 7;
    case 'lit':
    case 'id':
      return 8;
  }
}

function printer(seed: number): (e: T) => string {
  const r = rng(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)] as X;
  const kw = (k: string) => pick([k, k.toLowerCase(), k[0] + k.slice(1).toLowerCase()]);
  const str = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const num = (n: number): string => {
    if (Number.isInteger(n) && n < 1e15) return pick([String(n), `${n}.0`, `${n}.`, `${n}e0`, `${n}E+0`]);
    return String(n);
  };
  const ident = (name: string): string => {
    const plain = /^[A-Za-z_$][A-Za-z0-9_$.]*$/.test(name) && name !== 'in';
    return plain && r() < 0.8 ? name : `"${name.replaceAll('"', '""')}"`;
  };
  const likePattern = (pat: readonly LikeTok[], esc: string | null): string =>
    pat.map((t) => (typeof t === 'string' ? t : t.lit === '%' || t.lit === '_' || t.lit === esc ? `${esc}${t.lit}` : t.lit)).join('');

  const tokens = (e: T, min: number, out: string[]): void => {
    const wrap = level(e) < min || r() < 0.1;
    if (wrap) out.push('(');
    switch (e.k) {
      case 'lit':
        if (e.v === null) out.push(kw('NULL'));
        else if (typeof e.v === 'boolean') out.push(kw(e.v ? 'TRUE' : 'FALSE'));
        else if (typeof e.v === 'string') out.push(str(e.v));
        else out.push(num(e.v));
        break;
      case 'id':
        out.push(ident(e.name));
        break;
      case 'neg':
      case 'pos':
        out.push(e.k === 'neg' ? '-' : '+');
        tokens(e.e, 7, out);
        break;
      case 'arith': {
        const lv = e.op === '+' || e.op === '-' ? 5 : 6;
        tokens(e.l, lv, out);
        out.push(e.op);
        tokens(e.r, lv + 1, out);
        break;
      }
      case 'cmp':
        tokens(e.l, 5, out);
        out.push(e.op === '<>' ? pick(['<>', '!=']) : e.op);
        tokens(e.r, 5, out);
        break;
      case 'and':
      case 'or': {
        const lv = e.k === 'or' ? 1 : 2;
        tokens(e.l, lv, out);
        out.push(kw(e.k.toUpperCase()));
        tokens(e.r, lv + 1, out);
        break;
      }
      case 'not':
        out.push(kw('NOT'));
        tokens(e.e, 3, out);
        break;
      case 'between':
        tokens(e.v, 5, out);
        if (e.neg) out.push(kw('NOT'));
        out.push(kw('BETWEEN'));
        tokens(e.lo, 5, out);
        out.push(kw('AND'));
        tokens(e.hi, 5, out);
        break;
      case 'in':
        tokens(e.v, 5, out);
        if (e.neg) out.push(kw('NOT'));
        out.push(kw('IN'), '(');
        e.items.forEach((item, i) => {
          if (i > 0) out.push(',');
          if (typeof item === 'string') out.push(str(item));
          else if (item < 0 || Object.is(item, -0)) out.push('-', num(-item));
          else out.push(num(item));
        });
        out.push(')');
        break;
      case 'like':
        tokens(e.v, 5, out);
        if (e.neg) out.push(kw('NOT'));
        out.push(kw('LIKE'), str(likePattern(e.pat, e.esc)));
        if (e.esc !== null) out.push(kw('ESCAPE'), str(e.esc));
        break;
      case 'isnull':
        tokens(e.v, 5, out);
        out.push(kw('IS'));
        if (e.neg) out.push(kw('NOT'));
        out.push(kw('NULL'));
        break;
    }
    if (wrap) out.push(')');
  };

  const tight = new Set(['(', ')', ',', '*', '/', '=', '<>', '!=', '<', '<=', '>', '>=']);
  return (e) => {
    const out: string[] = [];
    tokens(e, 0, out);
    let s = '';
    out.forEach((t, i) => {
      const prev = out[i - 1];
      if (i > 0) {
        const canTouch = prev !== undefined && (tight.has(t) || tight.has(prev)) && !(prev === '<' && t.startsWith('>'));
        s += canTouch && r() < 0.5 ? '' : pick([' ', ' ', '  ', '\t', '\n', '\r\n']);
      }
      s += t;
    });
    return s;
  };
}

// ---- generators: well-typed ASTs (the parser rejects ill-typed ones statically) ----

const NUMS = [0, 1, 2, 2.5, 3, 10, 0.1, 1e-7, 1e21, 123.456] as const;
const STRS = ['', 'a', 'b', 'ab', 'com.acme.x', "it's", 'a.b', 'f(x)', '%', '_', '\\', '😀', 'A'] as const;

const arbName = fc.constantFrom(...NAMES);
const arbId: fc.Arbitrary<T> = arbName.map((name) => ({ k: 'id', name }));
const arbNumLit: fc.Arbitrary<T> = fc.constantFrom(...NUMS).map((v) => ({ k: 'lit', v }));
const arbStrLit: fc.Arbitrary<T> = fc.oneof(fc.constantFrom(...STRS), fc.string({ maxLength: 4 })).map((v) => ({ k: 'lit', v }));
const arbNull: fc.Arbitrary<T> = fc.constant({ k: 'lit', v: null });
const arbBoolLit: fc.Arbitrary<T> = fc.boolean().map((v) => ({ k: 'lit', v }));
const arbCmpOp = fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const);
const arbEqOp = fc.constantFrom('=', '<>' as const);
const arbItem = fc.oneof(fc.constantFrom(...NUMS), fc.constantFrom(-1, -2.5), fc.constantFrom(...STRS));
const LIKE_CHARS = ['a', 'b', '.', '(', ')', '*', '+', '?', '[', '^', '$', '\\', '|', '{', "'", '😀', '\n'] as const;

/** A LIKE pattern and its ESCAPE: wildcards, and literals (`%`/`_` literals need an ESCAPE). */
const arbLike = fc
  .tuple(
    fc.constantFrom(null, '\\', '!', '%'),
    fc.array(
      fc.oneof(
        fc.constantFrom('%' as const, '_' as const),
        fc.constantFrom(...LIKE_CHARS, '%', '_', '!').map((lit): LikeTok => ({ lit })),
      ),
      { maxLength: 8 },
    ),
  )
  .map(([esc, toks]) => ({
    esc,
    pat: toks.filter((t) =>
      typeof t === 'string'
        ? t !== esc // with ESCAPE '%', a `%` wildcard cannot be written
        : esc !== null || (t.lit !== '%' && t.lit !== '_'),
    ),
  }));

const { cond } = fc.letrec<{ cond: T; num: T; str: T; val: T }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.oneof({ arbitrary: arbBoolLit, weight: 2 }, { arbitrary: arbId, weight: 4 }, { arbitrary: arbNull, weight: 1 }),
    fc.record({ k: fc.constant('cmp' as const), op: arbCmpOp, l: tie('num'), r: tie('num') }),
    fc.record({ k: fc.constant('cmp' as const), op: arbCmpOp, l: tie('str'), r: tie('str') }),
    fc.record({ k: fc.constant('cmp' as const), op: arbCmpOp, l: tie('val'), r: tie('val') }),
    fc.record({ k: fc.constant('cmp' as const), op: arbEqOp, l: tie('cond'), r: tie('cond') }),
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('cond'), r: tie('cond') }),
    fc.record({ k: fc.constant('not' as const), e: tie('cond') }),
    fc.record({ k: fc.constant('between' as const), neg: fc.boolean(), v: tie('val'), lo: tie('val'), hi: tie('val') }),
    fc.record({ k: fc.constant('in' as const), neg: fc.boolean(), v: tie('val'), items: fc.array(arbItem, { minLength: 1, maxLength: 4 }) }),
    fc.tuple(fc.boolean(), tie('str'), arbLike).map(([neg, v, { pat, esc }]): T => ({ k: 'like', neg, v, pat, esc })),
    fc.record({ k: fc.constant('isnull' as const), neg: fc.boolean(), v: fc.oneof(tie('val'), tie('cond')) }),
  ) as fc.Arbitrary<T>,
  num: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.oneof({ arbitrary: arbNumLit, weight: 4 }, { arbitrary: arbId, weight: 4 }, { arbitrary: arbNull, weight: 1 }),
    fc.record({ k: fc.constantFrom('neg' as const, 'pos' as const), e: tie('num') }),
    fc.record({ k: fc.constant('arith' as const), op: fc.constantFrom('+', '-', '*', '/' as const), l: tie('num'), r: tie('num') }),
  ) as fc.Arbitrary<T>,
  str: fc.oneof(arbStrLit, arbId) as fc.Arbitrary<T>,
  val: fc.oneof(tie('num'), tie('str')) as fc.Arbitrary<T>,
}));

const arbValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NUMS),
  fc.constantFrom(...NUMS),
  fc.constantFrom(-1, -0, NaN, Infinity, -Infinity),
  fc.double(),
  fc.constantFrom(...STRS),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant({ not: 'a header' }),
);
// Each header present most of the time, so that fewer results are NULL.
const arbHeaders: fc.Arbitrary<Record<string, unknown>> = fc.tuple(...NAMES.map(() => fc.option(arbValue, { freq: 4 }))).map((values) => {
  const h: Record<string, unknown> = {};
  values.forEach((v, i) => {
    if (v !== null) h[NAMES[i] as string] = v;
  });
  return h;
});

describe('selector properties', () => {
  it('printed random ASTs parse back and evaluate like the reference interpreter', () => {
    fc.assert(
      fc.property(cond, arbHeaders, fc.integer(), (e, h, seed) => {
        const source = printer(seed)(e);
        const expected = ref(e, h);
        const headers = h as Headers;
        const sel = parseSelector(source);
        expect(sel.matches(on(headers)), source).toBe(expected === true);
        expect(parseSelector(`NOT (${source})`).matches(on(headers)), `NOT (${source})`).toBe(refTruth(expected) === false);
        expect(parseSelector(`(${source}) IS NULL`).matches(on(headers)), `(${source}) IS NULL`).toBe(expected === null);
      }),
      { numRuns: 3000 },
    );
  });

  const SOUP = [
    'a',
    'b',
    'headers.x',
    '"q"',
    '(',
    ')',
    ',',
    'AND',
    'or',
    'NOT',
    'not',
    '=',
    '<>',
    '!=',
    '<',
    '<=',
    '>',
    '>=',
    '+',
    '-',
    '*',
    '/',
    '1',
    '2.5',
    '1e3',
    '.5',
    "'x'",
    "'%a_'",
    "''",
    'IN',
    'LIKE',
    'ESCAPE',
    "'\\'",
    'BETWEEN',
    'IS',
    'NULL',
    'TRUE',
    'false',
    "'",
    '"',
    '.',
    '!',
    '$x',
    'e',
    '1e',
    '#',
  ] as const;
  const arbSoup = fc.array(fc.tuple(fc.constantFrom(...SOUP), fc.constantFrom(' ', '', '\n')), { maxLength: 24 }).map((parts) => parts.map(([t, sep]) => t + sep).join(''));

  it('any string either parses or throws SelectorError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), arbSoup), arbHeaders, (source, h) => {
        let sel: ReturnType<typeof parseSelector>;
        try {
          sel = parseSelector(source);
        } catch (err) {
          expect(err).toBeInstanceOf(SelectorError);
          const { position, reason, message } = err as SelectorError;
          expect(Number.isInteger(position) && position >= 0 && position <= source.length).toBe(true);
          expect(reason.length).toBeGreaterThan(0);
          expect(message).toContain(` at ${position}`);
          const r = tryParseSelector(source);
          expect(r.ok).toBe(false);
          return;
        }
        expect(typeof sel.matches(on(h as Headers))).toBe('boolean');
        expect(tryParseSelector(source).ok).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
