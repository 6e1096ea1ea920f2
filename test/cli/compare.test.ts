import { compareSweeps, renderComparison, welchDifference } from '../../cli/commands/compare';
import { buildResults } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

describe("welchDifference: B − A with Welch's t interval", () => {
  test('unequal n and variances: matches the hand computation', () => {
    // A = 0.1, 0.2, 0.3 (mean 0.2, s² 0.01); B = 0.3, 0.5 (mean 0.4, s² 0.02).
    // se² = 0.01/3 + 0.02/2 = 4/300; df = (4/300)² / ((1/300)²/2 + (3/300)²/1) = 32/19 ≈ 1.684;
    // t(0.975, 32/19) = 5.17623 (scipy.stats.t.ppf); half-width = 5.17623 · 0.115470 = 0.597700.
    const d = welchDifference([0.1, 0.2, 0.3], [0.3, 0.5]);
    expect(d.method).toBe('welch-t');
    expect(d.difference).toBeCloseTo(0.2, 12);
    expect(d.se).toBeCloseTo(Math.sqrt(4 / 300), 12);
    // Pins: pooled df (n_a + n_b − 2 = 3) and A − B instead of B − A.
    expect(d.df).toBeCloseTo(32 / 19, 10);
    expect(d.ci?.[0]).toBeCloseTo(-0.3977, 4);
    expect(d.ci?.[1]).toBeCloseTo(0.7977, 4);
  });

  test('no spread on one side: df is the other side n − 1', () => {
    // se² = 0.01/3, df = 2, t(0.975, 2) = 4.302653: 0.2 ± 0.248414
    const d = welchDifference([0, 0, 0], [0.1, 0.2, 0.3]);
    expect(d.df).toBeCloseTo(2, 10);
    expect(d.ci?.[0]).toBeCloseTo(-0.048414, 5);
    expect(d.ci?.[1]).toBeCloseTo(0.448414, 5);
  });

  test('fewer than 2 attempts on a side: a difference but no interval; no spread at all: the point', () => {
    expect(welchDifference([0.1], [0.2, 0.3])).toMatchObject({ ci: null, method: 'none', note: 'needs 2 or more attempts on each side (A has 1, B has 2)' });
    expect(welchDifference([0.1], [0.2, 0.3]).difference).toBeCloseTo(0.15, 12);
    expect(welchDifference([0, 0], [0, 0])).toMatchObject({ difference: 0, ci: [0, 0], method: 'welch-t' });
  });
});

const meta = (sweepId: string, offline = false): SweepMeta => ({ sweepId: sweepId as SweepMeta['sweepId'], name: 'c', status: 'succeeded', createdAt: '2026-11-30T00:00:00Z', updatedAt: '2026-11-30T00:00:00Z', runCount: 0, offlineOnly: offline, models: [offline ? 'offline' : 'gpt-4o'], maxUsd: 1, worstCaseUsd: 1 });
const run = (sweepId: string, tla: string, seed: number, uplift: number | undefined, status: RunRecord['status'] = 'succeeded', variant = 'simple'): RunRecord =>
  ({ sweepId, runId: `${tla}-ra-cbm-${variant}-s${seed}`, tla, ra: 'ra', cbm: 'cbm', variant, seed, model: 'm', status, updatedAt: 'x', ...(uplift === undefined ? {} : { baseline: 0.5, mra: 0.5 + uplift, uplift, ci: [uplift, uplift] }) }) as RunRecord;

describe('compareSweeps', () => {
  test('shared cells side by side over succeeded attempts; cells of one sweep listed as such', () => {
    const a = buildResults(meta('sweep-a'), [
      run('sweep-a', 'fewshot', 1, 0.1),
      run('sweep-a', 'fewshot', 2, 0.2),
      run('sweep-a', 'fewshot', 3, 0.3),
      run('sweep-a', 'fewshot', 4, 0.9, 'guard_violated'),
      run('sweep-a', 'only-a', 1, 0),
      run('sweep-a', 'broken', 1, undefined, 'failed'),
    ]);
    const b = buildResults(meta('sweep-b', true), [run('sweep-b', 'fewshot', 1, 0.3), run('sweep-b', 'fewshot', 2, 0.5), run('sweep-b', 'fewshot', 3, undefined, 'failed'), run('sweep-b', 'broken', 1, 0.1), run('sweep-b', 'fewshot', 1, 0.1, 'succeeded', 'hard')]);
    const c = compareSweeps(a, b);
    // THEN the fewshot cell is the hand-computed case above: guard_violated and failed runs left out (as the across-seeds summary does)
    const fewshot = c.cells.find((x) => x.tla === 'fewshot');
    expect(fewshot).toMatchObject({ a: { attempts: 3 }, b: { attempts: 2 }, method: 'welch-t' });
    expect(fewshot?.a.meanUplift).toBeCloseTo(0.2, 12);
    expect(fewshot?.difference).toBeCloseTo(0.2, 12);
    expect(fewshot?.ci?.[0]).toBeCloseTo(-0.3977, 4);
    // AND a cell with runs in both but no succeeded attempt in A has no difference, and says why
    expect(c.cells.find((x) => x.tla === 'broken')).toMatchObject({ difference: null, ci: null, note: 'no succeeded attempt in A', b: { attempts: 1, meanUplift: 0.1 } });
    // AND cells in one sweep only are listed
    expect(c.onlyInA).toEqual([{ tla: 'only-a', ra: 'ra', cbm: 'cbm', variant: 'simple' }]);
    expect(c.onlyInB).toEqual([{ tla: 'fewshot', ra: 'ra', cbm: 'cbm', variant: 'hard' }]);
    // AND the text says the method, both sides, and that B used the offline stand-in
    const text = renderComparison(c);
    expect(text).toContain("95% CI by Welch's t");
    expect(text).toMatch(/fewshot\s+ra\s+cbm\s+simple\s+3\s+\+20\.0\s+2\s+\+40\.0\s+\+20\.0\s+\[-39\.8, \+79\.8\]\s+Welch t, 1\.7 df/);
    expect(text).toContain('Only in A (sweep-a):\n  only-a × ra × cbm × simple');
    expect(text).toContain('Only in B (sweep-b):\n  fewshot × ra × cbm × hard');
    expect(text).toContain('NOTE: sweep-b used the offline stand-in model');
  });
});
