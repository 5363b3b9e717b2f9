/**
 * The twin's fidelity table (`meshtwin compare`): a simulated run's figures (predicted) beside a
 * live run's of the same scenario (measured), each against its target. Pure: two parsed
 * summary.json objects and their series.csv rows in, rows out; cli/compare.ts reads the files,
 * prints the table and sets the exit code.
 *
 * [CMP-1] A figure with a tolerance is ok when |measured − predicted| / max(|predicted|, tiny) ≤
 *         tolerance (0 and 0 is ok), else MISS. A figure without a target is 'info' and never
 *         fails; so is one that only one side measured (null or absent).
 * [CMP-2] Fault windows (series.csv: second k covers (k−1, k] s): a second is inside one when a
 *         fault happened in it or in the second before it, or it lies between a link-down /
 *         partition / crash and its link-up / heal / restart (unmatched: to the end), or between a
 *         degrade / slow-consumer and its end (`forMs`), plus the second after that end. Both
 *         runs' faults count, for both runs' seconds.
 * [CMP-3] The fault lists must agree (count, action, target) or there is nothing to compare.
 */
import { type Cell, table } from './table.ts';

export type Verdict = 'ok' | 'MISS' | 'info';

/** 'relative': error is (measured − predicted) / |predicted|; 'ms' and 'absolute': measured − predicted. */
export type ErrorUnit = 'relative' | 'ms' | 'absolute';

export interface CompareRow {
  readonly figure: string;
  /** Which link, fault, latency class or span of seconds. */
  readonly scope: string;
  /** The sim run's figure (null: that run did not measure it). */
  readonly predicted: number | null;
  /** The live run's figure (null: that run did not measure it). */
  readonly measured: number | null;
  /** Relative where that means something; in ms or plain units when predicted is 0 or a ratio says nothing (local latency). */
  readonly error: number | null;
  readonly errorUnit: ErrorUnit;
  /** Relative tolerance (0.02: ±2%); null: the figure has no target. */
  readonly tolerance: number | null;
  readonly verdict: Verdict;
  readonly note?: string;
}

/** One row of series.csv (the columns compare reads). */
export interface SeriesRow {
  readonly second: number;
  readonly published: number;
  readonly delivered: number;
}

export interface CompareSide {
  /** A parsed summary.json. */
  readonly summary: unknown;
  /** Its series.csv, parsed (parseSeries); undefined when the run has none. */
  readonly series?: readonly SeriesRow[];
}

export interface CompareResult {
  readonly rows: readonly CompareRow[];
  /** Figures that could not be compared at all, and why. */
  readonly notes: readonly string[];
}

/** Input that cannot be compared (fault lists that differ, a malformed series): one line for the user. */
export class CompareError extends Error {
  override readonly name = 'CompareError';
}

/** The targets (relative tolerances). A figure not named here is 'info'. */
export const TOLERANCE = {
  dataBytes: 0.02,
  dataFrames: 0.02,
  publishedOutsideFaults: 0.01,
  deliveredOutsideFaults: 0.01,
  crossRegionP50: 0.1,
  /** link-down and partition faults; their heals and other faults are 'info'. */
  convergence: 0.25,
  takeover: 0.25,
} as const;

const TINY = 1e-9;
/** Floating-point slack, so a figure exactly at its tolerance is within it. */
const SLACK = 1e-12;

const LOCAL_LATENCY_NOTE = 'local latency: client RTT in the sim (modeled clientRtt), loopback + broker processing live';

/** [CMP-1] */
export function withinTolerance(predicted: number, measured: number, tolerance: number): boolean {
  return Math.abs(measured - predicted) / Math.max(Math.abs(predicted), TINY) <= tolerance + SLACK;
}

/** The fidelity rows of a sim run (predicted) against a live run (measured) of one scenario. */
export function compareRuns(sim: CompareSide, live: CompareSide): CompareResult {
  const simFaults = faultsOf(sim.summary, 'sim');
  const liveFaults = faultsOf(live.summary, 'live');
  checkFaults(simFaults, liveFaults);
  const rows: Array<CompareRow | undefined> = [];
  const notes: string[] = [];
  const s = sim.summary;
  const l = live.summary;

  rows.push(...linkRows(s, l));

  rows.push(figure('published (total)', 'all', num(s, 'messages', 'published'), num(l, 'messages', 'published'), {}));
  rows.push(figure('delivered (total)', 'all', num(s, 'messages', 'delivered'), num(l, 'messages', 'delivered'), {}));
  if (sim.series === undefined || live.series === undefined) {
    const which = [sim.series === undefined ? 'sim' : '', live.series === undefined ? 'live' : ''].filter((x) => x !== '').join(' and ');
    notes.push(`no series.csv in the ${which} run: published and delivered outside fault windows not compared`);
  } else {
    const outside = outsideFaultWindows(sim.series, live.series, [...simFaults, ...liveFaults]);
    if (outside.kept === 0) notes.push(`every one of the ${outside.common} seconds both runs have is inside a fault window: published and delivered outside fault windows not compared`);
    else {
      const scope = `${outside.kept} of ${outside.common} s`;
      rows.push(figure('published (outside fault windows)', scope, outside.sim.published, outside.live.published, { tolerance: TOLERANCE.publishedOutsideFaults }));
      rows.push(figure('delivered (outside fault windows)', scope, outside.sim.delivered, outside.live.delivered, { tolerance: TOLERANCE.deliveredOutsideFaults }));
    }
  }

  const simDrops = at(s, 'drops');
  const liveDrops = at(l, 'drops');
  for (const cause of unionKeys(simDrops, liveDrops)) {
    const p = num(simDrops, cause);
    const m = num(liveDrops, cause);
    if ((p ?? 0) === 0 && (m ?? 0) === 0) continue;
    rows.push(figure(`drops: ${cause}`, 'all', p, m, {}));
  }
  rows.push(figure('lost', 'all', num(s, 'messages', 'lost'), num(l, 'messages', 'lost'), {}));
  rows.push(figure('duplicates', 'all', num(s, 'messages', 'duplicates'), num(l, 'messages', 'duplicates'), {}));

  for (const [cls, label] of [
    ['crossRegion', 'cross-region'],
    ['local', 'local'],
  ] as const) {
    const countSim = num(s, 'latencyMs', cls, 'count');
    const countLive = num(l, 'latencyMs', cls, 'count');
    if (countSim === null || countLive === null || countSim === 0 || countLive === 0) continue;
    for (const pct of ['p50', 'p99'] as const) {
      const tolerance = cls === 'crossRegion' && pct === 'p50' ? TOLERANCE.crossRegionP50 : null;
      const local = cls === 'local' ? { errorInMs: true, note: LOCAL_LATENCY_NOTE } : {};
      rows.push(figure(`latency ${pct} (ms)`, label, num(s, 'latencyMs', cls, pct), num(l, 'latencyMs', cls, pct), { tolerance, unit: 'ms', ...local }));
    }
  }

  const rawSim = list(at(s, 'faults'));
  const rawLive = list(at(l, 'faults'));
  simFaults.forEach((f, i) => {
    const tolerance = f.action === 'link-down' || f.action === 'partition' ? TOLERANCE.convergence : null;
    rows.push(figure('convergence (ms)', `faults[${i}] ${describeFault(f)}`, num(rawSim[i], 'convergenceMs'), num(rawLive[i], 'convergenceMs'), { tolerance, unit: 'ms' }));
  });

  const takeoverSim = num(s, 'ha', 'takeoverMs');
  const takeoverLive = num(l, 'ha', 'takeoverMs');
  if (takeoverSim !== null && takeoverLive !== null) rows.push(figure('HA takeover (ms)', 'worst', takeoverSim, takeoverLive, { tolerance: TOLERANCE.takeover, unit: 'ms' }));

  return { rows: rows.filter((r): r is CompareRow => r !== undefined), notes };
}

// --- links ---

function linkRows(sim: unknown, live: unknown): Array<CompareRow | undefined> {
  const byKey = (summary: unknown): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    for (const l of list(at(summary, 'links'))) {
      const from = at(l, 'from');
      const to = at(l, 'to');
      if (typeof from === 'string' && typeof to === 'string') m.set(`${from}>${to}`, l);
    }
    return m;
  };
  const simLinks = byKey(sim);
  const liveLinks = byKey(live);
  const rows: Array<CompareRow | undefined> = [];
  for (const key of new Set([...simLinks.keys(), ...liveLinks.keys()])) {
    const s = simLinks.get(key);
    const l = liveLinks.get(key);
    const absent = s === undefined ? 'no such link in the sim run (counted as 0)' : l === undefined ? 'no such link in the live run (counted as 0)' : undefined;
    const data = [codecBytes(s, 'data', 'sim'), codecBytes(l, 'data', 'live')] as const;
    rows.push(figure('data bytes', key, data[0].bytes, data[1].bytes, { tolerance: TOLERANCE.dataBytes, note: joinNotes(absent, data[0].note, data[1].note) }));
    const frames = (link: unknown): number | null => (link === undefined ? 0 : num(link, 'dataFrames'));
    rows.push(figure('data frames', key, frames(s), frames(l), { tolerance: TOLERANCE.dataFrames, note: absent }));
    const control = [codecBytes(s, 'control', 'sim'), codecBytes(l, 'control', 'live')] as const;
    rows.push(figure('control bytes', key, control[0].bytes, control[1].bytes, { note: joinNotes(absent, control[0].note, control[1].note) }));
  }
  return rows;
}

/** The codec's bytes of a link row (codecDataBytes), or its wire bytes (dataBytes) when it has none. */
function codecBytes(link: unknown, kind: 'data' | 'control', side: string): { bytes: number | null; note?: string } {
  if (link === undefined) return { bytes: 0 };
  const codecKey = kind === 'data' ? 'codecDataBytes' : 'codecControlBytes';
  const wireKey = kind === 'data' ? 'dataBytes' : 'controlBytes';
  const codec = num(link, codecKey);
  if (codec !== null) return { bytes: codec };
  const wire = num(link, wireKey);
  return wire === null ? { bytes: null } : { bytes: wire, note: `${side}: no ${codecKey}, ${wireKey} used (transport overhead included)` };
}

// --- fault windows [CMP-2] ---

/** A fault as summary.json lists it (the fields compare reads). */
export interface FaultLike {
  readonly at: number;
  readonly action: string;
  readonly target: readonly string[];
  /** degrade / slow-consumer: how long it lasts (null: to the end; absent: unknown, a one-off). */
  readonly forMs?: number | null;
}

/** Second k covers (k−1, k] s; a fault at 0 falls in the first. */
const secondOf = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** The seconds (1 … seconds) inside a fault window [CMP-2]. */
export function faultWindowSeconds(faults: readonly FaultLike[], seconds: number): Set<number> {
  const out = new Set<number>();
  const mark = (from: number, to: number): void => {
    for (let k = Math.max(1, from); k <= Math.min(seconds, to); k++) out.add(k);
  };
  const order = faults.map((f, i) => ({ f, i })).sort((a, b) => a.f.at - b.f.at || a.i - b.i);
  order.forEach(({ f }, j) => {
    const k = secondOf(f.at);
    const end = windowEnd(
      f,
      order.slice(j + 1).map((x) => x.f),
    );
    mark(k, end === undefined ? k + 1 : end === Infinity ? seconds : secondOf(end) + 1);
  });
  return out;
}

/** When the state a fault starts ends: its repair's time, Infinity (never), or undefined (a one-off). */
function windowEnd(f: FaultLike, later: readonly FaultLike[]): number | undefined {
  switch (f.action) {
    case 'link-down':
      return later.find((g) => g.action === 'link-up' && sameTargets(g.target, f.target))?.at ?? Infinity;
    case 'crash':
      return later.find((g) => g.action === 'restart' && g.target[0] === f.target[0])?.at ?? Infinity;
    case 'partition': {
      // Over when every region it cut off is healed (`heal` with no regions heals them all).
      let end = -Infinity;
      for (const region of f.target) {
        const heal = later.find((g) => g.action === 'heal' && (g.target.length === 0 || g.target.includes(region)));
        if (heal === undefined) return Infinity;
        end = Math.max(end, heal.at);
      }
      return end === -Infinity ? Infinity : end;
    }
    case 'degrade':
    case 'slow-consumer':
      if (f.forMs === undefined) return undefined;
      return f.forMs === null ? Infinity : f.at + f.forMs;
    default:
      return undefined;
  }
}

interface Outside {
  readonly common: number;
  readonly kept: number;
  readonly sim: { published: number; delivered: number };
  readonly live: { published: number; delivered: number };
}

/** Sums over the seconds both series have that lie outside every fault window. */
function outsideFaultWindows(sim: readonly SeriesRow[], live: readonly SeriesRow[], faults: readonly FaultLike[]): Outside {
  const liveBySecond = new Map(live.map((r) => [r.second, r]));
  const both = sim.filter((r) => liveBySecond.has(r.second));
  const last = both.reduce((m, r) => Math.max(m, r.second), 0);
  const inside = faultWindowSeconds(faults, last);
  const out = { common: both.length, kept: 0, sim: { published: 0, delivered: 0 }, live: { published: 0, delivered: 0 } };
  for (const r of both) {
    if (inside.has(r.second)) continue;
    const l = liveBySecond.get(r.second) as SeriesRow;
    out.kept++;
    out.sim.published += r.published;
    out.sim.delivered += r.delivered;
    out.live.published += l.published;
    out.live.delivered += l.delivered;
  }
  return out;
}

/** series.csv's second, published and delivered columns. Throws CompareError (without the file name: the caller adds it). */
export function parseSeries(text: string): SeriesRow[] {
  const lines = text.split(/\r?\n/).filter((x) => x.trim() !== '');
  if (lines.length === 0) throw new CompareError('empty, expected a header line (second,published,delivered,...)');
  const header = csvCells(lines[0] as string);
  const column = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new CompareError(`expected a "${name}" column, found ${header.slice(0, 4).join(',')}`);
    return i;
  };
  const cols = { second: column('second'), published: column('published'), delivered: column('delivered') };
  return lines.slice(1).map((line, n) => {
    const cells = csvCells(line);
    const value = (name: keyof typeof cols): number => {
      const text = cells[cols[name]] ?? '';
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v)) throw new CompareError(`line ${n + 2}: expected a number for "${name}", found ${JSON.stringify(text)}`);
      return v;
    };
    return { second: value('second'), published: value('published'), delivered: value('delivered') };
  });
}

/** One CSV line's cells (RFC 4180 quoting; csv-stringify quotes a header with a comma in it). */
function csvCells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cell);
      cell = '';
    } else cell += c;
  }
  out.push(cell);
  return out;
}

// --- faults [CMP-3] ---

function faultsOf(summary: unknown, side: string): FaultLike[] {
  return list(at(summary, 'faults')).map((f, i) => {
    const atMs = num(f, 'at');
    const action = at(f, 'action');
    const target = at(f, 'target');
    if (atMs === null || typeof action !== 'string' || !Array.isArray(target) || !target.every((t) => typeof t === 'string')) {
      throw new CompareError(`the ${side} run's faults[${i}] is not a fault (expected at, action and target)`);
    }
    const forMs = at(f, 'forMs');
    return { at: atMs, action, target, ...(forMs === undefined ? {} : { forMs: typeof forMs === 'number' ? forMs : null }) };
  });
}

function checkFaults(sim: readonly FaultLike[], live: readonly FaultLike[]): void {
  if (sim.length !== live.length) throw new CompareError(`the fault lists differ: the sim run has ${sim.length} faults, the live run ${live.length}`);
  sim.forEach((s, i) => {
    const l = live[i] as FaultLike;
    if (s.action !== l.action || !sameTargets(s.target, l.target)) {
      throw new CompareError(`the fault lists differ at faults[${i}]: the sim run's is ${describeFault(s)}, the live run's ${describeFault(l)}`);
    }
  });
}

const sameTargets = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

const describeFault = (f: FaultLike): string => `${f.action} ${f.target.length === 0 ? 'all' : f.target.join('–')} at ${round(f.at / 1000, 3)} s`;

// --- rows ---

interface FigureOptions {
  readonly tolerance?: number | null;
  readonly unit?: 'count' | 'ms';
  /** The error in ms even when predicted is not 0 (a ratio of two different things says nothing). */
  readonly errorInMs?: boolean;
  readonly note?: string;
}

/** A row, or undefined when neither run has the figure. */
function figure(name: string, scope: string, predicted: number | null, measured: number | null, opts: FigureOptions): CompareRow | undefined {
  if (predicted === null && measured === null) return undefined;
  const tolerance = opts.tolerance ?? null;
  const base = { figure: name, scope, predicted, measured, tolerance };
  if (predicted === null || measured === null) {
    const note = joinNotes(opts.note, `not measured in the ${predicted === null ? 'sim' : 'live'} run`);
    return { ...base, error: null, errorUnit: 'relative', verdict: 'info', ...(note === undefined ? {} : { note }) };
  }
  const diff = measured - predicted;
  const absolute = opts.errorInMs === true || predicted === 0;
  const errorUnit: ErrorUnit = !absolute ? 'relative' : opts.unit === 'ms' ? 'ms' : 'absolute';
  const error = absolute ? round(diff, 3) : round(diff / Math.abs(predicted), 6);
  const verdict: Verdict = tolerance === null ? 'info' : withinTolerance(predicted, measured, tolerance) ? 'ok' : 'MISS';
  return { ...base, error, errorUnit, verdict, ...(opts.note === undefined ? {} : { note: opts.note }) };
}

export interface Tally {
  readonly figures: number;
  readonly ok: number;
  readonly info: number;
  readonly miss: number;
}

export function tally(rows: readonly CompareRow[]): Tally {
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  return { figures: rows.length, ok: count('ok'), info: count('info'), miss: count('MISS') };
}

export function summaryLine(rows: readonly CompareRow[]): string {
  const t = tally(rows);
  return `${t.figures} figures: ${t.ok} ok, ${t.info} info, ${t.miss} outside tolerance`;
}

/** The rows as a terminal table, each distinct row note numbered once below it. */
export function compareTable(result: CompareResult): string {
  const notes: string[] = [];
  const mark = (note: string | undefined): string => {
    if (note === undefined) return '';
    let i = notes.indexOf(note);
    if (i < 0) i = notes.push(note) - 1;
    return ` [${i + 1}]`;
  };
  const cells: Cell[][] = result.rows.map((r) => [r.figure, r.scope, valueCell(r.predicted), valueCell(r.measured), errorCell(r), toleranceCell(r.tolerance), `${r.verdict}${mark(r.note)}`]);
  const out = [table(['figure', 'scope', 'sim (predicted)', 'live (measured)', 'error', 'tolerance', 'verdict'], cells, '  ', [undefined, undefined, 'right', 'right', 'right', 'right', 'left'])];
  notes.forEach((n, i) => out.push(`  [${i + 1}] ${n}`));
  for (const n of result.notes) out.push(`  note: ${n}`);
  return out.join('\n');
}

const valueCell = (v: number | null): Cell => (v === null ? '—' : round(v, 3));

function errorCell(r: CompareRow): string {
  if (r.error === null) return '—';
  const sign = r.error > 0 ? '+' : '';
  switch (r.errorUnit) {
    case 'relative':
      return `${sign}${(r.error * 100).toFixed(2)}%`;
    case 'ms':
      return `${sign}${round(r.error, 3).toLocaleString('en-US')} ms`;
    case 'absolute':
      return `${sign}${round(r.error, 3).toLocaleString('en-US')}`;
    default: {
      const never: never = r.errorUnit;
      return never;
    }
  }
}

const toleranceCell = (t: number | null): string => (t === null ? '—' : `±${round(t * 100, 2)}%`);

// --- reading loosely typed JSON ---

function at(v: unknown, ...path: string[]): unknown {
  let x = v;
  for (const k of path) {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
    x = (x as Record<string, unknown>)[k];
  }
  return x;
}

/** A finite number at `path`, else null (absent, null or not a number). */
function num(v: unknown, ...path: string[]): number | null {
  const x = at(v, ...path);
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

function unionKeys(a: unknown, b: unknown): string[] {
  const keys = (o: unknown): string[] => (typeof o === 'object' && o !== null && !Array.isArray(o) ? Object.keys(o) : []);
  return [...new Set([...keys(a), ...keys(b)])];
}

function joinNotes(...notes: Array<string | undefined>): string | undefined {
  const v = notes.filter((n): n is string => n !== undefined);
  return v.length === 0 ? undefined : v.join('; ');
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
