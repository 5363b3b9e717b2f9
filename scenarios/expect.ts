/**
 * Scenario `expect:` assertions, checked against a run's summary (the object written to
 * summary.json) by `meshtwin test`.
 *
 * [EXPECT-1] Grammar: `FIELD OP VALUE`.
 *   FIELD  a dotted path into the summary: `messages.lost`, `latencyMs.local.p99`, with row
 *          selectors on lists: `links[us-1>eu-1]` (the row with from=us-1, to=eu-1),
 *          `brokers[eu-1]` (the row with id=eu-1), `faults[0]` (the first row, file order).
 *          Friendly aliases (ALIASES below) are rewritten to the canonical path first.
 *   OP     `<`, `<=`, `>`, `>=`, `==`, `!=`.
 *   VALUE  a number, optionally signed, optionally with a unit: durations (`ms`, `s`, `m`, …),
 *          bandwidths (`bps`, `Kbps`, `Mbps`, `Gbps`), sizes (`B`, `KB`, `KiB`, …), or a
 *          percentage (`99.9%` = 0.999). Units are those of scenarios/units.ts.
 * [EXPECT-2] The value is compared in the field's own unit, inferred from its name (FIELD_UNITS):
 *   `convergence.maxMs < 1.5s` compares against 1500, `links[a>b].mbpsPeak < 1Gbps` against 1000.
 *   A unit that does not fit the field (`mbpsPeak < 5ms`, `messages.lost < 3KB`) is an error; a
 *   plain number is always taken in the field's unit.
 * [EXPECT-3] Errors are one line: syntax errors give the column (1-based, within the assertion),
 *   what was expected and what was found; an unknown field gets a "did you mean" naming the
 *   nearest existing path; an unknown link or broker lists the known ones.
 * [EXPECT-4] A field whose value is null (a figure the run did not produce, e.g. a takeover that
 *   never happened) is not an error: the assertion fails with no measured value.
 * [EXPECT-5] A figure with no samples — a latency percentile of a class nothing was delivered
 *   in (its block's `count` is 0) — is "no data", not a 0 that passes `< 5ms`: the assertion
 *   fails. Written with `or none` (`latency.local.p99 < 5ms or none`), an assertion passes when
 *   the figure has no data or was not measured.
 */
import { distance } from 'fastest-levenshtein';
import { isParseFailure, parseBandwidth, parseDuration, parseSize } from './units.ts';

export type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** The comparison of each operator, as a table. */
const OPS: Readonly<Record<Op, (actual: number, expected: number) => boolean>> = {
  '<': (a, e) => a < e,
  '<=': (a, e) => a <= e,
  '>': (a, e) => a > e,
  '>=': (a, e) => a >= e,
  '==': (a, e) => a === e,
  '!=': (a, e) => a !== e,
};

/** Longest first, so `<=` is not read as `<` followed by `=`. */
const OP_TOKENS: readonly Op[] = ['<=', '>=', '==', '!=', '<', '>'];

/**
 * Friendly names, rewritten segment-wise before anything else: a path that starts with the
 * segments on the left continues with the segments on the right (`latency.local.p99` →
 * `latencyMs.local.p99`). Longest alias first.
 */
export const ALIASES: ReadonlyArray<readonly [alias: string, canonical: string]> = [
  ['delivered.ratio', 'messages.deliveredRatio'],
  ['duplicates.delivered', 'messages.duplicates'],
  ['duplicates.suppressed', 'messages.duplicatesSuppressed'],
  ['convergence.max', 'convergence.maxMs'],
  ['latency', 'latencyMs'],
  ['lost', 'messages.lost'],
];

// ---------------------------------------------------------------------------------------------
// Units

export type Dimension = 'duration' | 'bandwidth' | 'size' | 'none';

/** A field's unit: `symbol` as printed, `perBase` base units (ms, bit/s, bytes) in one of it. */
export interface FieldUnit {
  readonly symbol: string;
  readonly dimension: Dimension;
  readonly perBase: number;
}

const MS: FieldUnit = { symbol: 'ms', dimension: 'duration', perBase: 1 };
const US: FieldUnit = { symbol: 'µs', dimension: 'duration', perBase: 1e-3 };
const SECONDS: FieldUnit = { symbol: 's', dimension: 'duration', perBase: 1000 };
const MBPS: FieldUnit = { symbol: 'Mbps', dimension: 'bandwidth', perBase: 1e6 };
const BPS: FieldUnit = { symbol: 'bps', dimension: 'bandwidth', perBase: 1 };
const BYTES: FieldUnit = { symbol: 'bytes', dimension: 'size', perBase: 1 };
const NONE: FieldUnit = { symbol: '', dimension: 'none', perBase: 1 };

/**
 * [EXPECT-2] A field's unit from its name (units last, camelCase: `maxMs`, `mbpsPeak`,
 * `routingTableBytes`, also `detectMsMax`): the first rule whose pattern matches the last key.
 */
const FIELD_UNITS: ReadonlyArray<readonly [RegExp, FieldUnit]> = [
  [/mbps/i, MBPS],
  [/(^b|B)ps([A-Z]|$)/, BPS],
  [/(^m|M)s([A-Z]|$)/, MS],
  [/(^u|U|µ)s([A-Z]|$)/, US],
  [/(^s|S)econds([A-Z]|$)/, SECONDS],
  [/(^b|B)ytes([A-Z]|$)/, BYTES],
];

/** Statistics of a block named for its unit: `latencyMs.local.p99` is in ms, `.count` is not. */
const STATISTIC = /^(p\d+|mean|avg|median|min|max)$/;

/** The unit of a canonical field path (keys only; row selectors are skipped). */
export function fieldUnit(path: readonly Segment[]): FieldUnit {
  const keys = path.filter((s): s is KeySegment => s.kind === 'key').map((s) => s.name);
  const unitOf = (name: string) => FIELD_UNITS.find(([re]) => re.test(name))?.[1];
  const leaf = keys[keys.length - 1] ?? '';
  const own = unitOf(leaf);
  if (own !== undefined) return own;
  if (STATISTIC.test(leaf)) {
    for (let i = keys.length - 2; i >= 0; i--) {
      const u = unitOf(keys[i]!);
      if (u !== undefined) return u;
    }
  }
  return NONE;
}

/** What each kind of written unit is, for messages. */
const DIMENSION_NAMES: Readonly<Record<Dimension | 'percent', string>> = {
  duration: 'a duration',
  bandwidth: 'a bandwidth',
  size: 'a size',
  none: 'a plain number',
  percent: 'a percentage',
};

const UNIT_EXAMPLES: Readonly<Record<Dimension, string>> = {
  duration: '"500ms" or "1.5s"',
  bandwidth: '"800Mbps" or "1Gbps"',
  size: '"64MB" or "4KiB"',
  none: '"0.999" or "99.9%"',
};

const KNOWN_UNITS = 'a unit: ms, s, m (durations); bps, Kbps, Mbps, Gbps (bandwidth); B, KB, MB, GB, KiB, MiB, GiB (sizes); or %';

/** A written unit: which dimension, and base units (ms, bit/s, bytes) per one of it. */
function classifyUnit(unit: string): { dimension: Dimension | 'percent'; perBase: number } | undefined {
  if (unit === '%') return { dimension: 'percent', perBase: 0.01 };
  // The scenario files' own parsers decide what a unit is and how big it is.
  const parsers: ReadonlyArray<readonly [Dimension, (t: string) => number | { expected: string }]> = [
    ['duration', parseDuration],
    ['bandwidth', parseBandwidth],
    ['size', parseSize],
  ];
  for (const [dimension, parse] of parsers) {
    const one = parse(`1${unit}`);
    if (!isParseFailure(one)) return { dimension, perBase: one };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface KeySegment {
  readonly kind: 'key';
  readonly name: string;
}

/** `[…]` after a key: a row selector (`us-1>eu-1`, `eu-1`, `0`). */
export interface SelectSegment {
  readonly kind: 'select';
  readonly selector: string;
}

export type Segment = KeySegment | SelectSegment;

/** An assertion after parsing: the path canonical (aliases applied), the value in the field's unit. */
export interface ParsedAssertion {
  readonly text: string;
  /** The path as written (aliases not applied), for "did you mean". */
  readonly written: string;
  readonly path: readonly Segment[];
  /** The canonical path, e.g. `links[us-1>eu-1].mbpsPeak`. */
  readonly field: string;
  readonly op: Op;
  /** The value in the field's unit. */
  readonly expected: number;
  readonly unit: FieldUnit;
  /** [EXPECT-5] Written with `or none`. */
  readonly orNone: boolean;
}

/** Where a syntax or unit error is: a 1-based column in the assertion text. */
export interface SyntaxProblem {
  readonly column: number;
  /** Completes "expected …". */
  readonly expected: string;
  /** Completes "found …". */
  readonly found: string;
}

/** [EXPECT-3] A bad assertion: one line for the user. */
export class ExpectError extends Error {
  override readonly name = 'ExpectError';
  /** Set for syntax and unit errors. */
  readonly problem: SyntaxProblem | undefined;

  constructor(message: string, problem?: SyntaxProblem) {
    super(message);
    this.problem = problem;
  }
}

function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 40 ? `${q.slice(0, 36)}…"` : q;
}

/** "found …" for the text from `at` on. */
function foundAt(text: string, at: number): string {
  const rest = text.slice(at).trimEnd();
  return rest === '' ? 'the end of the assertion' : quote(rest);
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/y;
const UNIT = /[A-Za-zµ%]+/y;

function sticky(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(text)?.[0];
}

/**
 * Parses one assertion; throws a SyntaxProblem (not an Error) on bad input. A unit that does not
 * fit the field comes back as `misfit` instead, so that evaluation can first report a misspelled
 * field (whose inferred unit is meaningless) and only then the unit.
 */
function parse(text: string): Omit<ParsedAssertion, 'text'> & { readonly misfit?: SyntaxProblem } {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (expected: string, found = foundAt(text, i), at = i): never => {
    throw { column: at + 1, expected, found } satisfies SyntaxProblem;
  };

  ws();
  const written: Segment[] = [];
  const first = sticky(IDENT, text, i);
  if (first === undefined) fail('a field such as "messages.lost" or "latency.local.p99"');
  written.push({ kind: 'key', name: first! });
  i += first!.length;
  for (;;) {
    if (text[i] === '.') {
      i++;
      const name = sticky(IDENT, text, i);
      if (name === undefined) fail('a field name after "."');
      written.push({ kind: 'key', name: name! });
      i += name!.length;
    } else if (text[i] === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) fail('"]" closing the "[" at column ' + (i + 1), 'the end of the assertion', text.length);
      const selector = text
        .slice(i + 1, close)
        .trim()
        .replace(/\s*>\s*/, '>');
      if (selector === '') fail('a row inside "[ ]": a link "from>to", a broker id or an index', '"[]"');
      written.push({ kind: 'select', selector });
      i = close + 1;
    } else break;
  }
  const writtenText = formatPath(written);
  const path = applyAliases(written);

  ws();
  const op = OP_TOKENS.find((o) => text.startsWith(o, i));
  if (op === undefined) {
    fail('an operator (<, <=, >, >=, ==, !=)', text[i] === '=' && !/[=<>!]/.test(text[i + 1] ?? '') ? '"=" (compare with "==")' : foundAt(text, i));
  }
  i += op!.length;

  ws();
  const num = sticky(NUMBER, text, i);
  if (num === undefined) fail('a number, optionally with a unit, such as "0", "1.5s" or "99.9%"');
  let value = Number(num);
  i += num!.length;
  const unitAt = i;
  while (i < text.length && text[i] === ' ') i++;
  const unitText = sticky(UNIT, text, i);
  const unit = fieldUnit(path);
  let misfit: SyntaxProblem | undefined;
  if (unitText === undefined) {
    i = unitAt;
  } else {
    const u = classifyUnit(unitText);
    if (u === undefined) fail(KNOWN_UNITS, quote(unitText), i);
    const fits = u!.dimension === unit.dimension || (u!.dimension === 'percent' && unit.dimension === 'none');
    if (!fits) {
      const field = formatPath(path);
      const expected =
        unit.dimension === 'none'
          ? `a plain number or a percentage (the field "${field}" has no unit)`
          : `${DIMENSION_NAMES[unit.dimension]} such as ${UNIT_EXAMPLES[unit.dimension]}, or a plain number in ${unit.symbol} (the field "${field}" is in ${unit.symbol})`;
      misfit = { column: i + 1, expected, found: `${quote(unitText)} (${DIMENSION_NAMES[u!.dimension]})` };
    } else {
      // Twelve significant digits: 99.9% is 0.999, not 0.9990000000000001.
      value = Number(((value * u!.perBase) / unit.perBase).toPrecision(12));
    }
    i += unitText.length;
  }
  ws();
  let orNone = false;
  const tail = /^or\s+none\b/.exec(text.slice(i));
  if (tail !== null) {
    orNone = true;
    i += tail[0].length;
    ws();
  }
  if (i < text.length) fail(orNone ? 'the end of the assertion' : 'the end of the assertion, or "or none"', foundAt(text, i));
  const parsed = { written: writtenText, path, field: formatPath(path), op: op!, expected: value, unit, orNone };
  return misfit === undefined ? parsed : { ...parsed, misfit };
}

function isSyntaxProblem(e: unknown): e is SyntaxProblem {
  return typeof e === 'object' && e !== null && 'column' in e && 'expected' in e && 'found' in e && !(e instanceof Error);
}

/**
 * [EXPECT-1] Syntax and units only (no summary needed), for the scenario loader: null when the
 * assertion is well-formed, else where and why.
 */
export function checkAssertionSyntax(text: string): SyntaxProblem | null {
  try {
    return parse(text).misfit ?? null;
  } catch (e) {
    if (isSyntaxProblem(e)) return e;
    throw e;
  }
}

/** "assertion 2 ("x == 0")", as messages name an assertion. */
function named(text: string, index: number): string {
  return `assertion ${index} (${quote(text)})`;
}

function syntaxError(text: string, index: number, p: SyntaxProblem): ExpectError {
  return new ExpectError(`${named(text, index)}, column ${p.column}: expected ${p.expected}, found ${p.found}`, p);
}

/** Syntax errors thrown as ExpectError; a unit misfit returned, not thrown. */
function parseOrThrow(text: string, index: number): ParsedAssertion & { readonly misfit?: SyntaxProblem } {
  try {
    return { text, ...parse(text) };
  } catch (e) {
    if (!isSyntaxProblem(e)) throw e;
    throw syntaxError(text, index, e);
  }
}

/** Parses an assertion; `index` (1-based) names it in messages. Throws ExpectError. */
export function parseAssertion(text: string, index = 1): ParsedAssertion {
  const { misfit, ...a } = parseOrThrow(text, index);
  if (misfit !== undefined) throw syntaxError(text, index, misfit);
  return a;
}

/** `links[us-1>eu-1].mbpsPeak`. */
export function formatPath(path: readonly Segment[]): string {
  return path.map((s, i) => (s.kind === 'select' ? `[${s.selector}]` : i === 0 ? s.name : `.${s.name}`)).join('');
}

function applyAliases(path: readonly Segment[]): Segment[] {
  for (const [alias, canonical] of ALIASES) {
    const from = alias.split('.');
    if (from.length > path.length) continue;
    if (from.every((name, i) => path[i]!.kind === 'key' && (path[i] as KeySegment).name === name)) {
      return [...canonical.split('.').map((name): Segment => ({ kind: 'key', name })), ...path.slice(from.length)];
    }
  }
  return [...path];
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** One assertion checked against a summary. */
export interface AssertionResult {
  readonly text: string;
  /** Canonical path, e.g. `messages.deliveredRatio`. */
  readonly field: string;
  readonly op: Op;
  /** The value in the field's unit. */
  readonly expected: number;
  /** undefined when the field is null: the run did not produce that figure ([EXPECT-4]). */
  readonly actual: number | undefined;
  /** [EXPECT-5] The figure has no samples (its block's count is 0). */
  readonly noData: boolean;
  /** Written with `or none`: no data or not measured passes. */
  readonly orNone: boolean;
  readonly pass: boolean;
  /** The field's unit symbol ("ms", "Mbps", "bytes", …; "" when it has none). */
  readonly unit: string;
}

/**
 * Checks one assertion against a summary (the summary.json object). `index` (1-based) names the
 * assertion in messages. Throws ExpectError for a bad assertion; a false one is `pass: false`.
 */
export function evaluateAssertion(text: string, summary: Readonly<Record<string, unknown>>, index = 1): AssertionResult {
  const a = parseOrThrow(text, index);
  const got = resolve(a, summary, index);
  if (a.misfit !== undefined) throw syntaxError(text, index, a.misfit);
  const noData = got === NO_DATA;
  const actual = got === NO_DATA || got === null ? undefined : got;
  return {
    text,
    field: a.field,
    op: a.op,
    expected: a.expected,
    actual,
    noData,
    orNone: a.orNone,
    pass: actual === undefined ? a.orNone : OPS[a.op](actual, a.expected),
    unit: a.unit.symbol,
  };
}

/** Every assertion of a scenario, each either checked or the reason it could not be. */
export function evaluateAssertions(texts: readonly string[], summary: Readonly<Record<string, unknown>>): Array<AssertionResult | ExpectError> {
  return texts.map((t, i) => {
    try {
      return evaluateAssertion(t, summary, i + 1);
    } catch (e) {
      if (e instanceof ExpectError) return e;
      throw e;
    }
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a list's rows are called in messages. */
const ROW_NAMES: Readonly<Record<string, string>> = { links: 'link', brokers: 'broker', faults: 'fault' };

/** A row's own name in a selector: `from>to` for links, `id` for rows that have one. */
function rowKey(row: unknown): string | undefined {
  if (!isRecord(row)) return undefined;
  if (typeof row.from === 'string' && typeof row.to === 'string') return `${row.from}>${row.to}`;
  if (typeof row.id === 'string') return row.id;
  return undefined;
}

function listOf(items: readonly string[], max = 16): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, … (${items.length} in all)`;
}

/** [EXPECT-5] */
const NO_DATA = Symbol('no data');

/** The field's number, null when the summary holds null there, NO_DATA when it has no samples. Throws ExpectError. */
function resolve(a: ParsedAssertion, summary: Readonly<Record<string, unknown>>, index: number): number | null | typeof NO_DATA {
  let cur: unknown = summary;
  let parent: unknown;
  let listName = '';
  for (let k = 0; k < a.path.length; k++) {
    const seg = a.path[k]!;
    const here = formatPath(a.path.slice(0, k));
    if (seg.kind === 'key') {
      if (!isRecord(cur) || !Object.hasOwn(cur, seg.name)) throw unknownField(a, summary, index, here, cur);
      parent = cur;
      cur = cur[seg.name];
      listName = seg.name;
      continue;
    }
    if (!Array.isArray(cur)) {
      throw new ExpectError(`"${here}" in ${named(a.text, index)} is not a list, so "[${seg.selector}]" selects nothing`);
    }
    const rows: readonly unknown[] = cur;
    const what = ROW_NAMES[listName] ?? 'row';
    const keys = rows.map(rowKey);
    if (keys.some((x) => x !== undefined)) {
      let at = keys.indexOf(seg.selector);
      if (at < 0 && /^\d+$/.test(seg.selector) && Number(seg.selector) < rows.length) at = Number(seg.selector);
      if (at < 0) {
        throw new ExpectError(`unknown ${what} "${seg.selector}" in ${named(a.text, index)}; known ${what}s: ${listOf(keys.filter((x): x is string => x !== undefined))}`);
      }
      cur = rows[at];
    } else if (/^\d+$/.test(seg.selector)) {
      const n = Number(seg.selector);
      if (n >= rows.length) {
        const range = rows.length === 0 ? `"${here}" is empty` : `"${here}" has ${rows.length} ${what}${rows.length === 1 ? '' : 's'} (${here}[0]..${here}[${rows.length - 1}])`;
        throw new ExpectError(`${here}[${n}] in ${named(a.text, index)} is out of range: ${range}`);
      }
      cur = rows[n];
    } else {
      throw new ExpectError(`"${here}[${seg.selector}]" in ${named(a.text, index)}: the rows of "${here}" are selected by index, e.g. ${here}[0]`);
    }
  }
  if (cur === null) return null;
  const last = a.path[a.path.length - 1];
  if (typeof cur === 'number' && isRecord(parent) && parent.count === 0 && last?.kind === 'key' && last.name !== 'count') return NO_DATA;
  if (typeof cur === 'number') return cur;
  const kind = Array.isArray(cur) ? 'a list' : isRecord(cur) ? 'a map' : typeof cur === 'string' ? `the text ${quote(cur)}` : String(cur);
  const inside = isRecord(cur) ? numericKeys(cur) : [];
  const hint =
    inside.length > 0
      ? `; its numbers: ${listOf(
          inside.map((n) => `${a.field}.${n}`),
          8,
        )}`
      : '';
  throw new ExpectError(`field "${a.field}" in ${named(a.text, index)} is ${kind}, not a number${hint}`);
}

function numericKeys(r: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(r).filter((k) => typeof r[k] === 'number' || r[k] === null);
}

function unknownField(a: ParsedAssertion, summary: Readonly<Record<string, unknown>>, index: number, here: string, cur: unknown): ExpectError {
  const lead = `unknown field "${a.written}" in ${named(a.text, index)}`;
  const near = nearest(a.written, numericPaths(summary));
  if (near !== undefined) return new ExpectError(`${lead}; did you mean "${near}"?`);
  if (!isRecord(cur)) return new ExpectError(`${lead}; "${here}" is not a map`);
  // No whole path is near: look for the one misspelled key at the level where the path broke.
  const keys = Object.keys(cur);
  const missing = a.path.find((s, k) => s.kind === 'key' && formatPath(a.path.slice(0, k)) === here) as KeySegment | undefined;
  const known = here === '' ? [...keys, ...ALIASES.map(([alias]) => alias.split('.')[0]!)] : keys;
  const key = missing === undefined ? undefined : nearest(missing.name, known);
  const where = here === '' ? 'at the top' : `of "${here}"`;
  if (key !== undefined) return new ExpectError(`${lead}; did you mean "${here === '' ? key : `${here}.${key}`}"? (fields ${where}: ${listOf(keys)})`);
  return new ExpectError(`${lead}; fields ${where}: ${listOf(keys)}`);
}

/** Every path in the summary that holds a number (or null), canonical and through aliases. */
export function numericPaths(summary: Readonly<Record<string, unknown>>): string[] {
  const canonical: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'number' || v === null) canonical.push(path);
    else if (Array.isArray(v)) v.forEach((row, i) => walk(row, `${path}[${rowKey(row) ?? i}]`));
    else if (isRecord(v)) for (const k of Object.keys(v)) walk(v[k], path === '' ? k : `${path}.${k}`);
  };
  walk(summary, '');
  const aliased: string[] = [];
  for (const p of canonical) {
    for (const [alias, target] of ALIASES) {
      if (p === target || p.startsWith(`${target}.`) || p.startsWith(`${target}[`)) aliased.push(alias + p.slice(target.length));
    }
  }
  return [...canonical, ...aliased];
}

/** The known path nearest to `written`, if near enough to be a typo (about one edit in six). */
function nearest(written: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    if (Math.abs(k.length - written.length) >= bestD) continue;
    const d = k.toLowerCase() === written.toLowerCase() ? 0.5 : distance(written, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(written.length / 6)) ? best : undefined;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** A number as the test report shows it: exact up to 8 significant digits, with its unit. */
export function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined) return 'not measured';
  const n = Number.isInteger(value) ? value.toLocaleString('en-US') : Number(value.toPrecision(8)).toLocaleString('en-US', { maximumFractionDigits: 8 });
  return unit === '' ? n : `${n} ${unit}`;
}

/** The measured side of a result for tables: the value, "no data" [EXPECT-5] or "not measured". */
export function actualText(r: AssertionResult): string {
  return r.noData ? 'no data' : formatValue(r.actual, r.unit);
}

/** "convergence.maxMs = 1,840 ms, expected < 1,500 ms", for failure messages. */
export function describeResult(r: AssertionResult): string {
  const measured = r.noData ? `${r.field}: no data (no samples)` : r.actual === undefined ? `${r.field} was not measured (null)` : `${r.field} = ${formatValue(r.actual, r.unit)}`;
  return `${measured}, expected ${r.op} ${formatValue(r.expected, r.unit)}${r.orNone ? ' or none' : ''}`;
}

/** Summary fields only the invariant checker (sim/invariants.ts) produces. */
const CHECKED_FIELDS = ['messages.lost', 'messages.deliveredRatio', 'invariants'];

/**
 * Whether any of these assertions reads a figure only the invariant checker produces, so a run
 * must check (it costs memory per event; off by default for big capacity-planning meshes).
 * Unparseable assertions are ignored here; evaluation reports them.
 */
export function assertionsNeedChecker(texts: readonly string[]): boolean {
  return texts.some((t) => {
    const a = tryParse(t);
    return a !== null && CHECKED_FIELDS.some((f) => a.field === f || a.field.startsWith(`${f}.`));
  });
}

function tryParse(text: string): ParsedAssertion | null {
  try {
    return parseAssertion(text);
  } catch (e) {
    if (e instanceof ExpectError) return null;
    throw e;
  }
}
