/**
 * The loader's entry points: file → text → YAML document → schema check → `Scenario`.
 *
 * [LOAD-1] Every problem is one ScenarioError (load/errors.ts); never a stack trace, never a
 * half-built scenario.
 * [LOAD-2] Sources of errors, in the order they are checked: the file's size, YAML syntax (the
 * yaml package's own position), aliases, the JSON Schema (load/schema.ts), then units,
 * templates, patterns, selectors and cross-references (topology, workload, faults, routing).
 * [LOAD-7] Bounded work before anything is built: a file over MAX_SCENARIO_BYTES (1 MiB; the
 * largest shipped scenario is 3 KB) is refused by its size before it is read — the yaml parser
 * reads about 0.2 MB/s of flow lists on this machine (a 1.4 MB file of 150,000 broker ids took
 * 6.6 s, 15 MB took 52 s), so 1 MiB bounds parsing to seconds; flow collections nested deeper
 * than MAX_FLOW_DEPTH are refused by a scan before parsing (100,000 levels took the parser
 * 2.4 s); aliases are checked in one pass over the document (linear in its size; yaml's own
 * `alias.resolve` walks the whole document per alias) and at most MAX_ALIASES are expanded;
 * nesting deeper than the parser's stack is an error, not a RangeError.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAlias, isCollection, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { checkAssertionSyntax } from '../expect.ts';
import type { Scenario } from '../types.ts';
import { quote, ScenarioError, type ScenarioPath } from './errors.ts';
import { resolveFaults } from './faults.ts';
import type { RawScenario } from './raw.ts';
import { resolveModel, resolveRouting } from './routing.ts';
import { checkSchema } from './schema.ts';
import { Source } from './source.ts';
import { resolveTopology } from './topology.ts';
import { resolvePublishers, resolveSubscribers } from './workload.ts';

/** [LOAD-7] The largest scenario file read at all (1 MiB). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** [LOAD-7] Deepest nesting of flow collections (`[`, `{`) read at all. */
export const MAX_FLOW_DEPTH = 100;
/** [LOAD-7] Most alias expansions (`*name`) when the document becomes data. */
export const MAX_ALIASES = 1000;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function tooBig(file: string, bytes: number): ScenarioError {
  return new ScenarioError({
    file,
    line: 0,
    column: 0,
    path: '',
    expected: `a scenario file of at most ${mib(MAX_SCENARIO_BYTES)} (describe large populations with count: and patterns:, not one entry each)`,
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

function tooDeep(file: string): ScenarioError {
  return new ScenarioError({ file, line: 1, column: 1, path: '', expected: 'a scenario nested a few levels deep', found: 'nesting too deep to read' });
}

/** [LOAD-1] Parses scenario YAML `text`; `file` is used in messages. Throws ScenarioError. */
export function parseScenario(text: string, file: string): Scenario {
  if (text.length > MAX_SCENARIO_BYTES) throw tooBig(file, Buffer.byteLength(text));
  try {
    return parseUnguarded(text, file);
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(file);
    throw e;
  }
}

function parseUnguarded(text: string, file: string): Scenario {
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
    throw new ScenarioError({ file, line: 1, column: 1, path: '', expected: 'a scenario (a map with name, duration, regions, …)', found: 'an empty file' });
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
  checkSchema(src, data);
  return resolve(src, data as RawScenario);
}

/** Where each loaded scenario came from, for messages about it after loading (the pre-flight). */
const SOURCES = new WeakMap<Scenario, Source>();

/**
 * The line and column of `path` in the file `s` was loaded from (1:1 when unknown, e.g. a
 * scenario built in code or copied with another duration).
 */
export function positionOf(s: Scenario, path: ScenarioPath): { line: number; column: number } {
  return SOURCES.get(s)?.position(path, 'value') ?? { line: 0, column: 0 };
}

/** [LOAD-3] Units, defaults and every cross-reference; throws at the first problem. */
function resolve(src: Source, raw: RawScenario): Scenario {
  const s = resolveUnmapped(src, raw);
  SOURCES.set(s, src);
  return s;
}

function resolveUnmapped(src: Source, raw: RawScenario): Scenario {
  const durationMs = src.dur(['duration'], raw.duration, '0s');
  if (durationMs <= 0) throw src.error(['duration'], 'value', 'a duration above zero, such as "10s"', quote(raw.duration));
  const warmupMs = src.dur(['warmup'], raw.warmup, '2s');
  const topo = resolveTopology(src, raw);
  const publishers = resolvePublishers(src, raw, topo, durationMs);
  const { subscribers, templates } = resolveSubscribers(src, raw, topo);
  const faults = resolveFaults(src, raw, topo, durationMs, templates);
  const routing = resolveRouting(src, raw);
  const model = resolveModel(src, raw);

  // [EXPECT-1] Assertion syntax and units are checked on load; field names against the run's
  // summary shape by the pre-flight (sim/preflight).
  (raw.expect ?? []).forEach((text, i) => {
    const bad = checkAssertionSyntax(text);
    if (bad !== null) throw src.error(['expect', i], 'value', bad.expected, `${bad.found} at column ${bad.column} of ${quote(text)}`);
  });

  return {
    name: raw.name,
    seed: raw.seed ?? 1,
    durationMs,
    warmupMs,
    regions: topo.regions,
    links: topo.links,
    publishers,
    subscribers,
    faults,
    expect: [...(raw.expect ?? [])],
    routing,
    model,
    file: src.file,
  };
}

/** [LOAD-1] Reads and parses a scenario file. Throws ScenarioError (also when unreadable or too big). */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_SCENARIO_BYTES) throw tooBig(file, size);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const found = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : `an unreadable file (${code ?? (e as Error).message})`;
    throw new ScenarioError({ file, line: 0, column: 0, path: '', expected: 'a readable scenario file', found });
  }
  return parseScenario(text, file);
}
