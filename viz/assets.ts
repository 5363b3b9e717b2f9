/**
 * Where the browser view's files come from: its own client scripts (viz/client/) and the
 * libraries it uses, read from node_modules (no CDN). The live server serves them; report.html
 * inlines them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** viz/client/, the page's own files. */
export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client');

/** The libraries the page loads, by URL path under /vendor/. */
export const VENDOR = {
  'd3.min.js': ['d3', 'dist/d3.min.js'],
  'topojson-client.min.js': ['topojson-client', 'dist/topojson-client.min.js'],
  'land-110m.json': ['world-atlas', 'land-110m.json'],
} as const satisfies Record<string, readonly [string, string]>;

/** The page's own scripts, in load order (shared by the live page and report.html). */
export const CLIENT_SCRIPTS = ['format.js', 'geo.js', 'map.js', 'charts.js', 'panel.js'] as const;

/**
 * A file inside an installed package, found on Node's own module search path (packages whose
 * `exports` hide their dist/ folder from require.resolve are still on disk).
 */
export function packageFile(pkg: string, rel: string): string {
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const file = join(dir, pkg, rel);
    if (existsSync(file)) return file;
  }
  throw new Error(`meshtwin: ${pkg}/${rel} not found; run npm ci`);
}

export function vendorFile(name: keyof typeof VENDOR): string {
  const [pkg, rel] = VENDOR[name];
  return packageFile(pkg, rel);
}

export function readClient(name: string): string {
  return readFileSync(join(CLIENT_DIR, name), 'utf8');
}
