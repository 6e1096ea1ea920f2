import { buildResults, renderTable } from '../../../core/report';
import type { RunRecord, SweepMeta } from '../../../core/records';

const meta = { sweepId: 'demo-20260101-000000-abcd', name: 'demo', status: 'succeeded', createdAt: '', updatedAt: '', runCount: 6, offlineOnly: true, models: ['offline'], maxUsd: 1, worstCaseUsd: 0 } as unknown as SweepMeta;

function run(tla: string, seed: number, uplift: number, status = 'succeeded'): RunRecord {
  return {
    sweepId: meta.sweepId,
    runId: `${tla}-classifier-tai-safety-simple-s${seed}`,
    tla,
    ra: 'classifier',
    cbm: 'tai-safety',
    variant: 'simple',
    seed,
    model: 'offline',
    status,
    updatedAt: '',
    ...(status === 'succeeded' ? { baseline: 0.494, mra: 0.494 + uplift, uplift, ci: [uplift - 0.1, uplift + 0.1] } : {}),
  } as unknown as RunRecord;
}

describe('across seeds: the cell summary of a sweep', () => {
  const res = buildResults(meta, [
    run('fewshot-search', 1, 0.144),
    run('fewshot-search', 2, 0.15),
    run('fewshot-search', 3, 0.2),
    run('noop', 1, 0),
    run('noop', 2, 0),
    run('noop', 3, 0),
    run('react', 1, 0.05),
    run('react', 2, 0, 'failed'),
  ]);
  const cell = (tla: string) => res.summary.find((s) => s.tla === tla);

  test('3 attempts: mean and Student-t 95% CI over attempts (method named)', () => {
    // [0.144, 0.15, 0.20]: mean 0.164667 ± 4.302653 · 0.0307463 / √3 = [0.088289, 0.241045]
    const s = cell('fewshot-search');
    expect(s).toMatchObject({ attempts: 3, ciMethod: 't' });
    expect(s?.meanUplift).toBeCloseTo(0.164667, 6);
    expect(s?.ci?.[0]).toBeCloseTo(0.088289, 6);
    expect(s?.ci?.[1]).toBeCloseTo(0.241045, 6);
    expect(s?.note).toBeUndefined();
  });

  test('the deterministic noop control: [0, 0]', () => {
    expect(cell('noop')).toMatchObject({ attempts: 3, meanUplift: 0, ci: [0, 0], ciMethod: 't' });
  });

  test('1 succeeded attempt (the other failed): no interval across attempts, and a note', () => {
    expect(cell('react')).toEqual({ tla: 'react', ra: 'classifier', cbm: 'tai-safety', variant: 'simple', attempts: 1, meanUplift: 0.05, ci: null, ciMethod: 'none', note: "1 attempt: see the run's CI over tasks" });
  });

  test('the printed table says which interval it shows', () => {
    const text = renderTable(res, { width: Infinity }); // every column, prose unwrapped
    expect(text).toContain("Across seeds (mean uplift over attempts, Student-t 95% CI over attempts; none with 1 attempt: see that run's CI over tasks; guard_violated runs left out; docs/statistics.md):");
    expect(text).toMatch(/^TLA\s+RA\s+CBM\s+variant\s+attempts\s+mean uplift pp\s+95% CI\s+CI method$/m);
    expect(text).toMatch(/^fewshot-search\s+classifier\s+tai-safety\s+simple\s+3\s+\+16\.5\s+\[\+8\.8, \+24\.1\]\s+t, 2 df$/m);
    expect(text).toMatch(/^noop\s+classifier\s+tai-safety\s+simple\s+3\s+\+0\.0\s+\[\+0\.0, \+0\.0\]\s+t, 2 df$/m);
    expect(text).toMatch(/^react\s+classifier\s+tai-safety\s+simple\s+1\s+\+5\.0\s+—\s+none$/m);
  });
});
