/**
 * [PURE-1] engine/ does no I/O, reads no clock and draws no ambient randomness; it imports only
 * engine/ modules (DESIGN.md: "The one rule"). The rule is the linter's (biome.json overrides for
 * engine/ and lint/engine-purity.grit); `npm test` runs the linter over the tree first. This test
 * shows the rule catches each kind of violation, by linting a file placed in engine/ of a copy
 * of the configuration, and that the real engine/ passes it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

function lint(cwd: string, ...paths: string[]): { status: number | null; out: string } {
  const r = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', ...paths], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('[PURE-1] the engine purity rule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-lint-'));
  mkdirSync(join(dir, 'lint'));
  mkdirSync(join(dir, 'engine', 'codec'), { recursive: true });
  mkdirSync(join(dir, 'sim'));
  copyFileSync(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
  copyFileSync(join(ROOT, 'lint', 'engine-purity.grit'), join(dir, 'lint', 'engine-purity.grit'));
  writeFileSync(join(dir, 'engine', 'ok.ts'), 'export const ok = 1;\n');
  writeFileSync(join(dir, 'sim', 'mesh.ts'), 'export const m = Date.now() + Math.random();\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['a node: built-in', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", 'noRestrictedImports'],
    ['a package', "import { parse } from 'yaml';\nexport const x = parse;\n", 'noRestrictedImports'],
    ['a path out of engine/', "import { m } from '../sim/mesh.ts';\nexport const x = m;\n", 'noRestrictedImports'],
    ['the wall clock', 'export const x = Date.now();\n', 'noRestrictedGlobals'],
    ['a new Date', 'export const x = new Date();\n', 'noRestrictedGlobals'],
    ['performance.now', 'export const x = performance.now();\n', 'noRestrictedGlobals'],
    ['a timer', 'setTimeout(() => 0, 10);\n', 'noRestrictedGlobals'],
    ['an interval', 'setInterval(() => 0, 10);\n', 'noRestrictedGlobals'],
    ['process state', 'export const x = process.env.HOME;\n', 'noRestrictedGlobals'],
    ['ambient randomness', 'export const x = Math.random();\n', 'ambient randomness'],
    ['a dynamic import', "export const x = import('./ok.ts');\n", 'loads no code'],
  ];
  for (const [what, code, rule] of cases) {
    it(`catches ${what}`, () => {
      writeFileSync(join(dir, 'engine', 'bad.ts'), code);
      const r = lint(dir, 'engine/bad.ts');
      expect(r.status, r.out).not.toBe(0);
      expect(r.out).toContain(rule);
    });
  }

  it('a file one folder down may import its parent but not leave engine/', () => {
    writeFileSync(join(dir, 'engine', 'codec', 'c.ts'), "import { ok } from '../ok.ts';\nexport const c = ok;\n");
    expect(lint(dir, 'engine/codec/c.ts').status).toBe(0);
    writeFileSync(join(dir, 'engine', 'codec', 'c.ts'), "import { m } from '../../sim/mesh.ts';\nexport const c = m;\n");
    expect(lint(dir, 'engine/codec/c.ts').out).toContain('leaves engine/');
  });

  it('engine/schema/ajv.ts alone may import ajv (and ajv-formats), and nothing else [SCHEMA-2]', () => {
    mkdirSync(join(dir, 'engine', 'schema'), { recursive: true });
    writeFileSync(
      join(dir, 'engine', 'schema', 'ajv.ts'),
      "import { Ajv } from 'ajv';\nimport { Ajv2020 } from 'ajv/dist/2020.js';\nimport f from 'ajv-formats';\nexport const a = [Ajv, Ajv2020, f];\n",
    );
    expect(lint(dir, 'engine/schema/ajv.ts').status).toBe(0);
    writeFileSync(join(dir, 'engine', 'schema', 'ajv.ts'), "import { parse } from 'yaml';\nexport const a = parse;\n");
    expect(lint(dir, 'engine/schema/ajv.ts').out).toContain('noRestrictedImports');
    writeFileSync(join(dir, 'engine', 'schema', 'registry.ts'), "import { Ajv } from 'ajv';\nexport const a = Ajv;\n");
    expect(lint(dir, 'engine/schema/registry.ts').out).toContain('noRestrictedImports');
  });

  it('the rule is engine/ only: sim/ may read the clock', () => {
    expect(lint(dir, 'sim/mesh.ts').status).toBe(0);
  });

  it('the real engine/ passes', () => {
    const r = lint(ROOT, 'engine');
    expect(r.status, r.out).toBe(0);
  });
});
