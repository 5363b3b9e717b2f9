/**
 * `--vary PATH=FROM..TO`: one key of a scenario file swept over a range (meshtwin sweep).
 *
 * [VARY-1] PATH addresses the file's own keys, as written: `publishers[0].rate`,
 *          `links[0].bandwidth`, `subscribers[1].count`, `faults[0].at`, `duration`. The key must
 *          be in the file (a default the loader fills in has no place to write a value to).
 * [VARY-2] The key's current value decides its kind: a YAML number, or a string that one of the
 *          scenario's own unit parsers (scenarios/units.ts) reads: a rate, a size, a duration or
 *          a bandwidth. FROM and TO must be of that kind, written in the file's units.
 * [VARY-3] Steps are linear from FROM to TO (either direction) or, with `log`, geometric. A value
 *          is rounded to six significant digits (a file reads "1.36667M/s", not 1366666.666…/s);
 *          a whole-number key (a count, a seed; every size, in whole bytes) stays whole.
 * [VARY-4] A value is applied by writing it into the file's text in place of the old one (the
 *          scalar's own source range), so comments, layout and every other byte stay as written
 *          and the loader reads exactly what a user who typed that value would have written.
 */
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { closest } from './load/errors.ts';
import { bandwidthText, durationText, formatBps, formatBytes, formatDuration, isParseFailure, parseBandwidth, parseDuration, parseRate, parseSize, rateText } from './units.ts';

/** What a varied key holds. */
export type ValueKind = 'number' | 'rate' | 'size' | 'duration' | 'bandwidth';

export type Scale = 'linear' | 'log';

/** A path into the YAML document: keys and list indexes. */
export type DocPath = readonly (string | number)[];

/** [VARY-1..3] One `--vary`, resolved against a scenario file. */
export interface VarySpec {
  /** As the user wrote it: `publishers[0].rate=100000/s..2000000/s`. */
  readonly text: string;
  /** `publishers[0].rate`. */
  readonly path: string;
  readonly keys: DocPath;
  readonly kind: ValueKind;
  /** The value in the file, as written and as a number (in the kind's base unit). */
  readonly currentText: string;
  readonly current: number;
  readonly from: number;
  readonly to: number;
  /** Values are whole numbers (counts, seeds, bytes). */
  readonly whole: boolean;
}

/** A bad `--vary`: its message is one line for the user. */
export class VaryError extends Error {
  override readonly name = 'VaryError';
}

/** Base units, for messages: what a number of each kind is counted in. */
const KIND_NAMES: Readonly<Record<ValueKind, string>> = {
  number: 'a number',
  rate: 'a rate',
  size: 'a size',
  duration: 'a duration',
  bandwidth: 'a bandwidth',
};

const KIND_EXAMPLES: Readonly<Record<ValueKind, string>> = {
  number: '"1000"',
  rate: '"100000/s"',
  size: '"500B"',
  duration: '"5s"',
  bandwidth: '"1Gbps"',
};

/** The unit parsers, tried in this order (their syntaxes do not overlap). */
const PARSERS: ReadonlyArray<readonly [Exclude<ValueKind, 'number'>, (t: string) => number | { expected: string }]> = [
  ['rate', parseRate],
  ['bandwidth', parseBandwidth],
  ['size', parseSize],
  ['duration', parseDuration],
];

const PLAIN_NUMBER = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;

/** [VARY-2] The kind and value of a written value, or undefined when it is none of them. */
export function classify(value: unknown): { kind: ValueKind; value: number } | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'number', value } : undefined;
  if (typeof value !== 'string') return undefined;
  if (PLAIN_NUMBER.test(value)) return { kind: 'number', value: Number(value) };
  for (const [kind, parse] of PARSERS) {
    const v = parse(value);
    if (!isParseFailure(v)) return { kind, value: v };
  }
  return undefined;
}

const KEY = /^[A-Za-z_$][\w$-]*/;

/** `publishers[0].rate` → ['publishers', 0, 'rate']; throws VaryError. */
export function parsePath(path: string, flag: string): DocPath {
  const keys: Array<string | number> = [];
  let i = 0;
  const first = KEY.exec(path);
  if (first === null) throw new VaryError(`${flag}: expected a key path such as "publishers[0].rate", found ${JSON.stringify(path)}`);
  keys.push(first[0]);
  i = first[0].length;
  while (i < path.length) {
    const rest = path.slice(i);
    const index = /^\[(\d+)\]/.exec(rest);
    const key = /^\.([A-Za-z_$][\w$-]*)/.exec(rest);
    if (index !== null) {
      keys.push(Number(index[1]));
      i += index[0].length;
    } else if (key !== null) {
      keys.push(key[1] as string);
      i += key[0].length;
    } else {
      throw new VaryError(`${flag}: expected ".key" or "[index]" at column ${i + 1} of the path ${JSON.stringify(path)}, found ${JSON.stringify(rest)}`);
    }
  }
  return keys;
}

/** `publishers[0].rate`, as paths are printed. */
export function formatDocPath(keys: DocPath): string {
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** [VARY-1] The scalar node at `keys`, or a VaryError naming where the path left the file. */
function resolveNode(doc: Document, keys: DocPath, flag: string, file: string): Node {
  let node: unknown = doc.contents;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string | number;
    const here = formatDocPath(keys.slice(0, k));
    const what = here === '' ? `the top of ${file}` : here;
    if (typeof key === 'number') {
      if (!isSeq(node)) throw new VaryError(`${flag}: ${what} in ${file} is not a list, so [${key}] selects nothing`);
      const n = node.items.length;
      if (key >= n)
        throw new VaryError(`${flag}: unknown path ${formatDocPath(keys)}: ${here} in ${file} has ${n === 0 ? 'no entries' : `${n} entr${n === 1 ? 'y' : 'ies'} (${here}[0]..${here}[${n - 1}])`}`);
      node = node.items[key];
      continue;
    }
    if (!isMap(node)) {
      const hint = isSeq(node) ? ` (a list: select an entry, e.g. ${here}[0].${key})` : '';
      throw new VaryError(`${flag}: ${what} in ${file} is not a map, so it has no key "${key}"${hint}`);
    }
    const names = node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)));
    const at = names.indexOf(key);
    if (at < 0) {
      const near = closest(key, names);
      const full = formatDocPath(keys);
      throw new VaryError(
        `${flag}: unknown path ${full}: ${what} in ${file} has no key "${key}"${near === undefined ? '' : `; did you mean "${near}"?`} (keys: ${names.join(', ')}; only keys written in the file can be varied)`,
      );
    }
    node = node.items[at]?.value;
  }
  if (!isScalar(node)) {
    const kind = isSeq(node) ? 'a list' : isMap(node) ? 'a map' : 'empty';
    throw new VaryError(`${flag}: ${formatDocPath(keys)} in ${file} is ${kind}, not a number, rate, size, duration or bandwidth`);
  }
  return node;
}

/**
 * [VARY-1..3] Reads `PATH=FROM..TO` against the scenario `source` (file `file`, for messages).
 * Throws VaryError.
 */
export function parseVary(text: string, source: string, file: string): VarySpec {
  const flag = `--vary ${text}`;
  const eq = text.indexOf('=');
  if (eq < 0) throw new VaryError(`${flag}: expected PATH=FROM..TO, e.g. publishers[0].rate=100000/s..2000000/s`);
  const path = text.slice(0, eq).trim();
  const range = text.slice(eq + 1);
  const dots = range.indexOf('..');
  if (dots < 0) throw new VaryError(`${flag}: expected a range FROM..TO after "=", found ${JSON.stringify(range)}`);
  const fromText = range.slice(0, dots).trim();
  const toText = range.slice(dots + 2).trim();
  const keys = parsePath(path, flag);
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new VaryError(`${flag}: ${file} is not valid YAML (load it with meshtwin validate)`);
  const node = resolveNode(doc, keys, flag, file);
  const raw = isScalar(node) ? node.value : undefined;
  const current = classify(raw);
  const shown = typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
  if (current === undefined) throw new VaryError(`${flag}: ${formatDocPath(keys)} in ${file} is ${shown}, not a number, rate, size, duration or bandwidth`);
  const end = (which: 'FROM' | 'TO', t: string): number => {
    if (t === '') throw new VaryError(`${flag}: ${which} is empty; expected ${KIND_NAMES[current.kind]} such as ${KIND_EXAMPLES[current.kind]}`);
    const c = classify(t);
    if (c === undefined || c.kind !== current.kind) {
      const found = c === undefined ? JSON.stringify(t) : `${JSON.stringify(t)}, ${KIND_NAMES[c.kind]}`;
      throw new VaryError(`${flag}: ${which} must be ${KIND_NAMES[current.kind]} like ${formatDocPath(keys)} (${shown} in ${file}), e.g. ${KIND_EXAMPLES[current.kind]}; found ${found}`);
    }
    return c.value;
  };
  const from = end('FROM', fromText);
  const to = end('TO', toText);
  if (from === to) throw new VaryError(`${flag}: FROM and TO are the same value; a sweep needs a range`);
  // Whole when every written form is: "count: 1000" with 10..100000, not "loss: 0.0" with 0..1.
  const written = node.range === undefined || node.range === null ? String(raw) : source.slice(node.range[0], node.range[1]);
  const integral = (t: string) => !/[.eE]/.test(t);
  const whole = current.kind === 'size' || (current.kind === 'number' && integral(written) && integral(fromText) && integral(toText));
  return { text, path: formatDocPath(keys), keys, kind: current.kind, currentText: written, current: current.value, from, to, whole };
}

/** [VARY-3] `steps` values from `from` to `to`, both included. */
export function stepValues(spec: Pick<VarySpec, 'from' | 'to' | 'whole' | 'text'>, steps: number, scale: Scale): number[] {
  if (scale === 'log' && (spec.from <= 0 || spec.to <= 0)) {
    throw new VaryError(`--vary ${spec.text}: --scale log needs FROM and TO above zero`);
  }
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    const x = scale === 'log' ? spec.from * (spec.to / spec.from) ** t : spec.from + (spec.to - spec.from) * t;
    const exact = i === 0 ? spec.from : i === steps - 1 ? spec.to : x;
    const v = spec.whole ? Math.round(exact) : Number(exact.toPrecision(6));
    out.push(Object.is(v, -0) ? 0 : v);
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1])
      throw new VaryError(`--vary ${spec.text}: ${steps} steps repeat a value (${out[i]}) once rounded${spec.whole ? ' to whole numbers' : ''}; use fewer steps or a wider range`);
  }
  return out;
}

/** [VARY-4] A value as the file holds it: "1.2M/s", "10Gbps", "1500B", "20s", 42. */
export function valueText(kind: ValueKind, value: number): string {
  switch (kind) {
    case 'number':
      return String(value);
    case 'rate':
      return rateText(value);
    case 'bandwidth':
      return bandwidthText(value);
    case 'size':
      return `${Math.round(value)}B`;
    case 'duration':
      return durationText(value);
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** A value for people: "1,200,000/s", "1.00 Gbps", "1.50 KB", "20.0 s", "42". */
export function displayValue(kind: ValueKind, value: number): string {
  switch (kind) {
    case 'number':
      return value.toLocaleString('en-US', { maximumFractionDigits: 6 });
    case 'rate':
      return `${value.toLocaleString('en-US', { maximumFractionDigits: 3 })}/s`;
    case 'bandwidth':
      return formatBps(value);
    case 'size':
      return formatBytes(value);
    case 'duration':
      return formatDuration(value);
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** One key set to one value. */
export interface Assignment {
  readonly keys: DocPath;
  readonly text: string;
}

/**
 * [VARY-4] `source` with each assignment's scalar replaced by its text, in place: every other
 * byte (comments, layout, quoting of other keys) as written, and every line where it was.
 */
export function applyValues(source: string, assignments: readonly Assignment[]): string {
  const doc = parseDocument(source);
  const edits = assignments.map((a) => {
    const node = resolveNode(doc, a.keys, `--vary ${formatDocPath(a.keys)}`, 'the scenario');
    const range = node.range;
    if (range === undefined || range === null) throw new Error(`applyValues: ${formatDocPath(a.keys)} has no source range`);
    return { start: range[0], end: range[1], text: a.text };
  });
  edits.sort((x, y) => y.start - x.start);
  let out = source;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
