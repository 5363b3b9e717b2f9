import { describe, expect, it } from 'vitest';
import { escapeAttribute, escapeText, toJUnitXml, type JUnitSuite } from './junit.ts';

interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes entity and character references; throws on a bare `&` or an unknown entity. */
function decode(s: string): string {
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s)) throw new Error(`bare & in ${JSON.stringify(s)}`);
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!,
  );
}

/**
 * A strict little XML reader, enough to prove the report well-formed: one XML declaration, one
 * root, tags nested and closed in order, attributes quoted and unique, no raw `<` or `&` in text
 * or attributes, no characters XML 1.0 forbids. Returns the root element.
 */
function parseXml(xml: string): XmlElement {
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(xml)) throw new Error('a character XML 1.0 forbids');
  let i = 0;
  const decl = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/.exec(xml);
  if (decl === null) throw new Error('no XML declaration');
  i = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const NAME = /[A-Za-z_][\w.-]*/y;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (text.includes('>')) throw new Error(`raw > in text ${JSON.stringify(text)}`);
    if (stack.length === 0 && text.trim() !== '') throw new Error('text outside the root');
    if (stack.length > 0) stack[stack.length - 1]!.text += decode(text);
    if (lt < 0) break;
    i = lt + 1;
    if (xml[i] === '/') {
      NAME.lastIndex = i + 1;
      const name = NAME.exec(xml)?.[0];
      const open = stack.pop();
      if (name === undefined || open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      i = NAME.lastIndex;
      if (xml[i] !== '>') throw new Error(`junk in </${name}>`);
      i++;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(xml)?.[0];
    if (name === undefined) throw new Error(`bad tag at ${i}`);
    i = NAME.lastIndex;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const m = /^\s+([A-Za-z_][\w.-]*)="([^"<]*)"/.exec(xml.slice(i));
      if (m === null) break;
      if (m[1]! in el.attrs) throw new Error(`attribute ${m[1]} twice`);
      el.attrs[m[1]!] = decode(m[2]!);
      i += m[0].length;
    }
    const end = /^\s*(\/?)>/.exec(xml.slice(i));
    if (end === null) throw new Error(`bad tag <${name}> at ${JSON.stringify(xml.slice(i, i + 20))}`);
    i += end[0].length;
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else if (root === undefined) root = el;
    else throw new Error('two roots');
    if (end[1] !== '/') stack.push(el);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> not closed`);
  if (root === undefined) throw new Error('no root');
  return root;
}

const NASTY = `links[a>b].x < 5 & "quoted" 'single' <tag> ]]> \u0001 tab\there\nnewline`;

const SUITES: JUnitSuite[] = [
  {
    name: 'failover',
    file: 'scenarios/failover/link-cut.yaml',
    timeSeconds: 1.23456,
    properties: { seed: 42, duration: '30.0 s' },
    cases: [
      { name: 'messages.lost == 0', classname: 'meshtwin.failover' },
      {
        name: 'convergence.max < 1.5s',
        classname: 'meshtwin.failover',
        failure: { message: 'convergence.maxMs = 1,840 ms, expected < 1,500 ms', type: 'assertion', detail: 'convergence.max < 1.5s\nmeasured 1840' },
      },
      { name: NASTY, classname: 'meshtwin.failover', failure: { message: NASTY, type: 'assertion', detail: NASTY } },
      { name: 'mesages.lost == 0', classname: 'meshtwin.failover', error: { message: 'unknown field "mesages.lost"', type: 'ExpectError' } },
    ],
  },
  {
    name: 'broken',
    timeSeconds: 0,
    cases: [{ name: 'load and run', classname: 'meshtwin.broken', error: { message: 'x.yaml:3:1: regions: expected <a list>', type: 'ScenarioError' } }],
  },
];

describe('[JUNIT-1] JUnit XML', () => {
  const xml = toJUnitXml(SUITES);
  const root = parseXml(xml);

  it('is well-formed: <testsuites> around one <testsuite> per scenario, one <testcase> per assertion', () => {
    expect(root.name).toBe('testsuites');
    expect(root.attrs).toMatchObject({ name: 'meshtwin', tests: '5', failures: '2', errors: '2', time: '1.235' });
    expect(root.children.map((s) => s.name)).toEqual(['testsuite', 'testsuite']);
    const [a, b] = root.children;
    expect(a!.attrs).toMatchObject({ name: 'failover', tests: '4', failures: '2', errors: '1', file: 'scenarios/failover/link-cut.yaml', time: '1.235' });
    expect(a!.children.map((c) => c.name)).toEqual(['properties', 'testcase', 'testcase', 'testcase', 'testcase']);
    expect(a!.children[0]!.children.map((p) => [p.attrs.name, p.attrs.value])).toEqual([
      ['seed', '42'],
      ['duration', '30.0 s'],
    ]);
    expect(b!.attrs).toMatchObject({ name: 'broken', tests: '1', failures: '0', errors: '1' });
  });

  it('a passing case is empty, a failing one has <failure message>, a broken one <error>', () => {
    const cases = root.children[0]!.children.filter((c) => c.name === 'testcase');
    expect(cases[0]!.children).toEqual([]);
    expect(cases[1]!.children[0]).toMatchObject({
      name: 'failure',
      attrs: { message: 'convergence.maxMs = 1,840 ms, expected < 1,500 ms', type: 'assertion' },
      text: 'convergence.max < 1.5s\nmeasured 1840',
    });
    expect(cases[3]!.children[0]).toMatchObject({ name: 'error', attrs: { message: 'unknown field "mesages.lost"', type: 'ExpectError' } });
    const broken = root.children[1]!.children[0]!;
    expect(broken.children[0]).toMatchObject({ name: 'error', attrs: { message: 'x.yaml:3:1: regions: expected <a list>', type: 'ScenarioError' } });
  });

  it('escapes < & > " \' in names, messages and bodies, keeps line breaks, replaces what XML cannot hold', () => {
    const clean = NASTY.replace('\u0001', '\uFFFD');
    const c = root.children[0]!.children.filter((x) => x.name === 'testcase')[2]!;
    expect(c.attrs.name).toBe(clean);
    expect(c.children[0]!.attrs.message).toBe(clean);
    expect(c.children[0]!.text).toBe(clean);
    expect(xml).not.toContain('\u0001');
    // The message attribute stays on one line in the file.
    expect(xml.split('\n').filter((l) => l.includes('<failure') && l.includes('tab')).length).toBe(1);
  });

  it('escape helpers', () => {
    expect(escapeText('a < b && c > "d"')).toBe('a &lt; b &amp;&amp; c &gt; "d"');
    expect(escapeAttribute(`<&>"'\n`)).toBe('&lt;&amp;&gt;&quot;&apos;&#10;');
    expect(escapeText('\uD800 lone, \uD83D\uDE00 pair')).toBe('\uFFFD lone, \uD83D\uDE00 pair');
  });

  it('the reader used here rejects what is not well-formed', () => {
    const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
    for (const bad of ['<a><b></a></b>', '<a x="1" x="2"/>', '<a>1 & 2</a>', '<a x="<"/>', '<a/><b/>', '<a>']) {
      expect(() => parseXml(head + bad), bad).toThrow();
    }
  });

  it('an empty run is still a document', () => {
    expect(parseXml(toJUnitXml([])).attrs).toMatchObject({ tests: '0', failures: '0', errors: '0' });
  });
});
