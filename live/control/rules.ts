/**
 * `event_routing_rules`: static routes an operator configures (seed 002) [CP-5]: events on a
 * topic pattern, optionally passing a selector, go toward a broker or a region, ACTIVE or
 * SUSPENDED, higher priority first. Brokers read the ACTIVE ones (agent.ts) and expose them for
 * the engine to honor beside dynamic interest; the engine does not read them yet.
 * A bad pattern or selector is refused here (UsageError, with the reason), never stored.
 */
import { tryParseSelector } from '../../engine/selector/index.ts';
import { validatePattern } from '../../engine/topic.ts';
import { UsageError } from '../../engine/types.ts';
import { brokerIds } from './brokers.ts';
import type { Query, Row, Sql } from './sql.ts';

export type RuleStatus = 'ACTIVE' | 'SUSPENDED';
export type RuleTarget = { readonly broker: string } | { readonly region: string };

export interface RoutingRuleInput {
  readonly name: string;
  readonly topicPattern: string;
  readonly filter?: string | null;
  readonly target: RuleTarget;
  readonly status?: RuleStatus;
  readonly priority?: number;
}

export interface RoutingRule {
  readonly id: string;
  readonly name: string;
  readonly topicPattern: string;
  readonly filter: string | null;
  readonly target: RuleTarget;
  readonly status: RuleStatus;
  readonly priority: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const SELECT = `SELECT r.rule_id, r.rule_name, r.source_topic_pattern, r.filter_expression, r.rule_status, r.priority,
  r.destination_region, b.broker_name AS destination_broker, r.created_at, r.updated_at
  FROM event_routing_rules r LEFT JOIN broker_nodes b ON b.broker_id = r.destination_broker_id`;

function toRule(r: Row): RoutingRule {
  const broker = r['destination_broker'];
  return {
    id: String(r['rule_id']),
    name: String(r['rule_name']),
    topicPattern: String(r['source_topic_pattern']),
    filter: (r['filter_expression'] as string | null) ?? null,
    target: typeof broker === 'string' ? { broker } : { region: String(r['destination_region']) },
    status: r['rule_status'] as RuleStatus,
    priority: Number(r['priority']),
    createdAt: r['created_at'] as Date,
    updatedAt: r['updated_at'] as Date,
  };
}

/** Throws UsageError naming what is wrong with a rule. */
export function checkRule(input: RoutingRuleInput): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(input.name)) throw new UsageError(`rule name ${JSON.stringify(input.name)}: expected 1–128 letters, digits, . _ : / -`);
  const bad = validatePattern(input.topicPattern);
  if (bad !== null) throw new UsageError(`rule ${input.name}: topic pattern ${JSON.stringify(input.topicPattern)}: ${bad}`);
  if (input.filter !== undefined && input.filter !== null && input.filter.trim() !== '') {
    const p = tryParseSelector(input.filter);
    if (!p.ok) throw new UsageError(`rule ${input.name}: filter ${JSON.stringify(input.filter)}: ${p.error.message}`);
  }
  const t = input.target as { broker?: unknown; region?: unknown };
  if ((typeof t.broker === 'string' && t.broker !== '') === (typeof t.region === 'string' && t.region !== '')) throw new UsageError(`rule ${input.name}: a target is one broker or one region`);
  if (input.priority !== undefined && !Number.isSafeInteger(input.priority)) throw new UsageError(`rule ${input.name}: priority must be an integer, got ${input.priority}`);
}

/** [CP-5] Creates a rule, or replaces the one of that name; returns it as stored. */
export async function putRule(sql: Sql, input: RoutingRuleInput): Promise<RoutingRule> {
  checkRule(input);
  const filter = input.filter === undefined || input.filter === null || input.filter.trim() === '' ? null : input.filter;
  return sql.transaction(async (tx) => {
    const broker = 'broker' in input.target ? input.target.broker : null;
    const brokerId = broker === null ? null : (await brokerIds(tx, [broker])).get(broker);
    await tx.query(
      `INSERT INTO event_routing_rules (rule_name, source_topic_pattern, destination_broker_id, destination_region, filter_expression, rule_status, priority)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (rule_name) DO UPDATE SET source_topic_pattern = EXCLUDED.source_topic_pattern, destination_broker_id = EXCLUDED.destination_broker_id,
         destination_region = EXCLUDED.destination_region, filter_expression = EXCLUDED.filter_expression, rule_status = EXCLUDED.rule_status,
         priority = EXCLUDED.priority, updated_at = NOW()`,
      [input.name, input.topicPattern, brokerId ?? null, 'region' in input.target ? input.target.region : null, filter, input.status ?? 'ACTIVE', input.priority ?? 0],
    );
    const rows = await tx.query(`${SELECT} WHERE r.rule_name = $1`, [input.name]);
    return toRule(rows[0] as Row);
  });
}

/** ACTIVE ↔ SUSPENDED; false when there is no rule of that name. */
export async function setRuleStatus(q: Query, name: string, status: RuleStatus): Promise<boolean> {
  const rows = await q('UPDATE event_routing_rules SET rule_status = $2, updated_at = NOW() WHERE rule_name = $1 RETURNING rule_id', [name, status]);
  return rows.length > 0;
}

/** Removes a rule; false when there is none of that name. */
export async function deleteRule(q: Query, name: string): Promise<boolean> {
  const rows = await q('DELETE FROM event_routing_rules WHERE rule_name = $1 RETURNING rule_id', [name]);
  return rows.length > 0;
}

/** Rules, highest priority first (then by name); optionally only one status. */
export async function listRules(q: Query, status?: RuleStatus): Promise<RoutingRule[]> {
  const rows = await q(`${SELECT} WHERE ($1::varchar IS NULL OR r.rule_status = $1) ORDER BY r.priority DESC, r.rule_name`, [status ?? null]);
  return rows.map(toRule);
}
