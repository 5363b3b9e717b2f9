/**
 * `meshtwin live FILE --viz` in real headless Chromium, as a person uses it: the command prints
 * the page's address, the page draws the live mesh (two broker processes) with a "live" badge,
 * link widths follow the traffic the brokers count, cutting the link and crashing a broker from
 * the page act on the real shapers and process, and when the run ends the page says so, the
 * command exits 0 and no broker process is left. Screenshots: $TMPDIR/meshtwin-e2e-viz-live.png (after
 * the crash) and meshtwin-e2e-viz-live-finished.png (after the command exited).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLive } from '../tiny-live.ts';
import { clickPath, errorsOf, launch, screenshot, skipBrowser } from './browser.ts';

const SCREENSHOT = join(tmpdir(), 'meshtwin-e2e-viz-live.png');

/** PIDs of broker processes whose config lies under `dir` (this test's, not anyone else's). */
function brokersUnder(dir: string): number[] {
  const r = spawnSync('pgrep', ['-f', `meshtwin.js broker --config ${dir}/`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

describe.skipIf(skipBrowser)('meshtwin live --viz in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-vizlive-e2e-'));
  const out = join(dir, 'out');
  let browser: Browser;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    if (child !== undefined && child.exitCode === null) child.kill('SIGTERM');
    for (const pid of brokersUnder(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const mbps = (page: Page, dir: string) => page.locator(`[data-dir="${dir}"]`).getAttribute('data-mbps').then(Number);

  it('draws the live mesh, cuts its link and crashes a broker from the page, and ends cleanly', async () => {
    const file = writeTinyLive(dir);
    const proc = spawn(process.execPath, ['bin/meshtwin.js', 'live', file, '--duration', '8s', '--viz', '--port', '0', '--out', out], { env: { ...process.env, FORCE_COLOR: '0' } });
    child = proc;
    let stderr = '';
    let stdout = '';
    proc.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address printed: ${stderr}`)), 30_000);
      proc.stderr.on('data', (d) => {
        stderr += d;
        const m = /watch it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
    });
    // The address comes before the brokers start: the page waits for them with a banner.
    expect(stderr).toMatch(/^SEED=7 scenario=tiny-live duration=8\.00 s .*\nwatch it at /);
    expect(stderr).not.toMatch(/starting 2 broker processes/);

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(url);
    await page.waitForSelector('[data-broker="us-1"]', { timeout: 60_000 });
    expect(await page.locator('g.broker').evaluateAll((els) => els.map((e) => e.getAttribute('data-broker')))).toEqual(['us-1', 'eu-1']);
    expect(await page.locator('path.land').count()).toBe(1);
    expect(await page.locator('#badge').textContent()).toBe('live: 2 broker processes on loopback');
    expect(await page.locator('#sim-controls').isHidden()).toBe(true);
    expect(await page.locator('#chart-events').isVisible()).toBe(true);
    expect(await page.locator('#chart-lat .chart-note').textContent()).toMatch(/^live: from the brokers' meshtwin_publish_to_deliver_seconds histograms/);

    // Traffic: us-1 → eu-1 carries the events (≈ 1 Mbps), eu-1 → us-1 control only.
    await page.waitForFunction(() => Number(document.querySelector('[data-dir="us-1>eu-1"]')?.getAttribute('data-mbps')) > 0.3, undefined, { timeout: 30_000 });
    const busy = Number(await page.locator('[data-dir="us-1>eu-1"] .line').getAttribute('stroke-width'));
    const idle = Number(await page.locator('[data-dir="eu-1>us-1"] .line').getAttribute('stroke-width'));
    expect(busy).toBeGreaterThan(idle + 1);
    await page.waitForFunction(() => ((window as any).MT.live.snapshot?.live?.publishedPerSecond ?? 0) > 100);
    expect(await page.locator('#chart-events path[data-series="published"]').count()).toBe(1);

    // Cut the link from its panel: both directions drawn down, the cut marked, logged and charted.
    await clickPath(page, '[data-dir="us-1>eu-1"] .hit');
    await page.waitForSelector('#panel h2:has-text("us-1 – eu-1")');
    await page.click('#panel button[data-action="link-down"]');
    await page.waitForSelector('[data-dir="us-1>eu-1"][data-up="false"]');
    await page.waitForSelector('[data-dir="eu-1>us-1"][data-up="false"]');
    expect(await page.locator('[data-cut="us-1|eu-1"]').isVisible()).toBe(true);
    expect(await mbps(page, 'us-1>eu-1')).toBe(0);
    await page.waitForSelector('#log li:has-text("link-down us-1 – eu-1 (from the view)")');
    await page.waitForSelector('#chart-wan .markers g.marker', { state: 'attached' });

    // Crash eu-1 from its panel: its process is gone (us-1's is not), and the page draws it down.
    const euConfig = `${out}/mesh/eu-1.yaml`;
    expect(brokersUnder(`${out}/mesh`)).toHaveLength(2);
    await page.click('[data-broker="eu-1"] .body');
    await page.waitForSelector('#panel h2:has-text("eu-1")');
    // Its region's only link is cut: the region button heals it rather than partitioning it.
    expect(await page.locator('#panel button[data-action="heal"]').textContent()).toBe('Heal eu-west-1');
    await page.click('#panel button[data-action="crash"]');
    await page.waitForSelector('[data-broker="eu-1"][data-alive="false"]', { timeout: 5000 }).catch(async (e) => {
      throw new Error(
        `${e}; banner ${await page.locator('#banner').textContent()}; t ${await page.evaluate(() => (window as any).MT.live.snapshot?.t)}; log ${await page.locator('#log').textContent()}`,
      );
    });
    expect(spawnSync('pgrep', ['-f', `--config ${euConfig}`], { encoding: 'utf8' }).stdout.trim()).toBe('');
    expect(brokersUnder(`${out}/mesh`)).toHaveLength(1);
    await page.waitForSelector('#log li:has-text("eu-1: process gone")');
    await page.waitForSelector('#panel button[data-action="restart"]');
    await page.waitForTimeout(1200);
    await screenshot(page, SCREENSHOT);

    // The run ends by itself: the page says so and keeps its last state; the command exits 0, leaving no broker.
    await page.waitForFunction(() => (window as any).MT.live.finished !== null, undefined, { timeout: 60_000 });
    expect(await exited).toBe(0);
    await page.waitForSelector('#banner:has-text("the meshtwin command has exited")');
    expect(await page.locator('#badge').textContent()).toBe('live run finished');
    expect(await page.locator('#rate').textContent()).toMatch(/^run finished/);
    expect(await page.locator('[data-broker="eu-1"]').getAttribute('data-alive')).toBe('false');
    expect(brokersUnder(dir)).toEqual([]);
    expect(stderr).toMatch(/faults from the browser view \(the report's faults list only the scenario's\): link-down us-1 – eu-1 at \d+\.\d{3} s; crash eu-1 at/);
    expect(stdout).toMatch(/meshtwin live — tiny-live/);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
    await page.waitForTimeout(500);
    await screenshot(page, SCREENSHOT.replace('.png', '-finished.png'));
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);
});

describe('meshtwin live --viz: its options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtwin-vizlive-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const meshtwin = (args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/meshtwin.js', ...args]);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (status) => resolve({ status, stderr }));
    });
  const lines = (stderr: string) =>
    stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('SEED='));

  it('--port without --viz, a bad port and a port in use are one clear line and exit 2, before any broker starts', async () => {
    const file = writeTinyLive(dir);
    const out = join(dir, 'out');
    const alone = await meshtwin(['live', file, '--port', '9000', '--out', out]);
    expect(alone.status).toBe(2);
    expect(lines(alone.stderr)).toEqual(['meshtwin: --port: applies with --viz only']);
    const bad = await meshtwin(['live', file, '--viz', '--port', 'http', '--out', out]);
    expect(lines(bad.stderr)).toEqual(['meshtwin: --port: expected a port number 0..65535, found "http"']);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await meshtwin(['live', file, '--viz', '--port', String(port), '--out', out]);
      expect(r.status).toBe(2);
      expect(lines(r.stderr)).toEqual([`meshtwin: --port: 127.0.0.1:${port} is in use; pick another with --port`]);
    } finally {
      blocker.close();
    }
    expect(brokersUnder(dir)).toEqual([]);
  });
});
