/**
 * Test harness for the edges [EDGE-3..9]: one real broker (LiveHost, no neighbors, so it delivers
 * its own publishes locally) behind a HostPort, served by a real HTTP server on 127.0.0.1:0 with
 * the ingest router and the WebSocket subscribe attached; plus a WebSocket client that records
 * what it receives. Used by the tests only; every wait is bounded.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import WebSocket from 'ws';
import { LiveHost } from '../host.ts';
import { edgeHttp } from './http.ts';
import { HostPort } from './port.ts';
import { attachSubscribe, type EdgeSubscribe } from './ws.ts';

export interface Edge {
  readonly host: LiveHost;
  readonly port: HostPort;
  readonly server: Server;
  readonly subscribe: EdgeSubscribe;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  close(): Promise<void>;
}

export interface EdgeSetup {
  readonly spoolBytes?: number;
  readonly queueLimit?: number;
  readonly maxEventBytes?: number;
}

export async function startEdge(setup: EdgeSetup = {}): Promise<Edge> {
  let port: HostPort | undefined;
  const config = { id: 'us-1', neighbors: [], helloIntervalMs: 500, deadIntervalMs: 2000, hopLimit: 16, ...(setup.spoolBytes === undefined ? {} : { spoolBytes: setup.spoolBytes }) };
  const host = new LiveHost(config, { deliver: (sub, env, guaranteed) => (port as HostPort).deliver(sub, env, guaranteed) });
  port = new HostPort(host, null, setup.queueLimit);
  host.start();
  const app = express();
  app.use(edgeHttp(port, { maxEventBytes: setup.maxEventBytes ?? 4096 }));
  const server = createServer(app);
  const subscribe = attachSubscribe(server, port);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    port,
    server,
    subscribe,
    base,
    close: async () => {
      try {
        await subscribe.close();
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
      } finally {
        host.stop();
      }
    },
  };
}

/** A WebSocket subscriber: the parsed messages it received, in order. */
export interface WsClient {
  readonly ws: WebSocket;
  readonly messages: Array<Record<string, unknown>>;
  /** Messages with this event id. */
  withId(id: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Opens `/v1/subscribe` with these query parameters; resolves once open (rejects on refusal). */
export async function openWs(base: string, pattern: string, filter?: string): Promise<WsClient> {
  const q = new URLSearchParams({ pattern, ...(filter === undefined ? {} : { filter }) });
  const ws = new WebSocket(`${base.replace('http:', 'ws:')}/v1/subscribe?${q}`);
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ws open timed out')), 3000);
    ws.once('open', () => (clearTimeout(timer), resolve()));
    ws.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
  return {
    ws,
    messages,
    withId: (id) => messages.filter((m) => m['id'] === id),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, 'close');
      ws.terminate();
      await closed;
    },
  };
}

/** Tries to open `/v1/subscribe` (or `path`) and returns the HTTP refusal: status and body. */
export async function refusedWs(base: string, query: string, path = '/v1/subscribe'): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(`${base.replace('http:', 'ws:')}${path}?${query}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('no refusal within 3 s'))), 3000);
    ws.on('error', () => {});
    ws.once('open', () => (clearTimeout(timer), ws.terminate(), reject(new Error('the upgrade was accepted'))));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (clearTimeout(timer), ws.terminate(), resolve({ status: res.statusCode ?? 0, body })));
    });
  });
}

export { until } from '../testing.ts';
