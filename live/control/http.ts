/**
 * The control plane on a broker's HTTP port [CP-HTTP] (beside /v1/topology, /v1/mqtt):
 * - GET /v1/control/status: the agent (backend, connected, queue, counters, last error);
 * - GET /v1/control/brokers: `broker_nodes`, read from the store;
 * - GET /v1/control/rules: the ACTIVE routing rules as the agent last read them (answered from
 *   memory, also while the store is away);
 * - GET /v1/control/traces/:eventId: one event's trace, assembled (traces.ts), or 404.
 * Reads that need the store answer 503 while it is away; a broker without `controlPlane:` in its
 * config answers 404 saying so.
 */
import { type Request, type Response, Router } from 'express';
import type { ControlAgent } from './agent.ts';
import { sqlMessage } from './sql.ts';
import type { ControlStore } from './store.ts';

export function controlRoutes(agent: () => ControlAgent | null): Router {
  const r = Router();
  const withAgent =
    (f: (a: ControlAgent, req: Request, res: Response) => Promise<unknown> | unknown) =>
    async (req: Request, res: Response): Promise<void> => {
      const a = agent();
      if (a === null) {
        res.status(404).json({ error: 'this broker has no control plane (controlPlane: in its config)' });
        return;
      }
      await f(a, req, res);
    };
  const withStore = (f: (store: ControlStore, a: ControlAgent, req: Request, res: Response) => Promise<unknown>) =>
    withAgent(async (a, req, res) => {
      const store = a.store;
      if (store === null) {
        res.status(503).json({ error: `control plane store unreachable: ${a.lastError ?? 'still opening'}` });
        return;
      }
      try {
        await f(store, a, req, res);
      } catch (e) {
        res.status(503).json({ error: `control plane store: ${sqlMessage(e)}` });
      }
    });

  r.get(
    '/v1/control/status',
    withAgent((a, _req, res) => res.json(a.status())),
  );
  r.get(
    '/v1/control/rules',
    withAgent((a, _req, res) => res.json({ rules: a.rules })),
  );
  r.get(
    '/v1/control/brokers',
    withStore(async (store, _a, _req, res) => res.json({ brokers: await store.listBrokers() })),
  );
  r.get(
    '/v1/control/traces/:eventId',
    withStore(async (store, a, req, res) => {
      const id = String(req.params['eventId']);
      const t = await store.trace(id);
      if (t === null) res.status(404).json({ error: `no trace of event ${JSON.stringify(id)} in ${a.where}` });
      else res.json(t);
    }),
  );
  return r;
}
