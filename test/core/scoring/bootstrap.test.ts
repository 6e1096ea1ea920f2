import { bootstrapMean, mulberry32, pairedBootstrap } from '../../../core/scoring/bootstrap';

describe('pairedBootstrap', () => {
  test('identical scores give uplift 0 with a CI of exactly [0, 0]', () => {
    // GIVEN baseline and MRA that agree on every task
    const s = [1, 0, 1, 1, 0, 0, 1, 0];
    // WHEN bootstrapped
    const r = pairedBootstrap(s, s);
    // THEN there is no uplift and no uncertainty about it
    expect(r.uplift).toBe(0);
    expect(r.ci).toEqual([0, 0]);
  });

  test('a clear improvement has a CI above zero that contains the point estimate', () => {
    // GIVEN an MRA that fixes 40 of 100 failures and breaks 5 successes
    const base = Array.from({ length: 200 }, (_, i) => (i < 100 ? 1 : 0));
    const mra = base.map((b, i) => (i >= 100 && i < 140 ? 1 : i < 5 ? 0 : b));
    // WHEN bootstrapped
    const r = pairedBootstrap(base, mra);
    // THEN the uplift is (40 - 5) / 200 and its CI excludes 0
    expect(r.uplift).toBeCloseTo(35 / 200, 10);
    expect(r.baseline).toBeCloseTo(0.5, 10);
    expect(r.mra).toBeCloseTo(0.675, 10);
    expect(r.ci[0]).toBeGreaterThan(0);
    expect(r.ci[0]).toBeLessThan(r.uplift);
    expect(r.ci[1]).toBeGreaterThan(r.uplift);
  });

  test('is reproducible for a seed and differs across seeds', () => {
    const rand = mulberry32(3);
    const base = Array.from({ length: 60 }, () => (rand() < 0.5 ? 1 : 0));
    const mra = Array.from({ length: 60 }, () => (rand() < 0.6 ? 1 : 0));
    expect(pairedBootstrap(base, mra, { seed: 11 })).toEqual(pairedBootstrap(base, mra, { seed: 11 }));
    expect(pairedBootstrap(base, mra, { seed: 11 }).ci).not.toEqual(pairedBootstrap(base, mra, { seed: 12 }).ci);
  });

  test('pairs tasks: a constant shift has a zero-width CI even when task scores vary a lot', () => {
    // GIVEN per-task scores with large spread and an MRA exactly 0.1 better on every task
    const base = Array.from({ length: 50 }, (_, i) => (i % 10) / 10);
    const mra = base.map((b) => b + 0.1);
    // THEN pairing removes the between-task variance
    const r = pairedBootstrap(base, mra);
    expect(r.ci[0]).toBeCloseTo(0.1, 10);
    expect(r.ci[1]).toBeCloseTo(0.1, 10);
  });

  test('rejects unpaired or empty inputs', () => {
    expect(() => pairedBootstrap([1, 0], [1])).toThrow(/equal lengths/);
    expect(() => pairedBootstrap([], [])).toThrow(/at least one task/);
  });
});

describe('bootstrapMean', () => {
  test('gives the mean across seeds and a CI within the observed range', () => {
    const r = bootstrapMean([0.1, 0.2, 0.15]);
    expect(r.mean).toBeCloseTo(0.15, 10);
    expect(r.ci[0]).toBeGreaterThanOrEqual(0.1 - 1e-12);
    expect(r.ci[1]).toBeLessThanOrEqual(0.2 + 1e-12);
    expect(r.ci[1]).toBeGreaterThan(r.ci[0]);
  });
});
