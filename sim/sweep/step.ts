/**
 * One sweep step run: the step's scenario text, loaded as `meshtwin run` loads a file and run as
 * it runs one, except that routing tables are counted, not weighed on the heap [SWEEP-5].
 *
 * [SWEEP-5] `measureHeap: false`: weighing a table costs several full GCs per run and reads the
 *           heap's noise, so a sweep's figures would depend on what else ran in the process (and
 *           on --parallel). `brokers[].routingTableBytes` is then the engine's own count
 *           (`routingTableBytesSource: "counted"` in summary.json), and a step replays exactly
 *           with `meshtwin run STEP.yaml --no-heap`.
 */
import { toSummary } from '../../reports/summary.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { runScenario } from '../run.ts';

export interface StepJob {
  readonly index: number;
  /** The step's scenario text [SWEEP-2]. */
  readonly text: string;
  /** The file name its messages name. */
  readonly file: string;
}

export interface StepOutcome {
  readonly index: number;
  /** The step's summary.json object. */
  readonly summary: Record<string, unknown>;
}

/** Runs one step to the end (synchronously). */
export function runStep(job: StepJob): StepOutcome {
  const scenario = parseScenario(job.text, job.file);
  return { index: job.index, summary: toSummary(runScenario(scenario, { measureHeap: false })) };
}
