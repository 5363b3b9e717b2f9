/**
 * The live view in real headless Chromium, as a person uses it: the page loads without errors,
 * draws one node per broker, link widths follow traffic, and cutting the US–AP link from the
 * page sends AP → US traffic round through EU. Screenshot: out/e2e/viz.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { loadScenario } from '../../scenarios/load.ts';
import { startVizServer, type VizServer } from '../../viz/server.ts';
import { clickPath, errorsOf, launch, screenshot, skipBrowser } from './browser.ts';

const scenario = loadScenario('scenarios/global-3-region-small.yaml');

describe.skipIf(skipBrowser)('live view in Chromium', () => {
  let server: VizServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startVizServer({ scenario, seed: 42, durationMs: 600_000, speed: 10, port: 0, host: '127.0.0.1' });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const width = (page: Page, dir: string) => page.locator(`[data-dir="${dir}"] .line`).getAttribute('stroke-width').then(Number);
  const mbps = (page: Page, dir: string) => page.locator(`[data-dir="${dir}"]`).getAttribute('data-mbps').then(Number);

  it('shows the mesh, follows traffic, and a link cut from the page reroutes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(server.url);
    // One node per broker of the scenario, the land drawn, a region label per region.
    await page.waitForSelector('[data-broker]');
    const brokers = await page.locator('g.broker').evaluateAll((els) => els.map((e) => e.getAttribute('data-broker')));
    expect(brokers.sort()).toEqual(scenario.regions.flatMap((r) => r.brokers).sort());
    expect(await page.locator('path.land').count()).toBe(1);
    expect(await page.locator('g.region').count()).toBe(3);

    // Traffic flows: the widths change from snapshot to snapshot, and AP → US is wider than an idle direction.
    await page.waitForFunction(() => (window as any).MT.live.snapshot?.t > 1500);
    const w1 = await width(page, 'ap-1>us-2');
    const idle = await width(page, 'ap-1>eu-1');
    expect(w1).toBeGreaterThan(idle + 1);
    // Denser flow dots where the traffic is heavier (us-1 → eu-1 ~4.3 Mbps, ap-1 → us-2 ~2.7, control-only none).
    const dots = (d: string) => page.locator(`[data-dir="${d}"] .flow circle`).count();
    expect(await dots('us-1>eu-1')).toBeGreaterThan(await dots('ap-1>us-2'));
    expect(await dots('ap-1>us-2')).toBeGreaterThan(0);
    expect(await dots('ap-1>eu-1')).toBe(0);
    const seen = new Set<number>();
    for (let i = 0; i < 10 && seen.size < 2; i++) {
      seen.add(await width(page, 'us-1>eu-1'));
      await page.waitForTimeout(250);
    }
    expect(seen.size).toBeGreaterThan(1);
    expect(await page.locator('#chart-wan path').count()).toBeGreaterThan(0);

    // A second browser watches the same run.
    const other = await browser.newPage();
    const otherErrors = errorsOf(other);
    await other.goto(server.url);
    await other.waitForSelector('[data-broker]');

    // Click the US–AP link, then its Cut button.
    await clickPath(page, '[data-dir="ap-1>us-2"] .hit');
    await page.waitForSelector('#panel h2:has-text("us-2 – ap-1")');
    await page.click('#panel button[data-action="link-down"]');
    await page.waitForSelector('[data-dir="ap-1>us-2"][data-up="false"]');
    expect(await page.locator('[data-cut="us-2|ap-1"]').isVisible()).toBe(true);
    await other.waitForSelector('[data-dir="ap-1>us-2"][data-up="false"]');
    // The cut is marked on both charts, in both browsers, at its simulated time.
    await page.waitForSelector('#chart-wan .markers g.marker title:has-text("link-down us-2 – ap-1")', { state: 'attached' });
    await page.waitForSelector('#chart-lat .markers g.marker', { state: 'attached' });
    await other.waitForSelector('#chart-wan .markers g.marker', { state: 'attached' });

    // After the dead interval, AP → US goes ap-1 → eu-1 → us-1: those directions carry it.
    await page.waitForFunction(
      () => {
        const m = (d: string) => Number(document.querySelector(`[data-dir="${d}"]`)?.getAttribute('data-mbps'));
        return m('ap-1>eu-1') > 1.5 && m('eu-1>us-1') > 1.5;
      },
      undefined,
      { timeout: 30_000 },
    );
    expect(await mbps(page, 'ap-1>us-2')).toBe(0);
    expect(await width(page, 'ap-1>eu-1')).toBeGreaterThan(idle + 1);
    // Flow dots follow the traffic: none on the cut direction, some on the new path.
    expect(await page.locator('[data-dir="ap-1>us-2"] .flow circle').count()).toBe(0);
    expect(await page.locator('[data-dir="ap-1>eu-1"] .flow circle').count()).toBeGreaterThan(0);
    await page.waitForSelector('#log li:has-text("us-2 via eu-1")');
    await page.waitForTimeout(1500);
    await screenshot(page, 'out/e2e/viz.png');

    // Restore it from the panel.
    await page.click('#panel button[data-action="link-up"]');
    await page.waitForSelector('[data-dir="ap-1>us-2"][data-up="true"]');
    expect(errors).toEqual([]);
    expect(otherErrors).toEqual([]);
    await other.close();
    await page.close();
  });

  it('controls from the page: speed, pause, restart with another seed', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(server.url);
    await page.waitForSelector('[data-broker]');
    await page.click('#speeds button[data-speed="max"]');
    await page.waitForSelector('#speeds button[data-speed="max"].on');
    await page.click('#pause');
    await page.waitForSelector('#pause:has-text("Resume")');
    const t = await page.evaluate(() => (window as any).MT.live.snapshot.t);
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => (window as any).MT.live.snapshot.t)).toBe(t);
    await page.click('#pause');
    await page.click('#speeds button[data-speed="10"]');
    await page.fill('#seed', '7');
    await page.click('#restart');
    await page.waitForFunction(() => (window as any).MT.live.snapshot?.run.seed === 7);
    expect(await page.inputValue('#seed')).toBe('7');
    await page.waitForSelector('#speeds button[data-speed="10"].on');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('crashes and restarts a broker from the page', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(server.url);
    await page.waitForSelector('[data-broker="eu-1"]');
    await page.click('[data-broker="eu-1"] .body');
    await page.click('#panel button[data-action="crash"]');
    await page.waitForSelector('[data-broker="eu-1"][data-alive="false"]');
    expect(await page.locator('#panel').textContent()).toContain('down');
    await page.click('#panel button[data-action="restart"]');
    await page.waitForSelector('[data-broker="eu-1"][data-alive="true"]');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(skipBrowser)('live view after the run has finished', () => {
  let server: VizServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startVizServer({ scenario, seed: 42, durationMs: 1500, speed: Infinity, port: 0, host: '127.0.0.1' });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('disables Crash and Cut and says why; a fault sent anyway is refused', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(server.url);
    await page.waitForFunction(() => (window as any).MT.live.snapshot?.phase === 'done', undefined, { timeout: 30_000 });
    await page.click('[data-broker="eu-1"] .body');
    const crash = page.locator('#panel button[data-action="crash"]');
    await crash.waitFor();
    expect(await crash.isDisabled()).toBe(true);
    expect(await page.locator('#panel .closed').textContent()).toContain('The run has finished');
    await screenshot(page, 'out/e2e/viz-done.png');
    await clickPath(page, '[data-dir="ap-1>us-2"] .hit');
    await page.waitForSelector('#panel h2:has-text("us-2 – ap-1")');
    expect(await page.locator('#panel button[data-action="link-down"]').isDisabled()).toBe(true);
    expect(await page.locator('#panel .closed').isVisible()).toBe(true);
    // The server refuses it too (a page with the button still enabled, or any other client).
    expect(server.session.fault('crash', ['eu-1'])).toBe('the run has finished; restart it first');
    await page.waitForTimeout(300);
    expect(await page.locator('[data-broker="eu-1"]').getAttribute('data-alive')).toBe('true');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(skipBrowser)('the map of a mesh round the globe', () => {
  const pacific = loadScenario('test/e2e/fixtures/pacific-4-region.yaml');
  let server: VizServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startVizServer({ scenario: pacific, seed: 7, durationMs: 600_000, speed: 10, port: 0, host: '127.0.0.1' });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  type Box = { x: number; y: number; w: number; h: number; name: string };
  const overlap = (a: Box, b: Box) => Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

  it('draws the trans-Pacific link across the Pacific, labels apart, every WAN direction its own color', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = errorsOf(page);
    await page.goto(server.url);
    await page.waitForSelector('[data-broker="usw-1"]');
    await page.waitForFunction(() => (window as any).MT.live.snapshot?.t > 1500, undefined, { timeout: 30_000 });
    await page.waitForTimeout(500);

    // The us-west-2 ↔ Singapore great circle leaves the map on the left (west of Oregon) and comes
    // back on the right (east of Singapore): two pieces, and no point of it between the two
    // brokers, where the Atlantic and Europe are.
    for (const dir of ['usw-1>ap-1', 'ap-1>usw-1']) {
      const { pieces, xs, xUsw, xAp } = await page.evaluate((sel) => {
        const line = document.querySelector(`[data-dir="${sel}"] .line`) as SVGPathElement;
        const at = (id: string) => {
          const t = document.querySelector(`[data-broker="${id}"]`)?.getAttribute('transform') ?? '';
          return Number(/translate\(([-\d.]+),/.exec(t)?.[1]);
        };
        const len = line.getTotalLength();
        const xs = Array.from({ length: 101 }, (_, i) => line.getPointAtLength((len * i) / 100).x);
        return { pieces: (line.getAttribute('d') ?? '').split('M').length - 1, xs, xUsw: at('usw-1'), xAp: at('ap-1') };
      }, dir);
      expect(pieces, dir).toBe(2);
      expect(xUsw).toBeLessThan(xAp);
      const between = xs.filter((x) => x > xUsw + 30 && x < xAp - 30);
      expect(between, dir).toEqual([]);
      expect(Math.min(...xs)).toBeLessThan(xUsw - 100);
      expect(Math.max(...xs)).toBeGreaterThan(xAp + 100);
    }
    // The seed's links still go the short way: us-1 → eu-1 is one piece.
    expect(((await page.locator('[data-dir="us-1>eu-1"] .line').getAttribute('d')) ?? '').split('M').length - 1).toBe(1);

    // Region names, broker nodes and names, and the shown Mbps labels overlap nothing.
    const boxes = await page.evaluate(() => {
      const box = (e: Element, name: string) => {
        const r = e.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height, name };
      };
      return [
        ...[...document.querySelectorAll('.region-labels text')].map((e) => box(e, `region ${e.textContent}`)),
        ...[...document.querySelectorAll('g.broker')].flatMap((g) => [
          box(g.querySelector('.body') as Element, `node ${g.getAttribute('data-broker')}`),
          box(g.querySelector('.name') as Element, `name ${g.getAttribute('data-broker')}`),
        ]),
        ...[...document.querySelectorAll('.dir-label')].filter((e) => e.getAttribute('display') !== 'none' && !e.classList.contains('idle')).map((e) => box(e, `label ${e.textContent}`)),
      ];
    });
    expect(boxes.filter((b) => b.name.startsWith('region'))).toHaveLength(4);
    // Six WAN directions carry events here (the rest control traffic only, their labels dimmed).
    expect(boxes.filter((b) => b.name.startsWith('label')).length).toBeGreaterThanOrEqual(6);
    const clashes: string[] = [];
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        // A node and its own name touch by design.
        if (a.name.startsWith('node') && b.name === a.name.replace('node', 'name')) return;
        if (overlap(a, b) > 4) clashes.push(`${a.name} × ${b.name}`);
      }),
    );
    expect(clashes).toEqual([]);

    // 14 WAN directions, 14 looks (stroke color and dash) in the chart and its legend.
    const looks = await page.locator('#chart-wan .lines path').evaluateAll((ps) => ps.map((p) => `${p.getAttribute('stroke')} ${p.getAttribute('stroke-dasharray') ?? 'solid'}`));
    expect(looks).toHaveLength(14);
    expect(new Set(looks).size).toBe(14);
    await screenshot(page, 'out/e2e/viz-pacific.png');
    expect(errors).toEqual([]);
    await page.close();
  });
});
