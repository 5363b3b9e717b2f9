/**
 * `meshtwin subscribe (--ws URL | --grpc HOST:PORT) --pattern P [--filter F] [--durable NAME]
 * [--count N]`: a subscriber for a live broker, printing each event it receives as one JSON line
 * (the WebSocket's CloudEvents JSON, or the gRPC EventEnvelope with its payload as text when it
 * is UTF-8). What `nats sub` is to NATS: a way to see the mesh deliver, from a shell. A refused
 * subscription (a bad pattern or filter) is one line and exit 2; Ctrl-C ends it (exit 0).
 */
import { credentials, type ClientDuplexStream, Metadata, type ServiceError } from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadSubscriptionService, type WireEventEnvelope, type WireSubscriptionRequest } from '../live/edge/grpc.ts';
import { CliError } from './options.ts';

export interface SubscribeOptions {
  readonly ws?: string;
  readonly grpc?: string;
  readonly pattern: string;
  readonly filter?: string;
  readonly durable?: string;
  readonly count?: string;
  /** An API token (NAME.SECRET) for the broker's auth [AUTH-1]. */
  readonly token?: string;
}

export async function subscribeCommand(opts: SubscribeOptions): Promise<void> {
  if ((opts.ws === undefined) === (opts.grpc === undefined)) throw new CliError("give one of --ws http://HOST:PORT (a broker's edge.http) or --grpc HOST:PORT (its edge.grpc)");
  const count = opts.count === undefined ? Infinity : Number(opts.count);
  if (!(count >= 1) || !Number.isInteger(count === Infinity ? 1 : count)) throw new CliError(`--count: expected a whole number of events >= 1, found ${JSON.stringify(opts.count)}`);
  let seen = 0;
  const print = (line: string): boolean => {
    process.stdout.write(`${line}\n`);
    return ++seen >= count;
  };
  if (opts.ws !== undefined) await viaWebSocket(opts, print);
  else await viaGrpc(opts, print);
}

function viaWebSocket(opts: SubscribeOptions, print: (line: string) => boolean): Promise<void> {
  let base: URL;
  try {
    base = new URL(opts.ws as string);
  } catch {
    throw new CliError(`--ws: expected a URL such as http://127.0.0.1:8003, found ${JSON.stringify(opts.ws)}`);
  }
  base.protocol = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
  base.pathname = '/v1/subscribe';
  base.search = new URLSearchParams({
    pattern: opts.pattern,
    ...(opts.filter === undefined ? {} : { filter: opts.filter }),
    ...(opts.durable === undefined ? {} : { durable: opts.durable }),
  }).toString();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base, opts.token === undefined ? {} : { headers: { authorization: `Bearer ${opts.token}` } });
    process.once('SIGINT', () => ws.close());
    ws.on('message', (m) => {
      if (print(String(m))) ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => reject(new CliError(`${base.host} refused the subscription (HTTP ${res.statusCode}): ${body.trim()}`)));
    });
    ws.on('error', (e) => reject(new CliError(`${base.host}: ${e.message}`)));
    ws.on('close', () => resolve());
  });
}

function viaGrpc(opts: SubscribeOptions, print: (line: string) => boolean): Promise<void> {
  const Service = loadSubscriptionService();
  const client = new Service(opts.grpc as string, credentials.createInsecure()) as unknown as { Subscribe(): ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope>; close(): void };
  const metadata = new Metadata();
  if (opts.token !== undefined) metadata.set('authorization', `Bearer ${opts.token}`);
  const call = (client as unknown as { Subscribe(m: Metadata): ClientDuplexStream<WireSubscriptionRequest, WireEventEnvelope> }).Subscribe(metadata);
  return new Promise((resolve, reject) => {
    const end = (): void => {
      call.cancel();
      client.close();
      resolve();
    };
    process.once('SIGINT', end);
    call.on('data', (e: WireEventEnvelope) => {
      const text = Buffer.from(e.payload_bytes).toString('utf8');
      const payload = Buffer.from(text, 'utf8').equals(Buffer.from(e.payload_bytes)) ? text : Buffer.from(e.payload_bytes).toString('base64');
      if (print(JSON.stringify({ ...e, payload_bytes: payload }))) end();
    });
    call.on('error', (err: ServiceError) => {
      client.close();
      if (err.code === 1)
        resolve(); // CANCELLED: ours
      else reject(new CliError(`${opts.grpc}: ${err.details || err.message}`));
    });
    call.on('end', () => resolve());
    call.write({ client_id: opts.durable ?? 'meshtwin-subscribe', action: 'SUBSCRIBE', topic_pattern: opts.pattern, filter_expression: opts.filter ?? '' });
  });
}
