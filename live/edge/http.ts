/**
 * The live broker's HTTP ingest (issue 9, seed 002 "Ingest Event Payload"): an express 5 router
 * with `POST /v1/events/publish`, CloudEvents in binary, structured or batch mode (cloudevent.ts
 * says how an event becomes a publish [EDGE-3] [EDGE-4]). The broker process mounts it beside its
 * own routes (/metrics, /v1/topology); the router answers its errors itself, so a client's
 * mistake is never a 500 and no response carries a stack trace [EDGE-6].
 *
 * Answers [EDGE-6]:
 * - 202 `{"eventId":"evt-1","status":"ACCEPTED","brokerTimestamp":1770289945123}` (ms; a
 *   guaranteed event only once durable [EDGE-1]).
 * - batch: every event is checked before any is published; the first bad one is a 400 naming its
 *   index (`event 2: missing source`) and nothing is published. Then the events are published in
 *   order: 202 with an array of per-event answers. If the broker refuses one (backpressure,
 *   draining), publishing stops there: that one is `"status":"BACKPRESSURE"` or `"UNAVAILABLE"`,
 *   the rest `"NOT_PUBLISHED"`, and the response carries Retry-After; if it refuses the first, the
 *   answer is the 503 below (nothing was published).
 * - 400 `{"error":"..."}`: bad JSON, a missing or invalid attribute, no topic, an invalid topic,
 *   a bad delivery class, an empty body, a batch that is not an array or is over `maxBatchEvents`.
 * - 413: a body over `maxEventBytes` (a batch: over `maxBatchBytes`, or one event of it whose JSON
 *   is over `maxEventBytes`).
 * - 415: an event format other than JSON, or a form encoding (cloudevent.ts `modeOf`).
 * - 503 with `Retry-After` (seconds): the broker's spool cannot take a guaranteed event
 *   (backpressure [SPOOL-1]) or the broker is draining.
 * - 401: a bearer token the broker does not know (auth.ts); 403: the policy does not let the
 *   principal publish the event [ACL-3] (`{"error": "token:ci may not publish ... (policy v2)"}`);
 *   in a batch, a refused event is `"status":"DENIED"` and publishing stops there.
 * - 400 for data a schema that applies rejects [SCHEMA-7]: `{"error": "data does not match schema
 *   \"com.acme.order.*\" v2: /amountCents must be integer", "subject", "version", "id", "path":
 *   "/amountCents", "keyword": "type", "message": "must be integer", "schemaPath"}`; in a batch
 *   `"status":"INVALID_DATA"` with its `error`, and publishing stops there.
 * - 429 with Retry-After: over the principal's publish rate (live/limits.ts; batch: RATE_LIMITED).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ingestBinary, ingestStructured, ingestStructuredValue, type IngestError, type Ingested, MIME_BATCH, mediaType, modeOf } from './cloudevent.ts';
import type { AuthResult } from '../auth.ts';
import type { EdgePort, EdgePublish, EdgePublishResult } from './port.ts';

export interface EdgeHttpOptions {
  /** Largest body of one event (binary or structured mode), bytes; larger → 413. */
  readonly maxEventBytes: number;
  /** Largest batch body, bytes (default 16 × maxEventBytes). */
  readonly maxBatchBytes?: number;
  /** Most events in one batch (default 1000). */
  readonly maxBatchEvents?: number;
  /** Retry-After on a 503, seconds (default 1). */
  readonly retryAfterS?: number;
  /** Structured log lines (refusals by the broker, internal errors with their stack). */
  readonly log?: (obj: Record<string, unknown>) => void;
  /** Who the client is [AUTH-1] (default: everyone is `anonymous`); a refusal is a 401. */
  readonly authenticate?: (req: Request) => Promise<AuthResult>;
}

/** The publish path (seed 002). */
export const PUBLISH_PATH = '/v1/events/publish';

/** One event's answer in a 202 (a batch's element, or the whole body for one event). */
export interface PublishAnswer {
  readonly eventId: string;
  readonly status: 'ACCEPTED' | 'BACKPRESSURE' | 'UNAVAILABLE' | 'DENIED' | 'RATE_LIMITED' | 'INVALID_DATA' | 'NOT_PUBLISHED';
  readonly brokerTimestamp?: number;
  /** INVALID_DATA: why [SCHEMA-8]. */
  readonly error?: string;
}

/** An express router with `POST /v1/events/publish` over `port` [EDGE-6]. */
export function edgeHttp(port: EdgePort, opts: EdgeHttpOptions): Router {
  if (!(opts.maxEventBytes >= 1)) throw new RangeError(`maxEventBytes must be >= 1, got ${opts.maxEventBytes}`);
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * opts.maxEventBytes;
  const maxBatchEvents = opts.maxBatchEvents ?? 1000;
  const retryAfterS = opts.retryAfterS ?? 1;
  const log = opts.log ?? (() => {});
  // Every content type is read as bytes: the mode is ours to decide (415 is an answer, not a skip).
  const readEvent = express.raw({ type: () => true, limit: opts.maxEventBytes });
  const readBatch = express.raw({ type: () => true, limit: maxBatchBytes });

  const router = express.Router();
  router.post(
    PUBLISH_PATH,
    (req, res, next) => (mediaType(req.headers['content-type']) === MIME_BATCH ? readBatch : readEvent)(req, res, next),
    async (req: Request, res: Response) => {
      const media = mediaType(req.headers['content-type']);
      const mode = modeOf(media);
      if (typeof mode !== 'string') return refuse(res, mode);
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const who = opts.authenticate === undefined ? undefined : await opts.authenticate(req);
      if (who !== undefined && !who.ok) return res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: who.error });
      const principal = who?.principal;

      if (mode === 'batch') {
        const events = parseBatch(body, opts.maxEventBytes, maxBatchEvents);
        if (!Array.isArray(events)) return refuse(res, events);
        const answers: PublishAnswer[] = [];
        const results = await port.publishBatch(principal === undefined ? (events as EdgePublish[]) : (events as EdgePublish[]).map((e) => ({ ...e, principal })));
        for (let i = 0; i < results.length; i++) {
          const e = events[i] as EdgePublish;
          const r = results[i] as EdgePublishResult;
          if (r.status === 'accepted') {
            answers.push({ eventId: e.id, status: 'ACCEPTED', brokerTimestamp: r.brokerTimestamp });
            continue;
          }
          if (r.status === 'invalid-topic') throw new Error(`broker refused topic ${JSON.stringify(e.topic)} that validateTopic took`);
          log({ msg: 'publish refused', status: r.status, eventId: e.id, index: i });
          if (i === 0) {
            if (r.status === 'denied') return res.status(403).json({ error: `event 0: ${r.reason}` });
            if (r.status === 'rate-limited') return rateLimited(res, r.retryAfterMs);
            if (r.status === 'invalid-data') return res.status(400).json(invalidBody(`event 0: ${r.reason}`, r));
            return unavailable(res, r, retryAfterS);
          }
          if (r.status === 'invalid-data') answers.push({ eventId: e.id, status: 'INVALID_DATA', error: r.reason });
          else answers.push({ eventId: e.id, status: r.status === 'denied' ? 'DENIED' : r.status === 'rate-limited' ? 'RATE_LIMITED' : r.status === 'backpressure' ? 'BACKPRESSURE' : 'UNAVAILABLE' });
          for (let j = i + 1; j < events.length; j++) answers.push({ eventId: (events[j] as EdgePublish).id, status: 'NOT_PUBLISHED' });
          if (r.status === 'rate-limited') res.set('Retry-After', String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
          else if (r.status !== 'denied' && r.status !== 'invalid-data') res.set('Retry-After', String(retryAfterS));
          break;
        }
        return res.status(202).json(answers);
      }

      let ingested: Ingested;
      if (mode === 'structured') {
        if (body.length === 0) return refuse(res, { status: 400, error: 'empty body: a structured event is a JSON object' });
        ingested = ingestStructured(body.toString('utf8'));
      } else ingested = ingestBinary(req.headers, body);
      if (!ingested.ok) return refuse(res, { status: 400, error: ingested.error });
      const e = principal === undefined ? ingested.publish : { ...ingested.publish, principal };
      const r = await port.publish(e);
      switch (r.status) {
        case 'accepted':
          return res.status(202).json({ eventId: e.id, status: 'ACCEPTED', brokerTimestamp: r.brokerTimestamp } satisfies PublishAnswer);
        case 'invalid-topic':
          return refuse(res, { status: 400, error: `invalid topic ${JSON.stringify(e.topic)}` });
        case 'backpressure':
        case 'unavailable':
          log({ msg: 'publish refused', status: r.status, eventId: e.id });
          return unavailable(res, r, retryAfterS);
        case 'denied':
          return res.status(403).json({ error: r.reason });
        case 'invalid-data':
          return res.status(400).json(invalidBody(r.reason, r));
        case 'rate-limited':
          return rateLimited(res, r.retryAfterMs);
        default: {
          const never: never = r;
          throw new Error(`unhandled publish result ${JSON.stringify(never)}`);
        }
      }
    },
  );

  // [EDGE-6] body-parser's errors (413, a bad Content-Encoding, an aborted upload) say whose
  // fault they are in `status`/`expose`; anything else is ours: a 500 without details.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown; type?: unknown; message?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (status === 413) {
      const limit = mediaType(req.headers['content-type']) === MIME_BATCH ? maxBatchBytes : opts.maxEventBytes;
      return res.status(413).json({ error: `body over ${limit} bytes` });
    }
    if (status >= 400 && status < 500) return res.status(status).json({ error: e.expose === true && typeof e.message === 'string' ? e.message : 'bad request' });
    log({ msg: 'internal error', path: req.path, err: err instanceof Error ? err.stack : String(err) });
    return res.status(500).json({ error: 'internal error' });
  });
  return router;
}

/** [SCHEMA-8] A 400 for data a schema refused: the reason, and the subject, version, data path and ajv's keyword and message apart. */
function invalidBody(error: string, r: Extract<EdgePublishResult, { status: 'invalid-data' }>): Record<string, unknown> {
  const f = r.refusal;
  return { error, subject: f.subject, version: f.version, id: f.id, path: f.error.path, keyword: f.error.keyword, message: f.error.message, schemaPath: f.error.schemaPath };
}

function refuse(res: Response, e: IngestError): Response {
  return res.status(e.status).json({ error: e.error });
}

/** [LIMIT-1] 429 with Retry-After in whole seconds (at least 1). */
function rateLimited(res: Response, retryAfterMs: number): Response {
  const s = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return res
    .status(429)
    .set('Retry-After', String(s))
    .json({ error: `over this principal's publish rate: retry after ${s} s` });
}

function unavailable(res: Response, r: EdgePublishResult, retryAfterS: number): Response {
  const why = r.status === 'backpressure' ? 'broker spool full (backpressure): retry later' : 'broker unavailable (draining): retry later';
  return res.status(503).set('Retry-After', String(retryAfterS)).json({ error: why });
}

/** How much longer than its text in a body a parsed JSON value's JSON.stringify can be, rounded up. */
export const STRINGIFY_GROWTH_MAX = 6;

/** A batch body: every event checked before any is published (an error names its index). */
function parseBatch(body: Buffer, maxEventBytes: number, maxBatchEvents: number): EdgePublish[] | IngestError {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { status: 400, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(raw)) return { status: 400, error: 'a batch must be a JSON array of structured events' };
  if (raw.length > maxBatchEvents) return { status: 400, error: `a batch holds at most ${maxBatchEvents} events, got ${raw.length}` };
  const out: EdgePublish[] = [];
  // An element's JSON.stringify is at most 5.25× its text in the body (the worst: a number like
  // 1e20 becomes 21 digits; an invalid UTF-8 byte becomes U+FFFD, 3 bytes), so in a body of at
  // most maxEventBytes / 6 bytes none is over maxEventBytes: no element needs stringifying (it
  // cost more than the batch's JSON.parse, per event).
  const measure = body.length > maxEventBytes / STRINGIFY_GROWTH_MAX;
  for (let i = 0; i < raw.length; i++) {
    let text: string | undefined;
    if (measure) {
      text = JSON.stringify(raw[i]) ?? '';
      if (Buffer.byteLength(text) > maxEventBytes) return { status: 413, error: `event ${i}: over ${maxEventBytes} bytes` };
    }
    const r = ingestStructuredValue(raw[i], text);
    if (!r.ok) return { status: 400, error: `event ${i}: ${r.error}` };
    out.push(r.publish);
  }
  return out;
}
