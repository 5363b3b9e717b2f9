/**
 * The schema registry over HTTP [SCHEMA-10], in the shape of Confluent's Schema Registry API, on
 * the broker's HTTP port. A subject in a path is URL-encoded (`topic:orders/#` is
 * `topic%3Aorders%2F%23`).
 *
 * - `GET /v1/schemas` → `{"version": 3, "subjects": [{"subject", "compatibility", "versions": [1, 2]}]}`
 *   (version: the registry document this broker enforces).
 * - `GET /v1/schemas/{subject}/versions` → `[1, 2]`; 404 for a subject without versions.
 * - `GET /v1/schemas/{subject}/versions/{n|latest}` → `{"subject", "version", "id",
 *   "compatibility", "schema"}` (the schema as JSON, not a string); 404 when absent.
 * - `POST /v1/schemas/{subject}/versions` `{"schema": {...}}` → 200 `{"id", "version"}` (the
 *   existing ones for a schema already registered there); 409 `{"error", "compatibility",
 *   "problems": [...]}` when incompatible; 422 `{"error"}` for a schema that does not compile;
 *   400 for a body or subject that is not one; 413 when the registry would outgrow a governance
 *   frame. A registration is the registry's next version made here, flooded to every broker
 *   [SCHEMA-3][GOV-3].
 * - `POST /v1/schemas/{subject}/compatibility` `{"schema": {...}}` → 200 `{"is_compatible",
 *   "compatibility", "messages": [...]}` (checks, registers nothing); 422, 400 as above.
 * - `GET|PUT /v1/schemas/{subject}/config` `{"compatibility": "FULL"}` → 200
 *   `{"compatibility"}` (PUT floods the registry's next version); 400 for an unknown mode.
 * Changes (POST versions, PUT config) are for the principals in `auth.admins` [AUTH-4], as policy
 * changes are: 401 without valid credentials, 403 for anyone else. Reads and checks are open.
 */
import express, { type Request, type Response, type Router } from 'express';
import { isCompatibility } from '../../engine/schema/compat.ts';
import { SCHEMAS_DOC, type SchemaRegistry } from '../../engine/broker.ts';
import type { Authenticator } from '../auth.ts';
import type { LiveHost } from '../host.ts';
import { bodyErrors } from './body-errors.ts';

const BASE = '/v1/schemas';

export function schemaRoutes(host: LiveHost, auth: Authenticator, maxBytes: number): Router {
  const r = express.Router();
  const registry = (): SchemaRegistry => host.broker.schemas;
  const json = express.raw({ type: () => true, limit: maxBytes });

  r.get(BASE, (_req, res) => {
    const reg = registry();
    res.json({ version: reg.version, subjects: reg.subjects.map((s) => ({ subject: s.name, compatibility: s.compatibility, versions: s.versions.map((v) => v.version) })) });
  });

  r.get(`${BASE}/:subject/versions`, (req, res) => {
    const s = registry().subject(subjectOf(req));
    if (s === undefined || s.versions.length === 0) return notFound(res, `subject ${JSON.stringify(subjectOf(req))} has no versions`);
    res.json(s.versions.map((v) => v.version));
  });

  r.get(`${BASE}/:subject/versions/:version`, (req, res) => {
    const name = subjectOf(req);
    const s = registry().subject(name);
    const want = String(req.params['version']);
    if (want !== 'latest' && !/^[1-9][0-9]{0,9}$/.test(want)) return res.status(400).json({ error: `version ${JSON.stringify(want)}: expected a version number or latest` });
    const v = s === undefined ? undefined : want === 'latest' ? s.latest : s.versions[Number(want) - 1];
    if (s === undefined || v === undefined) return notFound(res, `subject ${JSON.stringify(name)} has no version ${want}`);
    res.json({ subject: name, version: v.version, id: v.id, compatibility: s.compatibility, schema: v.schema });
  });

  r.post(`${BASE}/:subject/versions`, json, async (req, res) => {
    if (!(await admin(req, res, auth))) return;
    const body = schemaBody(req, res);
    if (body === undefined) return;
    const name = subjectOf(req);
    const reg = registry().register(name, body.schema);
    switch (reg.kind) {
      case 'registered':
        host.broker.changeDocument(host.now(), SCHEMAS_DOC, reg.body);
        return res.json({ id: reg.id, version: reg.version });
      case 'exists':
        return res.json({ id: reg.id, version: reg.version });
      case 'incompatible':
        return res
          .status(409)
          .json({ error: `schema is not ${reg.compatibility} compatible with subject ${JSON.stringify(name)}: ${reg.problems[0]}`, compatibility: reg.compatibility, problems: reg.problems });
      case 'invalid-schema':
        return res.status(422).json({ error: `schema does not compile: ${reg.error}` });
      case 'bad-subject':
        return res.status(400).json({ error: reg.error });
      case 'too-large':
        return res.status(413).json({ error: reg.error });
      default: {
        const never: never = reg;
        throw new Error(`unhandled registration ${JSON.stringify(never)}`);
      }
    }
  });

  r.post(`${BASE}/:subject/compatibility`, json, (req, res) => {
    const body = schemaBody(req, res);
    if (body === undefined) return;
    const c = registry().checkCompatibility(subjectOf(req), body.schema);
    if (c.kind === 'bad-subject') return res.status(400).json({ error: c.error });
    if (c.kind === 'invalid-schema') return res.status(422).json({ error: `schema does not compile: ${c.error}` });
    res.json({ is_compatible: c.compatible, compatibility: c.compatibility, messages: c.problems });
  });

  r.get(`${BASE}/:subject/config`, (req, res) => {
    const s = registry().subject(subjectOf(req));
    res.json({ compatibility: s?.compatibility ?? 'BACKWARD' });
  });

  r.put(`${BASE}/:subject/config`, json, async (req, res) => {
    if (!(await admin(req, res, auth))) return;
    const body = parseBody(req, res);
    if (body === undefined) return;
    const mode = body['compatibility'];
    if (!isCompatibility(mode))
      return res.status(400).json({ error: `compatibility: expected one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE, found ${JSON.stringify(mode)}` });
    const next = registry().withCompatibility(subjectOf(req), mode);
    if (typeof next !== 'string') return res.status(400).json({ error: next.error });
    if (registry().subject(subjectOf(req))?.compatibility !== mode) host.broker.changeDocument(host.now(), SCHEMAS_DOC, next);
    res.json({ compatibility: mode });
  });

  r.use(bodyErrors);
  return r;
}

const subjectOf = (req: Request): string => String(req.params['subject']);

function notFound(res: Response, error: string): void {
  res.status(404).json({ error });
}

/** [AUTH-4] Whether the client may change the registry; answers 401/403 when not. */
async function admin(req: Request, res: Response, auth: Authenticator): Promise<boolean> {
  const who = await auth.bearer(req.headers.authorization);
  if (!who.ok) {
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: who.error });
    return false;
  }
  if (!auth.isAdmin(who.principal)) {
    res.status(403).json({ error: `${who.principal} may not change the schema registry (auth.admins)` });
    return false;
  }
  return true;
}

/** The body as a JSON object, or a 400 answered. */
function parseBody(req: Request, res: Response): Record<string, unknown> | undefined {
  const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    res.status(400).json({ error: `body is not JSON: ${(e as Error).message}` });
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    res.status(400).json({ error: 'body: expected a JSON object' });
    return undefined;
  }
  return v as Record<string, unknown>;
}

/** `{"schema": …}`, or a 400 answered. A schema given as a JSON string (Confluent's form) is parsed. */
function schemaBody(req: Request, res: Response): { schema: unknown } | undefined {
  const body = parseBody(req, res);
  if (body === undefined) return undefined;
  let schema = body['schema'];
  if (typeof schema === 'string') {
    try {
      schema = JSON.parse(schema);
    } catch (e) {
      res.status(422).json({ error: `schema is a string that is not JSON: ${(e as Error).message}` });
      return undefined;
    }
  }
  if (schema === undefined) {
    res.status(400).json({ error: 'body: expected {"schema": {...}}' });
    return undefined;
  }
  return { schema };
}
