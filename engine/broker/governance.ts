/**
 * Mesh-wide documents: the ACL policy (engine/acl.ts), the schema registry (engine/schema/,
 * [SCHEMA-3]), and any other document every broker must hold the same version of. Each is a JSON
 * body with a version, flooded like a link-state advert.
 *
 * [GOV-1] A document is (doc, origin, version, body): `doc` names it ("acl", "schemas"),
 *         `origin` is the broker where this version was made, `body` its JSON.
 * [GOV-2] Order: the higher version wins; between equal versions (two brokers changed the
 *         document at once, each from the same last version) the greater origin id, then the
 *         greater body (brokers whose configs disagree on version 1, origin ""), so every broker
 *         settles on the same one in any arrival order.
 * [GOV-3] A broker offered a newer version installs it and floods the frame's bytes to every up
 *         neighbor but the sender; an older or equal one goes no further (no echo storms).
 * [GOV-4] When an adjacency comes up, each side sends the other every document it holds (with
 *         the database exchange), so a broker cut off during a change catches up when it returns;
 *         while cut off it keeps enforcing the last version it had.
 * [GOV-5] A body that does not compile (a peer's or an operator's) is not installed and not
 *         flooded; a peer's is reported as a `protocol-error` event without closing the link (the
 *         link is fine; the document is not).
 */
import { AclPolicy, type AclEntrySpec } from '../acl.ts';
import { encodeFrame } from '../codec/index.ts';
import { FrameKind, type GovernanceFrame } from '../frames.ts';
import { SCHEMAS_DOC, SchemaRegistry } from '../schema/registry.ts';
import { UsageError, type BrokerId, type Millis } from '../types.ts';
import type { BrokerCore } from './core.ts';

/** The ACL policy's document name; its body is a JSON array of AclEntrySpec. */
export const ACL_DOC = 'acl';

export interface GovernanceDocument {
  readonly doc: string;
  readonly origin: BrokerId;
  readonly version: number;
  readonly body: string;
}

/** [GOV-2] Whether `a` supersedes `b` (anything supersedes nothing). */
export function supersedes(a: GovernanceDocument, b: GovernanceDocument | undefined): boolean {
  if (b === undefined) return true;
  if (a.version !== b.version) return a.version > b.version;
  if (a.origin !== b.origin) return a.origin > b.origin;
  return a.body > b.body;
}

/** The policy a document's body describes; UsageError when it does not compile. */
export function aclFromBody(body: string, version: number, where = 'acl'): AclPolicy {
  let specs: unknown;
  try {
    specs = JSON.parse(body);
  } catch (e) {
    throw new UsageError(`${where}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(specs)) throw new UsageError(`${where}: expected a list of policy entries`);
  return new AclPolicy(specs as AclEntrySpec[], version, where);
}

/** Applies a document this broker knows to its state; UsageError when the body does not compile. */
function apply(b: BrokerCore, d: GovernanceDocument): void {
  if (d.doc === ACL_DOC) b.acl = aclFromBody(d.body, d.version, `${ACL_DOC} v${d.version} from ${d.origin}`);
  else if (d.doc === SCHEMAS_DOC) b.schemas = SchemaRegistry.fromBody(d.body, d.version, `${SCHEMAS_DOC} v${d.version} from ${d.origin}`, b.schemas);
}

function frameOf(d: GovernanceDocument): Uint8Array {
  const frame: GovernanceFrame = { kind: FrameKind.Governance, doc: d.doc, origin: d.origin, version: d.version, body: d.body };
  return encodeFrame(frame);
}

/**
 * [GOV-2][GOV-3] Installs `d` if it supersedes what the broker holds, and floods it (its `bytes`
 * as received, or freshly encoded) to every up neighbor but `from`. Returns whether it was
 * installed; throws UsageError for a body that does not compile (nothing changes then).
 */
export function offerDocument(b: BrokerCore, now: Millis, d: GovernanceDocument, from?: BrokerId, bytes?: Uint8Array): boolean {
  if (!supersedes(d, b.documents.get(d.doc))) return false;
  apply(b, d);
  const held: GovernanceDocument = { doc: d.doc, origin: d.origin, version: d.version, body: d.body };
  b.documents.set(d.doc, held);
  const out = bytes ?? frameOf(held);
  for (const n of b.neighbors.values()) if (n.up && n.id !== from) b.host.send(n.id, out);
  b.host.emit({ type: 'governance-installed', at: now, broker: b.id, doc: d.doc, version: d.version, origin: d.origin });
  return true;
}

/** A change made at this broker (an operator's): the next version, originated here and flooded. */
export function changeDocument(b: BrokerCore, now: Millis, doc: string, body: string): GovernanceDocument {
  const d: GovernanceDocument = { doc, origin: b.id, version: (b.documents.get(doc)?.version ?? 0) + 1, body };
  offerDocument(b, now, d);
  return d;
}

/** A governance frame from neighbor `from` [GOV-3][GOV-5]. */
export function handleGovernance(b: BrokerCore, now: Millis, from: BrokerId, frame: GovernanceFrame, bytes: Uint8Array): void {
  try {
    offerDocument(b, now, frame, from, bytes);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    b.host.emit({ type: 'protocol-error', at: now, broker: b.id, from, reason: `governance document refused: ${e.message}` });
  }
}

/** [GOV-4] Every document held, to a neighbor whose adjacency just came up. */
export function sendDocuments(b: BrokerCore, to: BrokerId): void {
  for (const d of b.documents.values()) b.host.send(to, frameOf(d));
}
