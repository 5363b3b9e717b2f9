/**
 * Worker threads on TypeScript sources: the code a `new Worker(code, { eval: true })` runs first
 * registers tsx's loader, then imports the thread's module (the sources run without a build).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The boot code of a worker thread that runs the module at `entry`. */
export function tsxThreadCode(entry: URL): string {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(pkgFile), (pkg.exports['./esm/api'] as { import: { default: string } }).import.default)).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}
