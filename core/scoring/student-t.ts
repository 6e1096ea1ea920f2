/**
 * Student's t distribution: CDF and quantile for any degrees of freedom (df > 0), computed from
 * the regularized incomplete beta function — no table, so nothing silently breaks at a df a table
 * did not list. Accuracy: about 1e-12 relative (pinned against scipy in
 * test/core/scoring/student-t.test.ts).
 */

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; ~1e-15 relative). */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lnGamma needs x > 0 (got ${x})`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Stirling remainder ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π] for x ≥ 10 (error < 1e-16). */
function stirlingCorrection(x: number): number {
  const x2 = 1 / (x * x);
  return (1 / x) * (1 / 12 + x2 * (-1 / 360 + x2 * (1 / 1260 + x2 * (-1 / 1680 + x2 * (1 / 1188 + x2 * (-691 / 360360 + x2 * (1 / 156)))))));
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), without the cancellation of three large ln Γ
 * when a or b is large (as R's lbeta): Stirling's series for the large arguments.
 */
export function lnBeta(a: number, b: number): number {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  if (q < 10) return lnGamma(p) + lnGamma(q) - lnGamma(p + q);
  const corr = stirlingCorrection(q) - stirlingCorrection(p + q);
  if (p >= 10) return -0.5 * Math.log(q) + 0.5 * Math.log(2 * Math.PI) + stirlingCorrection(p) + corr + (p - 0.5) * Math.log(p / (p + q)) + q * Math.log1p(-p / (p + q));
  return lnGamma(p) + corr + p - p * Math.log(p + q) + (q - 0.5) * Math.log1p(-p / (p + q));
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) return h;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), 0 ≤ x ≤ 1, a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta needs 0 ≤ x ≤ 1 (got ${x})`);
  if (x === 0 || x === 1) return x;
  const lnFront = a * Math.log(x) + b * Math.log1p(-x) - lnBeta(a, b);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) throw new RangeError(`Student t needs finite degrees of freedom > 0 (got ${df})`);
}

/** P(T ≤ t) for T ~ Student t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) return NaN;
  if (t === 0) return 0.5;
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2); written with t² / df to stay accurate for large |t|.
  const x = 1 / (1 + (t * t) / df);
  const tail = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** Quantiles already computed (a report asks for the same few again and again). */
const cache = new Map<string, number>();

/**
 * The p-quantile of Student's t with `df` degrees of freedom (0 < p < 1), e.g.
 * tQuantile(0.975, 2) = 4.302652729… Found by bisection on the CDF of the upper tail, so it is
 * exact to the CDF's accuracy for any df.
 */
export function tQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile needs 0 < p < 1 (got ${p})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  const key = `${p} ${df}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (cache.size >= 1000) cache.clear();
  const t = upperQuantile(p, df);
  cache.set(key, t);
  return t;
}

function upperQuantile(p: number, df: number): number {
  // Upper tail q = 1 - p: find t > 0 with P(T > t) = q, i.e. 0.5 * I_x(df/2, 1/2) = q.
  const q = 1 - p;
  const upperTail = (t: number) => 0.5 * regularizedIncompleteBeta(1 / (1 + (t * t) / df), df / 2, 0.5);
  let lo = 0;
  let hi = 1;
  while (upperTail(hi) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (upperTail(mid) > q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
