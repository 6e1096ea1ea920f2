import { mean } from './bootstrap';
import { tQuantile } from './student-t';

/** How the interval over attempts was computed: Student-t, or none (a single attempt). */
export type AttemptsCiMethod = 't' | 'none';

export interface AttemptsSummary {
  attempts: number;
  /** Mean of the attempts' values. */
  mean: number;
  /** Sample standard deviation (n − 1 denominator); null with 1 attempt. */
  sd: number | null;
  /** Degrees of freedom of the t interval (attempts − 1); null with 1 attempt. */
  df: number | null;
  /** Confidence level of `ci`, e.g. 0.95. */
  level: number;
  /** Interval over attempts; null with 1 attempt (there is no spread across attempts to measure). */
  ci: [number, number] | null;
  method: AttemptsCiMethod;
  /** Why there is no interval, when there is none. */
  note?: string;
}

export const SINGLE_ATTEMPT_NOTE = "1 attempt: see the run's CI over tasks";

/**
 * Mean of per-attempt values (one uplift per seed of a cell) and a Student-t confidence interval
 * for it: mean ± t_{(1+level)/2, n−1} · s / √n, with s the sample SD over attempts.
 *
 * Why t and not a bootstrap over attempts: a percentile bootstrap of n = 2–3 values can only
 * return values between the observed ones, so its interval is far too narrow (and zero-width at
 * n = 1); the t interval widens with the small-n quantile (12.7 at n = 2, 4.30 at n = 3), which is
 * what a handful of attempts can honestly say. It assumes the attempts are independent draws
 * from a roughly normal distribution. With 1 attempt there is no interval (`ci: null`,
 * `method: 'none'`): the run's own CI over tasks is what is known.
 *
 * `bounds` (default [−1, 1], the range of an uplift of [0, 1] scores) clips the interval: the
 * true mean lies inside them, so clipping never excludes it.
 */
export function summariseAttempts(values: readonly number[], opts: { level?: number; bounds?: [number, number] } = {}): AttemptsSummary {
  const n = values.length;
  if (n === 0) throw new RangeError('summariseAttempts needs at least one attempt');
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError(`summariseAttempts needs finite values (got ${values.join(', ')})`);
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1) (got ${level})`);
  const [min, max] = opts.bounds ?? [-1, 1];
  const m = mean(values);
  if (n === 1) return { attempts: 1, mean: m, sd: null, df: null, level, ci: null, method: 'none', note: SINGLE_ATTEMPT_NOTE };
  const df = n - 1;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / df);
  const half = tQuantile((1 + level) / 2, df) * (sd / Math.sqrt(n));
  const clip = (x: number) => Math.min(max, Math.max(min, x));
  return { attempts: n, mean: m, sd, df, level, ci: [clip(m - half), clip(m + half)], method: 't' };
}
