/**
 * The parsed YAML document with its line counter: maps a path in the scenario to a line and
 * column, so every error points at the offending node, and resolves unit strings at a path.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { isParseFailure, parseDuration, type Parsed } from '../units.ts';
import { describe, formatPath, ScenarioError, type ScenarioPath } from './errors.ts';

/** Where in a node an error points: its value, its key, or (for a missing key) the map that lacks it. */
export type Where = 'value' | 'key' | 'container';

export class Source {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    readonly lines: LineCounter,
  ) {}

  /**
   * Position of the value at `path` ('value'), of its key ('key'), or — for a missing key — of
   * the map that lacks it, preferring the key that holds that map ('container'). Falls back to
   * the deepest node that exists.
   */
  position(path: ScenarioPath, where: Where): { line: number; column: number } {
    const walk = where === 'container' ? path.slice(0, -1) : path;
    let node: unknown = this.doc.contents;
    let key: Node | undefined;
    let last: Node | undefined = isNode(node) ? node : undefined;
    for (const seg of walk) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
        if (pair === undefined) break;
        key = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
        last = key ?? last;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        key = undefined;
        node = node.items[seg];
      } else break;
      if (isNode(node) && node.range) last = node;
    }
    let at: Node | undefined;
    if (where === 'value') at = isNode(node) && node.range && !isEmptyScalar(node) ? node : (key ?? last);
    else at = key ?? (isNode(node) && node.range ? node : last);
    const offset = at?.range?.[0] ?? 0;
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  error(path: ScenarioPath, where: Where, expected: string, found: string, hint?: string): ScenarioError {
    const { line, column } = this.position(path, where);
    return new ScenarioError({ file: this.file, line, column, path: formatPath(path), expected, found, hint });
  }

  /** A unit string at `path` (or `dflt` when absent) through `parse`; an error names the path. */
  unit(path: ScenarioPath, text: string | undefined, dflt: string, parse: (s: string) => Parsed): number {
    const p = parse(text ?? dflt);
    if (isParseFailure(p)) throw this.error(path, 'value', p.expected, describe(text ?? dflt));
    return p;
  }

  /** A duration in ms at `path`. */
  dur(path: ScenarioPath, text: string | undefined, dflt: string): number {
    return this.unit(path, text, dflt, parseDuration);
  }
}

function keyText(k: unknown): string {
  return isScalar(k) ? String(k.value) : String(k);
}

/** `rtt:` with nothing after it: an empty scalar positioned after the colon; point at the key. */
function isEmptyScalar(n: Node): boolean {
  return isScalar(n) && n.value === null && n.range != null && n.range[0] === n.range[1];
}
