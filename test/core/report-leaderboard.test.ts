import { buildResults, leaderboardRows, OFFLINE_NOTICE, renderLeaderboardHtml, type CellSummary, type LeaderboardSweep, type SweepResults } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

/*
 * The leaderboard across sweeps: every sweep's (TLA × RA × CBM × variant) cells ranked by mean
 * uplift with their CI, each linking to its sweep's report, in one self-contained HTML page.
 */

function cell(tla: string, meanUplift: number, ci: [number, number] | null, extra: Partial<CellSummary> = {}): CellSummary {
  return { tla, ra: 'agent', cbm: 'cbm', variant: 'simple', attempts: ci ? 2 : 1, meanUplift, ci, ciMethod: ci ? 't' : 'none', ...(ci ? {} : { note: '1 attempt' }), ...extra };
}

function sweep(sweepId: string, name: string, summary: CellSummary[], over: Partial<SweepResults> = {}): LeaderboardSweep {
  return { results: { sweepId, name, status: 'succeeded', offlineStandIn: false, models: ['m'], runs: [], summary, ...over }, href: `sweeps/${sweepId}/report/index.html` };
}

const alpha = sweep('alpha-1', 'alpha', [cell('edit', 0.3, [0.1, 0.5]), cell('noop', -0.05, null)]);
const beta = sweep('beta-1', 'beta <b>', [cell('edit', 0.3, null), cell('big', 0.5, [0.45, 0.55]), cell('edit', 0.3, [0.2, 0.4], { variant: 'hard' })], { status: 'failed', offlineStandIn: true });

/** The text of each cell of each body row. */
const bodyRows = (html: string) =>
  [...(/<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]*>/g, '')));

describe('leaderboardRows', () => {
  test('best mean uplift first; ties by the CI lower end (no CI last), then sweep id; ranks 1..n', () => {
    const rows = leaderboardRows([alpha, beta]);
    expect(rows.map((r) => [r.rank, r.sweepId, r.tla, r.variant])).toEqual([
      [1, 'beta-1', 'big', 'simple'],
      [2, 'beta-1', 'edit', 'hard'],
      [3, 'alpha-1', 'edit', 'simple'],
      [4, 'beta-1', 'edit', 'simple'],
      [5, 'alpha-1', 'noop', 'simple'],
    ]);
  });

  test('the order does not depend on the order the sweeps come in', () => {
    expect(leaderboardRows([beta, alpha])).toEqual(leaderboardRows([alpha, beta]));
  });
});

describe('renderLeaderboardHtml', () => {
  const html = renderLeaderboardHtml([alpha, beta]);

  test('one row per cell, ranked, with mean uplift and CI in pp, and the sweep each came from', () => {
    expect(bodyRows(html)).toEqual([
      ['1', 'big', 'agent', 'cbm', 'simple', '2', '+50.0', '[+45.0, +55.0]', 'beta &lt;b&gt; beta-1 failed offline stand-in'],
      ['2', 'edit', 'agent', 'cbm', 'hard', '2', '+30.0', '[+20.0, +40.0]', 'beta &lt;b&gt; beta-1 failed offline stand-in'],
      ['3', 'edit', 'agent', 'cbm', 'simple', '2', '+30.0', '[+10.0, +50.0]', 'alpha alpha-1'],
      ['4', 'edit', 'agent', 'cbm', 'simple', '1', '+30.0', '—', 'beta &lt;b&gt; beta-1 failed offline stand-in'],
      ['5', 'noop', 'agent', 'cbm', 'simple', '1', '-5.0', '—', 'alpha alpha-1'],
    ]);
  });

  test("each row links to its sweep's report", () => {
    const links = [...html.matchAll(/<a href="([^"]*)">/g)].map((m) => m[1]);
    expect(links).toEqual(['beta-1', 'beta-1', 'alpha-1', 'beta-1', 'alpha-1'].map((id) => `sweeps/${id}/report/index.html`));
    expect(renderLeaderboardHtml([{ ...alpha, href: 'a"b.html' }])).toContain('<a href="a&quot;b.html">');
  });

  test('self-contained: no scripts, no stylesheets or images to load, nothing off the page but the report links', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/https?:/);
  });

  test('offline stand-in sweeps are marked and the notice says what that means; none, no notice', () => {
    expect(html).toContain(OFFLINE_NOTICE);
    expect(renderLeaderboardHtml([alpha])).not.toContain(OFFLINE_NOTICE);
    expect(renderLeaderboardHtml([alpha])).not.toContain('offline stand-in');
  });

  test('a guard column only when some cell has a guard', () => {
    expect(html).not.toContain('guard');
    const g = renderLeaderboardHtml([sweep('g-1', 'g', [cell('edit', 0.1, [0, 0.2], { meanGuardUplift: -0.02 }), cell('noop', 0, null)])]);
    expect(bodyRows(g).map((r) => r[8])).toEqual(['-2.0', '—']);
  });

  test('no cells: says so, no table', () => {
    const empty = renderLeaderboardHtml([sweep('e-1', 'e', [])]);
    expect(empty).toContain('No sweep has a succeeded run yet.');
    expect(empty).not.toContain('<table>');
  });

  test("from buildResults: a sweep's cells are its across-seeds summary (succeeded runs only)", () => {
    const meta = { sweepId: 'lb-20260101-000000-abcd', name: 'lb', status: 'succeeded', createdAt: '', updatedAt: '', runCount: 3, offlineOnly: false, models: ['m'], maxUsd: 1, worstCaseUsd: 0 } as unknown as SweepMeta;
    const run = (seed: number, uplift: number, status = 'succeeded') =>
      ({ sweepId: meta.sweepId, runId: `edit-agent-cbm-simple-s${seed}`, tla: 'edit', ra: 'agent', cbm: 'cbm', variant: 'simple', seed, model: 'm', status, updatedAt: '', baseline: 0.25, mra: 0.25 + uplift, uplift, ci: [uplift - 0.1, uplift + 0.1] }) as RunRecord;
    const res = buildResults(meta, [run(1, 0.25), run(2, 0.5), run(3, 0.75, 'guard_violated')]);
    const rows = leaderboardRows([{ results: res, href: 'x.html' }]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ rank: 1, sweepId: meta.sweepId, tla: 'edit', attempts: 2, meanUplift: 0.375, ciMethod: 't', href: 'x.html' });
  });

  test('a sweep without a report yet (still running on a stack) is ranked, named and not linked', () => {
    const meta = { sweepId: 'lb-20260101-000000-efgh', name: 'running', status: 'running', createdAt: '', updatedAt: '', runCount: 1, offlineOnly: false, models: ['m'], maxUsd: 1, worstCaseUsd: 0 } as unknown as SweepMeta;
    const rec = { sweepId: meta.sweepId, runId: 'edit-agent-cbm-simple-s1', tla: 'edit', ra: 'agent', cbm: 'cbm', variant: 'simple', seed: 1, model: 'm', status: 'succeeded', updatedAt: '', baseline: 0.25, mra: 0.5, uplift: 0.25, ci: [0.1, 0.4] } as RunRecord;
    const html = renderLeaderboardHtml([{ results: buildResults(meta, [rec]) }]);
    expect(html).toContain('running <small>(no report yet)</small>');
    expect(html).not.toContain('<a href');
  });
});
