import { SINGLE_ATTEMPT_NOTE, summariseAttempts } from '../../../core/scoring/across-attempts';
import { mulberry32 } from '../../../core/scoring/bootstrap';
import ref from './fixtures/reference-values.json';

describe('summariseAttempts: the across-seeds interval', () => {
  test('1 attempt: the mean, no interval, and a note saying where the uncertainty is', () => {
    const s = summariseAttempts([0.144]);
    expect(s).toEqual({ attempts: 1, mean: 0.144, sd: null, df: null, level: 0.95, ci: null, method: 'none', note: SINGLE_ATTEMPT_NOTE });
    expect(SINGLE_ATTEMPT_NOTE).toBe("1 attempt: see the run's CI over tasks");
  });

  test('3 attempts [0.144, 0.15, 0.20]: the Student-t interval computed by hand', () => {
    // By hand: mean = 0.494 / 3 = 0.164667; deviations −0.020667, −0.014667, +0.035333;
    // Σ dev² = 0.00189067, s² = Σ / 2 = 0.00094533, s = 0.0307463, s/√3 = 0.0177514;
    // t_{0.975, 2} = 0.95 / √(2 · 0.975 · 0.025) = 4.302653; half-width = 0.076378;
    // CI = [0.088289, 0.241045] — where the old percentile bootstrap over the 3 values (seed 7) claimed [0.144, 0.1833].
    const s = summariseAttempts([0.144, 0.15, 0.2]);
    expect(s.method).toBe('t');
    expect(s.df).toBe(2);
    expect(s.mean).toBeCloseTo(0.164667, 6);
    expect(s.sd).toBeCloseTo(0.0307463, 7);
    expect(s.ci?.[0]).toBeCloseTo(0.088289, 6);
    expect(s.ci?.[1]).toBeCloseTo(0.241045, 6);
  });

  test.each(ref.tIntervals.map((c) => [c.values.join(', '), c] as const))('[%s] equals scipy/numpy (fixtures/reference_values.py)', (_name, c) => {
    const s = summariseAttempts(c.values);
    expect(s.mean).toBeCloseTo(c.mean, 12);
    expect(s.sd).toBeCloseTo(c.sd, 12);
    expect(s.ci?.[0]).toBeCloseTo(c.ci[0], 10);
    expect(s.ci?.[1]).toBeCloseTo(c.ci[1], 10);
  });

  test('2 attempts give the wide interval two values warrant (t = 12.71)', () => {
    // mean 0.15, s = 0.0707107, s/√2 = 0.05, t_{0.975,1} = tan(0.475π) = 12.706205: ±0.635310
    const s = summariseAttempts([0.1, 0.2]);
    expect(s.ci?.[0]).toBeCloseTo(-0.48531, 5);
    expect(s.ci?.[1]).toBeCloseTo(0.78531, 5);
  });

  test('identical attempts (the noop control with a deterministic model) give [x, x]', () => {
    expect(summariseAttempts([0, 0, 0])).toMatchObject({ mean: 0, ci: [0, 0], method: 't', sd: 0 });
  });

  test('the interval is clipped to the range of an uplift, [−1, 1]', () => {
    // mean 0.95 ± 12.706 · 0.05 would reach 1.585
    const s = summariseAttempts([0.9, 1]);
    expect(s.ci?.[1]).toBe(1);
    expect(s.ci?.[0]).toBeCloseTo(0.95 - 12.706205 * 0.05, 5);
  });

  test('the level is what it says: 95% t intervals over 3 normal attempts cover the true mean 95% of the time', () => {
    // GIVEN 20,000 simulated cells of 3 attempts each, N(0.1, 0.05²) by Box–Muller from mulberry32
    const rand = mulberry32(42);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const reps = 20_000;
    let covered = 0;
    let coveredAt90 = 0;
    for (let i = 0; i < reps; i++) {
      const xs = [0, 1, 2].map(() => 0.1 + 0.05 * normal());
      const ci = summariseAttempts(xs).ci as [number, number];
      if (ci[0] <= 0.1 && 0.1 <= ci[1]) covered++;
      const ci90 = summariseAttempts(xs, { level: 0.9 }).ci as [number, number];
      if (ci90[0] <= 0.1 && 0.1 <= ci90[1]) coveredAt90++;
    }
    // THEN coverage is 0.95 (0.90 at level 0.9) within ±5 binomial sd (sd = √(0.95·0.05/20000) ≈ 0.0015;
    // a normal quantile 1.96 in place of t would cover ~0.81, a percentile bootstrap over the 3 attempts ~0.75)
    expect(Math.abs(covered / reps - 0.95)).toBeLessThan(0.0078);
    expect(Math.abs(coveredAt90 / reps - 0.9)).toBeLessThan(0.0107);
  });

  test('rejects no attempts and non-finite values', () => {
    expect(() => summariseAttempts([])).toThrow(/at least one attempt/);
    expect(() => summariseAttempts([0.1, NaN])).toThrow(/finite/);
    expect(() => summariseAttempts([0.1, 0.2], { level: 1 })).toThrow(/level/);
  });
});
