/**
 * Rates over a sliding window of simulated time, from cumulative counters. The view samples
 * counters a few times a second; a rate over the last sample alone would be noise when the
 * simulator runs slower than real time (a tenth of a wall second can be 13 ms simulated), so
 * each rate spans at least `windowMs` of simulated time when the history has it.
 */
export class WindowedRate {
  private readonly times: number[] = [];
  private readonly values: number[][] = [];

  /** `width` counters per sample; rates span at least `windowMs` simulated ms when possible. */
  constructor(
    readonly width: number,
    private readonly windowMs: number,
    private readonly keep = 64,
  ) {}

  /**
   * Adds a sample of the cumulative counters at simulated time `tMs` and returns each counter's
   * rate per simulated second over the window ending now (NaN before a second sample, or when
   * no simulated time has passed since the oldest sample).
   */
  sample(tMs: number, counters: readonly number[]): number[] {
    if (counters.length !== this.width) throw new Error(`WindowedRate: expected ${this.width} counters, got ${counters.length}`);
    const last = this.times.length - 1;
    if (last >= 0 && tMs === this.times[last]) {
      // No simulated time passed (paused, or a snapshot between two kernel slices): same window.
      this.values[last] = counters.slice();
    } else {
      this.times.push(tMs);
      this.values.push(counters.slice());
      if (this.times.length > this.keep) {
        this.times.shift();
        this.values.shift();
      }
    }
    const n = this.times.length - 1;
    // The newest older sample at least windowMs back, else the oldest kept.
    let k = 0;
    for (let i = n - 1; i >= 0; i--) {
      if (tMs - (this.times[i] as number) >= this.windowMs) {
        k = i;
        break;
      }
    }
    const dt = tMs - (this.times[k] as number);
    const from = this.values[k] as number[];
    return counters.map((c, i) => (dt > 0 ? ((c - (from[i] as number)) * 1000) / dt : NaN));
  }

  reset(): void {
    this.times.length = 0;
    this.values.length = 0;
  }
}
