/**
 * [ETA-1] The progress bar's time to go, from the rate the run is making now: simulated ms per
 * wall ms over the last WINDOW_MS of wall time (the oldest sample in the window to the newest),
 * not the average since the start. The seed scenario's first traffic seconds are slower than the
 * rest (interest still settling, caches cold), so an average since the start overstates what is
 * left, and cli-progress's own ETA (over its last N updates, however close together) jumps.
 * Until the window holds MIN_SPAN_MS of wall time with simulated time moving, there is no ETA.
 */
export const WINDOW_MS = 20_000;
export const MIN_SPAN_MS = 2_000;

export class EtaEstimator {
  private readonly samples: Array<{ wallMs: number; simMs: number }> = [];

  constructor(
    private readonly windowMs = WINDOW_MS,
    private readonly minSpanMs = MIN_SPAN_MS,
  ) {}

  /** Records where the run is: `simMs` simulated at `wallMs` wall time (both from the run's start). */
  sample(wallMs: number, simMs: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && wallMs <= last.wallMs) return;
    this.samples.push({ wallMs, simMs });
    // Keep one sample at or before the window's start, so the window spans all of it.
    while (this.samples.length > 2 && this.samples[1]!.wallMs <= wallMs - this.windowMs) this.samples.shift();
  }

  /** Simulated ms per wall ms over the window; undefined while it spans too little. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined) return undefined;
    const span = last.wallMs - first.wallMs;
    if (span < this.minSpanMs || last.simMs <= first.simMs) return undefined;
    return (last.simMs - first.simMs) / span;
  }

  /** Wall ms until simulated time reaches `endMs`, at the window's rate; undefined when unknown. */
  etaMs(endMs: number): number | undefined {
    const r = this.rate();
    const last = this.samples[this.samples.length - 1];
    if (r === undefined || last === undefined) return undefined;
    return Math.max(0, endMs - last.simMs) / r;
  }
}

/** "42s", "3m 05s", "1h 02m"; "…" when unknown. */
export function etaText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '…';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
