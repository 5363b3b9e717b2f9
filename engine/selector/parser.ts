/**
 * Selector parser: recursive descent from tokens to an AST, with a light static type check.
 *
 * Grammar (lowest precedence first; keywords are case-insensitive):
 *
 *   selector   := or EOF                                  (must be a condition)
 *   or         := and (OR and)*
 *   and        := not (AND not)*
 *   not        := NOT not | predicate
 *   predicate  := additive [ cmpOp additive
 *                          | [NOT] BETWEEN additive AND additive
 *                          | [NOT] IN '(' item (',' item)* ')'
 *                          | [NOT] LIKE string [ESCAPE string]
 *                          | IS [NOT] NULL ]
 *   additive   := multiplicative (('+' | '-') multiplicative)*
 *   multiplicative := unary (('*' | '/') unary)*
 *   unary      := ('-' | '+') unary | primary
 *   primary    := literal | identifier | '(' or ')'
 *   cmpOp      := '=' | '<>' | '!=' | '<' | '<=' | '>' | '>='
 *   item       := string | ['-' | '+'] number
 *
 * Comparisons do not chain (`a = b = c` is an error; write `(a = b) = c`).
 *
 * [SEL-TYPE] Static check: an identifier's type is only known at evaluation time, but a
 * literal's or an operator's is known now, so `1 + 'a'`, `'a' AND x`, `TRUE < 1` and a selector
 * that is just `42` are rejected here with a position instead of silently never matching.
 *
 * [SEL-DEPTH] Nesting is bounded (MAX_SELECTOR_DEPTH) so a hostile selector from a peer cannot
 * overflow the stack while parsing, compiling or evaluating. AND/OR chains are flat (n-ary),
 * so a long `a = 1 OR a = 2 OR ...` list does not count against the bound.
 */

import { Lexer, SelectorError, describeToken, expectedError, type Keyword, type Token } from './lexer.ts';

/** How deep an expression may nest (parentheses, NOT, unary signs, operator chains). */
export const MAX_SELECTOR_DEPTH = 200;

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/';

/** One element of a parsed LIKE pattern: a literal character (code point), `_` or `%`. */
export type LikePart = { readonly kind: 'char'; readonly char: string } | { readonly kind: 'one' } | { readonly kind: 'many' };

/** A selector AST node. `pos` is the 0-based source offset where the node's text starts. */
export type Expr =
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null; readonly pos: number }
  | { readonly kind: 'ident'; readonly name: string; readonly pos: number }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly operand: Expr; readonly pos: number }
  | { readonly kind: 'arith'; readonly op: ArithOp; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly kind: 'and'; readonly operands: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'or'; readonly operands: readonly Expr[]; readonly pos: number }
  | { readonly kind: 'not'; readonly operand: Expr; readonly pos: number }
  | {
      readonly kind: 'between';
      readonly negated: boolean;
      readonly value: Expr;
      readonly low: Expr;
      readonly high: Expr;
      readonly pos: number;
    }
  | {
      readonly kind: 'in';
      readonly negated: boolean;
      readonly value: Expr;
      readonly items: readonly (string | number)[];
      readonly pos: number;
    }
  | {
      readonly kind: 'like';
      readonly negated: boolean;
      readonly value: Expr;
      /** The pattern and escape as written (after '' unescaping), for messages and printing. */
      readonly pattern: string;
      readonly escape: string | null;
      readonly parts: readonly LikePart[];
      readonly pos: number;
    }
  | { readonly kind: 'isNull'; readonly negated: boolean; readonly value: Expr; readonly pos: number };

/** What the parser knows of an expression's type before evaluation. */
export type StaticType = 'bool' | 'num' | 'str' | 'any';

/** The static type of an expression: identifiers and NULL are `any`. */
export function staticType(e: Expr): StaticType {
  switch (e.kind) {
    case 'literal':
      if (typeof e.value === 'string') return 'str';
      if (typeof e.value === 'number') return 'num';
      if (typeof e.value === 'boolean') return 'bool';
      return 'any';
    case 'ident':
      return 'any';
    case 'unary':
    case 'arith':
      return 'num';
    case 'compare':
    case 'and':
    case 'or':
    case 'not':
    case 'between':
    case 'in':
    case 'like':
    case 'isNull':
      return 'bool';
    default: {
      const never: never = e;
      return never;
    }
  }
}

function describeType(e: Expr): string {
  switch (staticType(e)) {
    case 'num':
      return 'a number';
    case 'str':
      return 'a string';
    case 'bool':
      return e.kind === 'literal' ? 'a boolean' : 'a condition';
    case 'any':
      return 'a value';
  }
}

const COMPARE_OPS: Readonly<Record<string, CompareOp>> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

/** Parses selector source into an AST; throws SelectorError at the first problem. */
export function parse(source: string): Expr {
  return new Parser(source).parseSelector();
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private nesting = 0;
  /** Height of every node built so far ([SEL-DEPTH]). */
  private readonly heights = new Map<Expr, number>();

  constructor(private readonly source: string) {
    this.lexer = new Lexer(source);
    this.tok = this.lexer.next();
  }

  parseSelector(): Expr {
    const e = this.parseOr();
    if (this.tok.kind !== 'eof') throw this.unexpected('end of input');
    const t = staticType(e);
    if (t !== 'bool' && t !== 'any') {
      const found = describeType(e);
      throw new SelectorError(e.pos, `selector must be a condition, found ${found}`, `selector must be a condition at ${e.pos}, found ${found}`);
    }
    return e;
  }

  // ---- tokens ----

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private isKeyword(k: Keyword): boolean {
    return this.tok.kind === 'keyword' && this.tok.keyword === k;
  }

  private isPunct(p: string): boolean {
    return this.tok.kind === 'punct' && this.tok.punct === p;
  }

  private unexpected(expected: string): SelectorError {
    return expectedError(this.tok.pos, expected, describeToken(this.source, this.tok));
  }

  private expectKeyword(k: Keyword): Token {
    if (!this.isKeyword(k)) throw this.unexpected(k);
    return this.advance();
  }

  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) throw this.unexpected(`'${p}'`);
    return this.advance();
  }

  // ---- depth ([SEL-DEPTH]) ----

  private enter(pos: number): void {
    if (++this.nesting > MAX_SELECTOR_DEPTH) this.tooDeep(pos);
  }

  private leave(): void {
    this.nesting--;
  }

  private tooDeep(pos: number): never {
    throw new SelectorError(pos, `selector nests deeper than ${MAX_SELECTOR_DEPTH} levels`);
  }

  /** Records a node's height and rejects it past the bound; `at` is where to report it. */
  private node<E extends Expr>(e: E, children: readonly Expr[], at: number): E {
    let h = 0;
    for (const c of children) h = Math.max(h, this.heights.get(c) ?? 1);
    if (h + 1 > MAX_SELECTOR_DEPTH) this.tooDeep(at);
    this.heights.set(e, h + 1);
    return e;
  }

  // ---- static checks ([SEL-TYPE]) ----

  private requireCondition(e: Expr): Expr {
    const t = staticType(e);
    if (t !== 'bool' && t !== 'any') throw expectedError(e.pos, 'a condition', describeType(e));
    return e;
  }

  private requireNumber(e: Expr): Expr {
    const t = staticType(e);
    if (t !== 'num' && t !== 'any') throw expectedError(e.pos, 'a number', describeType(e));
    return e;
  }

  /** Operands of ordering comparisons, BETWEEN and IN: numbers or strings, not conditions. */
  private requireOrdered(e: Expr): Expr {
    if (staticType(e) === 'bool') throw expectedError(e.pos, 'a number or a string', describeType(e));
    return e;
  }

  // ---- grammar ----

  private parseOr(): Expr {
    const first = this.parseAnd();
    if (!this.isKeyword('OR')) return first;
    const operands = [this.requireCondition(first)];
    while (this.isKeyword('OR')) {
      this.advance();
      operands.push(this.requireCondition(this.parseAnd()));
    }
    return this.node({ kind: 'or', operands, pos: first.pos }, operands, first.pos);
  }

  private parseAnd(): Expr {
    const first = this.parseNot();
    if (!this.isKeyword('AND')) return first;
    const operands = [this.requireCondition(first)];
    while (this.isKeyword('AND')) {
      this.advance();
      operands.push(this.requireCondition(this.parseNot()));
    }
    return this.node({ kind: 'and', operands, pos: first.pos }, operands, first.pos);
  }

  private parseNot(): Expr {
    if (!this.isKeyword('NOT')) return this.parsePredicate();
    const not = this.advance();
    this.enter(not.pos);
    const operand = this.requireCondition(this.parseNot());
    this.leave();
    return this.node({ kind: 'not', operand, pos: not.pos }, [operand], not.pos);
  }

  private parsePredicate(): Expr {
    const value = this.parseAdditive();
    const t = this.tok;
    if (t.kind === 'punct') {
      const op = COMPARE_OPS[t.punct];
      if (op === undefined) return value;
      this.advance();
      const right = this.parseAdditive();
      if (op !== '=' && op !== '<>') {
        this.requireOrdered(value);
        this.requireOrdered(right);
      }
      return this.node({ kind: 'compare', op, left: value, right, pos: value.pos }, [value, right], t.pos);
    }
    if (t.kind !== 'keyword') return value;

    if (t.keyword === 'IS') {
      this.advance();
      const negated = this.isKeyword('NOT');
      if (negated) this.advance();
      this.expectKeyword('NULL');
      return this.node({ kind: 'isNull', negated, value, pos: value.pos }, [value], t.pos);
    }

    let negated = false;
    if (t.keyword === 'NOT') {
      this.advance();
      if (!this.isKeyword('BETWEEN') && !this.isKeyword('IN') && !this.isKeyword('LIKE')) {
        throw this.unexpected('BETWEEN, IN or LIKE after NOT');
      }
      negated = true;
    }
    if (this.isKeyword('BETWEEN')) {
      const at = this.advance().pos;
      this.requireOrdered(value);
      const low = this.requireOrdered(this.parseAdditive());
      this.expectKeyword('AND');
      const high = this.requireOrdered(this.parseAdditive());
      return this.node({ kind: 'between', negated, value, low, high, pos: value.pos }, [value, low, high], at);
    }
    if (this.isKeyword('IN')) {
      const at = this.advance().pos;
      this.requireOrdered(value);
      const items = this.parseInList();
      return this.node({ kind: 'in', negated, value, items, pos: value.pos }, [value], at);
    }
    if (this.isKeyword('LIKE')) {
      const at = this.advance().pos;
      const vt = staticType(value);
      if (vt !== 'str' && vt !== 'any') throw expectedError(value.pos, 'a string', describeType(value));
      return this.node(this.parseLikeRest(value, negated), [value], at);
    }
    return value;
  }

  private parseInList(): (string | number)[] {
    this.expectPunct('(');
    const items: (string | number)[] = [];
    for (;;) {
      let sign = 0;
      if (this.isPunct('-')) sign = -1;
      else if (this.isPunct('+')) sign = 1;
      if (sign !== 0) this.advance();
      const t = this.tok;
      if (t.kind === 'number') {
        items.push(sign === -1 ? -t.value : t.value);
      } else if (t.kind === 'string' && sign === 0) {
        items.push(t.value);
      } else {
        throw this.unexpected(sign === 0 ? 'a string or number literal' : 'a number');
      }
      this.advance();
      if (this.isPunct(',')) {
        this.advance();
        continue;
      }
      if (this.isPunct(')')) {
        this.advance();
        return items;
      }
      throw this.unexpected("',' or ')'");
    }
  }

  private parseLikeRest(value: Expr, negated: boolean): Expr {
    const pt = this.tok;
    if (pt.kind !== 'string') throw this.unexpected('a string literal pattern');
    this.advance();
    let escapeChar: string | null = null;
    if (this.isKeyword('ESCAPE')) {
      this.advance();
      const et = this.tok;
      if (et.kind !== 'string' || [...et.value].length !== 1) {
        throw this.unexpected('a one-character ESCAPE string');
      }
      escapeChar = et.value;
      this.advance();
    }
    const parts = this.likeParts(pt.value, escapeChar, pt.pos);
    return { kind: 'like', negated, value, pattern: pt.value, escape: escapeChar, parts, pos: value.pos };
  }

  /** `%` any run, `_` any one character; the escape character makes the next one literal. */
  private likeParts(pattern: string, escapeChar: string | null, tokenPos: number): LikePart[] {
    const parts: LikePart[] = [];
    const chars = [...pattern];
    let index = 0; // UTF-16 index into `pattern`, for error positions
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (ch === escapeChar) {
        const next = chars[i + 1];
        if (next === undefined) {
          throw new SelectorError(this.sourceOffset(tokenPos, index), 'ESCAPE character at the end of the LIKE pattern');
        }
        parts.push({ kind: 'char', char: next });
        index += ch.length + next.length;
        i++;
        continue;
      }
      if (ch === '%') {
        // `%%` is the same as `%`
        if (parts[parts.length - 1]?.kind !== 'many') parts.push({ kind: 'many' });
      } else if (ch === '_') {
        parts.push({ kind: 'one' });
      } else {
        parts.push({ kind: 'char', char: ch });
      }
      index += ch.length;
    }
    return parts;
  }

  /** Maps an index into a string literal's value back to the source (`''` is one char). */
  private sourceOffset(tokenPos: number, valueIndex: number): number {
    let src = tokenPos + 1;
    for (let v = 0; v < valueIndex; v++) {
      src += this.source.charCodeAt(src) === 0x27 ? 2 : 1;
    }
    return src;
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const t = this.advance();
      const op = t.kind === 'punct' && t.punct === '-' ? '-' : '+';
      this.requireNumber(left);
      const right = this.requireNumber(this.parseMultiplicative());
      left = this.node({ kind: 'arith', op, left, right, pos: left.pos }, [left, right], t.pos);
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isPunct('*') || this.isPunct('/')) {
      const t = this.advance();
      const op = t.kind === 'punct' && t.punct === '/' ? '/' : '*';
      this.requireNumber(left);
      const right = this.requireNumber(this.parseUnary());
      left = this.node({ kind: 'arith', op, left, right, pos: left.pos }, [left, right], t.pos);
    }
    return left;
  }

  private parseUnary(): Expr {
    if (!this.isPunct('-') && !this.isPunct('+')) return this.parsePrimary();
    const t = this.advance();
    const op = t.kind === 'punct' && t.punct === '-' ? '-' : '+';
    this.enter(t.pos);
    const operand = this.requireNumber(this.parseUnary());
    this.leave();
    return this.node({ kind: 'unary', op, operand, pos: t.pos }, [operand], t.pos);
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case 'number':
        this.advance();
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'string':
        this.advance();
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'ident':
        this.advance();
        return { kind: 'ident', name: t.name, pos: t.pos };
      case 'keyword':
        if (t.keyword === 'TRUE' || t.keyword === 'FALSE' || t.keyword === 'NULL') {
          this.advance();
          const value = t.keyword === 'NULL' ? null : t.keyword === 'TRUE';
          return { kind: 'literal', value, pos: t.pos };
        }
        break;
      case 'punct':
        if (t.punct === '(') {
          this.advance();
          this.enter(t.pos);
          const inner = this.parseOr();
          this.expectPunct(')');
          this.leave();
          // Point at the '(' so errors about the whole group start where it does.
          const e = { ...inner, pos: t.pos };
          this.heights.set(e, this.heights.get(inner) ?? 1);
          return e;
        }
        break;
      case 'eof':
        break;
      default: {
        const never: never = t;
        return never;
      }
    }
    throw this.unexpected('an expression');
  }
}
