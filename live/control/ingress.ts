/**
 * Where the control plane meets a publish [CP-TRACE-2]:
 * - `TracingPort`: the broker's edge port with the agent's `ingress` before the engine, so a
 *   sampled event without a valid traceparent gets one at the broker that takes it (every edge,
 *   HTTP, MQTT, publishes through `publishNow`);
 * - `traceparentFromHttp`: a binary-mode publish's W3C `traceparent` / `tracestate` request
 *   headers become the event's `ce-traceparent` / `ce-tracestate` when it has none of its own (as
 *   Knative and the functions frameworks read them). In structured and batch mode each event's
 *   JSON carries its own `traceparent` attribute: the request's header describes the request, not
 *   one of the events in it. Mounted on every broker, control plane or not.
 */
import type { NextFunction, Request, Response } from 'express';
import { MIME_BATCH, MIME_STRUCTURED, mediaType } from '../edge/cloudevent.ts';
import { type EdgePublish, type EdgePublishResult, HostPort } from '../edge/port.ts';
import { TRACEPARENT, TRACESTATE } from './tracecontext.ts';

/** What stamps a publish (the agent). */
export interface Ingress {
  ingress(input: EdgePublish): EdgePublish;
}

/** A HostPort whose publishes pass through `ingress` first. */
export class TracingPort extends HostPort {
  readonly #ingress: Ingress;

  constructor(ingress: Ingress, ...args: ConstructorParameters<typeof HostPort>) {
    super(...args);
    this.#ingress = ingress;
  }

  override publishNow(input: EdgePublish): EdgePublishResult {
    return super.publishNow(this.#ingress.ingress(input));
  }
}

/** Express middleware for the publish path: W3C trace headers into binary mode's ce-* attributes. */
export function traceparentFromHttp(req: Request, _res: Response, next: NextFunction): void {
  const media = mediaType(req.headers['content-type']);
  const h = req.headers;
  if (media !== MIME_STRUCTURED && media !== MIME_BATCH && typeof h[TRACEPARENT] === 'string' && h[`ce-${TRACEPARENT}`] === undefined) {
    h[`ce-${TRACEPARENT}`] = h[TRACEPARENT];
    if (typeof h[TRACESTATE] === 'string' && h[`ce-${TRACESTATE}`] === undefined) h[`ce-${TRACESTATE}`] = h[TRACESTATE];
  }
  next();
}
