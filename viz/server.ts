/**
 * The view's server: express serves the page and its libraries from node_modules, socket.io
 * streams snapshots of one shared run to every connected browser and takes their controls back.
 * The run is a ViewSource (source.ts): a simulation paced to wall time (sim-source.ts) or a live
 * run on broker processes (live-source.ts).
 *
 * [VIZ-3] Snapshots go out on a fixed timer, at most `snapshotHz` a second, however fast the
 *         simulator runs; browsers never see per-event traffic.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Server as IoServer, type Socket } from 'socket.io';
import type { Scenario } from '../scenarios/types.ts';
import { CLIENT_DIR, VENDOR, vendorFile } from './assets.ts';
import { parseControl, quote, RateLimit } from './controls.ts';
import type { Speed } from './pacer.ts';
import type { Session } from './session.ts';
import { SimSource } from './sim-source.ts';
import type { AckReply, Hello, ViewSource } from './source.ts';

export type { AckReply, Hello } from './source.ts';

/** Snapshots per second, at most [VIZ-3]. */
export const SNAPSHOT_HZ = 10;

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly snapshotHz?: number;
  /** A line for the terminal (faults, restarts); default: none. */
  readonly log?: (line: string) => void;
}

export interface VizServerOptions extends ServeOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly durationMs: number;
  readonly speed: Speed;
}

export type Ack = (reply: AckReply) => void;

/** The event that carries an error to a client that sent a bad message without an ack. */
export const CONTROL_ERROR = 'control-error';
/** Controls one client may send: a burst, then a steady rate. */
export const CONTROLS_BURST = 20;
export const CONTROLS_PER_SECOND = 10;
/** The largest message a client may send (bytes); socket.io drops the connection past it. */
export const MAX_MESSAGE_BYTES = 4096;

export interface ViewServer {
  readonly url: string;
  readonly port: number;
  /** Snapshots broadcast so far. */
  readonly snapshotsSent: () => number;
  close(): Promise<void>;
}

export interface VizServer extends ViewServer {
  readonly session: Session;
}

/** `meshtwin viz`: a simulated run, paced to wall time, served to browsers. */
export async function startVizServer(opts: VizServerOptions): Promise<VizServer> {
  const source = new SimSource(opts);
  const server = await serveView(source, opts);
  return { ...server, session: source.session };
}

/** Serves one source to every browser that connects; resolves once it listens. */
export async function serveView(source: ViewSource, opts: ServeOptions): Promise<ViewServer> {
  const log = opts.log ?? (() => {});
  const hz = opts.snapshotHz ?? SNAPSHOT_HZ;
  let sent = 0;
  let finished: string | null = null;

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
  /** Greets one socket (or every one): the run, or the banner while there is none yet. */
  const greet = (to: Socket | IoServer): void => {
    const h = source.hello();
    if (h === null) to.emit('building', { text: source.waiting() });
    else to.emit('hello', { ...h, snapshotHz: hz } satisfies Hello);
    if (finished !== null) to.emit('finished', { text: finished });
  };
  source.bind({
    notice: (text) => {
      log(text);
      io.emit('notice', { text, at: source.now() });
    },
    building: (text) => io.emit('building', { text }),
    hello: () => greet(io),
    finished: (text) => {
      finished = text;
      io.emit('finished', { text });
    },
  });

  io.on('connection', (socket: Socket) => {
    greet(socket);
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
      // A bug of ours, not the client's: say so to the client and the terminal, keep serving.
      const failed = (e: unknown): void => {
        const text = e instanceof Error ? e.message : String(e);
        log(`${who}: ${String(event)} failed: ${text}`);
        reply({ ok: false, error: `internal error: ${text}` });
      };
      try {
        const r = source.control(parsed.control, who);
        if (r instanceof Promise) r.then(reply, failed);
        else reply(r);
      } catch (e) {
        failed(e);
      }
    });
  });

  const ticker = setInterval(() => {
    const s = source.tick();
    if (s === null) return;
    sent++;
    io.emit('snapshot', s);
  }, 1000 / hz);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    clearInterval(ticker);
    source.close();
    io.close();
    throw e;
  });
  source.start();
  const port = (http.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    snapshotsSent: () => sent,
    close: async () => {
      clearInterval(ticker);
      source.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
