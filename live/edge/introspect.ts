/**
 * What a live broker says about itself over HTTP [OBS-2] (what NATS's monitoring port gives as
 * /healthz, /routez, /subsz): GET /healthz (the process answers), /readyz (it has a connection to
 * at least one peer, or has none configured; 503 while draining), /metrics (Prometheus text,
 * metrics.ts), /v1/topology (this broker, its peers: address, cost, connection, adjacency, link
 * counters), /v1/routes (next hop per destination broker) and /v1/subscriptions (local
 * subscriptions with their queue depths, and the interest each other broker advertised).
 */
import { type Request, type Response, Router } from 'express';
import type { LiveBrokerConfig } from '../config.ts';
import type { LiveHost } from '../host.ts';
import type { BrokerMetrics } from '../metrics.ts';

export interface IntrospectSources {
  readonly config: LiveBrokerConfig;
  readonly host: LiveHost;
  readonly metrics: BrokerMetrics;
  readonly draining: () => boolean;
  readonly startedAtMs: number;
  /** Durable sessions (name, pattern, queued, attached). */
  readonly sessions?: () => unknown[];
}

export function introspection(s: IntrospectSources): Router {
  const r = Router();
  const view = () => s.host.broker.inspect();

  r.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok', broker: s.config.id });
  });
  r.get('/readyz', (_req: Request, res: Response) => {
    const peers = s.config.mesh.peers.length;
    const connected = s.host.connected().length;
    const ready = !s.draining() && (peers === 0 || view().upNeighbors().length > 0);
    res.status(ready ? 200 : 503).json({ ready, broker: s.config.id, draining: s.draining(), peers, connected, adjacencies: view().upNeighbors().length });
  });
  r.get('/metrics', async (_req: Request, res: Response) => {
    res.type(s.metrics.contentType).send(await s.metrics.text());
  });
  r.get('/v1/topology', (_req: Request, res: Response) => {
    const up = new Set(view().upNeighbors());
    res.json({
      broker: s.config.id,
      region: s.config.region,
      uptimeMs: Math.round(s.host.now() - s.startedAtMs),
      mesh: { listen: `${s.config.mesh.listen.host}:${s.config.mesh.listen.port}` },
      peers: s.config.mesh.peers.map((p) => ({
        id: p.id,
        address: `${p.host}:${p.port}`,
        cost: p.cost,
        connected: s.host.isConnected(p.id),
        adjacency: up.has(p.id),
        queuedBytes: s.host.queuedBytes(p.id),
        link: s.host.links.get(p.id),
      })),
    });
  });
  r.get('/v1/routes', (_req: Request, res: Response) => {
    res.json({
      broker: s.config.id,
      routes: view()
        .routes()
        .map(([dest, via]) => ({ dest, via })),
    });
  });
  r.get('/v1/subscriptions', (_req: Request, res: Response) => {
    const image = view().interestImage();
    res.json({
      broker: s.config.id,
      local: image.locals.map((sub) => ({
        id: sub.id,
        pattern: sub.share === null ? sub.pattern : `$share/${sub.share.group}/${sub.pattern}`,
        filter: sub.filter,
        client: (sub.tag as { kind?: string } | null)?.kind ?? null,
        queued: sub.consumer?.depth ?? 0,
      })),
      sessions: s.sessions?.() ?? [],
      remote: image.snapshots.map((f) => ({ origin: f.origin, seq: f.seq, patterns: f.entries.length, entries: f.entries.slice(0, 1000) })),
    });
  });
  return r;
}
