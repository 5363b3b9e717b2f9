/**
 * One watched run: a simulated mesh, paced to wall time, with the controls the view offers
 * (pause, speed, restart with another seed, faults). No sockets and no timers here: the server
 * calls `step` and `snapshot`, handing in the wall clock, so tests can drive it directly.
 */
import type { FaultAction, FaultSpec, Scenario } from '../scenarios/types.ts';
import { Mesh } from '../sim/mesh.ts';
import { withDuration } from '../sim/run.ts';
import { ViewLatency } from './latency.ts';
import { Pacer, type Speed } from './pacer.ts';
import { seriesPoint, SnapshotBuilder, topologyOf, type SeriesPoint, type Snapshot, type Topology, type ViewEvent } from './snapshot.ts';
import type { LiveStatus } from './source.ts';

/** Faults a person can cause from the view. */
export const VIEW_FAULTS: readonly FaultAction[] = ['link-down', 'link-up', 'crash', 'restart'];
/** Time-series points kept; past it every other point is dropped (the whole run stays in view). */
export const HISTORY_MAX = 2000;
/** Control-plane events kept for browsers that connect later. */
export const EVENTS_KEPT = 200;

export interface SessionOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly speed: Speed;
  /** The wall clock in ms (performance.now in the server; a fake one in tests). */
  readonly clock: () => number;
}

/** How the run is going, as the view shows it. */
export interface RunStatus {
  readonly seed: number;
  readonly paused: boolean;
  /** Requested speed: simulated seconds per wall second, or 'max'. */
  readonly speed: number | 'max';
  /** Measured over the last few wall seconds (null until measured; 0 when paused or done). */
  readonly measuredSpeed: number | null;
  /** Wall seconds it took to build the mesh (brokers, subscriptions). */
  readonly buildSeconds: number;
  readonly kernelEvents: number;
}

/** What the server streams: a snapshot, the run's status, and a live run's own (null when simulated). */
export type LiveSnapshot = Snapshot & { readonly run: RunStatus; readonly live: LiveStatus | null };

export class Session {
  mesh!: Mesh;
  private builder!: SnapshotBuilder;
  private pacer!: Pacer;
  private buildSeconds = 0;
  private seed: number;
  /**
   * Kernel events per wall ms, for sizing slices; it starts low because the warm-up's first
   * events (every broker advertising its whole interest table) are the slowest.
   */
  private eventsPerMs = 1;
  history: SeriesPoint[] = [];
  /** The latest control-plane events (for browsers that connect later). */
  events: ViewEvent[] = [];
  topology!: Topology;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: SessionOptions,
  ) {
    this.seed = opts.seed;
    this.build(opts.speed);
  }

  private build(speed: Speed): void {
    const clock = this.opts.clock;
    const t0 = clock();
    const mesh = new Mesh(withDuration(this.scenario, this.opts.durationMs), this.seed, this.opts.durationMs);
    const latency = ViewLatency.watch(mesh);
    this.mesh = mesh;
    this.builder = new SnapshotBuilder(mesh, latency);
    this.buildSeconds = (clock() - t0) / 1000;
    this.pacer = new Pacer(speed, clock(), mesh.now);
    this.history = [];
    this.events = [];
    this.topology = topologyOf(mesh);
  }

  /** Starts over with another seed (same scenario, speed and pause state). */
  restart(seed: number): void {
    const paused = this.pacer.paused;
    this.seed = seed;
    this.build(this.pacer.speed);
    if (paused) this.pacer.pause(this.opts.clock(), this.mesh.now);
  }

  get paused(): boolean {
    return this.pacer.paused;
  }

  get done(): boolean {
    return this.mesh.done;
  }

  pause(): void {
    this.pacer.pause(this.opts.clock(), this.mesh.now);
  }

  resume(): void {
    this.pacer.resume(this.opts.clock(), this.mesh.now);
  }

  setSpeed(speed: Speed): void {
    this.pacer.setSpeed(speed, this.opts.clock(), this.mesh.now);
  }

  /**
   * Runs the simulator toward where the pacer says it should be, for at most `budgetMs` of wall
   * time. The warm-up (control plane before traffic) runs flat out. Returns true when the
   * simulator has caught up (nothing to do until the wall clock moves on).
   */
  step(budgetMs: number): boolean {
    const clock = this.opts.clock;
    const mesh = this.mesh;
    const start = clock();
    for (;;) {
      if (mesh.done || this.pacer.paused) return true;
      const wall = clock();
      let target: number;
      if (mesh.now < 0) {
        target = 0;
      } else {
        target = this.pacer.target(wall, mesh.now);
      }
      if (target <= mesh.now) {
        this.pacer.observe(wall, mesh.now);
        return true;
      }
      const chunk = Math.max(8, Math.min(200_000, Math.round(this.eventsPerMs * 10)));
      const wasWarm = mesh.now < 0;
      const t0 = clock();
      const n = mesh.runSome(target, chunk);
      const dt = clock() - t0;
      if (n > 0 && dt > 0) this.eventsPerMs = 0.8 * this.eventsPerMs + 0.2 * (n / dt);
      // Traffic starts: pace from here.
      if (wasWarm && mesh.now >= 0) this.pacer.anchor(clock(), mesh.now);
      if (n < chunk && target >= mesh.now && !wasWarm && this.pacer.speed !== Infinity) {
        this.pacer.observe(clock(), mesh.now);
        return true;
      }
      if (clock() - start >= budgetMs) {
        this.pacer.observe(clock(), mesh.now);
        return false;
      }
    }
  }

  /** A snapshot of now; its point is added to the history. */
  snapshot(): LiveSnapshot {
    const snap = this.builder.snapshot();
    if (snap.phase !== 'warmup') this.addPoint(seriesPoint(snap));
    if (snap.events.length > 0) {
      this.events.push(...snap.events);
      if (this.events.length > EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
    }
    const measured = this.mesh.done ? 0 : this.pacer.measured();
    return {
      ...snap,
      run: {
        seed: this.seed,
        paused: this.pacer.paused,
        speed: this.pacer.speed === Infinity ? 'max' : this.pacer.speed,
        measuredSpeed: Number.isNaN(measured) || this.mesh.now < 0 ? null : measured,
        buildSeconds: this.buildSeconds,
        kernelEvents: this.mesh.kernel.executed,
      },
      live: null,
    };
  }

  private addPoint(p: SeriesPoint): void {
    const last = this.history[this.history.length - 1];
    if (last !== undefined && last.t === p.t) {
      this.history[this.history.length - 1] = p;
      return;
    }
    this.history.push(p);
    if (this.history.length > HISTORY_MAX) this.history = this.history.filter((_, i) => i % 2 === 1);
  }

  /**
   * Applies a fault now. Returns null when applied, else why not (one line for the person who
   * clicked).
   */
  fault(action: string, target: readonly string[]): string | null {
    if (!VIEW_FAULTS.includes(action as FaultAction)) return `unknown fault "${action}" (expected one of ${VIEW_FAULTS.join(', ')})`;
    const mesh = this.mesh;
    if (mesh.done) return 'the run has finished; restart it first';
    if (action === 'link-down' || action === 'link-up') {
      const [a, b] = target;
      if (target.length !== 2 || a === undefined || b === undefined) return `${action} needs two broker ids`;
      const link = this.topology.links.find((l) => (l.a === a && l.b === b) || (l.a === b && l.b === a));
      if (link === undefined) return `no link between "${a}" and "${b}"`;
      const up = mesh.linkUp(a, b);
      if (action === 'link-down' && !up) return `${a} – ${b} is already down`;
      if (action === 'link-up' && up) return `${a} – ${b} is already up`;
    } else {
      const [id] = target;
      if (target.length !== 1 || id === undefined) return `${action} needs one broker id`;
      const node = mesh.node(id);
      if (node === undefined) return `no broker "${id}"`;
      if (action === 'crash' && !node.alive) return `${id} is already down`;
      if (action === 'restart' && node.alive) return `${id} is running`;
    }
    const spec: FaultSpec = { atMs: mesh.now, action: action as FaultAction, target: [...target] };
    mesh.applyFault(spec);
    return null;
  }
}
