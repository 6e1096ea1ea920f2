import { buildResults, renderReportHtml, renderTable, timeCurveTable } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

/*
 * The RE-Bench time-budget curve of a run with attempts, in `--json` (buildResults), the terminal
 * table and the HTML report.
 */

const meta = { sweepId: 'ws-20260101-000000-abcd', name: 'ws', status: 'succeeded', createdAt: '', updatedAt: '', runCount: 2, offlineOnly: false, models: ['m'], maxUsd: 1, worstCaseUsd: 0 } as unknown as SweepMeta;

const timeCurve: NonNullable<RunRecord['timeCurve']> = [
  { budgetSeconds: 30, baseline: 0.5, mra: 0.75, uplift: 0.25, ci: [0.1, 0.4], noneFinished: { baseline: 1, mra: 0 } },
  { budgetSeconds: 60, baseline: 0.6, mra: 0.55, uplift: -0.05, ci: [-0.2, 0.1], noneFinished: { baseline: 0, mra: 0 } },
  { budgetSeconds: 1800, baseline: 0.9, mra: 1, uplift: 0.1, ci: [0, 0.2], noneFinished: { baseline: 0, mra: 0 } },
];

function run(tla: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    sweepId: meta.sweepId,
    runId: `${tla}-agent-mini-swe-simple-s1`,
    tla,
    ra: 'agent',
    cbm: 'mini-swe',
    variant: 'simple',
    seed: 1,
    model: 'm',
    status: 'succeeded',
    updatedAt: '',
    baseline: 0.5,
    mra: 0.6,
    uplift: 0.1,
    ci: [0, 0.2],
    ...extra,
  } as RunRecord;
}

describe('time-budget curve in the results', () => {
  const res = buildResults(meta, [run('edit', { timeCurve }), run('noop')]);

  test('--json: the run with attempts carries its time curve as recorded; a run without has none', () => {
    const json = JSON.parse(JSON.stringify(res)) as { runs: { tla: string; timeCurve?: unknown }[] };
    expect(json.runs.find((r) => r.tla === 'edit')?.timeCurve).toEqual(timeCurve);
    expect(json.runs.find((r) => r.tla === 'noop')).not.toHaveProperty('timeCurve');
  });

  test('table rows: baseline → MRA %, uplift pp [CI], and tasks with nothing finished when there are any', () => {
    const t = timeCurveTable(res);
    expect(t?.head).toEqual(['run', 'T = 30 s: baseline → MRA %, uplift pp [95% CI]', 'T = 60 s: baseline → MRA %, uplift pp [95% CI]', 'T = 1,800 s: baseline → MRA %, uplift pp [95% CI]']);
    expect(t?.rows).toEqual([['edit-agent-mini-swe-simple-s1', '50.0 → 75.0, +25.0 [+10.0, +40.0]; none finished 1 → 0', '60.0 → 55.0, -5.0 [-20.0, +10.0]', '90.0 → 100.0, +10.0 [+0.0, +20.0]']]);
    expect(timeCurveTable(buildResults(meta, [run('noop')]))).toBeUndefined();
  });

  test('the terminal table has the section; without time curves it has none', () => {
    const text = renderTable(res, { width: Infinity }); // every column, one line per run
    expect(text).toMatch(/Best score within a total time T over each test task's attempts/);
    expect(text).toMatch(/edit-agent-mini-swe-simple-s1 +50\.0 → 75\.0, \+25\.0 \[\+10\.0, \+40\.0\]; none finished 1 → 0 +60\.0 → 55\.0/);
    expect(renderTable(buildResults(meta, [run('noop')]))).not.toMatch(/within a total time/);
  });

  test('the HTML report shows it as a table, self-contained', () => {
    const html = renderReportHtml(res);
    expect(html).toContain('<h2>Best score within a total time budget</h2>');
    expect(html).toContain('<th>T = 1,800 s: baseline → MRA %, uplift pp [95% CI]</th>');
    expect(html).toContain('<td class="n">50.0 → 75.0, +25.0 [+10.0, +40.0]; none finished 1 → 0</td>');
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(renderReportHtml(buildResults(meta, [run('noop')]))).not.toContain('within a total time');
  });
});
