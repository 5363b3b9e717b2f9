/**
 * A TCP relay between two brokers [RELAY-1]: it listens on 127.0.0.1 and passes bytes both ways
 * to its target, so a test (and, with delay and pacing, `meshtwin live`'s link shaper) can stand
 * in the middle of one mesh link. `cut()` closes every relayed connection and refuses new ones
 * (a peer sees its connection close at once, as when a link is cut); `heal()` lets them through
 * again. It never reads what it carries: TLS passes end to end.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class LinkRelay {
  #server: Server | undefined;
  #cut = false;
  readonly #pairs = new Set<Socket>();
  /** Connections relayed, and refused while cut. */
  accepted = 0;
  refused = 0;
  port = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const a = server.address();
    this.port = a !== null && typeof a === 'object' ? a.port : port;
    return this.port;
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      this.refused++;
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const s of [client, upstream]) {
      this.#pairs.add(s);
      s.on('close', () => this.#pairs.delete(s));
    }
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Closes what it carries and refuses new connections until `heal()`. */
  cut(): void {
    this.#cut = true;
    for (const s of this.#pairs) s.destroy();
  }

  heal(): void {
    this.#cut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((done) => server.close(() => done()));
  }
}
