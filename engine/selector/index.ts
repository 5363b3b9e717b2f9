/**
 * SQL-like selectors over event headers, JMS message-selector style (JMS 2.0 §3.8.1.1):
 *
 *   amountCents > 10000 AND type LIKE 'com.acme.%' AND region IN ('us', 'eu')
 *
 * A subscription's selector is parsed and compiled once into nested closures (no code is
 * generated from source text), then evaluated per event without allocating. Identifiers name
 * header keys (`headers.x` is just a key with a dot in it; `"content-type"` quotes a key that
 * is not an identifier). Keywords are case-insensitive, identifiers are not. `id`, `source`,
 * `type`, `specversion` and `topic` that are not header keys read the envelope's attributes of
 * those names; a header of the same name wins ([SEL-ATTR], compile.ts).
 *
 * Semantics ([SEL-3VL] and friends, see compile.ts): SQL three-valued logic; a missing header is
 * NULL; comparisons need both sides of the same type (no implicit conversion), booleans compare
 * only with `=`/`<>`, strings order by UTF-16 code units; arithmetic is on doubles with
 * division by zero unknown; a selector matches only when it evaluates to TRUE.
 *
 * An empty selector is an error, not "match everything": a subscription without a selector
 * simply has none.
 */

import { compile, type SelectorEvent } from './compile.ts';
import { SelectorError } from './lexer.ts';
import { parse } from './parser.ts';

export type { SelectorEvent } from './compile.ts';
export { SelectorError } from './lexer.ts';
export { MAX_SELECTOR_DEPTH } from './parser.ts';

/** A compiled selector. */
export interface Selector {
  /** The source text it was parsed from, as given. */
  readonly source: string;
  /**
   * True only if the selector evaluates to TRUE (not FALSE, not unknown) on this event's headers
   * and, for the names without a header, its envelope attributes (an `Envelope` or a `PublishInput`).
   */
  matches(event: SelectorEvent): boolean;
}

/** The outcome of `tryParseSelector`. */
export type SelectorParseResult = { readonly ok: true; readonly selector: Selector } | { readonly ok: false; readonly error: SelectorError };

/**
 * Parses and compiles once; throws SelectorError with position on a syntax error, e.g.
 * "expected ')' at 17, found end of input".
 */
export function parseSelector(source: string): Selector {
  const matches = compile(parse(source));
  return Object.freeze({
    source,
    matches,
    toString: () => source,
  });
}

/**
 * Same as parseSelector, but returns the error instead of throwing it: for selectors that
 * arrive in frames from peers, where a bad one is a protocol violation, not a crash.
 */
export function tryParseSelector(source: string): SelectorParseResult {
  try {
    return { ok: true, selector: parseSelector(source) };
  } catch (err) {
    if (err instanceof SelectorError) return { ok: false, error: err };
    throw err;
  }
}
