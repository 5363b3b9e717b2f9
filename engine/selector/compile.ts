/**
 * Selector compiler: AST → nested closures, built once per selector.
 *
 * Evaluation is SQL three-valued logic over header values ([SEL-3VL]): every closure returns a
 * `Value`, where `null` stands for NULL/unknown. A missing header is NULL (but see [SEL-ATTR] for
 * the five envelope attributes); an operator whose
 * operands are NULL or of the wrong runtime type yields unknown (no implicit conversions:
 * `'10' = 10` is unknown, `flag < TRUE` is unknown); AND/OR/NOT follow SQL's truth tables; a
 * selector matches only if its value is exactly TRUE.
 *
 * Evaluation allocates nothing per call: closures pass primitives around, IN uses prebuilt
 * Sets, LIKE a prebuilt RegExp, and n-ary AND/OR loop over an array built at compile time.
 */

import { type Headers, SPECVERSION } from '../types.ts';
import type { Expr, LikePart } from './parser.ts';

/**
 * What a selector reads: an event's headers, and the envelope attributes that an identifier not
 * in the headers falls back to [SEL-ATTR]. An `Envelope` is one; so is a broker's `PublishInput`,
 * which has no `specversion` (the broker stamps "1.0" on every envelope, so that is what it reads).
 */
export interface SelectorEvent {
  readonly headers: Headers;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly topic: string;
  readonly specversion?: string;
}

/** A runtime value; `null` is SQL NULL / unknown. */
export type Value = string | number | boolean | null;
type Eval = (ev: SelectorEvent) => Value;

const hasOwn = Object.hasOwn;

/** Compiles a parsed selector into its `matches` function. */
export function compile(e: Expr): (ev: SelectorEvent) => boolean {
  const root = compileExpr(e);
  return (ev) => root(ev) === true;
}

/** A boolean operand of AND/OR/NOT: anything that is not TRUE or FALSE is unknown. */
function truth(v: Value): boolean | null {
  return v === true || v === false ? v : null;
}

function not3(v: boolean | null): boolean | null {
  return v === null ? null : !v;
}

/** `a <= b` for two numbers or two strings; unknown otherwise. */
function lessOrEqual(a: Value, b: Value): boolean | null {
  if (a === null || b === null) return null;
  const t = typeof a;
  if (t !== typeof b || t === 'boolean') return null;
  return (a as number) <= (b as number);
}

function and3(x: boolean | null, y: boolean | null): boolean | null {
  if (x === false || y === false) return false;
  return x === null || y === null ? null : true;
}

export function compileExpr(e: Expr): Eval {
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'ident':
      return lookup(e.name);
    case 'unary': {
      const f = compileExpr(e.operand);
      if (e.op === '-') {
        return (ev) => {
          const v = f(ev);
          return typeof v === 'number' ? -v : null;
        };
      }
      return (ev) => {
        const v = f(ev);
        return typeof v === 'number' ? v : null;
      };
    }
    case 'arith':
      return compileArith(e.op, compileExpr(e.left), compileExpr(e.right));
    case 'compare':
      return compileCompare(e.op, compileExpr(e.left), compileExpr(e.right));
    case 'and':
      return compileAnd(e.operands.map(compileExpr));
    case 'or':
      return compileOr(e.operands.map(compileExpr));
    case 'not': {
      const f = compileExpr(e.operand);
      return (ev) => not3(truth(f(ev)));
    }
    case 'between': {
      // [SEL-BETWEEN] x BETWEEN a AND b  ≡  a <= x AND x <= b, with three-valued AND.
      const fv = compileExpr(e.value);
      const fl = compileExpr(e.low);
      const fh = compileExpr(e.high);
      const between: Eval = (ev) => {
        const v = fv(ev);
        return and3(lessOrEqual(fl(ev), v), lessOrEqual(v, fh(ev)));
      };
      return e.negated ? (ev) => not3(between(ev) as boolean | null) : between;
    }
    case 'in':
      return compileIn(compileExpr(e.value), e.items, e.negated);
    case 'like': {
      const f = compileExpr(e.value);
      const re = likeRegExp(e.parts);
      const negated = e.negated;
      return (ev) => {
        const v = f(ev);
        if (typeof v !== 'string') return null;
        return re.test(v) !== negated;
      };
    }
    case 'isNull': {
      const f = compileExpr(e.value);
      return e.negated ? (ev) => f(ev) !== null : (ev) => f(ev) === null;
    }
    default: {
      const never: never = e;
      return never;
    }
  }
}

/**
 * A header by key. Only own properties count (a header named `toString` is not the prototype's
 * method); values that are not strings, finite-or-infinite numbers or booleans are NULL, and
 * so is NaN ([SEL-NAN]: NaN is unknown everywhere).
 *
 * [SEL-ATTR] `id`, `source`, `type`, `specversion` and `topic` are also the envelope's own
 * attributes: when the headers have no key of that name, the identifier reads the attribute (so
 * `type = 'com.acme.order'` works although the edge does not copy `type` into the headers). A
 * header of the same name wins — a publisher's data field `type` is what `type` means for that
 * event. Which names fall back is decided here, at compile time; every other name is a header only.
 */
function lookup(name: string): Eval {
  switch (name) {
    case 'id':
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : ev.id);
    case 'source':
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : ev.source);
    case 'type':
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : ev.type);
    case 'specversion':
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : (ev.specversion ?? SPECVERSION));
    case 'topic':
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : ev.topic);
    default:
      return (ev) => (hasOwn(ev.headers, name) ? headerValue(ev.headers[name]) : null);
  }
}

/** A header's value as a selector sees it: a string, boolean or non-NaN number, else NULL. */
function headerValue(v: unknown): Value {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return v === v ? v : null;
    default:
      return null;
  }
}

/**
 * [SEL-ARITH] Arithmetic on two numbers (IEEE doubles; `/` is not integer division); anything
 * else is unknown, as is division by zero and a NaN result.
 */
function compileArith(op: '+' | '-' | '*' | '/', l: Eval, r: Eval): Eval {
  switch (op) {
    case '+':
      return (ev) => {
        const a = l(ev);
        if (typeof a !== 'number') return null;
        const b = r(ev);
        if (typeof b !== 'number') return null;
        const x = a + b;
        return x === x ? x : null;
      };
    case '-':
      return (ev) => {
        const a = l(ev);
        if (typeof a !== 'number') return null;
        const b = r(ev);
        if (typeof b !== 'number') return null;
        const x = a - b;
        return x === x ? x : null;
      };
    case '*':
      return (ev) => {
        const a = l(ev);
        if (typeof a !== 'number') return null;
        const b = r(ev);
        if (typeof b !== 'number') return null;
        const x = a * b;
        return x === x ? x : null;
      };
    case '/':
      return (ev) => {
        const a = l(ev);
        if (typeof a !== 'number') return null;
        const b = r(ev);
        if (typeof b !== 'number' || b === 0) return null;
        const x = a / b;
        return x === x ? x : null;
      };
    default: {
      const never: never = op;
      return never;
    }
  }
}

/**
 * [SEL-CMP] Comparisons: both sides must be the same runtime type, else unknown. Numbers and
 * strings (by UTF-16 code units) take every operator; booleans only `=` and `<>`.
 */
function compileCompare(op: '=' | '<>' | '<' | '<=' | '>' | '>=', l: Eval, r: Eval): Eval {
  switch (op) {
    case '=':
      return (ev) => {
        const a = l(ev);
        if (a === null) return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a === b;
      };
    case '<>':
      return (ev) => {
        const a = l(ev);
        if (a === null) return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a !== b;
      };
    case '<':
      return (ev) => {
        const a = l(ev);
        if (a === null || typeof a === 'boolean') return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a < (b as typeof a);
      };
    case '<=':
      return (ev) => {
        const a = l(ev);
        if (a === null || typeof a === 'boolean') return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a <= (b as typeof a);
      };
    case '>':
      return (ev) => {
        const a = l(ev);
        if (a === null || typeof a === 'boolean') return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a > (b as typeof a);
      };
    case '>=':
      return (ev) => {
        const a = l(ev);
        if (a === null || typeof a === 'boolean') return null;
        const b = r(ev);
        if (b === null || typeof a !== typeof b) return null;
        return a >= (b as typeof a);
      };
    default: {
      const never: never = op;
      return never;
    }
  }
}

/** [SEL-3VL] FALSE if any operand is FALSE, else unknown if any is unknown, else TRUE. */
function compileAnd(fs: readonly Eval[]): Eval {
  if (fs.length === 2) {
    const [f, g] = fs as [Eval, Eval];
    return (ev) => {
      const a = truth(f(ev));
      if (a === false) return false;
      const b = truth(g(ev));
      if (b === false) return false;
      return a === null || b === null ? null : true;
    };
  }
  const n = fs.length;
  return (ev) => {
    let unknown = false;
    for (let i = 0; i < n; i++) {
      const v = (fs[i] as Eval)(ev);
      if (v === false) return false;
      if (v !== true) unknown = true;
    }
    return unknown ? null : true;
  };
}

/** [SEL-3VL] TRUE if any operand is TRUE, else unknown if any is unknown, else FALSE. */
function compileOr(fs: readonly Eval[]): Eval {
  if (fs.length === 2) {
    const [f, g] = fs as [Eval, Eval];
    return (ev) => {
      const a = truth(f(ev));
      if (a === true) return true;
      const b = truth(g(ev));
      if (b === true) return true;
      return a === null || b === null ? null : false;
    };
  }
  const n = fs.length;
  return (ev) => {
    let unknown = false;
    for (let i = 0; i < n; i++) {
      const v = (fs[i] as Eval)(ev);
      if (v === true) return true;
      if (v !== false) unknown = true;
    }
    return unknown ? null : false;
  };
}

/**
 * [SEL-IN] x IN (a, b, ...) ≡ x = a OR x = b OR ...: TRUE on a same-type match; otherwise
 * unknown if some item has another type than x (that comparison is unknown), else FALSE.
 */
function compileIn(f: Eval, items: readonly (string | number)[], negated: boolean): Eval {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  for (const item of items) {
    if (typeof item === 'string') strings.add(item);
    else numbers.add(item);
  }
  const onlyStrings = numbers.size === 0;
  const onlyNumbers = strings.size === 0;
  const isIn: Eval = (ev) => {
    const v = f(ev);
    if (typeof v === 'string') return strings.has(v) ? true : onlyStrings ? false : null;
    if (typeof v === 'number') return numbers.has(v) ? true : onlyNumbers ? false : null;
    return null; // NULL, or a boolean: no item has its type
  };
  return negated ? (ev) => not3(isIn(ev) as boolean | null) : isIn;
}

/** Letters and digits go into the RegExp as they are; everything else as `\u{…}`. */
function regexChar(ch: string): string {
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  return `\\u{${(ch.codePointAt(0) as number).toString(16)}}`;
}

function regexSegment(parts: readonly LikePart[]): string {
  let s = '';
  for (const p of parts) s += p.kind === 'one' ? '.' : p.kind === 'char' ? regexChar(p.char) : '';
  return s;
}

/**
 * [SEL-LIKE] Compiles a LIKE pattern to one anchored RegExp (flags `su`: `_` is any one code
 * point, newlines included). Literal characters are written as `\u{…}` escapes, so no regex
 * metacharacter in a pattern (`.`, `(`, `*`, `\`, ...) has any meaning.
 *
 * Patterns come from remote subscribers, so the RegExp must not backtrack catastrophically:
 * `%a%a%a%b` as `.*a.*a.*a.*b` is exponential-ish on long inputs. Between the first and last
 * `%`, each fixed-length segment is matched at its earliest position and never revisited:
 * `(?=(.*?seg))\k` is an atomic group (a lookahead does not backtrack into itself), and the
 * earliest placement is always safe because the `%` after it can absorb whatever follows.
 * Only the final `.*last$` backtracks, linearly.
 */
export function likeRegExp(parts: readonly LikePart[]): RegExp {
  const segments: LikePart[][] = [[]];
  for (const p of parts) {
    if (p.kind === 'many') segments.push([]);
    else (segments[segments.length - 1] as LikePart[]).push(p);
  }
  let source = '^' + regexSegment(segments[0] as LikePart[]);
  if (segments.length > 1) {
    let group = 0;
    for (let i = 1; i < segments.length - 1; i++) {
      const seg = regexSegment(segments[i] as LikePart[]);
      if (seg === '') continue;
      group++;
      source += `(?=(.*?${seg}))(?:\\${group})`;
    }
    source += '.*' + regexSegment(segments[segments.length - 1] as LikePart[]);
  }
  return new RegExp(source + '$', 'su');
}
