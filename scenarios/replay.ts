/**
 * Replayable scenario files: a scenario's own YAML with its seed, faults (and optionally name,
 * duration and assertions) replaced, everything else — comments included — kept as written.
 * `meshtwin explore` writes a failing run this way, so `meshtwin test FILE` replays it.
 *
 * [REPLAY-1] The text loads with parseScenario and gives the original scenario with exactly the
 * replaced fields changed: faults are written by `faultToYaml` [FAULT-2], durations by
 * `durationText` [UNITS-5].
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import { faultToYaml } from './faults.ts';
import type { FaultSpec } from './types.ts';
import { durationText } from './units.ts';

export interface ReplayFields {
  readonly seed: number;
  readonly faults: readonly FaultSpec[];
  readonly name?: string;
  readonly durationMs?: number;
  /** Replaces the `expect:` list (undefined keeps the file's). */
  readonly expect?: readonly string[];
  /** Lines put before the file's own opening comment. */
  readonly comment?: readonly string[];
}

/** [REPLAY-1] The scenario YAML `source` with `fields` replaced. Throws if `source` is not a YAML map. */
export function replayText(source: string, fields: ReplayFields): string {
  const doc = parseDocument(source);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new RangeError('replayText: the source is not a YAML map (load it with parseScenario first)');
  if (fields.name !== undefined) doc.set('name', fields.name);
  doc.set('seed', fields.seed);
  if (fields.durationMs !== undefined) doc.set('duration', durationText(fields.durationMs));
  const faults = doc.createNode(fields.faults.map(faultToYaml));
  // One fault a line, as people write them: `- { at: 4s, crash: eu-1 }`.
  if (isSeq(faults)) {
    for (const item of faults.items) if (isMap(item)) item.flow = true;
    faults.flow = fields.faults.length === 0;
  }
  doc.set('faults', faults);
  if (fields.expect !== undefined) doc.set('expect', doc.createNode([...fields.expect]));
  if (fields.comment !== undefined && fields.comment.length > 0) {
    const own = doc.commentBefore;
    doc.commentBefore = fields.comment.map((l) => ` ${l}`).join('\n') + (own === null || own === undefined || own === '' ? '' : `\n\n${own}`);
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
