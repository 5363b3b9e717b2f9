/**
 * The policy over HTTP [ACL-6]: `GET /v1/acl` shows the version this broker enforces and its
 * entries; `PUT /v1/acl` (a JSON list of entries, as in `acl:`) makes the next version here, and
 * the mesh floods it to every broker [GOV-3]. Only a principal in `auth.admins` may change it
 * [AUTH-4]: 401 without valid credentials, 403 for anyone else, 400 (one line) for entries that
 * do not compile; 200 `{"version": 2, "origin": "us-1"}`.
 */
import express, { type Router } from 'express';
import { bodyErrors } from './body-errors.ts';
import { ACL_DOC, aclFromBody } from '../../engine/broker.ts';
import { UsageError } from '../../engine/types.ts';
import type { Authenticator } from '../auth.ts';
import type { LiveHost } from '../host.ts';

export function policyRoutes(host: LiveHost, auth: Authenticator, maxBytes: number): Router {
  const r = express.Router();
  r.get('/v1/acl', (_req, res) => {
    const d = host.broker
      .inspect()
      .documents()
      .find((x) => x.doc === ACL_DOC);
    res.json({ version: host.broker.policy.version, origin: d?.origin ?? null, entries: d === undefined ? [] : JSON.parse(d.body) });
  });
  r.put('/v1/acl', express.raw({ type: () => true, limit: maxBytes }), async (req, res) => {
    const who = await auth.bearer(req.headers.authorization);
    if (!who.ok) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: who.error });
      return;
    }
    if (!auth.isAdmin(who.principal)) {
      res.status(403).json({ error: `${who.principal} may not change the policy (auth.admins)` });
      return;
    }
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    try {
      aclFromBody(body, host.broker.policy.version + 1);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      res.status(400).json({ error: e.message });
      return;
    }
    // Stored as compact JSON, so every broker holds the same bytes.
    const d = host.broker.changeDocument(host.now(), ACL_DOC, JSON.stringify(JSON.parse(body)));
    res.json({ version: d.version, origin: d.origin });
  });
  r.use(bodyErrors);
  return r;
}
