/**
 * [PURE-1] engine/ does no I/O, reads no clock and draws no ambient randomness; it imports only
 * engine/ files (DESIGN.md: "The one rule"). This test reads every engine source file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ENGINE = resolve('engine');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\.now\s*\(/, 'Date.now()'],
  [/\bnew Date\s*\(/, 'new Date()'],
  [/\bperformance\.now\s*\(/, 'performance.now()'],
  [/\bsetTimeout\s*\(/, 'setTimeout()'],
  [/\bsetInterval\s*\(/, 'setInterval()'],
  [/\bsetImmediate\s*\(/, 'setImmediate()'],
  [/\bMath\.random\s*\(/, 'Math.random()'],
  [/\bprocess\./, 'process.*'],
  [/\brequire\s*\(/, 'require()'],
  [/\bimport\s*\(/, 'dynamic import()'],
  [/\beval\s*\(|\bnew Function\s*\(/, 'eval/new Function'],
];

/** Strips comments so a doc comment may name what the code must not do. */
const code = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

describe('engine purity [PURE-1]', () => {
  const files = sources(ENGINE);

  it('has engine sources to check', () => {
    expect(files.length).toBeGreaterThan(8);
  });

  for (const file of files) {
    const name = relative(process.cwd(), file);
    it(`${name} imports only engine/ modules and uses no clock, timer, I/O or ambient randomness`, () => {
      const text = code(readFileSync(file, 'utf8'));
      for (const m of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1] as string;
        expect(spec.startsWith('.'), `${name} imports package ${spec}`).toBe(true);
        const target = resolve(join(file, '..'), spec);
        expect(target.startsWith(ENGINE), `${name} imports ${spec}, outside engine/`).toBe(true);
      }
      for (const [re, what] of FORBIDDEN) expect(re.test(text), `${name} uses ${what}`).toBe(false);
    });
  }

  it('the check itself catches a violation', () => {
    const bad = code("import { readFileSync } from 'node:fs';\nconst t = Date.now();");
    expect(FORBIDDEN.some(([re]) => re.test(bad))).toBe(true);
    expect(/\bfrom\s+['"]node:fs['"]/.test(bad)).toBe(true);
  });
});
