/** Errors of express's body parsers on the broker's small JSON APIs (/v1/acl, /v1/explain). */
import type { NextFunction, Request, Response } from 'express';

/** A body the parser refused (not JSON, too large) is one line, never express's HTML page. */
export function bodyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const e = err as { status?: unknown; type?: unknown };
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
  res.status(status).json({ error: status === 413 ? 'body too large' : status === 500 ? 'internal error' : 'body: not valid JSON' });
}
