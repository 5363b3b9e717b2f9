/**
 * [PRE-1] Every `expect:` line resolved before the run: its field, and every broker or link it
 * names, against the summary shape (shape.ts). The error is the one `meshtwin test` would give
 * after the run (scenarios/expect.ts, with its did-you-mean), positioned on the line.
 */
import { evaluateAssertion, ExpectError } from '../../scenarios/expect.ts';
import type { Scenario } from '../../scenarios/types.ts';
import { summaryShape } from './shape.ts';
import type { Finding } from './finding.ts';

export function checkExpect(s: Scenario): Finding[] {
  if (s.expect.length === 0) return [];
  const shape = summaryShape(s);
  const out: Finding[] = [];
  s.expect.forEach((text, i) => {
    try {
      evaluateAssertion(text, shape, i + 1);
    } catch (e) {
      if (!(e instanceof ExpectError)) throw e;
      out.push({ level: 'error', path: ['expect', i], message: e.message });
    }
  });
  return out;
}
