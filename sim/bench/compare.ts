/**
 * `meshtwin bench --compare OLD.json` [BENCH-C1..4]: every figure of two bench runs side by side.
 *
 * - [BENCH-C1] A figure regressed when it moved in its bad direction (`better`) by more than the
 *   larger of the two runs' noise bands; it is `better` when it moved the good way by more than
 *   that, `ok` otherwise.
 * - [BENCH-C2] A reference figure (a baseline measured beside ours: heap-js, the previous release,
 *   ns-3) is shown but never a regression: it moving says the machine moved.
 * - [BENCH-C3] Figures in one file only are `new` or `gone`, a figure n/a in either run is `n/a`,
 *   one whose unit changed is not compared: none of these is an error.
 * - [BENCH-C4] A file that is not a bench file of this format, or a `--quick` run against a full
 *   one (their workloads differ in size), is a BenchFileError: one line, exit 2 at the CLI.
 */
import { type Better, type Figure, NOISE_FLOOR } from './figures.ts';

/** The `format` of a `meshtwin bench --json` file this version writes and reads. */
export const BENCH_FORMAT = 'meshtwin-bench/1';

/** A bench file that cannot be compared: unreadable, not JSON, not a bench file, or incompatible. */
export class BenchFileError extends Error {
  override readonly name = 'BenchFileError';
}

/** What --compare reads of a bench file. */
export interface BenchFile {
  readonly format: string;
  readonly quick: boolean;
  readonly figures: Readonly<Record<string, Figure>>;
}

export type Verdict = 'REGRESSION' | 'better' | 'ok' | 'ref' | 'ref (moved)' | 'n/a' | 'new' | 'gone' | 'unit changed';

export interface CompareRow {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: Better;
  /** undefined: the figure is not in that file; null: n/a in that run. */
  readonly old: number | null | undefined;
  readonly new: number | null | undefined;
  /** new / old, when both are numbers and old is not 0. */
  readonly ratio: number | null;
  /** The band the change was held against: the larger of the two runs' (null when not compared). */
  readonly band: number | null;
  readonly verdict: Verdict;
}

/** Parses and checks a bench file's text; `name` prefixes every error (the file's path). */
export function parseBenchFile(text: string, name: string): BenchFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new BenchFileError(`${name}: not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new BenchFileError(`${name}: not a meshtwin bench --json file (expected an object, found ${kind(doc)})`);
  if (doc['format'] === undefined || doc['figures'] === undefined) {
    throw new BenchFileError(`${name}: not a meshtwin bench --json file of this version (no "format" and "figures"; it reads ${BENCH_FORMAT})`);
  }
  if (doc['format'] !== BENCH_FORMAT) throw new BenchFileError(`${name}: format ${JSON.stringify(doc['format'])} is not one this version reads (${BENCH_FORMAT})`);
  if (typeof doc['quick'] !== 'boolean') throw new BenchFileError(`${name}: quick: expected true or false, found ${kind(doc['quick'])}`);
  const figs = doc['figures'];
  if (!isObject(figs)) throw new BenchFileError(`${name}: figures: expected an object, found ${kind(figs)}`);
  const figures: Record<string, Figure> = {};
  for (const [id, f] of Object.entries(figs)) figures[id] = checkFigure(f, `${name}: figures[${JSON.stringify(id)}]`);
  return { format: doc['format'], quick: doc['quick'], figures };
}

function checkFigure(f: unknown, at: string): Figure {
  if (!isObject(f)) throw new BenchFileError(`${at}: expected an object, found ${kind(f)}`);
  const fail = (field: string, expected: string) => new BenchFileError(`${at}.${field}: expected ${expected}, found ${kind(f[field])}`);
  if (typeof f['label'] !== 'string') throw fail('label', 'a string');
  if (typeof f['unit'] !== 'string') throw fail('unit', 'a string');
  if (f['value'] !== null && !isFiniteNumber(f['value'])) throw fail('value', 'a number or null');
  if (f['better'] !== 'higher' && f['better'] !== 'lower') throw fail('better', '"higher" or "lower"');
  if (!isFiniteNumber(f['noise']) || f['noise'] < 0) throw fail('noise', 'a fraction ≥ 0');
  if (!Array.isArray(f['samples']) || !f['samples'].every(isFiniteNumber)) throw fail('samples', 'an array of numbers');
  if (f['reference'] !== undefined && f['reference'] !== true) throw fail('reference', 'true or absent');
  return f as unknown as Figure;
}

/** Compares two bench files (BenchFileError when one is --quick and the other not [BENCH-C4]). */
export function compareBench(old: BenchFile, neu: BenchFile, names: { readonly old: string; readonly new: string } = { old: 'OLD', new: 'NEW' }): CompareRow[] {
  if (old.quick !== neu.quick) {
    const q = (b: BenchFile) => (b.quick ? 'with --quick' : 'without --quick');
    throw new BenchFileError(`${names.old} was measured ${q(old)} and ${names.new} ${q(neu)}: their workloads differ in size, so their figures are not comparable`);
  }
  return compareFigures(old.figures, neu.figures);
}

/** Every figure of either run, in the new run's order, then those only the old one has [BENCH-C1..3]. */
export function compareFigures(old: Readonly<Record<string, Figure>>, neu: Readonly<Record<string, Figure>>): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const [id, n] of Object.entries(neu)) rows.push(row(id, old[id], n));
  for (const [id, o] of Object.entries(old)) if (!(id in neu)) rows.push(row(id, o, undefined));
  return rows;
}

function row(id: string, o: Figure | undefined, n: Figure | undefined): CompareRow {
  const f = (n ?? o) as Figure;
  const base = { id, label: f.label, unit: f.unit, better: f.better, old: o?.value, new: n?.value, ratio: null, band: null };
  if (o === undefined) return { ...base, verdict: 'new' };
  if (n === undefined) return { ...base, verdict: 'gone' };
  if (o.unit !== n.unit) return { ...base, verdict: 'unit changed' };
  if (o.value === null || n.value === null) return { ...base, verdict: 'n/a' };
  const band = Math.max(o.noise, n.noise, NOISE_FLOOR);
  const ratio = o.value === 0 ? null : n.value / o.value;
  // The relative change in the bad direction: > 0 is worse, < 0 better.
  const worse = relativeChange(o.value, n.value) * (n.better === 'higher' ? -1 : 1);
  const moved = Math.abs(worse) > band;
  let verdict: Verdict;
  if (n.reference === true || o.reference === true) verdict = moved ? 'ref (moved)' : 'ref';
  else if (worse > band) verdict = 'REGRESSION';
  else if (-worse > band) verdict = 'better';
  else verdict = 'ok';
  return { ...base, ratio, band, verdict };
}

/** (new − old) / |old|; from 0, any change is infinitely large. */
function relativeChange(old: number, neu: number): number {
  if (old === 0) return neu === 0 ? 0 : Math.sign(neu) * Number.POSITIVE_INFINITY;
  return (neu - old) / Math.abs(old);
}

/** How many rows regressed. */
export function regressions(rows: readonly CompareRow[]): number {
  return rows.filter((r) => r.verdict === 'REGRESSION').length;
}

/** The comparison as a text table, with a last line counting regressions. */
export function compareTable(rows: readonly CompareRow[], names: { readonly old: string; readonly new: string }): string {
  const head = ['figure', 'unit', 'better', 'old', 'new', 'new/old', 'noise', 'verdict'];
  const cells = rows.map((r) => [
    r.label,
    r.unit,
    r.better,
    value(r.old),
    value(r.new),
    r.ratio === null ? '—' : `${r.ratio.toFixed(3)}×`,
    r.band === null ? '—' : `±${(r.band * 100).toFixed(r.band < 0.1 ? 1 : 0)}%`,
    r.verdict,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const right = (i: number) => i >= 3 && i <= 6;
  const line = (c: string[]) =>
    c
      .map((x, i) => (right(i) ? x.padStart(width[i] as number) : x.padEnd(width[i] as number)))
      .join('  ')
      .trimEnd();
  const bad = regressions(rows);
  return [
    `compare: old ${names.old}, new ${names.new}; a change in the bad direction beyond the larger of the two runs' noise bands is a REGRESSION`,
    line(head),
    ...cells.map(line),
    bad === 0 ? 'no figure regressed' : `${bad} figure${bad === 1 ? '' : 's'} regressed`,
    '',
  ].join('\n');
}

/** A figure's value for the table: thousands with separators, smaller values to 3 significant digits. */
export function value(x: number | null | undefined): string {
  if (x === undefined) return '—';
  if (x === null) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x === 0) return '0';
  return String(Number(x.toPrecision(3)));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function kind(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'object') return 'an object';
  return String(x);
}
