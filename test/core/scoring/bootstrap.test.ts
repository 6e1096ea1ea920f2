import { DEFAULT_LEVEL, DEFAULT_RESAMPLES, drawIndex, mulberry32, pairedBootstrap, quantile } from '../../../core/scoring/bootstrap';
import ref from './fixtures/reference-values.json';

/**
 * The exact bootstrap distribution of the paired uplift for tiny n, computed without the
 * implementation: all n^n equally likely index tuples, each giving mean(mra[idx]) − mean(baseline[idx])
 * (two separate means, so the same index moves both scores of a task). Sorted ascending.
 */
function exactBootstrapDistribution(baseline: number[], mra: number[]): number[] {
  const n = baseline.length;
  const out: number[] = [];
  const idx = new Array<number>(n).fill(0);
  for (;;) {
    let sb = 0;
    let sm = 0;
    for (const i of idx) {
      sb += baseline[i];
      sm += mra[i];
    }
    out.push(sm / n - sb / n);
    let k = 0;
    while (k < n && ++idx[k] === n) idx[k++] = 0;
    if (k === n) break;
  }
  return out.sort((a, b) => a - b);
}

/** F⁻¹(q) = min{x : P(X ≤ x) ≥ q} of an exact (equally weighted) distribution; q clamped to (0, 1]. */
function exactQuantile(sorted: number[], q: number): number {
  const k = Math.ceil(Math.min(1, Math.max(q, 0)) * sorted.length - 1e-9);
  return sorted[Math.max(1, k) - 1];
}

/**
 * Tolerance for "a large-B percentile bootstrap converges to the exact quantiles". By the
 * Dvoretzky–Kiefer–Wolfowitz inequality the empirical CDF F_B of B resamples satisfies
 * sup|F_B − F| ≤ ε with probability ≥ 1 − 2·exp(−2Bε²). If it does, the type-7 sample quantile at q
 * (between order statistics ⌊(B−1)q⌋ and ⌊(B−1)q⌋+1) lies in [F⁻¹(q − δ), F⁻¹(q + δ)] with
 * δ = ε + 2/B (the 2/B covers the index rounding). B = 100,000 and a failure probability of 1e-6
 * give ε = √(ln(2·10⁶) / 2B) ≈ 0.0085. So a correct implementation passes for all but ~1 in 10⁶
 * seeds; the test uses one fixed seed, so it is deterministic.
 */
const B_LARGE = 100_000;
const DELTA = Math.sqrt(Math.log(2 / 1e-6) / (2 * B_LARGE)) + 2 / B_LARGE;
const EPS = 1e-12; // float noise: the exact distribution sums in a different order than the implementation

function expectWithinExactBracket(value: number, exact: number[], q: number) {
  expect(value).toBeGreaterThanOrEqual(exactQuantile(exact, q - DELTA) - EPS);
  expect(value).toBeLessThanOrEqual(exactQuantile(exact, q + DELTA) + EPS);
}

// n = 6 tasks with irregular scores: 46,656 equally likely resamples, 319 distinct uplift values (the
// largest atom has mass 0.017). The last task has the largest difference (+0.96) and the first the
// smallest (−0.22), so a resample that never draws index n − 1, or never draws index 0, moves the
// interval out of its bracket.
const BASE6 = [0.93, 0.17, 0.58, 0.41, 0.12, 0.03];
const MRA6 = [0.71, 0.36, 0.64, 0.83, 0.11, 0.99];

describe('pairedBootstrap against the exact bootstrap distribution (all n^n resamples)', () => {
  const exact = exactBootstrapDistribution(BASE6, MRA6);

  test('the design separates a 95% from a 90% interval and from the min–max of the resamples', () => {
    // Preconditions that make the next tests able to fail: the brackets of the 95% ends do not
    // overlap those of the 90% ends, nor reach the extremes that a min–max "interval" would give.
    expect(exact).toHaveLength(6 ** 6);
    expect(exactQuantile(exact, 0.025 + DELTA)).toBeLessThan(exactQuantile(exact, 0.05 - DELTA));
    expect(exactQuantile(exact, 0.975 - DELTA)).toBeGreaterThan(exactQuantile(exact, 0.95 + DELTA));
    expect(exactQuantile(exact, 0.025 - DELTA)).toBeGreaterThan(exactQuantile(exact, 0.001));
    expect(exactQuantile(exact, 0.975 + DELTA)).toBeLessThan(exactQuantile(exact, 0.999));
  });

  test('with the default level, the CI ends are the exact 2.5% and 97.5% quantiles (within the DKW tolerance)', () => {
    // GIVEN a large-B bootstrap at the default level
    const r = pairedBootstrap(BASE6, MRA6, { resamples: B_LARGE, seed: 1 });
    // THEN it says it is a 95% interval, and its ends are the exact 2.5% and 97.5% quantiles
    // (about −0.040 and +0.567; the 90% ends would be about −0.006 and +0.505)
    expect(r.level).toBe(0.95);
    expectWithinExactBracket(r.ci[0], exact, 0.025);
    expectWithinExactBracket(r.ci[1], exact, 0.975);
  });

  test('an explicit level is honoured: 90% and 50% intervals end at the matching exact quantiles', () => {
    for (const level of [0.9, 0.5]) {
      const r = pairedBootstrap(BASE6, MRA6, { resamples: B_LARGE, seed: 2, level });
      expect(r.level).toBe(level);
      expectWithinExactBracket(r.ci[0], exact, (1 - level) / 2);
      expectWithinExactBracket(r.ci[1], exact, (1 + level) / 2);
    }
  });

  test('n = 3 (27 resamples): the ends fall on the exact atoms', () => {
    // GIVEN diffs −0.5, +0.1, +0.7: the resampled mean takes 7 values −0.5 + 0.2k; P(−0.5) = 1/27 ≈ 0.037
    // and P(≤ −0.3) = 4/27, so the exact 2.5% quantile is −0.5 (and by symmetry the 97.5% one +0.7)
    const base = [0.5, 0.4, 0.2];
    const mra = [0, 0.5, 0.9];
    const exact3 = exactBootstrapDistribution(base, mra);
    expect(exactQuantile(exact3, 0.025 - DELTA)).toBeCloseTo(-0.5, 12);
    expect(exactQuantile(exact3, 0.025 + DELTA)).toBeCloseTo(-0.5, 12);
    const r = pairedBootstrap(base, mra, { resamples: B_LARGE, seed: 3 });
    // THEN the CI is exactly [−0.5, +0.7]: the bracket has collapsed to one atom at each end
    expect(r.ci[0]).toBeCloseTo(-0.5, 12);
    expect(r.ci[1]).toBeCloseTo(0.7, 12);
  });
});

describe('pairedBootstrap with a fixed seed reproduces numbers computed independently (Python)', () => {
  // fixtures/reference-values.json was written once by fixtures/reference_values.py: mulberry32
  // re-implemented in Python with explicit uint32 arithmetic, the paired bootstrap from its
  // definition, and numpy.quantile(method="linear") for the interval. The test needs no Python.
  const inputs = ref.bootstrapInputs as Record<string, { baseline: number[]; mra: number[] }>;

  test.each(ref.bootstrap.map((c) => [`${c.input}, seed ${c.seed}, ${c.resamples} resamples, level ${c.level}`, c] as const))('%s', (_name, c) => {
    // GIVEN the stored input and options
    const { baseline, mra } = inputs[c.input];
    // WHEN bootstrapped
    const r = pairedBootstrap(baseline, mra, { seed: c.seed, resamples: c.resamples, level: c.level });
    // THEN the point estimate and both CI ends equal the independent computation
    expect(r.uplift).toBeCloseTo(c.uplift, 12);
    expect(r.ci[0]).toBeCloseTo(c.ci[0], 12);
    expect(r.ci[1]).toBeCloseTo(c.ci[1], 12);
  });

  test('the defaults are what the sweep uses: 2000 resamples, 95%, seed 20240531', () => {
    const { baseline, mra } = inputs.partial;
    const stored = ref.bootstrap.find((c) => c.input === 'partial' && c.seed === 20240531 && c.resamples === 2000 && c.level === 0.95);
    const r = pairedBootstrap(baseline, mra);
    expect([DEFAULT_RESAMPLES, DEFAULT_LEVEL, r.resamples, r.level, r.seed]).toEqual([2000, 0.95, 2000, 0.95, 20240531]);
    // 0.0533125 is interpolated: position 1999 × 0.025 = 49.975 between order statistics 49 and 50
    expect(r.ci[0]).toBeCloseTo(stored?.ci[0] as number, 12);
    expect(r.ci[0]).toBeCloseTo(0.0533125, 12);
    expect(r.ci[1]).toBeCloseTo(stored?.ci[1] as number, 12);
  });
});

describe('mulberry32', () => {
  test.each(Object.entries(ref.mulberry32))('seed %s gives the stream computed independently in Python', (seed, stream) => {
    const rand = mulberry32(Number(seed));
    expect(stream.map(() => rand())).toEqual(stream);
  });
});

describe('resampling draws task indices uniformly in [0, n)', () => {
  test('drawIndex maps the extremes of [0, 1) to 0 and n − 1', () => {
    // mulberry32 returns k / 2^32 for k in [0, 2^32): its largest value is 1 − 2^−32
    const largest = 1 - 2 ** -32;
    for (const n of [1, 2, 3, 7, 1000]) {
      expect(drawIndex(() => 0, n)).toBe(0);
      expect(drawIndex(() => largest, n)).toBe(n - 1);
    }
  });

  test('drawIndex hits every index of [0, n) about equally often and nothing outside', () => {
    const rand = mulberry32(99);
    const n = 5;
    const counts = new Array<number>(n + 2).fill(0);
    const draws = 100_000;
    for (let i = 0; i < draws; i++) counts[drawIndex(rand, n) + 1]++; // slot 0: index −1, slot n + 1: index n
    expect(counts[0]).toBe(0);
    expect(counts[n + 1]).toBe(0);
    // each count ~ Binomial(100,000, 1/5): sd ≈ 126.5, so ±5 sd = ±633
    for (let k = 1; k <= n; k++) expect(Math.abs(counts[k] - draws / n)).toBeLessThan(633);
  });

  test('the last task is drawn: a one-hot difference on task n − 1 gives the exact CI [0, 1] for n = 2', () => {
    // GIVEN two tasks, the MRA better only on the second: resampled uplifts are 0, ½, ½, 1 (each
    // resample of 2 draws), so P(0) = P(1) = ¼ and the exact 2.5% / 97.5% quantiles are 0 and 1
    const r = pairedBootstrap([0, 0], [0, 1], { resamples: 10_000, seed: 5 });
    // THEN the interval reaches 1 (never drawing index 1 would give [0, 0])
    expect(r.ci).toEqual([0, 1]);
  });

  test('the first task is drawn and nothing past the end: a one-hot on task 0 gives [0, 1] and finite numbers', () => {
    const r = pairedBootstrap([0, 0, 0], [1, 0, 0], { resamples: 10_000, seed: 6 });
    // P(uplift = 0) = (2/3)^3 ≈ 0.30 and P(uplift = 1) = 1/27 ≈ 0.037: the exact ends are 0 and 1
    expect(r.ci).toEqual([0, 1]);
  });
});

describe('quantile (type 7: linear between order statistics at (n − 1)·q)', () => {
  test('hand-computed values', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5); // position 1.5
    expect(quantile([1, 3, 7], 0.25)).toBe(2); // position 0.5: halfway from 1 to 3
    expect(quantile([0, 10], 0.975)).toBeCloseTo(9.75, 12); // position 0.975
    expect(quantile([0, 10, 20, 30, 40], 0.025)).toBeCloseTo(1, 12); // position 0.1 of a step of 10
    expect(quantile([5], 0.3)).toBe(5);
    expect(quantile([1, 2, 3], 0)).toBe(1);
    expect(quantile([1, 2, 3], 1)).toBe(3);
  });

  test('rejects empty input and q outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow(/no values/);
    expect(() => quantile([1], 1.5)).toThrow(/0 ≤ q ≤ 1/);
  });
});

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
    // THEN pairing removes the between-task variance (resampling the two independently would
    // give an interval about ±0.16 wide)
    const r = pairedBootstrap(base, mra);
    expect(r.ci[0]).toBeCloseTo(0.1, 10);
    expect(r.ci[1]).toBeCloseTo(0.1, 10);
  });

  test('rejects unpaired or empty inputs and nonsensical options', () => {
    expect(() => pairedBootstrap([1, 0], [1])).toThrow(/equal lengths/);
    expect(() => pairedBootstrap([], [])).toThrow(/at least one task/);
    expect(() => pairedBootstrap([1], [1], { level: 95 })).toThrow(/level must be in \(0, 1\)/);
    expect(() => pairedBootstrap([1], [1], { resamples: 0 })).toThrow(/resamples must be a positive integer/);
  });
});
