/**
 * The per-run statistic: uplift over the test tasks with a paired percentile bootstrap CI.
 * What each number means, and what it does not account for: docs/statistics.md.
 */

/** mulberry32: a small seeded PRNG, so every CI is reproducible from its seed. Values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * The q-quantile of ascending `sorted` values, linearly interpolated between order statistics at
 * position (length − 1) · q (Hyndman & Fan type 7; R's default, numpy's "linear").
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile needs 0 ≤ q ≤ 1 (got ${q})`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** A uniform index in [0, n) from a uniform draw in [0, 1). */
export function drawIndex(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_LEVEL = 0.95;
export const DEFAULT_SEED = 20240531;

export interface PairedResult {
  baseline: number;
  mra: number;
  uplift: number;
  /** Percentile bootstrap CI of the uplift at `level` (0.95 unless asked otherwise). */
  ci: [number, number];
  level: number;
  resamples: number;
  seed: number;
}

/**
 * Uplift = mean(mra) − mean(baseline) over the same tasks, with a paired percentile bootstrap
 * CI: each of `resamples` resamples draws n tasks with replacement (indices uniform in [0, n)),
 * both scores of a task move together, and the CI is the (1 − level)/2 and (1 + level)/2
 * quantiles (type 7) of the resampled uplifts.
 */
export function pairedBootstrap(baseline: readonly number[], mra: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): PairedResult {
  if (baseline.length !== mra.length) throw new RangeError(`paired scores need equal lengths (baseline ${baseline.length}, mra ${mra.length})`);
  if (baseline.length === 0) throw new RangeError('paired bootstrap needs at least one task');
  const B = opts.resamples ?? DEFAULT_RESAMPLES;
  const level = opts.level ?? DEFAULT_LEVEL;
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!(Number.isInteger(B) && B >= 1)) throw new RangeError(`resamples must be a positive integer (got ${B})`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1) (got ${level})`);
  const rand = mulberry32(seed);
  const n = baseline.length;
  const diffs = baseline.map((b, i) => mra[i] - b);
  const stats = new Array<number>(B);
  for (let r = 0; r < B; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[drawIndex(rand, n)];
    stats[r] = s / n;
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { baseline: mean(baseline), mra: mean(mra), uplift: mean(diffs), ci: [quantile(stats, alpha), quantile(stats, 1 - alpha)], level, resamples: B, seed };
}
