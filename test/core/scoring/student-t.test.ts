import { lnBeta, lnGamma, regularizedIncompleteBeta, tCdf, tQuantile } from '../../../core/scoring/student-t';
import ref from './fixtures/reference-values.json';

describe('tQuantile', () => {
  test.each(ref.tQuantiles.map((r) => [r.p, r.df, r.t] as const))('p = %s, df = %s equals scipy.stats.t.ppf (%s)', (p, df, t) => {
    // fixtures/reference-values.json: scipy.stats.t.ppf, written once by fixtures/reference_values.py
    expect(Math.abs(tQuantile(p, df) - t)).toBeLessThan(1e-10 * Math.max(1, t));
  });

  test('matches the closed forms for df = 1, 2 and 4 at many p', () => {
    // df = 1 (Cauchy): tan(π(p − ½)); df = 2: (2p − 1) / √(2p(1 − p));
    // df = 4: with a = 4p(1 − p) and q = cos(arccos(√a) / 3) / √a, t = sign(p − ½) · 2√(q − 1)
    for (const p of [0.001, 0.01, 0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999]) {
      expect(tQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 9);
      expect(tQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 10);
      const a = 4 * p * (1 - p);
      const q = Math.cos(Math.acos(Math.sqrt(a)) / 3) / Math.sqrt(a);
      expect(tQuantile(p, 4)).toBeCloseTo(Math.sign(p - 0.5) * 2 * Math.sqrt(q - 1), 10);
    }
  });

  test('has no table to fall off: any df works, and large df approaches the normal quantile', () => {
    // Φ⁻¹(0.975) = 1.959963984540054; t_{0.975, df} − z ≈ z(z² + 1) / (4 df) for large df
    expect(tQuantile(0.975, 1e9)).toBeCloseTo(1.959963984540054, 7);
    expect(tQuantile(0.975, 1e4) - 1.959963984540054).toBeCloseTo((1.959963984540054 * (1.959963984540054 ** 2 + 1)) / 4e4, 6);
    let prev = Infinity;
    for (let df = 1; df <= 500; df++) {
      const t = tQuantile(0.975, df);
      expect(t).toBeLessThan(prev); // decreasing in df
      expect(t).toBeGreaterThan(1.959963984540054);
      prev = t;
    }
    expect(tQuantile(0.975, 2.5)).toBeGreaterThan(tQuantile(0.975, 3)); // fractional df too
  });

  test('is symmetric, 0 at the median, and inverts the CDF', () => {
    for (const df of [1, 2, 3, 7, 30, 250]) {
      expect(tQuantile(0.5, df)).toBe(0);
      for (const p of [0.0005, 0.025, 0.3, 0.7, 0.975, 0.9995]) {
        expect(tQuantile(1 - p, df)).toBeCloseTo(-tQuantile(p, df), 9);
        expect(tCdf(tQuantile(p, df), df)).toBeCloseTo(p, 12);
      }
    }
  });

  test('rejects p outside (0, 1) and df ≤ 0', () => {
    expect(() => tQuantile(1, 3)).toThrow(/0 < p < 1/);
    expect(() => tQuantile(0, 3)).toThrow(/0 < p < 1/);
    expect(() => tQuantile(0.975, 0)).toThrow(/degrees of freedom/);
  });
});

describe('tCdf and its building blocks', () => {
  test('hand values: t₁ is Cauchy, lnΓ at known points, I_x(1, 1) = x', () => {
    expect(tCdf(1, 1)).toBeCloseTo(0.75, 14); // ½ + arctan(1)/π
    expect(tCdf(-1, 1)).toBeCloseTo(0.25, 14);
    expect(tCdf(0, 5)).toBe(0.5);
    expect(lnGamma(1)).toBeCloseTo(0, 14);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedIncompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 14); // x^a for b = 1
  });
});

describe('lnBeta', () => {
  test.each(ref.lnBeta.map((r) => [r.a, r.b, r.lnBeta] as const))('ln B(%s, %s) equals mpmath at 40 digits (%s)', (a, b, v) => {
    // large b exercises the Stirling branch, where ln Γ(a) + ln Γ(b) − ln Γ(a + b) would cancel badly
    expect(Math.abs(lnBeta(a, b) - v)).toBeLessThan(1e-12 * Math.max(1, Math.abs(v)));
    expect(lnBeta(b, a)).toBe(lnBeta(a, b));
  });
});
