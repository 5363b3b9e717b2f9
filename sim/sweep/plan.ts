/**
 * A sweep's steps: one `--vary` gives a line of values, two give a grid [SWEEP-1], and each step
 * is the scenario file with its values written in [VARY-4], so a step can be written out and run
 * by `meshtwin run` alone [SWEEP-2].
 *
 * [SWEEP-1] Steps are numbered row-major: the first `--vary` is the outer axis, the second the
 *           inner, so step k of a grid has the first parameter's value k ÷ K and the second's
 *           k mod K. With `--shard I/N`, step k belongs to shard k mod N [SHARD-1].
 * [SWEEP-2] A step's text is the file's own with the varied keys (and `duration`, for
 *           `--duration`) replaced in place. When `--until` reads a figure only the invariant
 *           checker produces and the file's `expect:` does not, the run must check, and so must
 *           a replay: the `--until` lines are added to the step's `expect:`.
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import { assertionsNeedChecker } from '../../scenarios/expect.ts';
import { durationText } from '../../scenarios/units.ts';
import { applyValues, displayValue, type Assignment, type Scale, type VarySpec, stepValues, valueText } from '../../scenarios/vary.ts';

/** One swept parameter and its values. */
export interface Axis {
  readonly spec: VarySpec;
  readonly values: readonly number[];
  /** As written into the step files: "1.2M/s". */
  readonly texts: readonly string[];
}

export interface Step {
  /** 0-based, row-major [SWEEP-1]. */
  readonly index: number;
  /** Per axis, the index of its value. */
  readonly coords: readonly number[];
}

export function makeAxes(specs: readonly VarySpec[], steps: number, scale: Scale): Axis[] {
  return specs.map((spec) => {
    const values = stepValues(spec, steps, scale);
    return { spec, values, texts: values.map((v) => valueText(spec.kind, v)) };
  });
}

/** [SWEEP-1] Every step, row-major. */
export function gridSteps(axes: readonly Axis[]): Step[] {
  const sizes = axes.map((a) => a.values.length);
  const total = sizes.reduce((a, b) => a * b, 1);
  const out: Step[] = [];
  for (let index = 0; index < total; index++) {
    const coords: number[] = [];
    let rest = index;
    for (let k = sizes.length - 1; k >= 0; k--) {
      const n = sizes[k] as number;
      coords.unshift(rest % n);
      rest = Math.floor(rest / n);
    }
    out.push({ index, coords });
  }
  return out;
}

/** [SHARD-1] Whether step (or run) `index` is shard `shard`'s. */
export function inShard(index: number, shard: { readonly index: number; readonly count: number } | undefined): boolean {
  return shard === undefined || index % shard.count === shard.index;
}

/** "publishers[0].rate = 1,200,000/s" (", "-joined for a grid). */
export function stepLabel(axes: readonly Axis[], step: Step): string {
  return axes.map((a, k) => `${a.spec.path} = ${displayValue(a.spec.kind, a.values[step.coords[k] as number] as number)}`).join(', ');
}

/** "steps/step-07.yaml": zero-padded so the files sort in step order. */
export function stepFile(index: number, total: number): string {
  return `steps/step-${String(index + 1).padStart(String(total).length, '0')}.yaml`;
}

export interface StepTextOptions {
  /** `--duration`, written into the file's `duration:` key. */
  readonly durationMs?: number;
  /** `--until` lines, added to `expect:` when they need the checker and the file's do not [SWEEP-2]. */
  readonly until?: readonly string[];
  readonly fileExpect?: readonly string[];
}

/** [SWEEP-2] The scenario text of `step`: `source` with its values written in. */
export function stepText(source: string, axes: readonly Axis[], step: Step, opts: StepTextOptions = {}): string {
  const assignments: Assignment[] = axes.map((a, k) => ({ keys: a.spec.keys, text: a.texts[step.coords[k] as number] as string }));
  if (opts.durationMs !== undefined) assignments.push({ keys: ['duration'], text: durationText(opts.durationMs) });
  const text = applyValues(source, assignments);
  const until = opts.until ?? [];
  if (!assertionsNeedChecker(until) || assertionsNeedChecker(opts.fileExpect ?? [])) return text;
  return withExpect(text, until);
}

/** `text` with `lines` added to its `expect:` list (created if missing). */
function withExpect(text: string, lines: readonly string[]): string {
  const doc = parseDocument(text);
  const node = doc.get('expect', true);
  if (isSeq(node)) {
    for (const l of lines) node.add(doc.createNode(l));
  } else if (isMap(doc.contents)) {
    doc.set('expect', doc.createNode([...lines]));
  }
  return doc.toString({ lineWidth: 0 });
}
