/**
 * JUnit XML for CI (Jenkins, GitLab, GitHub test reporters): one <testsuite> per scenario file,
 * one <testcase> per assertion. A false assertion is a <failure>; an assertion or scenario that
 * could not be checked (bad field, file that does not load, run that crashed) is an <error>.
 *
 * [JUNIT-1] Every string from the user or the run is escaped: `& < > " '` as entities, line
 * breaks in attributes as character references, and characters XML 1.0 cannot hold at all
 * (control characters, lone surrogates) replaced by U+FFFD.
 */

export interface JUnitProblem {
  /** One line, shown by most CI tools next to the test's name. */
  readonly message: string;
  /** e.g. "assertion", "ScenarioError". */
  readonly type: string;
  /** Longer text, shown when the test is opened. */
  readonly detail?: string;
}

export interface JUnitCase {
  readonly name: string;
  readonly classname: string;
  readonly timeSeconds?: number;
  readonly failure?: JUnitProblem;
  readonly error?: JUnitProblem;
}

export interface JUnitSuite {
  readonly name: string;
  /** The scenario file. */
  readonly file?: string;
  readonly timeSeconds: number;
  /** e.g. seed, duration: written as <properties>. */
  readonly properties?: Readonly<Record<string, string | number>>;
  readonly cases: readonly JUnitCase[];
}

// Characters XML 1.0 cannot contain, escaped or not: C0 controls other than tab, LF, CR; lone
// surrogates; U+FFFE and U+FFFF.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text content: `&`, `<`, `>` escaped. */
export function escapeText(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A double-quoted attribute value: also quotes, and line breaks kept as references. */
export function escapeAttribute(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function attrs(a: Readonly<Record<string, string | number | undefined>>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttribute(String(v))}"`)
    .join('');
}

const seconds = (s: number | undefined): string => (s ?? 0).toFixed(3);

function problem(tag: 'failure' | 'error', p: JUnitProblem): string {
  const open = `<${tag}${attrs({ message: p.message, type: p.type })}`;
  return p.detail === undefined ? `${open}/>` : `${open}>${escapeText(p.detail)}</${tag}>`;
}

/** The whole report: <testsuites> around one <testsuite> per scenario. */
export function toJUnitXml(suites: readonly JUnitSuite[], name = 'meshtwin'): string {
  const count = (s: JUnitSuite, k: 'failure' | 'error') => s.cases.filter((c) => c[k] !== undefined).length;
  const total = (f: (s: JUnitSuite) => number) => suites.reduce((a, s) => a + f(s), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attrs({
      name,
      tests: total((s) => s.cases.length),
      failures: total((s) => count(s, 'failure')),
      errors: total((s) => count(s, 'error')),
      time: seconds(total((s) => s.timeSeconds)),
    })}>`,
  );
  for (const s of suites) {
    out.push(`  <testsuite${attrs({ name: s.name, tests: s.cases.length, failures: count(s, 'failure'), errors: count(s, 'error'), skipped: 0, time: seconds(s.timeSeconds), file: s.file })}>`);
    const props = Object.entries(s.properties ?? {});
    if (props.length > 0) {
      out.push('    <properties>');
      for (const [k, v] of props) out.push(`      <property${attrs({ name: k, value: String(v) })}/>`);
      out.push('    </properties>');
    }
    for (const c of s.cases) {
      const open = `    <testcase${attrs({ name: c.name, classname: c.classname, time: seconds(c.timeSeconds) })}`;
      const inner = [c.failure && problem('failure', c.failure), c.error && problem('error', c.error)].filter((x): x is string => x !== undefined);
      if (inner.length === 0) out.push(`${open}/>`);
      else out.push(`${open}>`, ...inner.map((x) => `      ${x}`), '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
