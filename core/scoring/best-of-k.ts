/**
 * RE-Bench-style result math: normalised scores, best-of-k, best score within a time budget, and
 * their curves over tasks with bootstrap CIs. Pure functions; formulas and choices are in
 * docs/statistics.md ("Best-of-k and time-budget curves").
 */
import { pairedBootstrap } from './bootstrap';
import { hash32, seededShuffle } from './sampling';

/** One attempt at a task: its normalised score and the wall time it took. */
export interface Attempt {
  /** Normalised score (see `normalizedScore`): 0 = the starting solution, 1 = the reference. */
  score: number;
  /** Wall-clock seconds the attempt took (≥ 0). */
  seconds: number;
}

/** Bootstrap options, with the same meaning and defaults as `pairedBootstrap`'s. */
export interface CurveOptions {
  /** Resamples of the tasks (default 2000). */
  resamples?: number;
  /** mulberry32 seed (default 20240531). */
  seed?: number;
  /** CI level in (0, 1) (default 0.95). */
  level?: number;
}

interface CiFields {
  /** Percentile bootstrap CI over tasks at `level` (type-7 quantiles, as `pairedBootstrap`). */
  ci: [number, number];
  level: number;
  resamples: number;
  seed: number;
}

export interface BestOfKPoint extends CiFields {
  k: number;
  /** Mean over tasks of each task's `bestOfK(attempts, k)`. */
  mean: number;
}

export interface TimePoint extends CiFields {
  budgetSeconds: number;
  /** Mean over tasks of each task's `bestWithinTime`, a task with no finished attempt counting 0. */
  mean: number;
  /** How many tasks had no attempt finished within the budget (each counted as 0 in `mean`). */
  noneFinished: number;
}

export interface PairedCurvePoint extends CiFields {
  k: number;
  /** Mean over tasks of the RA's best-of-k. */
  ra: number;
  /** Mean over tasks of the MRA's best-of-k. */
  mra: number;
  /** Mean over tasks of the per-task difference MRA − RA (= mra − ra up to float rounding). */
  uplift: number;
}

export interface PairedTimePoint extends CiFields {
  budgetSeconds: number;
  /** Mean over tasks of the RA's best score within the budget, a task with nothing finished counting 0. */
  ra: number;
  /** The same for the MRA. */
  mra: number;
  /** Mean over tasks of the per-task difference MRA − RA (= mra − ra up to float rounding). */
  uplift: number;
  /** Tasks with no attempt finished within the budget (each counted as 0), for the RA and the MRA. */
  noneFinished: { ra: number; mra: number };
}

function assertFinite(name: string, x: number): void {
  if (!Number.isFinite(x)) throw new RangeError(`${name} must be a finite number (got ${x})`);
}

/**
 * (raw − starting) / (reference − starting): 0 at the starting solution's score, 1 at the
 * reference solution's. Works for lower-is-better metrics too (reference < starting). Not clipped:
 * a run that breaks the starting solution scores below 0, one that beats the reference above 1.
 * Any per-task transform (e.g. a log of a loss) must be applied to all three inputs first.
 * @throws RangeError when reference === starting (the scale is undefined) or an input is not finite.
 */
export function normalizedScore(raw: number, starting: number, reference: number): number {
  assertFinite('raw', raw);
  assertFinite('starting', starting);
  assertFinite('reference', reference);
  if (reference === starting) throw new RangeError(`normalizedScore: reference equals starting (${starting}); the normalised scale is undefined`);
  return (raw - starting) / (reference - starting);
}

/** A normalised score clipped to [0, 1], for per-task scores used where the range must be [0, 1]. */
export function clipUnit(score: number): number {
  if (Number.isNaN(score)) throw new RangeError('clipUnit: score is NaN');
  return Math.min(1, Math.max(0, score));
}

function checkAttempts(attempts: readonly Attempt[]): void {
  if (attempts.length === 0) throw new RangeError('need at least one attempt');
  for (const a of attempts) {
    assertFinite('attempt score', a.score);
    if (!(Number.isFinite(a.seconds) && a.seconds >= 0)) throw new RangeError(`attempt seconds must be finite and ≥ 0 (got ${a.seconds})`);
  }
}

/**
 * The expected maximum score of k attempts drawn uniformly without replacement from the n
 * attempts (the unbiased estimator of best-of-k from n ≥ k samples). With the scores sorted
 * ascending, s_(1) ≤ … ≤ s_(n), and 1-based ranks:
 *
 *   E[max of k] = Σ_{i=k..n} s_(i) · C(i − 1, k − 1) / C(n, k)
 *
 * (s_(i) is the maximum of exactly the C(i − 1, k − 1) subsets made of it and k − 1 lower-ranked
 * attempts; ties do not change the value). The weights are computed by the ratio recurrence
 * w_n = k / n, w_{i−1} = w_i · (i − k) / (i − 1), so large n does not overflow.
 * k = 1 gives the mean, k = n the maximum.
 * @throws RangeError unless k is an integer in [1, n].
 */
export function bestOfK(attempts: readonly Attempt[], k: number): number {
  checkAttempts(attempts);
  const n = attempts.length;
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new RangeError(`k must be an integer in [1, ${n}] (got ${k})`);
  const s = attempts.map((a) => a.score).sort((a, b) => a - b);
  let w = k / n; // weight of rank n: C(n − 1, k − 1) / C(n, k)
  let total = 0;
  for (let i = n; i >= k; i--) {
    total += s[i - 1] * w;
    w *= (i - k) / (i - 1); // weight of rank i − 1 (0 once i − 1 < k; never used for i = 1 since k ≥ 1)
  }
  return total;
}

/** `bestOfK(attempts, k)` for every k = 1..n: element k − 1 is best-of-k. */
export function bestOfKSeries(attempts: readonly Attempt[]): number[] {
  checkAttempts(attempts);
  return attempts.map((_, i) => bestOfK(attempts, i + 1));
}

/**
 * RE-Bench's "score at total time budget T": the attempts run one after another, attempt j
 * finishing at the cumulative time c_j = seconds_1 + … + seconds_j; the result is the best score
 * among the attempts with c_j ≤ budgetSeconds (inclusive). The order is the given one, or
 * `seededShuffle(attempts, orderSeed)` when `orderSeed` is given.
 *
 * Returns **null when no attempt finished** within the budget, so a caller can tell "nothing
 * finished" from "finished with score 0" (`timeCurve` then counts the task as 0, the starting
 * solution's normalised score). The best score is not floored at 0: if the first finished
 * attempt scores below 0, that is the result.
 * @throws RangeError for no attempts, a negative or NaN budget, or invalid attempts.
 */
export function bestWithinTime(attempts: readonly Attempt[], budgetSeconds: number, opts: { orderSeed?: number } = {}): number | null {
  checkAttempts(attempts);
  if (!(budgetSeconds >= 0)) throw new RangeError(`budgetSeconds must be ≥ 0 (got ${budgetSeconds})`);
  const ordered = opts.orderSeed === undefined ? attempts : seededShuffle(attempts, opts.orderSeed);
  let elapsed = 0;
  let best: number | null = null;
  for (const a of ordered) {
    elapsed += a.seconds;
    if (elapsed > budgetSeconds) break; // cumulative times never decrease: no later attempt finishes either
    best = best === null ? a.score : Math.max(best, a.score);
  }
  return best;
}

function checkTasks(tasks: readonly (readonly Attempt[])[], what: string): void {
  if (tasks.length === 0) throw new RangeError(`${what}: need at least one task`);
}

/**
 * Mean over tasks with a percentile bootstrap CI over tasks. It is `pairedBootstrap` against an
 * all-zero baseline, so the index draws, resamples, seed, level and quantiles are exactly the
 * per-run CI's, and the mean is the same float sum.
 */
function meanWithCi(values: readonly number[], opts: CurveOptions): { mean: number } & CiFields {
  const r = pairedBootstrap(new Array<number>(values.length).fill(0), values, opts);
  return { mean: r.uplift, ci: r.ci, level: r.level, resamples: r.resamples, seed: r.seed };
}

/**
 * Per k: the mean over tasks of `bestOfK(task, k)` with a 95% percentile bootstrap CI over tasks
 * (2000 resamples, seed 20240531 unless `opts` says otherwise). Every point uses the same seed, so
 * all points are computed on the same resampled task sets.
 * @throws RangeError if some task has fewer than k attempts.
 */
export function bestOfKCurve(tasks: readonly (readonly Attempt[])[], ks: readonly number[], opts: CurveOptions = {}): BestOfKPoint[] {
  checkTasks(tasks, 'bestOfKCurve');
  return ks.map((k) => ({ k, ...meanWithCi(tasks.map((t) => bestOfK(t, k)), opts) }));
}

/**
 * Per budget T: the mean over tasks of `bestWithinTime(task, T)`, a task with no attempt finished
 * counting 0 (the starting solution), with the same bootstrap CI as `bestOfKCurve`. With
 * `orderSeed`, task t's attempts run in the order `seededShuffle(task, hash32(`${orderSeed}:${t}`))`
 * (the same order at every budget); without it, in the given order.
 */
/**
 * The total-time budgets of the results' time curve for attempts limited to `taskWallSeconds`
 * each: 0.5, 1, 2, …, `attempts` times that limit (ascending). 0.5× shows what attempts that end
 * early reach; j× is the time j attempts that used their whole wall clock take.
 * @throws RangeError unless taskWallSeconds > 0 and attempts is an integer ≥ 1.
 */
export function timeBudgets(taskWallSeconds: number, attempts: number): number[] {
  if (!(Number.isFinite(taskWallSeconds) && taskWallSeconds > 0)) throw new RangeError(`taskWallSeconds must be finite and > 0 (got ${taskWallSeconds})`);
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new RangeError(`attempts must be an integer ≥ 1 (got ${attempts})`);
  return [0.5, ...Array.from({ length: attempts }, (_, j) => j + 1)].map((m) => m * taskWallSeconds);
}

export function timeCurve(tasks: readonly (readonly Attempt[])[], budgets: readonly number[], opts: CurveOptions & { orderSeed?: number } = {}): TimePoint[] {
  checkTasks(tasks, 'timeCurve');
  const ordered = opts.orderSeed === undefined ? tasks : tasks.map((t, i) => seededShuffle(t, hash32(`${opts.orderSeed}:${i}`)));
  const ciOpts: CurveOptions = { resamples: opts.resamples, seed: opts.seed, level: opts.level };
  return budgets.map((budgetSeconds) => {
    const best = ordered.map((t) => bestWithinTime(t, budgetSeconds));
    const noneFinished = best.filter((b) => b === null).length;
    return { budgetSeconds, noneFinished, ...meanWithCi(best.map((b) => b ?? 0), ciOpts) };
  });
}

/**
 * Per k: mean best-of-k of the RA and of the MRA over the same tasks (task i of `ra` and of `mra`
 * is the same task), uplift = mra − ra, and its CI from `pairedBootstrap` of the per-task best-of-k
 * values: each resample draws the same task indices for both, with pairedBootstrap's seed, level,
 * resamples and quantiles.
 * @throws RangeError if the task counts differ or a task has fewer than k attempts on either side.
 */
export function pairedCurveUplift(ra: readonly (readonly Attempt[])[], mra: readonly (readonly Attempt[])[], ks: readonly number[], opts: CurveOptions = {}): PairedCurvePoint[] {
  if (ra.length !== mra.length) throw new RangeError(`pairedCurveUplift: RA has ${ra.length} tasks, MRA ${mra.length}`);
  checkTasks(ra, 'pairedCurveUplift');
  return ks.map((k) => {
    const r = pairedBootstrap(
      ra.map((t) => bestOfK(t, k)),
      mra.map((t) => bestOfK(t, k)),
      opts,
    );
    return { k, ra: r.baseline, mra: r.mra, uplift: r.uplift, ci: r.ci, level: r.level, resamples: r.resamples, seed: r.seed };
  });
}

/**
 * Per budget T: the mean over tasks of the RA's and of the MRA's `bestWithinTime(task, T)` (attempts
 * in the given order; a task with nothing finished counts 0, as in `timeCurve`), uplift = mean over
 * tasks of the per-task difference MRA − RA, and its CI from `pairedBootstrap` of the two per-task
 * series: each resample draws the same task indices for both (task i of `ra` and of `mra` is the
 * same task), with pairedBootstrap's seed, level, resamples and quantiles.
 * @throws RangeError if the task counts differ, a task has no attempts or a budget is negative.
 */
export function pairedTimeCurveUplift(ra: readonly (readonly Attempt[])[], mra: readonly (readonly Attempt[])[], budgets: readonly number[], opts: CurveOptions = {}): PairedTimePoint[] {
  if (ra.length !== mra.length) throw new RangeError(`pairedTimeCurveUplift: RA has ${ra.length} tasks, MRA ${mra.length}`);
  checkTasks(ra, 'pairedTimeCurveUplift');
  return budgets.map((budgetSeconds) => {
    const r = ra.map((t) => bestWithinTime(t, budgetSeconds));
    const m = mra.map((t) => bestWithinTime(t, budgetSeconds));
    const p = pairedBootstrap(
      r.map((b) => b ?? 0),
      m.map((b) => b ?? 0),
      opts,
    );
    const none = (xs: readonly (number | null)[]) => xs.filter((b) => b === null).length;
    return { budgetSeconds, ra: p.baseline, mra: p.mra, uplift: p.uplift, noneFinished: { ra: none(r), mra: none(m) }, ci: p.ci, level: p.level, resamples: p.resamples, seed: p.seed };
  });
}
