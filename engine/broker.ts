/** The broker (engine/broker/, one concept per file): re-exported for importers of `engine/broker.ts`. */
export { Broker } from './broker/broker.ts';
export { BrokerView, type InterestImage } from './broker/view.ts';
export { ACL_DOC, aclFromBody, supersedes, type GovernanceDocument } from './broker/governance.ts';
export type { Gate, GateResult } from './broker/explain.ts';
export type { RoutingRuleSpec } from './broker/rules.ts';
export {
  ANONYMOUS,
  INTERNAL,
  GUARANTEED_DEFAULTS,
  durableConfigFor,
  durableFor,
  type BrokerConfig,
  type BrokerEvent,
  type BrokerHost,
  type BrokerStats,
  type DropCause,
  type PublishInput,
  type PublishResult,
} from './broker/types.ts';
export type { LocalSubscription, RemoteInterest } from './interest.ts';
export { SCHEMAS_DOC, SchemaRegistry, type SchemaRefusal, type Registration, type SubjectSpec } from './schema/registry.ts';
