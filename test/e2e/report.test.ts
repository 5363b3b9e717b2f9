/**
 * report.html, as `meshtwin run` writes it: one self-contained file (no http(s) URL, no external
 * script or style) that renders in headless Chromium from disk with the network blocked.
 * Screenshot: out/e2e/report.png.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { errorsOf, launch, screenshot, skipBrowser } from './browser.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshtwin-report-'));
const faultDir = mkdtempSync(join(tmpdir(), 'meshtwin-report-faults-'));
let html = '';
let faultHtml = '';
let summary: { links: Array<{ from: string; to: string; mbpsAvg: number }> };

beforeAll(() => {
  const r = spawnSync(process.execPath, ['bin/meshtwin.js', 'run', 'scenarios/global-3-region-small.yaml', '--duration', '3s', '--out', dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('timeline.json, report.html');
  html = readFileSync(join(dir, 'report.html'), 'utf8');
  summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  // A run with faults and assertions: the fault timeline, its chart markers, the Expect table.
  const f = spawnSync(process.execPath, ['bin/meshtwin.js', 'run', 'scenarios/failover/wan-split.yaml', '--out', faultDir], { encoding: 'utf8' });
  expect(f.status, f.stderr).toBe(0);
  faultHtml = readFileSync(join(faultDir, 'report.html'), 'utf8');
});

describe('report.html', () => {
  it('is self-contained: no http(s) URL in any src or href, no external script or stylesheet', () => {
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\bhref=/i);
    expect(html).not.toMatch(/@import/);
    // d3 itself is inlined (its version banner), and the data the page draws.
    expect(html).toMatch(/d3js\.org v7/);
    expect(html).toContain('id="meshtwin-data"');
  });

  it('has what the CLI prints: Expect and invariants, the fault timeline, broker memory (measured vs modeled)', () => {
    // global-3-region-small: two assertions, no faults.
    expect(html).toMatch(/<table class="rt expect">[\s\S]*latency\.local\.p99 &lt; 5ms<\/td><td>[\d.]+ ms<\/td><td>PASS[\s\S]*messages\.dropped == 0<\/td><td>0<\/td><td>PASS/);
    expect(html).toContain('No faults in this run.');
    expect(html).toMatch(/<th>table \(measured heap\)<\/th><th>trie alone \(self-counted\)<\/th><th>connections<\/th><th>sockets \(modeled\)<\/th>/);
    // wan-split: four faults, six assertions, invariants checked, no local subscribers.
    expect(faultHtml).toMatch(/<td>1<\/td><td>4\.000 s<\/td><td>link-down us-1–ap-1<\/td><td>840\.\d ms<\/td>/);
    expect(faultHtml).toContain('<td>heal ap-southeast-1</td>');
    expect(faultHtml).toContain('Invariants: all held');
    expect(faultHtml.match(/<td>PASS<\/td>/g)).toHaveLength(6);
    expect(faultHtml).toContain('<tr><td>local</td><td>0</td><td>—</td><td>—</td><td>—</td><td>—</td><td>—</td></tr>');
  });
});

describe.skipIf(skipBrowser)('report.html in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("renders from disk with the network blocked: one node per broker, the run's average Mbps, the charts", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    await page.waitForSelector('g.broker');
    const brokers = await page.locator('g.broker').evaluateAll((els) => els.map((e) => e.getAttribute('data-broker')));
    expect(brokers.sort()).toEqual(['ap-1', 'eu-1', 'us-1', 'us-2']);
    expect(await page.locator('path.land').count()).toBe(1);
    // Each direction's drawn Mbps is the run's average from summary.json.
    for (const l of summary.links) {
      const drawn = Number(await page.locator(`[data-dir="${l.from}>${l.to}"]`).getAttribute('data-mbps'));
      expect(drawn).toBeCloseTo(l.mbpsAvg, 3);
    }
    // The time series: one line per WAN direction, four latency lines, with points.
    expect(await page.locator('#chart-wan .lines path').count()).toBe(6);
    expect(await page.locator('#chart-lat .lines path').count()).toBe(4);
    const d = await page.locator('#chart-wan .lines path').first().getAttribute('d');
    expect(d?.split('L').length).toBeGreaterThanOrEqual(3);
    // A click shows the panel, with no fault buttons (nothing is running).
    await page.click('[data-broker="ap-1"] .body');
    await page.waitForSelector('#panel h2:has-text("ap-1")');
    expect(await page.locator('#panel button').count()).toBe(0);
    await screenshot(page, 'out/e2e/report.png');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    // No faults, no markers.
    expect(await page.locator('#chart-wan .markers g.marker').count()).toBe(0);
  });

  it('marks each fault on both charts at its time, numbered as in the fault table', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(pathToFileURL(join(faultDir, 'report.html')).href);
    await page.waitForSelector('#chart-wan .markers g.marker');
    for (const chart of ['#chart-wan', '#chart-lat']) {
      const marks = await page.locator(`${chart} .markers g.marker`).evaluateAll((els) =>
        els.map((e) => ({
          n: e.getAttribute('data-fault'),
          x: Number(/translate\(([\d.]+),/.exec(e.getAttribute('transform') ?? '')?.[1]),
          title: e.querySelector('title')?.textContent,
        })),
      );
      expect(marks.map((m) => m.n)).toEqual(['1', '2', '3', '4']);
      expect(marks[0]?.title).toBe('fault 1 at 4.000 s: link-down us-1–ap-1');
      // At 4, 8, 11 and 15 s on a 1..20 s axis: evenly spaced where the times are.
      const [a, b, c, d] = marks.map((m) => m.x) as [number, number, number, number];
      expect(b - a).toBeGreaterThan(0);
      expect((c - b) / (b - a)).toBeCloseTo(3 / 4, 2);
      expect((d - c) / (b - a)).toBeCloseTo(1, 2);
    }
    expect(await page.locator('#rt-faults tr').count()).toBe(5);
    await screenshot(page, 'out/e2e/report-faults.png');
    expect(errors).toEqual([]);
    await page.close();
  });
});
