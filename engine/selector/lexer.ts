/**
 * Selector lexer: turns selector source into tokens, one at a time, on demand.
 *
 * Lazy on purpose: the parser asks for the next token only when it needs it, so the error a
 * user sees is the first one by position (`) #` reports the `)`, not the `#`).
 *
 * Positions are 0-based UTF-16 offsets into the source (what `string.length` counts).
 */

/**
 * A selector that does not parse: where (`position`, a 0-based char offset into the source)
 * and why (`reason`, without the position). `message` says both, e.g.
 * "expected ')' at 17, found end of input".
 */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  /** 0-based char (UTF-16 code unit) offset into the selector source. */
  readonly position: number;
  /** What went wrong, without the position, e.g. "expected ')', found end of input". */
  readonly reason: string;

  constructor(position: number, reason: string, message: string = `${reason} at ${position}`) {
    super(message);
    this.position = position;
    this.reason = reason;
  }
}

/** "expected X at P, found Y": the shape of nearly every selector error. */
export function expectedError(position: number, expected: string, found: string): SelectorError {
  return new SelectorError(position, `expected ${expected}, found ${found}`, `expected ${expected} at ${position}, found ${found}`);
}

/** Reserved words, matched case-insensitively; they are never identifiers. */
export const KEYWORDS = ['AND', 'OR', 'NOT', 'BETWEEN', 'IN', 'LIKE', 'ESCAPE', 'IS', 'NULL', 'TRUE', 'FALSE'] as const;
export type Keyword = (typeof KEYWORDS)[number];
const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

/** Operators and punctuation. `!=` is lexed as its own token; the parser treats it as `<>`. */
export type Punct = '=' | '<>' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '(' | ')' | ',';

export type Token =
  | { readonly kind: 'ident'; readonly name: string; readonly pos: number; readonly end: number }
  | { readonly kind: 'string'; readonly value: string; readonly pos: number; readonly end: number }
  | { readonly kind: 'number'; readonly value: number; readonly pos: number; readonly end: number }
  | { readonly kind: 'keyword'; readonly keyword: Keyword; readonly pos: number; readonly end: number }
  | { readonly kind: 'punct'; readonly punct: Punct; readonly pos: number; readonly end: number }
  | { readonly kind: 'eof'; readonly pos: number; readonly end: number };

const MAX_SHOWN = 40;

/** How an error message names a token it found, e.g. `')'`, `identifier amount`, `end of input`. */
export function describeToken(source: string, token: Token): string {
  const text = source.slice(token.pos, token.end);
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
  switch (token.kind) {
    case 'eof':
      return 'end of input';
    case 'ident':
      return `identifier ${shown}`;
    case 'string':
      return `string ${shown}`;
    case 'number':
      return `number ${shown}`;
    case 'keyword':
    case 'punct':
      return `'${shown}'`;
    default: {
      const never: never = token;
      return never;
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const LETTER = /^\p{L}$/u;
const IDENT_PART_EXTRA = /^[\p{N}\p{M}\p{Pc}]$/u;

/** Identifiers start with a letter, `_` or `$` (JMS: a Java identifier start). */
function isIdentStart(cp: number): boolean {
  if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f || cp === 0x24) {
    return true;
  }
  return cp > 0x7f && LETTER.test(String.fromCodePoint(cp));
}

/** ...and go on with letters, digits, `_`, `$` and `.` (so `headers.x` is one identifier). */
function isIdentPart(cp: number): boolean {
  if (isIdentStart(cp) || isDigit(cp) || cp === 0x2e) return true;
  return cp > 0x7f && IDENT_PART_EXTRA.test(String.fromCodePoint(cp));
}

function isSpace(c: number): boolean {
  // space, \t, \n, \v, \f, \r
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Hands out tokens one by one; `next()` after the end keeps returning `eof`. */
export class Lexer {
  private offset = 0;

  constructor(private readonly source: string) {}

  next(): Token {
    const src = this.source;
    let i = this.offset;
    while (i < src.length && isSpace(src.charCodeAt(i))) i++;
    const start = i;
    if (i >= src.length) {
      this.offset = i;
      return { kind: 'eof', pos: src.length, end: src.length };
    }
    const c = src.charCodeAt(i);
    const cp = src.codePointAt(i) as number;

    if (c === 0x27 /* ' */) return this.quoted(start, 0x27);
    if (c === 0x22 /* " */) return this.quoted(start, 0x22);
    if (isDigit(c) || (c === 0x2e /* . */ && isDigit(src.charCodeAt(i + 1)))) {
      return this.number(start);
    }
    if (isIdentStart(cp)) {
      i += cp > 0xffff ? 2 : 1;
      while (i < src.length) {
        const p = src.codePointAt(i) as number;
        if (!isIdentPart(p)) break;
        i += p > 0xffff ? 2 : 1;
      }
      this.offset = i;
      const name = src.slice(start, i);
      const upper = name.toUpperCase();
      if (KEYWORD_SET.has(upper)) {
        return { kind: 'keyword', keyword: upper as Keyword, pos: start, end: i };
      }
      return { kind: 'ident', name, pos: start, end: i };
    }

    const two = src.slice(i, i + 2);
    if (two === '<>' || two === '!=' || two === '<=' || two === '>=') {
      this.offset = i + 2;
      return { kind: 'punct', punct: two, pos: start, end: i + 2 };
    }
    const one = src[i];
    switch (one) {
      case '=':
      case '<':
      case '>':
      case '+':
      case '-':
      case '*':
      case '/':
      case '(':
      case ')':
      case ',':
        this.offset = i + 1;
        return { kind: 'punct', punct: one, pos: start, end: i + 1 };
      default: {
        const ch = String.fromCodePoint(cp);
        const shown = cp < 0x20 || cp === 0x7f ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
        throw new SelectorError(start, `unexpected character ${shown}`);
      }
    }
  }

  /**
   * A 'string literal' or a "quoted identifier" (an extension for header keys that are not
   * identifiers, like "content-type"); a doubled quote inside stands for one quote.
   */
  private quoted(start: number, quote: number): Token {
    const src = this.source;
    let value = '';
    let runStart = start + 1;
    let i = start + 1;
    for (;;) {
      if (i >= src.length) {
        const what = quote === 0x27 ? 'string literal' : 'quoted identifier';
        throw new SelectorError(start, `unterminated ${what}`);
      }
      if (src.charCodeAt(i) === quote) {
        value += src.slice(runStart, i);
        if (src.charCodeAt(i + 1) === quote) {
          value += src[i];
          i += 2;
          runStart = i;
          continue;
        }
        i++;
        break;
      }
      i++;
    }
    this.offset = i;
    if (quote === 0x27) return { kind: 'string', value, pos: start, end: i };
    if (value.length === 0) throw new SelectorError(start, 'empty quoted identifier');
    return { kind: 'ident', name: value, pos: start, end: i };
  }

  /** Integers, decimals (`1.5`, `.5`, `1.`) and exponents (`1e3`, `2.5E-3`). */
  private number(start: number): Token {
    const src = this.source;
    let i = start;
    while (isDigit(src.charCodeAt(i))) i++;
    if (src.charCodeAt(i) === 0x2e) {
      i++;
      while (isDigit(src.charCodeAt(i))) i++;
    }
    const e = src.charCodeAt(i);
    if (e === 0x65 || e === 0x45 /* e E */) {
      let j = i + 1;
      const sign = src.charCodeAt(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (!isDigit(src.charCodeAt(j))) {
        const found = j >= src.length ? 'end of input' : `'${String.fromCodePoint(src.codePointAt(j) as number)}'`;
        throw expectedError(j, 'a digit in the exponent', found);
      }
      while (isDigit(src.charCodeAt(j))) j++;
      i = j;
    }
    // `12abc`, `1.2.3`: reject here rather than as two odd tokens later.
    if (i < src.length) {
      const next = src.codePointAt(i) as number;
      if (isIdentPart(next)) {
        let j = i;
        while (j < src.length) {
          const p = src.codePointAt(j) as number;
          if (!isIdentPart(p)) break;
          j += p > 0xffff ? 2 : 1;
        }
        const text = src.slice(start, Math.min(j, start + MAX_SHOWN));
        throw new SelectorError(start, `malformed number ${text}`);
      }
    }
    const value = Number(src.slice(start, i));
    if (!Number.isFinite(value)) {
      throw new SelectorError(start, `number out of range ${src.slice(start, i)}`);
    }
    this.offset = i;
    return { kind: 'number', value, pos: start, end: i };
  }
}
