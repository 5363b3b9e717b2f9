/**
 * A bench figure as `meshtwin bench --json` records it [BENCH-F1]: its value, which way is
 * better, and its noise band measured in the same run from the spread of its repeated
 * measurements, so `meshtwin bench --compare OLD.json` can tell a regression from noise.
 */

/** Which way is better: a rate is `higher`, a latency or a byte count `lower`. */
export type Better = 'higher' | 'lower';

/** The smallest noise band a figure gets, however close its rounds came (a shared machine is never that quiet). */
export const NOISE_FLOOR = 0.05;

export interface Figure {
  /** What it is, for the tables (the figure's id is its key in `figures`). */
  readonly label: string;
  readonly unit: string;
  /** null: not measured in this run (n/a), `note` says why. */
  readonly value: number | null;
  readonly better: Better;
  /**
   * The noise band, a fraction of the value: (max − min) / median of `samples`, at least
   * NOISE_FLOOR. A figure measured once has no spread to measure and gets the floor.
   */
  readonly noise: number;
  /** Each measurement of the figure in this run (rounds); empty when n/a. */
  readonly samples: readonly number[];
  /**
   * A reference, not our code: a baseline measured beside ours (heap-js, the previous release,
   * ns-3). It moving says the machine moved; `--compare` shows it but never calls it a regression.
   */
  readonly reference?: true;
  readonly note?: string;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  // To 12 significant digits: the mean of 0.1306 and 0.1186 is 0.1246, not 0.12459999999999999.
  return s.length % 2 === 1 ? (s[m] as number) : Number((((s[m - 1] as number) + (s[m] as number)) / 2).toPrecision(12));
}

/** (max − min) / median of the samples, at least NOISE_FLOOR; the floor for fewer than two. */
export function noiseBand(samples: readonly number[]): number {
  if (samples.length < 2) return NOISE_FLOOR;
  const m = Math.abs(median(samples));
  if (m === 0) return NOISE_FLOOR;
  const spread = (Math.max(...samples) - Math.min(...samples)) / m;
  return Math.max(NOISE_FLOOR, round4(spread));
}

export interface FigureOptions {
  /** The value when it is not the median of the samples (the kernel bench reports its best round). */
  readonly value?: number;
  readonly reference?: boolean;
  readonly note?: string;
}

/** A measured figure: the median of its samples (or `opts.value`), its noise band from their spread. */
export function figure(label: string, unit: string, better: Better, samples: readonly number[], opts: FigureOptions = {}): Figure {
  if (samples.length === 0) throw new Error(`figure ${label}: no samples (use notMeasured)`);
  return {
    label,
    unit,
    value: opts.value ?? median(samples),
    better,
    noise: noiseBand(samples),
    samples,
    ...(opts.reference === true ? { reference: true as const } : {}),
    ...(opts.note === undefined ? {} : { note: opts.note }),
  };
}

/** A figure this run could not measure (no git, no ns-3): value null, with the reason. */
export function notMeasured(label: string, unit: string, better: Better, note: string, opts: { readonly reference?: boolean } = {}): Figure {
  return { label, unit, value: null, better, noise: NOISE_FLOOR, samples: [], ...(opts.reference === true ? { reference: true as const } : {}), note };
}

/** The ratio of two figures' values (null when either is n/a), with the noise of per-round ratios. */
export function ratioFigure(label: string, better: Better, num: Figure, den: Figure, perRound: readonly number[], note?: string): Figure {
  if (num.value === null || den.value === null || den.value === 0) return notMeasured(label, '×', better, note ?? num.note ?? den.note ?? 'not measured');
  const samples = (perRound.length > 0 ? perRound : [num.value / den.value]).map(round4);
  return figure(label, '×', better, samples, { value: round4(num.value / den.value), note });
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
