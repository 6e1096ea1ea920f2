import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, type Browser } from 'puppeteer-core';
import { runCli } from '../support/cli';
import { describeWithChromium } from '../support/chromium';
import { EXAMPLES, writeSmallSpec } from '../support/specs';

/*
 * The HTML reports of real sweeps — the demo's (examples/sweeps/tai-demo.yaml) and a sweep with a
 * budget curve — and the leaderboard, opened from disk in a real Chromium at a narrow and a wide
 * window: they load without errors or network requests, nothing spills past the window's width,
 * and the drill-downs (flipped tasks, MRA diff, TLA transcript) open on a click.
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
  const reports = { demo: '', curve: '' };
  let dataDir = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-report-browser-'));
    dataDir = join(dir, 'data');
    // The demo as `npm run demo` runs it (3 seeds: both forest plots), and a sweep with a budget curve.
    const demo = await runCli(['run', join(EXAMPLES, 'sweeps/tai-demo.yaml'), '--data-dir', dataDir]);
    expect(demo.code).toBe(0);
    reports.demo = /^Report: (.+index\.html)$/m.exec(demo.stdout)?.[1] ?? '';
    const curve = await runCli(['run', writeSmallSpec({ name: 'curve', seeds: 2, tlas: '[{kind: fewshot-search, evalTasks: 40}]', extra: 'budgetCurve: [5000, 60000, 400000]' }), '--data-dir', dataDir]);
    expect(curve.code).toBe(0);
    reports.curve = /^Report: (.+index\.html)$/m.exec(curve.stdout)?.[1] ?? '';
    expect(reports.demo).not.toBe('');
    expect(reports.curve).not.toBe('');
    // --no-sandbox: Chromium's own sandbox refuses to start as root (the test containers run as root).
    browser = await launch({ executablePath: executable, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
  });

  test.each([
    ['demo', 800, 2],
    ['demo', 1400, 2],
    // across seeds, per run, and the budget curve
    ['curve', 800, 3],
    ['curve', 1400, 3],
  ] as const)('the %s report at a %i px wide window: no errors, no requests off disk, its %i plots within the window', async (which, width, plots) => {
    const report = reports[which];
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
    expect(seen.svgs).toHaveLength(plots);
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
    if (width === 800) expect(seen.svgs.some((s) => s.width < s.view.width)).toBe(true); // the narrow window really shrinks the wide ones
  });

  test.each([800, 1400])('the demo report at a %i px wide window: each run’s drill-down, its diff and its transcript open on a click and stay within the window', async (width) => {
    if (!browser) throw new Error('the browser did not start (see beforeAll)');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await page.setViewport({ width, height: 900 });
    await page.goto(pathToFileURL(reports.demo).href, { waitUntil: 'load' });
    const state = (sel: string) => page.evaluate(`[...document.querySelectorAll(${JSON.stringify(sel)})].map((d) => ({ open: d.open, shown: [...d.children].filter((c) => c.tagName !== 'SUMMARY').every((c) => c.checkVisibility()) }))`) as Promise<{ open: boolean; shown: boolean }[]>;
    // closed at first: the page opens short
    const before = await state('details.run-detail');
    expect(before).toHaveLength(6);
    expect(before.every((d) => !d.open && !d.shown)).toBe(true);
    // a click on each summary opens it, and then on its diff and transcript
    for (const summary of await page.$$('details.run-detail > summary')) await summary.click();
    for (const summary of await page.$$('details.run-detail details > summary')) await summary.click();
    expect((await state('details.run-detail')).every((d) => d.open && d.shown)).toBe(true);
    const inner = await state('details.run-detail details');
    expect(inner.length).toBe(12);
    expect(inner.every((d) => d.open && d.shown)).toBe(true);
    const seen = (await page.evaluate(`({
      scrollWidth: document.documentElement.scrollWidth,
      fewshotRows: document.querySelectorAll('details.run-detail[id^="run-fewshot"] table.tasks tbody tr').length,
      transcriptText: document.querySelector('details.run-detail[id^="run-fewshot"] ol.transcript').innerText,
      diffText: document.querySelector('details.run-detail[id^="run-fewshot"] pre.diff').innerText,
    })`)) as { scrollWidth: number; fewshotRows: number; transcriptText: string; diffText: string };
    await page.close();
    expect(errors).toEqual([]);
    expect(seen.scrollWidth).toBeLessThanOrEqual(width);
    // the fewshot runs flip tasks both ways: the view shows gains and losses
    expect(seen.fewshotRows).toBeGreaterThan(0);
    expect(seen.diffText).toMatch(/prompt\.txt/);
    expect(seen.transcriptText).toMatch(/tla_step|checkpoint/);
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
    expect(new Set(seen.links)).toEqual(new Set([pathToFileURL(reports.demo).href, pathToFileURL(reports.curve).href]));
    await page.goto(seen.links[0], { waitUntil: 'load' });
    expect(await page.title()).toMatch(/Uplift/);
    await page.close();
  });
});
