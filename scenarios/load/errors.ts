/**
 * [LOAD-1] A user's bad scenario file is one `ScenarioError` whose message is one line naming the
 * file, line, column and field, what was expected and what was found:
 *   scenarios/x.yaml:12:5: links[0].rtt: expected a duration such as "70ms" (…), found "fast"
 * Also the small wording helpers every part of the loader shares (paths, quoting, did-you-mean).
 */
import { distance } from 'fastest-levenshtein';

/** A path into the scenario document: keys and list indexes, printed as `links[0].rtt`. */
export type ScenarioPath = readonly (string | number)[];

/** What a ScenarioError carries besides its message. */
export interface ScenarioErrorInit {
  readonly file: string;
  /** 1-based; 0 when the problem has no position (the file could not be read). */
  readonly line: number;
  readonly column: number;
  /** The offending field, e.g. "links[0].rtt"; "" for the document as a whole. */
  readonly path: string;
  /** Completes "expected …". */
  readonly expected: string;
  /** Completes "found …". */
  readonly found: string;
  /** An optional suggestion, e.g. 'did you mean "rtt"?'. */
  readonly hint?: string;
}

/** [LOAD-1] A user's bad scenario file: one line, file:line:column: path: expected …, found …. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  readonly hint: string | undefined;

  constructor(init: ScenarioErrorInit) {
    super(formatMessage(init));
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.path = init.path;
    this.expected = init.expected;
    this.found = init.found;
    this.hint = init.hint;
  }
}

function formatMessage(e: ScenarioErrorInit): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  const path = e.path === '' ? '' : ` ${e.path}:`;
  const hint = e.hint === undefined ? '' : `; ${e.hint}`;
  return oneLine(`${where}:${path} expected ${e.expected}, found ${e.found}${hint}`);
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

/** `links[0].rtt`, `publishers[1].headers["x.y"]`. */
export function formatPath(path: ScenarioPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a value reads in "found …". */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'a map';
  return String(v);
}

export function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 80 ? `${q.slice(0, 76)}…"` : q;
}

export function listOf(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, …`;
}

export function article(title: string): string {
  return /^[aeiou]/i.test(title) ? `an ${title}` : `a ${title}`;
}

/** The known word closest to `word`, if it is close enough to be a typo. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === word.toLowerCase() ? 0.5 : distance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(2, Math.floor(word.length / 3))) ? best : undefined;
}

export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const c = closest(word, known);
  return c === undefined ? undefined : `did you mean ${quote(c)}?`;
}
