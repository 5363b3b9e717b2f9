/**
 * Subjects: what a schema applies to [SCHEMA-1].
 *
 * [SCHEMA-1] A subject is named by what it matches: a CloudEvents `type`, exactly
 * (`com.acme.order.created`) or as a glob where `*` is any run of characters
 * (`com.acme.order.*`), or a topic filter written `topic:FILTER` (`topic:orders/#`, MQTT
 * wildcards). `type:NAME` says "a type" explicitly (a type containing `:`). A subject applies to
 * an event when its type, or its topic, matches; names are at most 255 characters, without
 * spaces or control characters.
 */
import { globRegExp } from '../acl.ts';
import { validatePattern } from '../topic.ts';

export type SubjectKind = 'type' | 'type-glob' | 'topic';

export interface SubjectKey {
  /** As written (`com.acme.order.*`, `topic:orders/#`): the subject's name in the API. */
  readonly name: string;
  readonly kind: SubjectKind;
  /** The type, glob or filter, without a `topic:`/`type:` prefix. */
  readonly pattern: string;
  /** type-glob: the anchored glob. */
  readonly glob: RegExp | null;
  /** topic: the filter's levels. */
  readonly levels: readonly string[] | null;
}

export const SUBJECT_NAME_MAX = 255;

/** [SCHEMA-1] A subject name → its key, or why it is not one. */
export function parseSubject(name: string): SubjectKey | { readonly error: string } {
  if (typeof name !== 'string' || name.length === 0) return { error: 'a subject name is a CloudEvents type, a type glob (com.acme.*) or topic:FILTER' };
  if (name.length > SUBJECT_NAME_MAX) return { error: `a subject name has at most ${SUBJECT_NAME_MAX} characters` };
  if (/[\s\u0000-\u001f\u007f]/.test(name)) return { error: `subject ${JSON.stringify(name)}: no spaces or control characters` };
  if (name.startsWith('topic:')) {
    const pattern = name.slice(6);
    const bad = validatePattern(pattern);
    if (bad !== null) return { error: `subject ${JSON.stringify(name)}: ${bad}` };
    return { name, kind: 'topic', pattern, glob: null, levels: pattern.split('/') };
  }
  const pattern = name.startsWith('type:') ? name.slice(5) : name;
  if (pattern.length === 0) return { error: `subject ${JSON.stringify(name)}: an empty type` };
  if (pattern.includes('*')) return { name, kind: 'type-glob', pattern, glob: globRegExp(pattern), levels: null };
  return { name, kind: 'type', pattern, glob: null, levels: null };
}

/**
 * Whether a topic filter, split into `levels`, matches `topic` (engine/topic.ts `matchesPattern`,
 * without splitting the topic: no allocation per event).
 */
export function levelsMatch(levels: readonly string[], topic: string): boolean {
  const first = levels[0];
  if (topic.charCodeAt(0) === 36 && (first === '+' || first === '#')) return false; // [MQTT-4.7.2-1] `$` topics
  let pos = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '#') return true;
    if (pos > topic.length) return false;
    let end = topic.indexOf('/', pos);
    if (end < 0) end = topic.length;
    if (level !== '+' && !(end - pos === level.length && topic.startsWith(level, pos))) return false;
    pos = end + 1;
  }
  return pos === topic.length + 1;
}
