/**
 * sweep.html, as `meshtwin sweep` writes it, in headless Chromium from disk with the network
 * blocked: every chart draws a point per step and the breaking point as a vertical rule through
 * the breaking step's point, with its label. Screenshot: out/e2e/sweep.png.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../sim/sweep/report.ts';
import { errorsOf, launch, screenshot, skipBrowser } from './browser.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-sweep-html-'));

describe.skipIf(skipBrowser)('sweep.html in Chromium', () => {
  let browser: Browser;
  let report: SweepReport;
  beforeAll(async () => {
    const r = spawnSync(process.execPath, ['bin/meshtwin.js', 'sweep', 'scenarios/slow-link.yaml', '--vary', 'publishers[0].rate=800/s..2600/s', '--steps', '7', '--duration', '2s', '--out', dir], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws each figure against the rate, the breaking point a rule through the breaking step on every chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = errorsOf(page);
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(join(dir, 'sweep.html')).href);
    await page.waitForSelector('.chart svg');
    const b = report.breakingPoint;
    if (b === null) throw new Error('this sweep should break');
    const charts = await page.locator('.chart').evaluateAll((els) =>
      els.map((c) => ({
        title: c.querySelector('h3')?.textContent,
        knees: [...c.querySelectorAll('line.knee')].map((l) => Number(l.getAttribute('x1'))),
        label: c.querySelector('text.knee-label')?.textContent,
        // The first series' points: x per step.
        points: [...(c.querySelector('circle.pt')?.parentElement?.querySelectorAll('circle.pt') ?? [])].map((p) => Number(p.getAttribute('cx'))),
      })),
    );
    expect(charts.map((c) => c.title)).toEqual([
      'Link utilization, busiest 1 s window',
      'WAN Mbps (all WAN links)',
      'Latency, publish → subscriber',
      'Deliveries dropped, by cause',
      'Broker memory (largest broker)',
    ]);
    for (const c of charts) {
      expect(c.knees, c.title ?? '').toHaveLength(1);
      expect(c.label).toMatch(new RegExp(`^breaking point: step ${b.step} of 7, [\\d.]+k/s$`));
      if (c.points.length === 7) expect(c.knees[0]).toBeCloseTo(c.points[b.index] as number, 3);
    }
    // The utilization chart draws the 90% limit.
    expect(await page.locator('.chart').first().locator('line.threshold').count()).toBe(1);
    expect(await page.locator('table.steps tr.breaking').count()).toBe(1);
    await screenshot(page, 'out/e2e/sweep.png');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
