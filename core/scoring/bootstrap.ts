/** mulberry32: a small seeded PRNG, so every CI is reproducible from its seed. */
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

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface PairedResult {
  baseline: number;
  mra: number;
  uplift: number;
  /** Percentile bootstrap 95% CI of the uplift. */
  ci: [number, number];
}

/**
 * Uplift = mean(mra) − mean(baseline) over the same tasks, with a paired percentile bootstrap
 * CI: tasks are resampled with replacement and both scores of a task move together.
 */
export function pairedBootstrap(baseline: readonly number[], mra: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): PairedResult {
  if (baseline.length !== mra.length) throw new RangeError(`paired scores need equal lengths (baseline ${baseline.length}, mra ${mra.length})`);
  if (baseline.length === 0) throw new RangeError('paired bootstrap needs at least one task');
  const B = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const rand = mulberry32(opts.seed ?? 20240531);
  const n = baseline.length;
  const diffs = baseline.map((b, i) => mra[i] - b);
  const stats = new Array<number>(B);
  for (let r = 0; r < B; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(rand() * n)];
    stats[r] = s / n;
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { baseline: mean(baseline), mra: mean(mra), uplift: mean(diffs), ci: [quantile(stats, alpha), quantile(stats, 1 - alpha)] };
}

/** Mean and percentile-bootstrap CI of a mean (across seeds: one value per attempt). */
export function bootstrapMean(values: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): { mean: number; ci: [number, number] } {
  if (values.length === 0) throw new RangeError('bootstrapMean needs at least one value');
  const zero = values.map(() => 0);
  const r = pairedBootstrap(zero, values, opts);
  return { mean: r.uplift, ci: r.ci };
}
