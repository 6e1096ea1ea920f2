import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, type Browser } from 'puppeteer-core';
import { runCli } from '../support/cli';
import { describeWithChromium } from '../support/chromium';
import { writeSmallSpec } from '../support/specs';

/*
 * The HTML report of a small real sweep, opened from disk in a real Chromium at a narrow and a wide
 * window: it loads without errors or network requests, and nothing spills past the window's width.
 */

/** What the page measures of itself (browser-side; a string because the project's types have no DOM). */
const MEASURE = `({
  innerWidth: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  svgs: [...document.querySelectorAll('svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    const view = svg.viewBox.baseVal;
    const drawn = svg.getBBox(); // what is drawn, in viewBox units
    return { left: box.left, right: box.right, width: box.width, available: svg.parentElement.clientWidth, view: { width: view.width, height: view.height }, drawn: { x: drawn.x, y: drawn.y, right: drawn.x + drawn.width, bottom: drawn.y + drawn.height } };
  }),
})`;

interface Measured {
  innerWidth: number;
  scrollWidth: number;
  svgs: { left: number; right: number; width: number; available: number; view: { width: number; height: number }; drawn: { x: number; y: number; right: number; bottom: number } }[];
}

describeWithChromium('the sweep report in a real browser', (executable) => {
  let report = '';
  let dataDir = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-report-browser-'));
    // 2 seeds: the report has both plots (across seeds needs 2 attempts per cell).
    dataDir = join(dir, 'data');
    const r = await runCli(['run', writeSmallSpec({ seeds: 2 }), '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    report = /^Report: (.+index\.html)$/m.exec(r.stdout)?.[1] ?? '';
    expect(report).not.toBe('');
    // --no-sandbox: Chromium's own sandbox refuses to start as root (the test containers run as root).
    browser = await launch({ executablePath: executable, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  test.each([800, 1400])('at a %i px wide window: no errors, no requests off disk, every plot within the window', async (width) => {
    if (!browser) throw new Error('the browser did not start (see beforeAll)');
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.setViewport({ width, height: 900 });
    const url = pathToFileURL(report).href;
    await page.goto(url, { waitUntil: 'load' });
    const seen = (await page.evaluate(MEASURE)) as Measured;
    await page.close();
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(seen.innerWidth).toBe(width);
    expect(seen.scrollWidth).toBeLessThanOrEqual(width);
    expect(seen.svgs).toHaveLength(2);
    for (const s of seen.svgs) {
      expect(s.left).toBeGreaterThanOrEqual(0);
      expect(s.right).toBeLessThanOrEqual(width);
      // As wide as there is room for, up to its natural width (the viewBox's).
      expect(Math.abs(s.width - Math.min(s.view.width, s.available))).toBeLessThanOrEqual(1);
      // Nothing drawn outside the viewBox, so nothing is clipped (labels, tick labels, axis titles).
      expect(s.drawn.x).toBeGreaterThanOrEqual(0);
      expect(s.drawn.y).toBeGreaterThanOrEqual(0);
      expect(s.drawn.right).toBeLessThanOrEqual(s.view.width);
      expect(s.drawn.bottom).toBeLessThanOrEqual(s.view.height);
    }
    if (width === 800) expect(seen.svgs.every((s) => s.width < s.view.width)).toBe(true); // the narrow window really shrinks them
  });

  test.each([800, 1400])('the leaderboard of the data dir at a %i px wide window: no errors, nothing wider than the window, and its link opens the sweep report', async (width) => {
    if (!browser) throw new Error('the browser did not start (see beforeAll)');
    const lb = await runCli(['leaderboard', '--data-dir', dataDir]);
    expect(lb.code).toBe(0);
    const index = /: (\S+index\.html)$/m.exec(lb.stderr)?.[1] ?? '';
    expect(index).toBe(join(dataDir, 'reports', 'index.html'));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    await page.setViewport({ width, height: 900 });
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    const seen = (await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, links: [...document.querySelectorAll("a")].map((a) => a.href) })')) as { scrollWidth: number; links: string[] };
    expect(errors).toEqual([]);
    expect(seen.scrollWidth).toBeLessThanOrEqual(width);
    // Every cell links to the report the sweep wrote: following one lands on that report.
    expect(seen.links.length).toBeGreaterThan(0);
    expect(new Set(seen.links)).toEqual(new Set([pathToFileURL(report).href]));
    await page.goto(seen.links[0], { waitUntil: 'load' });
    expect(await page.title()).toMatch(/Uplift/);
    await page.close();
  });
});
