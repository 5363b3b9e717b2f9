/**
 * [LOAD-8] `acl:` entries (scenario files and broker configs alike): each compiled once as the
 * engine will (engine/acl.ts), so a bad rule is a one-line error at its entry, not a refusal later.
 */
import { AclPolicy, type AclEntrySpec } from '../../engine/acl.ts';
import { UsageError } from '../../engine/types.ts';
import type { Source } from './source.ts';

export function resolveAcl(src: Source, acl: readonly AclEntrySpec[]): AclEntrySpec[] {
  acl.forEach((entry, i) => {
    try {
      new AclPolicy([entry], 1, 'acl');
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      throw src.error(['acl', i], 'value', 'a policy entry whose patterns are topic filters or type globs', e.message.replace(/^acl\[0\]/, `acl[${i}]`));
    }
  });
  return [...acl];
}
