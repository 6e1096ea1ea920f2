import { buildResults, forestPlot, niceAxis, renderReportHtml } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

/*
 * The forest plots of the HTML report: they scale to the page (viewBox, no fixed width), their
 * round ticks cover every point and CI end, and their axes have titles.
 */

const meta = { sweepId: 'fp-20260101-000000-abcd', name: 'fp', status: 'succeeded', createdAt: '', updatedAt: '', runCount: 2, offlineOnly: false, models: ['m'], maxUsd: 1, worstCaseUsd: 0 } as unknown as SweepMeta;

function run(tla: string, seed: number, uplift: number, ci: [number, number]): RunRecord {
  return { sweepId: meta.sweepId, runId: `${tla}-agent-cbm-simple-s${seed}`, tla, ra: 'agent', cbm: 'cbm', variant: 'simple', seed, model: 'm', status: 'succeeded', updatedAt: '', baseline: 0.3, mra: 0.3 + uplift, uplift, ci } as RunRecord;
}

const num = (s: string, attr: string) => Number(new RegExp(`\\b${attr}="(-?[\\d.]+)"`).exec(s)?.[1]);

/** The x positions of an SVG's ticks, and of its points and CI ends. */
function positions(svg: string): { ticks: number[]; marks: number[] } {
  const ticks = [...svg.matchAll(/<line class="tick"[^>]*>/g)].map((m) => num(m[0], 'x1'));
  const ends = [...svg.matchAll(/<line class="ci"[^>]*>/g)].flatMap((m) => [num(m[0], 'x1'), num(m[0], 'x2')]);
  const points = [...svg.matchAll(/<circle[^>]*>/g)].map((m) => num(m[0], 'cx'));
  return { ticks, marks: [...ends, ...points] };
}

function expectCovered(svg: string, marks: number): void {
  const p = positions(svg);
  expect(p.marks).toHaveLength(marks);
  expect(p.ticks.length).toBeGreaterThanOrEqual(2);
  expect(p.marks.every(Number.isFinite)).toBe(true);
  const first = Math.min(...p.ticks);
  const last = Math.max(...p.ticks);
  for (const m of p.marks) {
    expect(m).toBeGreaterThanOrEqual(first - 1e-6);
    expect(m).toBeLessThanOrEqual(last + 1e-6);
  }
}

describe('niceAxis', () => {
  test.each([
    [-0.013, 0.87],
    [0.2, 0.4],
    [-0.6, -0.31],
    [-0.0421, 0.0397],
    [0.001, 0.0105],
    [-1, 1],
    [0, 0],
    [-0.07, 0.071],
  ])('[%p, %p]: round ticks from one at or below min(lo, 0) to one at or above max(hi, 0)', (lo, hi) => {
    const { ticks, decimals } = niceAxis(lo, hi);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBeLessThanOrEqual(13);
    expect(ticks[0]).toBeLessThanOrEqual(Math.min(lo, 0) + 1e-12);
    expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(Math.max(hi, 0) - 1e-12);
    expect(ticks).toContainEqual(0);
    const step = (ticks[1] - ticks[0]) * 100;
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
    for (let i = 1; i < ticks.length; i++) expect((ticks[i] - ticks[i - 1]) * 100).toBeCloseTo(step, 9);
    // Each tick's label (pp with `decimals` places) is exact and different from its neighbours'.
    const labels = ticks.map((t) => (t * 100).toFixed(decimals));
    for (const [i, l] of labels.entries()) expect(Number(l)).toBeCloseTo(ticks[i] * 100, 9);
    expect(new Set(labels).size).toBe(labels.length);
  });

  test('the first and last ticks are no further out than one step past the data', () => {
    const { ticks } = niceAxis(-0.013, 0.87);
    expect(ticks).toEqual([-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('forest plots in the HTML report', () => {
  // CIs reaching past the range of the old plot's ticks (it widened to whole ticks of one step, then drew ticks of another).
  const records = [run('edit', 1, 0.62, [0.31, 0.87]), run('edit', 2, 0.7, [0.45, 0.93]), run('noop', 1, -0.004, [-0.131, 0.012]), run('noop', 2, 0.01, [-0.02, 0.04])];
  const html = renderReportHtml(buildResults(meta, records));
  const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);

  test('there are two: across seeds and per run', () => {
    expect(svgs).toHaveLength(2);
  });

  test('every point and CI end lies between the first and the last tick', () => {
    expectCovered(svgs[0], 2 * 3);
    expectCovered(svgs[1], 4 * 3);
  });

  test('ticks cover a single run whose CI reaches far past its point, and all-negative data', () => {
    expectCovered(forestPlot([{ label: 'a', value: 0.05, ci: [-0.4, 0.97] }], 'run'), 3);
    expectCovered(forestPlot([{ label: 'a', value: -0.52, ci: [-0.78, -0.33] }, { label: 'b', value: -0.2, ci: [-0.21, -0.19] }], 'run'), 6);
  });

  test('each svg scales to the page: a viewBox, width 100% up to its natural width, no width attribute', () => {
    for (const svg of svgs) {
      const open = /<svg[^>]*>/.exec(svg)?.[0] ?? '';
      const box = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(open);
      expect(box).not.toBeNull();
      expect(open).not.toMatch(/\swidth="/);
      expect(open).not.toMatch(/\sheight="/);
      expect(open).toMatch(/preserveAspectRatio="xMinYMin meet"/);
      expect(open).toContain(`style="width:100%;max-width:${box?.[1]}px;height:auto"`);
    }
  });

  test('axis titles: the uplift axis in percentage points, and what the rows are', () => {
    expect(svgs[0]).toMatch(/<text class="axis-title"[^>]*>uplift, percentage points \(MRA − baseline; bar: 95% CI\)<\/text>/);
    expect(svgs[0]).toMatch(/<text class="axis-title"[^>]*>TLA · RA · CBM · variant \(n = attempts\)<\/text>/);
    expect(svgs[1]).toMatch(/<text class="axis-title"[^>]*>uplift, percentage points/);
    expect(svgs[1]).toMatch(/<text class="axis-title"[^>]*>run<\/text>/);
  });

  test('tick labels are round pp values including 0', () => {
    const labels = [...svgs[1].matchAll(/<text class="tick-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['-20', '0', '+20', '+40', '+60', '+80', '+100']);
  });

  test('the tables scroll sideways inside the page rather than widening it', () => {
    expect(html).toMatch(/\.wide\{overflow-x:auto/);
    expect(html.match(/<table>/g)?.length).toBe(html.match(/<div class="wide"><table>/g)?.length);
  });
});
