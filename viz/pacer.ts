/**
 * Paces simulated time to wall time. The view never owns time: every call is handed the wall
 * clock (ms) and the simulator's clock (ms), so tests can step it.
 *
 * At speed s the simulator should be at anchorSim + (wall − anchorWall) × s. When it cannot
 * keep up (a huge mesh runs slower than real time), the pacer does not pile up debt to burst
 * through later: once the simulator is more than LAG_MAX_WALL_MS of wall time behind, the
 * anchor moves to where it is. `measured()` says how fast it really ran.
 */

/** Simulated ms per wall ms; Infinity runs flat out. */
export type Speed = number;

/** How far behind (in wall ms at the requested speed) before the pacer stops owing time. */
export const LAG_MAX_WALL_MS = 250;
/** The measured speed spans about this much wall time. */
export const MEASURE_WINDOW_MS = 3000;

export class Pacer {
  private anchorWall = 0;
  private anchorSim = 0;
  private _paused = false;
  private readonly samples: Array<readonly [number, number]> = [];

  constructor(
    private _speed: Speed,
    wallMs: number,
    simMs: number,
  ) {
    if (!(_speed > 0)) throw new Error(`Pacer: speed must be > 0, got ${_speed}`);
    this.anchor(wallMs, simMs);
  }

  get speed(): Speed {
    return this._speed;
  }

  get paused(): boolean {
    return this._paused;
  }

  /** Starts pacing from here: simulated `simMs` is wall `wallMs`. */
  anchor(wallMs: number, simMs: number): void {
    this.anchorWall = wallMs;
    this.anchorSim = simMs;
    this.samples.length = 0;
    this.samples.push([wallMs, simMs]);
  }

  setSpeed(speed: Speed, wallMs: number, simMs: number): void {
    if (!(speed > 0)) throw new Error(`Pacer: speed must be > 0, got ${speed}`);
    this._speed = speed;
    this.anchor(wallMs, simMs);
  }

  pause(wallMs: number, simMs: number): void {
    this._paused = true;
    this.anchor(wallMs, simMs);
  }

  resume(wallMs: number, simMs: number): void {
    this._paused = false;
    this.anchor(wallMs, simMs);
  }

  /** The simulated time to run to now (simMs itself when paused). */
  target(wallMs: number, simMs: number): number {
    if (this._paused) return simMs;
    if (this._speed === Infinity) return Infinity;
    let t = this.anchorSim + (wallMs - this.anchorWall) * this._speed;
    if (t - simMs > LAG_MAX_WALL_MS * this._speed) {
      // Behind by more than we allow: forget the debt and pace on from here. (Keeping a lead
      // would run faster than asked after every stall.)
      this.anchorWall = wallMs;
      this.anchorSim = simMs;
      t = simMs;
    }
    return t;
  }

  /** Records where the simulator is, for `measured()`. */
  observe(wallMs: number, simMs: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && wallMs - last[0] < 50) return;
    this.samples.push([wallMs, simMs]);
    while (this.samples.length > 2 && wallMs - (this.samples[1] as readonly [number, number])[0] >= MEASURE_WINDOW_MS) this.samples.shift();
  }

  /** Simulated ms per wall ms over the last few wall seconds (NaN until a second has passed, 0 when paused). */
  measured(): number {
    if (this._paused) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last[0] - first[0] < 1000) return NaN;
    return (last[1] - first[1]) / (last[0] - first[0]);
  }
}
