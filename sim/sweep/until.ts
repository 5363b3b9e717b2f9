/**
 * The sweep's condition: what must hold at a step for the mesh to be "still fine" there
 * [SWEEP-4]. The breaking point is the first step where it does not.
 *
 * [SWEEP-4] The condition is a list of assertions in the language of a scenario's `expect:`
 *           (scenarios/expect.ts, its evaluator as `meshtwin test` runs it), all of which must
 *           hold. `--until EXPR` (repeatable) gives the list; without it, the default is:
 *             - no link direction over 90% utilization: `links[A>B].utilizationPeak <= 0.9` for
 *               every direction (the busiest 1 s window, as `meshtwin run` reports it);
 *             - no drop: `messages.dropped == 0` (every cause, in subscriber deliveries);
 *             - the scenario's own latency assertions, if it has any (its `expect:` lines on a
 *               `latencyMs` figure, e.g. `latency.local.p99 < 5ms`).
 *           Each assertion is resolved against the step's summary shape before anything runs
 *           (sim/preflight/shape.ts), so a typo is one line and exit 2, not a failed sweep.
 */
import { describeResult, evaluateAssertion, ExpectError, parseAssertion, type AssertionResult } from '../../scenarios/expect.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { summaryShape } from '../preflight/shape.ts';

/** [SWEEP-4] The default's utilization threshold. */
export const UTILIZATION_LIMIT = 0.9;

export interface Condition {
  /** The assertions, each `FIELD OP VALUE`. */
  readonly lines: readonly string[];
  /** Where they came from. */
  readonly source: 'default' | '--until';
}

/** A bad `--until`: one line for the user. */
export class UntilError extends Error {
  override readonly name = 'UntilError';
}

/** The scenario's own `expect:` lines about latency. */
function latencyAssertions(s: Scenario): string[] {
  return s.expect.filter((text) => {
    try {
      return parseAssertion(text).path.some((seg) => seg.kind === 'key' && seg.name === 'latencyMs');
    } catch (e) {
      if (e instanceof ExpectError) return false;
      throw e;
    }
  });
}

/** [SWEEP-4] The default condition for scenario `s`. */
export function defaultCondition(s: Scenario): Condition {
  const links = s.links.flatMap((l) => [`${l.between[0]}>${l.between[1]}`, `${l.between[1]}>${l.between[0]}`]);
  return {
    lines: [...links.map((k) => `links[${k}].utilizationPeak <= ${UTILIZATION_LIMIT}`), 'messages.dropped == 0', ...latencyAssertions(s)],
    source: 'default',
  };
}

/** [SWEEP-4] `--until` lines, or the default. */
export function sweepCondition(s: Scenario, until: readonly string[]): Condition {
  return until.length === 0 ? defaultCondition(s) : { lines: [...until], source: '--until' };
}

/**
 * [SWEEP-4] Every line resolves against the summary a run of `s` will write; throws UntilError
 * with the evaluator's own message (its did-you-mean, the known links or brokers).
 */
export function checkCondition(c: Condition, s: Scenario): void {
  const shape = summaryShape(s);
  c.lines.forEach((text, i) => {
    try {
      evaluateAssertion(text, shape, i + 1);
    } catch (e) {
      if (!(e instanceof ExpectError)) throw e;
      throw new UntilError(c.source === '--until' ? `--until: ${e.message}` : `the default --until condition: ${e.message}`);
    }
  });
}

/** One assertion at one step. */
export interface Check {
  readonly assertion: string;
  readonly pass: boolean;
  /** The measured value in the field's unit (null: no data, or not measured). */
  readonly actual: number | null;
  /** Why it failed, in words (null when it passed). */
  readonly reason: string | null;
}

const LINK_UTILIZATION = /^links\[([^\]>]+)>([^\]]+)\]\.utilizationPeak$/;

/** Three significant figures, as a utilization or ratio reads: 0.933, 1.2, 0.0412. */
const sig = (x: number): string => String(Number(x.toPrecision(3)));

/** The opposite comparison, for "0.93 > 0.9". */
const NOT: Readonly<Record<AssertionResult['op'], string>> = { '<': '>=', '<=': '>', '>': '<=', '>=': '<', '==': '!=', '!=': '==' };

/** A failed assertion in words: "links us-1→eu-1 utilization 0.933 > 0.9", else the evaluator's own description. */
export function reasonOf(r: AssertionResult): string {
  const link = LINK_UTILIZATION.exec(r.field);
  if (link !== null && r.actual !== undefined) return `links ${link[1]}→${link[2]} utilization ${sig(r.actual)} ${NOT[r.op]} ${sig(r.expected)}`;
  return describeResult(r);
}

/** [SWEEP-4] The condition judged on a step's summary. */
export function judge(c: Condition, summary: Readonly<Record<string, unknown>>): { pass: boolean; checks: Check[] } {
  const checks = c.lines.map((text, i): Check => {
    const r = evaluateAssertion(text, summary, i + 1);
    return { assertion: text, pass: r.pass, actual: r.actual ?? null, reason: r.pass ? null : reasonOf(r) };
  });
  return { pass: checks.every((k) => k.pass), checks };
}
