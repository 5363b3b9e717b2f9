/**
 * The live view's server: express serves the page and its libraries from node_modules,
 * socket.io streams snapshots of one shared run to every connected browser and takes their
 * controls (pause, speed, restart, faults) back.
 *
 * [VIZ-3] Snapshots go out on a fixed timer, at most `snapshotHz` a second, however fast the
 *         simulator runs; browsers never see per-event traffic.
 * [VIZ-4] The simulator runs in slices of at most SLICE_MS of wall time between which the
 *         event loop serves sockets and timers.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Server as IoServer, type Socket } from 'socket.io';
import type { Scenario } from '../scenarios/types.ts';
import { CLIENT_DIR, VENDOR, vendorFile } from './assets.ts';
import type { Speed } from './pacer.ts';
import { Session, type LiveSnapshot } from './session.ts';
import type { SeriesPoint, Topology, ViewEvent } from './snapshot.ts';

/** Wall time the simulator gets per slice before the event loop runs again [VIZ-4]. */
export const SLICE_MS = 30;
/** Snapshots per second, at most [VIZ-3]. */
export const SNAPSHOT_HZ = 10;

export interface VizServerOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly durationMs: number;
  readonly speed: Speed;
  readonly port: number;
  readonly host: string;
  readonly snapshotHz?: number;
  /** A line for the terminal (faults, restarts); default: none. */
  readonly log?: (line: string) => void;
}

/** What a browser gets on connecting and after a restart. */
export interface Hello {
  readonly topology: Topology;
  readonly history: readonly SeriesPoint[];
  /** The latest control-plane events, oldest first (those of `snapshot` included). */
  readonly events: readonly ViewEvent[];
  readonly snapshot: LiveSnapshot;
  readonly snapshotHz: number;
}

export type Ack = (reply: { ok: true } | { ok: false; error: string }) => void;

export interface VizServer {
  readonly url: string;
  readonly port: number;
  readonly session: Session;
  /** Snapshots broadcast so far. */
  readonly snapshotsSent: () => number;
  close(): Promise<void>;
}

export async function startVizServer(opts: VizServerOptions): Promise<VizServer> {
  const log = opts.log ?? (() => {});
  const hz = opts.snapshotHz ?? SNAPSHOT_HZ;
  const session = new Session(opts.scenario, { seed: opts.seed, durationMs: opts.durationMs, speed: opts.speed, clock: () => performance.now() });
  let last: LiveSnapshot = session.snapshot();
  let sent = 0;
  let building = false;

  const app = express();
  app.disable('x-powered-by');
  app.get('/', (_req, res) => res.sendFile('index.html', { root: CLIENT_DIR }));
  app.use('/client', express.static(CLIENT_DIR, { index: false }));
  for (const name of Object.keys(VENDOR) as Array<keyof typeof VENDOR>) {
    const file = vendorFile(name);
    app.get(`/vendor/${name}`, (_req, res) => res.sendFile(file));
  }
  app.get('/favicon.ico', (_req, res) => res.status(204).end());

  const http: HttpServer = createServer(app);
  // serveClient: socket.io serves its own browser client from node_modules at /socket.io/.
  const io = new IoServer(http, { serveClient: true });
  const hello = (): Hello => ({ topology: session.topology, history: session.history, events: session.events, snapshot: last, snapshotHz: hz });

  io.on('connection', (socket: Socket) => {
    socket.emit('hello', hello());
    const who = `viewer ${socket.id.slice(0, 6)}`;
    const notice = (text: string) => {
      log(text);
      io.emit('notice', { text, at: session.mesh.now });
    };
    socket.on('pause', (ack?: Ack) => {
      session.pause();
      notice(`${who} paused`);
      ack?.({ ok: true });
    });
    socket.on('resume', (ack?: Ack) => {
      session.resume();
      notice(`${who} resumed`);
      ack?.({ ok: true });
    });
    socket.on('speed', (value: unknown, ack?: Ack) => {
      const speed = value === 'max' ? Infinity : typeof value === 'number' && value > 0 && Number.isFinite(value) ? value : NaN;
      if (Number.isNaN(speed)) return ack?.({ ok: false, error: `speed: expected a positive number or "max", found ${JSON.stringify(value)}` });
      session.setSpeed(speed);
      notice(`${who} set speed ${value === 'max' ? 'max' : `${value}×`}`);
      ack?.({ ok: true });
    });
    socket.on('fault', (msg: unknown, ack?: Ack) => {
      const m = msg as { action?: unknown; target?: unknown } | null;
      const target = Array.isArray(m?.target) && m.target.every((x) => typeof x === 'string') ? (m.target as string[]) : null;
      if (typeof m?.action !== 'string' || target === null) return ack?.({ ok: false, error: 'fault: expected { action, target: [ids] }' });
      const error = session.fault(m.action, target);
      if (error !== null) return ack?.({ ok: false, error });
      notice(`${who}: ${m.action} ${target.join(' – ')} at ${(session.mesh.now / 1000).toFixed(3)} s simulated`);
      ack?.({ ok: true });
    });
    socket.on('restart', (msg: unknown, ack?: Ack) => {
      const seed = (msg as { seed?: unknown } | null)?.seed;
      if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) return ack?.({ ok: false, error: `restart: expected an integer seed, found ${JSON.stringify(seed)}` });
      if (building) return ack?.({ ok: false, error: 'a restart is already under way' });
      building = true;
      notice(`${who} restarted with seed ${seed}`);
      io.emit('building', { seed });
      ack?.({ ok: true });
      // Building a large mesh blocks the event loop for seconds; let the notices go out first.
      setTimeout(() => {
        session.restart(seed);
        last = session.snapshot();
        building = false;
        io.emit('hello', hello());
      }, 50);
    });
  });

  let stopped = false;
  let next: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const loop = () => {
    if (stopped) return;
    const idle = building || session.step(SLICE_MS);
    next = idle ? setTimeout(loop, 5) : setImmediate(loop);
  };
  const ticker = setInterval(() => {
    if (building) return;
    last = session.snapshot();
    sent++;
    io.emit('snapshot', last);
  }, 1000 / hz);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    clearInterval(ticker);
    io.close();
    throw e;
  });
  // The first slice runs after the caller has printed the address.
  next = setImmediate(loop);
  const port = (http.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    session,
    snapshotsSent: () => sent,
    close: async () => {
      stopped = true;
      clearInterval(ticker);
      if (next !== undefined) {
        clearTimeout(next as NodeJS.Timeout);
        clearImmediate(next as NodeJS.Immediate);
      }
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
