/**
 * `meshtwin explain --live` asks each broker for its own gates [EXPLAIN-7] (engine/explain.ts
 * walks them): `GET /v1/explain` → `{"id", "hopLimit"}`; `POST /v1/explain/origin` `{input, dest}`,
 * `/hop` `{dest, hopsLeft, guaranteed}`, `/local` `{input}` → the gates at this broker, read-only
 * (nothing is published or counted). A malformed body is a 400 with one line.
 */
import express, { type Request, type Response, type Router } from 'express';
import { bodyErrors } from './body-errors.ts';
import type { PublishInput } from '../../engine/broker.ts';
import { validateTopic } from '../../engine/topic.ts';
import type { HeaderValue } from '../../engine/types.ts';
import type { LiveHost } from '../host.ts';

/** The event as the CLI sends it: what a publish carries, minus payload and time. */
export interface ExplainInput {
  readonly topic: string;
  readonly type?: string;
  readonly source?: string;
  readonly principal?: string;
  readonly headers?: Readonly<Record<string, HeaderValue>>;
  readonly guaranteed?: boolean;
}

/** An ExplainInput checked: a PublishInput, or what is wrong with it. */
export function explainInput(raw: unknown, nowMs: number): PublishInput | string {
  if (typeof raw !== 'object' || raw === null) return 'input: expected an object with topic (and type, principal, headers, guaranteed)';
  const r = raw as Record<string, unknown>;
  if (typeof r['topic'] !== 'string' || validateTopic(r['topic']) !== null) return `input.topic: expected a topic, found ${JSON.stringify(r['topic'])}`;
  const headers = r['headers'] ?? {};
  if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => !['string', 'number', 'boolean'].includes(typeof v)))
    return 'input.headers: expected a map of strings, numbers and booleans';
  for (const k of ['type', 'source', 'principal', 'data'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') return `input.${k}: expected a string`;
  return {
    id: 'explain',
    source: (r['source'] as string | undefined) ?? '/explain',
    type: (r['type'] as string | undefined) ?? 'com.meshtwin.event',
    topic: r['topic'],
    headers: headers as Record<string, HeaderValue>,
    payload: typeof r['data'] === 'string' ? new TextEncoder().encode(r['data']) : new Uint8Array(0),
    publishedAtMs: nowMs,
    guaranteed: r['guaranteed'] === true,
    ...(typeof r['principal'] === 'string' ? { principal: r['principal'] } : {}),
  };
}

export function explainRoutes(host: LiveHost, region: string): Router {
  const r = express.Router();
  const json = express.json({ limit: 64 * 1024 });
  const b = () => host.broker;
  const bad = (res: Response, error: string) => res.status(400).json({ error });
  const body = (req: Request): Record<string, unknown> => (typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {});
  r.get('/v1/explain', (_req, res) => {
    res.json({ id: b().id, region, hopLimit: b().config.hopLimit });
  });
  r.post('/v1/explain/origin', json, (req, res) => {
    const input = explainInput(body(req)['input'], host.now());
    const dest = body(req)['dest'];
    if (typeof input === 'string') return bad(res, input);
    if (typeof dest !== 'string') return bad(res, 'dest: expected a broker id');
    return res.json({ gates: b().explainOrigin(input, dest) });
  });
  r.post('/v1/explain/hop', json, (req, res) => {
    const { dest, hopsLeft, guaranteed } = body(req);
    if (typeof dest !== 'string') return bad(res, 'dest: expected a broker id');
    if (typeof hopsLeft !== 'number' || !Number.isInteger(hopsLeft)) return bad(res, 'hopsLeft: expected an integer');
    return res.json(b().explainHop(dest, hopsLeft, guaranteed === true));
  });
  r.post('/v1/explain/local', json, (req, res) => {
    const input = explainInput(body(req)['input'], host.now());
    if (typeof input === 'string') return bad(res, input);
    return res.json({ gates: b().explainLocal(input) });
  });
  r.use(bodyErrors);
  return r;
}
