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
import { parseControl, quote, RateLimit, type Control } from './controls.ts';
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

export type AckReply = { ok: true } | { ok: false; error: string };
export type Ack = (reply: AckReply) => void;

/** The event that carries an error to a client that sent a bad message without an ack. */
export const CONTROL_ERROR = 'control-error';
/** Controls one client may send: a burst, then a steady rate. */
export const CONTROLS_BURST = 20;
export const CONTROLS_PER_SECOND = 10;
/** The largest message a client may send (bytes); socket.io drops the connection past it. */
export const MAX_MESSAGE_BYTES = 4096;

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
  // maxHttpBufferSize: the controls are a few dozen bytes; a client sending more is cut off.
  const io = new IoServer(http, { serveClient: true, maxHttpBufferSize: MAX_MESSAGE_BYTES });
  const hello = (): Hello => ({ topology: session.topology, history: session.history, events: session.events, snapshot: last, snapshotHz: hz });

  io.on('connection', (socket: Socket) => {
    socket.emit('hello', hello());
    const who = `viewer ${socket.id.slice(0, 6)}`;
    const limit = new RateLimit(CONTROLS_PER_SECOND, CONTROLS_BURST, () => performance.now());
    // A client's 'error' event (or socket.io's own, from a middleware) is that client's
    // problem: without a listener EventEmitter would throw it and end the process.
    socket.on('error', (e: unknown) => log(`${who}: socket error: ${e instanceof Error ? e.message : quote(e)}`));
    // [VIZ-CTRL-1] Every message from a client comes through here, whatever its name.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (args.pop() as Ack) : null;
      const reply: Ack = (r) => {
        if (ack !== null) ack(r);
        else if (!r.ok) socket.emit(CONTROL_ERROR, { event: quote(event), error: r.error });
      };
      if (!limit.take()) return reply({ ok: false, error: `too many controls: at most ${CONTROLS_PER_SECOND} a second` });
      const parsed = parseControl(event, args);
      if (!parsed.ok) return reply(parsed);
      try {
        reply(apply(parsed.control, who));
      } catch (e) {
        // A bug of ours, not the client's: say so to the client and the terminal, keep serving.
        const text = e instanceof Error ? e.message : String(e);
        log(`${who}: ${String(event)} failed: ${text}`);
        reply({ ok: false, error: `internal error: ${text}` });
      }
    });
  });

  const notice = (text: string) => {
    log(text);
    io.emit('notice', { text, at: session.mesh.now });
  };

  /** Applies a valid control; the reply for the client who sent it. */
  const apply = (c: Control, who: string): AckReply => {
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
        if (building) return { ok: false, error: 'a restart is under way; try again when the mesh is built' };
        const error = session.fault(c.action, c.target);
        if (error !== null) return { ok: false, error };
        notice(`${who}: ${c.action} ${c.target.join(' – ')} at ${(session.mesh.now / 1000).toFixed(3)} s simulated`);
        return { ok: true };
      }
      case 'restart': {
        if (building) return { ok: false, error: 'a restart is already under way' };
        building = true;
        notice(`${who} restarted with seed ${c.seed}`);
        io.emit('building', { seed: c.seed });
        // Building a large mesh blocks the event loop for seconds; let the notices go out first.
        setTimeout(() => {
          try {
            session.restart(c.seed);
          } catch (e) {
            log(`restart with seed ${c.seed} failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          last = session.snapshot();
          building = false;
          io.emit('hello', hello());
        }, 50);
        return { ok: true };
      }
      default: {
        const never: never = c;
        return { ok: false, error: `unhandled control ${quote(never)}` };
      }
    }
  };

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
