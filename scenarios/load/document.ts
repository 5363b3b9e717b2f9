/**
 * YAML text → plain data with its positions (`Source`), under the loader's bounds [LOAD-7]: the
 * first half of reading any meshtwin YAML file (a scenario, a live broker's config). Every
 * problem is one ScenarioError [LOAD-1]; the caller checks the data against its own schema.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAlias, isCollection, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { quote, ScenarioError } from './errors.ts';
import { Source } from './source.ts';

/** What kind of file is read, for messages: "a scenario", "a broker config". */
export interface DocumentKind {
  /** With its article: "a scenario". */
  readonly noun: string;
  /** What an empty file should have held. */
  readonly empty: string;
  /** Advice when the file is too big. */
  readonly tooBigHint?: string;
}

/** [LOAD-7] The largest scenario file read at all (1 MiB). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** [LOAD-7] Deepest nesting of flow collections (`[`, `{`) read at all. */
export const MAX_FLOW_DEPTH = 100;
/** [LOAD-7] Most alias expansions (`*name`) when the document becomes data. */
export const MAX_ALIASES = 1000;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function tooBig(file: string, bytes: number, kind: DocumentKind): ScenarioError {
  return new ScenarioError({
    file,
    line: 0,
    column: 0,
    path: '',
    expected: `${kind.noun} file of at most ${mib(MAX_SCENARIO_BYTES)}${kind.tooBigHint === undefined ? '' : ` (${kind.tooBigHint})`}`,
    found: `${mib(bytes)}`,
  });
}

/** The key text starting at `offset` (yaml reports a duplicate key by its first character). */
function duplicateKey(text: string, offset: number): string {
  const m = /^("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^:\n]*?)\s*:/.exec(text.slice(offset, offset + 200));
  if (m === null) return 'a key';
  const k = m[1]!;
  return /^["']/.test(k) ? k : quote(k);
}

/** [LOAD-7] Where flow brackets first nest deeper than MAX_FLOW_DEPTH (a rough count: quotes ignored), or -1. */
function tooDeepAt(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return -1;
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

function tooDeep(file: string, kind: DocumentKind): ScenarioError {
  return new ScenarioError({ file, line: 1, column: 1, path: '', expected: `${kind.noun} nested a few levels deep`, found: 'nesting too deep to read' });
}

/** [LOAD-1] Parses YAML `text` (`file` is used in messages) into data and its positions. Throws ScenarioError. */
export function readYaml(text: string, file: string, kind: DocumentKind): { src: Source; data: unknown } {
  if (text.length > MAX_SCENARIO_BYTES) throw tooBig(file, Buffer.byteLength(text), kind);
  try {
    return readUnguarded(text, file, kind);
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file, kind);
    throw e;
  }
}

function readUnguarded(text: string, file: string, kind: DocumentKind): { src: Source; data: unknown } {
  const deepAt = tooDeepAt(text);
  if (deepAt >= 0) {
    const line = text.slice(0, deepAt).split('\n').length;
    const column = deepAt - text.lastIndexOf('\n', deepAt - 1);
    throw new ScenarioError({ file, line, column, path: '', expected: `lists and maps nested at most ${MAX_FLOW_DEPTH} deep`, found: `deeper nesting` });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src = new Source(file, doc, lines);

  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const p = lines.linePos(yamlError.pos[0]);
    const dupKey = yamlError.code === 'DUPLICATE_KEY';
    throw new ScenarioError({
      file,
      line: p.line,
      column: p.col,
      path: '',
      expected: dupKey ? 'each key once per map' : 'valid YAML',
      found: dupKey ? `${duplicateKey(text, yamlError.pos[0])} a second time` : `a syntax error (${yamlError.message})`,
    });
  }
  if (doc.contents === null) {
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: kind.empty, found: 'an empty file' });
  }
  // [LOAD-7] One pass in document order: an alias must name an anchor seen before it.
  const anchors = new Set<string>();
  let unresolved: Node | undefined;
  let complexKey: Node | undefined;
  let aliases = 0;
  visit(doc, (_, node) => {
    if (isPair(node) && (isCollection(node.key) || isAlias(node.key) || (isScalar(node.key) && typeof node.key.value === 'object' && node.key.value !== null))) {
      complexKey = node.key as Node;
      return visit.BREAK;
    }
    if (isAlias(node)) {
      aliases++;
      if (!anchors.has(node.source)) {
        unresolved = node;
        return visit.BREAK;
      }
    } else if (isNode(node) && node.anchor !== undefined) anchors.add(node.anchor);
    return undefined;
  });
  if (unresolved !== undefined) {
    const p = lines.linePos(unresolved.range?.[0] ?? 0);
    throw new ScenarioError({ file, line: p.line, column: p.col, path: '', expected: 'an alias to an anchor defined above it', found: `*${String((unresolved as { source?: string }).source)}` });
  }
  if (complexKey !== undefined) {
    const p = lines.linePos(complexKey.range?.[0] ?? 0);
    throw new ScenarioError({ file, line: p.line, column: p.col, path: '', expected: 'a key that is a plain word', found: isAlias(complexKey) ? 'an alias as a key' : 'a list or map as a key' });
  }
  if (aliases > MAX_ALIASES) {
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: `at most ${MAX_ALIASES} aliases (*name)`, found: `${aliases}` });
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    if (isStackOverflow(e)) throw e;
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: 'YAML that resolves to plain data', found: `an error (${(e as Error).message})` });
  }
  return { src, data };
}

/** [LOAD-1] The text of a YAML file of this kind. Throws ScenarioError when it is unreadable or too big. */
export function readYamlFile(file: string, kind: DocumentKind): string {
  try {
    const size = statSync(file).size;
    if (size > MAX_SCENARIO_BYTES) throw tooBig(file, size, kind);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const found = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : `an unreadable file (${code ?? (e as Error).message})`;
    throw new ScenarioError({ file, line: 0, column: 0, path: '', expected: `a readable ${kind.noun.replace(/^an? /, '')} file`, found });
  }
}
