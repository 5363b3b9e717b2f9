/**
 * Headless Chromium for the end-to-end tests: Debian's `chromium` package (.ci/run installs it),
 * driven by playwright-core through `executablePath` (playwright never downloads a browser).
 *
 * Without a browser the tests skip with a clear message, unless CI is set: in CI they must run,
 * so a missing browser fails them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = [process.env.MESHTWIN_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * Whether the browser tests run, and with which binary: the first candidate that exists; with
 * none, skip (with a message) unless CI is set, where they must run and so fail.
 */
export function browserPlan(
  env: Readonly<Record<string, string | undefined>>,
  candidates: ReadonlyArray<string | undefined>,
  exists: (path: string) => boolean,
): { readonly path: string | null; readonly skip: boolean; readonly message: string | null } {
  const path = candidates.find((p): p is string => p !== undefined && p !== '' && exists(p)) ?? null;
  if (path !== null) return { path, skip: false, message: null };
  const inCi = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  if (inCi) return { path: null, skip: false, message: null };
  return { path: null, skip: true, message: 'e2e: skipping browser tests: no Chromium found (apt-get install -y chromium, or set MESHTWIN_CHROMIUM); with CI set they fail instead' };
}

const plan = browserPlan(process.env, CANDIDATES, existsSync);
if (plan.message !== null) process.stderr.write(`${plan.message}\n`);

/** The browser binary, or null when none is installed. */
export const chromiumPath: string | null = plan.path;

/** True when the browser tests should be skipped (no browser, not CI). */
export const skipBrowser: boolean = plan.skip;

export async function launch(): Promise<Browser> {
  if (chromiumPath === null) throw new Error(`no Chromium found at ${CANDIDATES.filter(Boolean).join(', ')}; in CI the browser tests must run (apt-get install -y chromium)`);
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Collects console errors and uncaught exceptions of a page. */
export function errorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return errors;
}

/** Clicks the middle of an SVG path (a curve's bounding-box center is not on the curve). */
export async function clickPath(page: Page, selector: string): Promise<void> {
  const pt = await page.evaluate((sel) => {
    const p = document.querySelector(sel) as SVGPathElement | null;
    if (p === null) throw new Error(`no element ${sel}`);
    const m = p.getPointAtLength(p.getTotalLength() / 2);
    const q = new DOMPoint(m.x, m.y).matrixTransform(p.getScreenCTM() as DOMMatrix);
    return { x: q.x, y: q.y };
  }, selector);
  await page.mouse.click(pt.x, pt.y);
}

export async function screenshot(page: Page, file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
}
