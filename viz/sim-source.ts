/**
 * The simulated run as the view's server shows it (`meshtwin viz`): a Session stepped in slices
 * between which the event loop serves sockets and timers, with the controls a person has over a
 * simulation (pause, speed, restart with another seed, faults).
 *
 * [VIZ-4] The simulator runs in slices of at most SLICE_MS of wall time between which the
 *         event loop serves sockets and timers.
 */
import type { Scenario } from '../scenarios/types.ts';
import { quote, type Control } from './controls.ts';
import type { Speed } from './pacer.ts';
import { Session, type LiveSnapshot } from './session.ts';
import type { AckReply, Hello, ViewOutput, ViewSource } from './source.ts';

/** Wall time the simulator gets per slice before the event loop runs again [VIZ-4]. */
export const SLICE_MS = 30;

export interface SimSourceOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly durationMs: number;
  readonly speed: Speed;
  /** A line for the terminal (a failed restart); default: none. */
  readonly log?: (line: string) => void;
}

export class SimSource implements ViewSource {
  readonly session: Session;
  #last: LiveSnapshot;
  #building = false;
  #stopped = false;
  #next: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #out: ViewOutput | undefined;
  readonly #log: (line: string) => void;

  constructor(opts: SimSourceOptions) {
    this.session = new Session(opts.scenario, { seed: opts.seed, durationMs: opts.durationMs, speed: opts.speed, clock: () => performance.now() });
    this.#last = this.session.snapshot();
    this.#log = opts.log ?? (() => {});
  }

  bind(out: ViewOutput): void {
    this.#out = out;
  }

  /** The first slice runs after the caller has printed the address. */
  start(): void {
    this.#next = setImmediate(this.#loop);
  }

  readonly #loop = (): void => {
    if (this.#stopped) return;
    const idle = this.#building || this.session.step(SLICE_MS);
    this.#next = idle ? setTimeout(this.#loop, 5) : setImmediate(this.#loop);
  };

  hello(): Omit<Hello, 'snapshotHz'> | null {
    const s = this.session;
    return { topology: s.topology, history: s.history, events: s.events, snapshot: this.#last };
  }

  waiting(): string {
    return 'building the mesh…';
  }

  tick(): LiveSnapshot | null {
    if (this.#building) return null;
    this.#last = this.session.snapshot();
    return this.#last;
  }

  now(): number {
    return this.session.mesh.now;
  }

  control(c: Control, who: string): AckReply {
    const session = this.session;
    const notice = (text: string) => this.#out?.notice(text);
    switch (c.kind) {
      case 'pause':
        session.pause();
        notice(`${who} paused`);
        return { ok: true };
      case 'resume':
        session.resume();
        notice(`${who} resumed`);
        return { ok: true };
      case 'speed':
        session.setSpeed(c.speed);
        notice(`${who} set speed ${c.speed === Infinity ? 'max' : `${c.speed}×`}`);
        return { ok: true };
      case 'fault': {
        if (this.#building) return { ok: false, error: 'a restart is under way; try again when the mesh is built' };
        const error = session.fault(c.action, c.target);
        if (error !== null) return { ok: false, error };
        notice(`${who}: ${c.action} ${c.target.join(' – ')} at ${(session.mesh.now / 1000).toFixed(3)} s simulated`);
        return { ok: true };
      }
      case 'restart': {
        if (this.#building) return { ok: false, error: 'a restart is already under way' };
        this.#building = true;
        notice(`${who} restarted with seed ${c.seed}`);
        this.#out?.building(`building the mesh for seed ${c.seed}… (a large mesh takes seconds)`);
        // Building a large mesh blocks the event loop for seconds; let the notices go out first.
        setTimeout(() => {
          try {
            session.restart(c.seed);
          } catch (e) {
            this.#log(`restart with seed ${c.seed} failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          this.#last = session.snapshot();
          this.#building = false;
          this.#out?.hello();
        }, 50);
        return { ok: true };
      }
      default: {
        const never: never = c;
        return { ok: false, error: `unhandled control ${quote(never)}` };
      }
    }
  }

  close(): void {
    this.#stopped = true;
    if (this.#next !== undefined) {
      clearTimeout(this.#next as NodeJS.Timeout);
      clearImmediate(this.#next as NodeJS.Immediate);
    }
  }
}
