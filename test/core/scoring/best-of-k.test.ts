import { pairedBootstrap } from '../../../core/scoring/bootstrap';
import { hash32, seededShuffle } from '../../../core/scoring/sampling';
import { type Attempt, bestOfK, bestOfKCurve, bestOfKSeries, bestWithinTime, clipUnit, normalizedScore, pairedCurveUplift, pairedTimeCurveUplift, timeBudgets, timeCurve } from '../../../core/scoring/best-of-k';

/** Attempts with the given scores, each taking `seconds` (the time does not matter to best-of-k). */
const scores = (xs: number[], seconds = 60): Attempt[] => xs.map((score) => ({ score, seconds }));

/** C(n, r) by its product formula (independent of the implementation's ratio recurrence). */
function choose(n: number, r: number): number {
  if (r < 0 || r > n) return 0;
  let c = 1;
  for (let j = 1; j <= r; j++) c = (c * (n - r + j)) / j;
  return c;
}

/** E[max of k] by enumerating every k-subset of the scores (no sorting, no weights). */
function bruteForceBestOfK(xs: number[], k: number): number {
  let total = 0;
  let count = 0;
  const pick = (start: number, left: number, best: number): void => {
    if (left === 0) {
      total += best;
      count++;
      return;
    }
    for (let i = start; i <= xs.length - left; i++) pick(i + 1, left - 1, Math.max(best, xs[i]));
  };
  pick(0, k, -Infinity);
  return total / count;
}

/** Σ s_(i) · weight(i) over ascending scores with 1-based ranks i: for building the off-by-one variants. */
function weighted(xs: number[], weight: (i: number) => number): number {
  return [...xs].sort((a, b) => a - b).reduce((acc, s, j) => acc + s * weight(j + 1), 0);
}

describe('normalizedScore', () => {
  test('higher-is-better metric: starting 10, reference 30', () => {
    // (25 − 10) / (30 − 10) = 15 / 20 = 0.75
    expect(normalizedScore(25, 10, 30)).toBe(0.75);
    // at the anchors: (10 − 10) / 20 = 0 and (30 − 10) / 20 = 1
    expect(normalizedScore(10, 10, 30)).toBe(0);
    expect(normalizedScore(30, 10, 30)).toBe(1);
  });

  test('not clipped: below the starting solution is negative, beyond the reference is above 1', () => {
    // (5 − 10) / 20 = −5 / 20 = −0.25
    expect(normalizedScore(5, 10, 30)).toBe(-0.25);
    // (40 − 10) / 20 = 30 / 20 = 1.5
    expect(normalizedScore(40, 10, 30)).toBe(1.5);
  });

  test('lower-is-better metric (a loss): starting 2.0, reference 1.0', () => {
    // (1.5 − 2) / (1 − 2) = −0.5 / −1 = 0.5
    expect(normalizedScore(1.5, 2, 1)).toBe(0.5);
    // a lower loss than the reference: (0.5 − 2) / (−1) = 1.5
    expect(normalizedScore(0.5, 2, 1)).toBe(1.5);
    // a higher loss than the start: (2.5 − 2) / (−1) = −0.5
    expect(normalizedScore(2.5, 2, 1)).toBe(-0.5);
  });

  test('reference === starting throws a RangeError (the scale is undefined), as do non-finite inputs', () => {
    expect(() => normalizedScore(3, 7, 7)).toThrow(RangeError);
    expect(() => normalizedScore(3, 7, 7)).toThrow(/reference equals starting/);
    expect(() => normalizedScore(NaN, 0, 1)).toThrow(RangeError);
    expect(() => normalizedScore(0.5, 0, Infinity)).toThrow(RangeError);
  });
});

describe('clipUnit', () => {
  test('clips to [0, 1] and leaves values inside unchanged', () => {
    expect(clipUnit(-0.25)).toBe(0);
    expect(clipUnit(1.5)).toBe(1);
    expect(clipUnit(0.75)).toBe(0.75);
    expect(clipUnit(0)).toBe(0);
    expect(clipUnit(1)).toBe(1);
    expect(() => clipUnit(NaN)).toThrow(RangeError);
  });
});

describe('bestOfK: E[max of k of n] = Σ s_(i) · C(i − 1, k − 1) / C(n, k)', () => {
  const three = scores([0.2, 0.5, 0.9]);

  test('attempts [0.2, 0.5, 0.9]: hand-computed for k = 1, 2, 3', () => {
    // k = 1: C(3, 1) = 3; weights C(0,0), C(1,0), C(2,0) = 1, 1, 1 → (0.2 + 0.5 + 0.9) / 3 = 1.6 / 3 = 0.5333…
    expect(bestOfK(three, 1)).toBeCloseTo(1.6 / 3, 12);
    expect(bestOfK(three, 1)).toBeCloseTo(0.533333333333, 12);
    // k = 2: C(3, 2) = 3; weights C(0,1), C(1,1), C(2,1) = 0, 1, 2 → (0.5·1 + 0.9·2) / 3 = 2.3 / 3 = 0.7666…
    expect(bestOfK(three, 2)).toBeCloseTo(0.766666666667, 12);
    // k = 3: C(3, 3) = 1; weights 0, 0, C(2,2) = 1 → 0.9
    expect(bestOfK(three, 3)).toBeCloseTo(0.9, 12);
  });

  test('the input order does not matter (the scores are sorted first)', () => {
    expect(bestOfK(scores([0.9, 0.2, 0.5]), 2)).toBeCloseTo(2.3 / 3, 12);
    expect(bestOfK(scores([0.5, 0.9, 0.2]), 1)).toBeCloseTo(1.6 / 3, 12);
  });

  test('n = 4, attempts [0.1, 0.4, 0.3, 0.8] (sorted 0.1, 0.3, 0.4, 0.8): hand-computed for k = 2, 3', () => {
    const four = scores([0.1, 0.4, 0.3, 0.8]);
    // k = 2: C(4, 2) = 6; weights 0, 1, 2, 3 → (0.3·1 + 0.4·2 + 0.8·3) / 6 = 3.5 / 6 = 0.58333…
    // check by listing the 6 pairs' maxima: {.1,.3}→.3 {.1,.4}→.4 {.1,.8}→.8 {.3,.4}→.4 {.3,.8}→.8 {.4,.8}→.8, sum 3.5
    expect(bestOfK(four, 2)).toBeCloseTo(0.583333333333, 12);
    // k = 3: C(4, 3) = 4; weights C(0,2), C(1,2), C(2,2), C(3,2) = 0, 0, 1, 3 → (0.4 + 0.8·3) / 4 = 2.8 / 4 = 0.7
    expect(bestOfK(four, 3)).toBeCloseTo(0.7, 12);
    // k = 1: the mean, 1.6 / 4 = 0.4; k = 4: the maximum, 0.8
    expect(bestOfK(four, 1)).toBeCloseTo(0.4, 12);
    expect(bestOfK(four, 4)).toBeCloseTo(0.8, 12);
  });

  test('off-by-one weights give other values, so the pinned numbers above catch them', () => {
    // The three nearest wrong weightings of [0.2, 0.5, 0.9] at k = 2 (right: 2.3 / 3 = 0.7667):
    const xs = [0.2, 0.5, 0.9];
    // C(i, k − 1) / C(n, k): (0.2·1 + 0.5·2 + 0.9·3) / 3 = 3.9 / 3 = 1.3
    expect(weighted(xs, (i) => choose(i, 1) / choose(3, 2))).toBeCloseTo(1.3, 12);
    // C(i − 1, k) / C(n, k): (0.9·C(2,2)) / 3 = 0.3
    expect(weighted(xs, (i) => choose(i - 1, 2) / choose(3, 2))).toBeCloseTo(0.3, 12);
    // C(i − 2, k − 1) / C(n, k) (ranks taken 0-based): (0.9·C(1,1)) / 3 = 0.3
    expect(weighted(xs, (i) => choose(i - 2, 1) / choose(3, 2))).toBeCloseTo(0.3, 12);
    // C(i − 1, k − 1) / C(n − 1, k): (0.5 + 1.8) / C(2, 2) = 2.3
    expect(weighted(xs, (i) => choose(i - 1, 1) / choose(2, 2))).toBeCloseTo(2.3, 12);
    // and the right one
    expect(weighted(xs, (i) => choose(i - 1, 1) / choose(3, 2))).toBeCloseTo(bestOfK(scores(xs), 2), 12);
  });

  test('equals the average maximum over every k-subset (enumerated) for an irregular n = 7 input and every k', () => {
    const xs = [0.31, -0.4, 0.92, 0.05, 1.3, 0.31, 0.66];
    for (let k = 1; k <= xs.length; k++) expect(bestOfK(scores(xs), k)).toBeCloseTo(bruteForceBestOfK(xs, k), 12);
  });

  test('large n does not overflow: n = 2000, k = 1000 over scores i / n', () => {
    // C(2000, 1000) ≈ 2e600 overflows a double; the ratio recurrence does not.
    const n = 2000;
    const xs = Array.from({ length: n }, (_, i) => (i + 1) / n);
    const v = bestOfK(scores(xs), 1000);
    // For scores 1/n, 2/n, …, 1: E[max rank of k of n] = k(n + 1)/(k + 1), so E[max] = k(n + 1) / ((k + 1) n)
    expect(v).toBeCloseTo((1000 * 2001) / (1001 * 2000), 9);
  });

  test('negative scores and ties', () => {
    // [−0.5, 0.2]: k = 1 → (−0.5 + 0.2) / 2 = −0.15; k = 2 → 0.2
    expect(bestOfK(scores([-0.5, 0.2]), 1)).toBeCloseTo(-0.15, 12);
    expect(bestOfK(scores([-0.5, 0.2]), 2)).toBeCloseTo(0.2, 12);
    // all equal: every subset's max is 0.5
    expect(bestOfK(scores([0.5, 0.5, 0.5]), 2)).toBeCloseTo(0.5, 12);
    // [0.3, 0.3, 0.7], k = 2: (0.3·1 + 0.7·2) / 3 = 1.7 / 3 (pairs' maxima .3, .7, .7)
    expect(bestOfK(scores([0.3, 0.7, 0.3]), 2)).toBeCloseTo(1.7 / 3, 12);
  });

  test('k must be an integer in [1, n]; attempts must be non-empty and finite', () => {
    expect(() => bestOfK(three, 0)).toThrow(RangeError);
    expect(() => bestOfK(three, 4)).toThrow(/\[1, 3\]/);
    expect(() => bestOfK(three, 1.5)).toThrow(RangeError);
    expect(() => bestOfK([], 1)).toThrow(/at least one attempt/);
    expect(() => bestOfK(scores([0.1, NaN]), 1)).toThrow(RangeError);
    expect(() => bestOfK([{ score: 0.1, seconds: -1 }], 1)).toThrow(RangeError);
  });

  test('bestOfKSeries gives best-of-1..n', () => {
    const s = bestOfKSeries(three);
    expect(s).toHaveLength(3);
    [1.6 / 3, 2.3 / 3, 0.9].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 12));
  });
});

describe('bestWithinTime: best score among attempts whose cumulative time ≤ T', () => {
  // In this order: scores 0.3, 0.7, 0.5, 0.9 taking 100, 200, 50, 400 s → cumulative 100, 300, 350, 750
  const run: Attempt[] = [
    { score: 0.3, seconds: 100 },
    { score: 0.7, seconds: 200 },
    { score: 0.5, seconds: 50 },
    { score: 0.9, seconds: 400 },
  ];

  test('hand-computed budgets, the boundary inclusive', () => {
    expect(bestWithinTime(run, 50)).toBeNull(); // the first attempt ends at 100
    expect(bestWithinTime(run, 99.9)).toBeNull();
    expect(bestWithinTime(run, 100)).toBe(0.3); // 100 ≤ 100
    expect(bestWithinTime(run, 299)).toBe(0.3); // the second ends at 300
    expect(bestWithinTime(run, 300)).toBe(0.7); // max(0.3, 0.7)
    expect(bestWithinTime(run, 350)).toBe(0.7); // max(0.3, 0.7, 0.5)
    expect(bestWithinTime(run, 749)).toBe(0.7);
    expect(bestWithinTime(run, 750)).toBe(0.9); // all four
    expect(bestWithinTime(run, Infinity)).toBe(0.9);
  });

  test('the order matters: the same attempts reversed (400, 50, 200, 100 s → cumulative 400, 450, 650, 750)', () => {
    const reversed = [...run].reverse();
    expect(bestWithinTime(reversed, 300)).toBeNull();
    expect(bestWithinTime(reversed, 400)).toBe(0.9);
  });

  test('a negative first result is returned as is (not floored at 0); zero-second attempts finish at T = 0', () => {
    const r: Attempt[] = [
      { score: -0.2, seconds: 60 },
      { score: 0.4, seconds: 60 },
    ];
    expect(bestWithinTime(r, 60)).toBe(-0.2);
    expect(bestWithinTime(r, 120)).toBe(0.4);
    expect(bestWithinTime([{ score: 0.6, seconds: 0 }], 0)).toBe(0.6);
  });

  test('orderSeed runs the attempts in seededShuffle order, reproducibly', () => {
    const shuffled = seededShuffle(run, 42);
    for (const T of [0, 100, 200, 300, 400, 450, 500, 650, 750]) {
      expect(bestWithinTime(run, T, { orderSeed: 42 })).toBe(bestWithinTime(shuffled, T));
      expect(bestWithinTime(run, T, { orderSeed: 42 })).toBe(bestWithinTime(run, T, { orderSeed: 42 }));
    }
  });

  test('rejects a negative or NaN budget', () => {
    expect(() => bestWithinTime(run, -1)).toThrow(RangeError);
    expect(() => bestWithinTime(run, NaN)).toThrow(RangeError);
  });
});

describe('bestOfKCurve', () => {
  // task A: [0.2, 0.5, 0.9] → best-of-1, 2, 3 = 1.6/3, 2.3/3, 0.9
  // task B: [0.0, 0.4, 0.4] → best-of-1 = 0.8/3; best-of-2 = (0.4·1 + 0.4·2)/3 = 0.4; best-of-3 = 0.4
  const A = scores([0.2, 0.5, 0.9]);
  const B = scores([0.0, 0.4, 0.4]);

  test('the mean over tasks per k, hand-computed', () => {
    const c = bestOfKCurve([A, B], [1, 2, 3]);
    expect(c.map((p) => p.k)).toEqual([1, 2, 3]);
    expect(c[0].mean).toBeCloseTo((1.6 / 3 + 0.8 / 3) / 2, 12); // 2.4 / 6 = 0.4
    expect(c[1].mean).toBeCloseTo((2.3 / 3 + 0.4) / 2, 12); // (0.7667 + 0.4) / 2 = 0.58333…
    expect(c[2].mean).toBeCloseTo((0.9 + 0.4) / 2, 12); // 0.65
  });

  test('the CI collapses to the point when all tasks are equal', () => {
    const c = bestOfKCurve([A, A, A, A, A], [1, 2, 3]);
    for (const p of c) {
      expect(p.ci[0]).toBe(p.mean);
      expect(p.ci[1]).toBe(p.mean);
    }
    expect(c[1].mean).toBeCloseTo(2.3 / 3, 12);
  });

  test('two tasks at 0 and 1: resampled means are 0, ½, 1 with P(0) = P(1) = ¼, so the 95% CI is [0, 1]', () => {
    const c = bestOfKCurve([scores([0, 0]), scores([1, 1])], [1, 2]);
    for (const p of c) {
      expect(p.mean).toBe(0.5);
      expect(p.ci).toEqual([0, 1]);
    }
  });

  test('defaults are the per-run CI: 2000 resamples, 95%, seed 20240531, and the CI equals pairedBootstrap against 0', () => {
    const tasks = [A, B, scores([0.7, 0.1, 0.3]), scores([1.2, -0.3, 0.6]), scores([0.05, 0.5, 0.25])];
    const [p] = bestOfKCurve(tasks, [2]);
    expect([p.resamples, p.level, p.seed]).toEqual([2000, 0.95, 20240531]);
    const values = tasks.map((t) => bestOfK(t, 2));
    const ref = pairedBootstrap(new Array<number>(tasks.length).fill(0), values);
    expect(p.ci).toEqual(ref.ci);
    expect(p.ci[0]).toBeLessThan(p.mean);
    expect(p.ci[1]).toBeGreaterThan(p.mean);
  });

  test('seeds are reproducible: the same seed gives the same CI, another seed another one', () => {
    const tasks = [A, B, scores([0.7, 0.1, 0.3]), scores([1.2, -0.3, 0.6]), scores([0.05, 0.5, 0.25]), scores([0.9, 0.8, 0.1])];
    const a = bestOfKCurve(tasks, [1, 2], { seed: 7 });
    const b = bestOfKCurve(tasks, [1, 2], { seed: 7 });
    const c = bestOfKCurve(tasks, [1, 2], { seed: 8 });
    expect(a).toEqual(b);
    expect(a[0].ci).not.toEqual(c[0].ci);
    expect(a[0].mean).toBe(c[0].mean);
  });

  test('options are passed through; a k above some task’s attempt count throws', () => {
    const [p] = bestOfKCurve([A, B], [1], { resamples: 500, level: 0.9, seed: 3 });
    expect([p.resamples, p.level, p.seed]).toEqual([500, 0.9, 3]);
    expect(() => bestOfKCurve([A, scores([0.1, 0.2])], [3])).toThrow(/\[1, 2\]/);
    expect(() => bestOfKCurve([], [1])).toThrow(/at least one task/);
  });
});

describe('timeCurve', () => {
  // task A: scores 0.3, 0.7, 0.5, 0.9 taking 100, 200, 50, 400 s (cumulative 100, 300, 350, 750)
  // task B: scores 0.2, 0.6 taking 150, 150 s (cumulative 150, 300)
  const A: Attempt[] = [
    { score: 0.3, seconds: 100 },
    { score: 0.7, seconds: 200 },
    { score: 0.5, seconds: 50 },
    { score: 0.9, seconds: 400 },
  ];
  const B: Attempt[] = [
    { score: 0.2, seconds: 150 },
    { score: 0.6, seconds: 150 },
  ];

  test('hand-computed means; a task with nothing finished counts 0 and is counted in noneFinished', () => {
    const c = timeCurve([A, B], [50, 100, 150, 300, 750]);
    expect(c.map((p) => p.budgetSeconds)).toEqual([50, 100, 150, 300, 750]);
    // T = 50: A none, B none → (0 + 0) / 2 = 0
    expect(c[0].mean).toBe(0);
    expect(c[0].noneFinished).toBe(2);
    expect(c[0].ci).toEqual([0, 0]);
    // T = 100: A 0.3, B none → (0.3 + 0) / 2 = 0.15
    expect(c[1].mean).toBeCloseTo(0.15, 12);
    expect(c[1].noneFinished).toBe(1);
    // T = 150: A 0.3, B 0.2 → 0.25
    expect(c[2].mean).toBeCloseTo(0.25, 12);
    expect(c[2].noneFinished).toBe(0);
    // T = 300: A max(0.3, 0.7) = 0.7, B max(0.2, 0.6) = 0.6 → 0.65
    expect(c[3].mean).toBeCloseTo(0.65, 12);
    // T = 750: A 0.9, B 0.6 → 0.75
    expect(c[4].mean).toBeCloseTo(0.75, 12);
  });

  test('the CI is the bootstrap of the per-task values (pairedBootstrap against 0), with the same defaults', () => {
    const c = timeCurve([A, B, A, B, B], [300]);
    // per task: 0.7, 0.6, 0.7, 0.6, 0.6
    const ref = pairedBootstrap([0, 0, 0, 0, 0], [0.7, 0.6, 0.7, 0.6, 0.6]);
    expect(c[0].mean).toBeCloseTo(3.2 / 5, 12);
    expect(c[0].ci).toEqual(ref.ci);
    expect([c[0].resamples, c[0].level, c[0].seed]).toEqual([2000, 0.95, 20240531]);
  });

  test('orderSeed: task i runs in seededShuffle(task, hash32(`${orderSeed}:${i}`)) order at every budget, reproducibly', () => {
    const budgets = [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 650, 750];
    const a = timeCurve([A, B], budgets, { orderSeed: 11 });
    expect(timeCurve([A, B], budgets, { orderSeed: 11 })).toEqual(a);
    const shuffled = [seededShuffle(A, hash32('11:0')), seededShuffle(B, hash32('11:1'))];
    expect(a.map((p) => p.mean)).toEqual(timeCurve(shuffled, budgets).map((p) => p.mean));
    // with every attempt finished the order no longer matters: the max of all
    expect(a[a.length - 1].mean).toBeCloseTo((0.9 + 0.6) / 2, 12); // T = 750
  });
});

describe('pairedCurveUplift', () => {
  const ra = [scores([0.2, 0.5, 0.9]), scores([0.0, 0.4, 0.4]), scores([0.7, 0.1, 0.3])];

  test('identical RA and MRA: uplift 0 with CI exactly [0, 0] at every k', () => {
    for (const p of pairedCurveUplift(ra, ra, [1, 2, 3])) {
      expect(p.uplift).toBe(0);
      expect(p.ci).toEqual([0, 0]);
      expect(p.ra).toBe(p.mra);
    }
  });

  test('hand-computed means and uplift; an MRA better by 0.1 on every attempt gives uplift 0.1 with a point CI (pairing)', () => {
    const mra = ra.map((t) => t.map((a) => ({ ...a, score: a.score + 0.1 })));
    const c = pairedCurveUplift(ra, mra, [1, 2]);
    // k = 1: RA tasks 1.6/3, 0.8/3, 1.1/3 → mean 3.5/9 = 0.38889; MRA each + 0.1 → 0.48889
    expect(c[0].ra).toBeCloseTo(3.5 / 9, 12);
    expect(c[0].mra).toBeCloseTo(3.5 / 9 + 0.1, 12);
    // k = 2: RA tasks 2.3/3, 0.4, (0.3·1 + 0.7·2)/3 = 1.7/3 → mean (2.3/3 + 1.2/3 + 1.7/3) / 3 = 5.2/9 = 0.57778
    expect(c[1].ra).toBeCloseTo(5.2 / 9, 12);
    for (const p of c) {
      // every task's best-of-k moves up by exactly 0.1, so every paired resample's uplift is 0.1;
      // an unpaired bootstrap would give a wide interval here (task scores vary from 0.27 to 0.77)
      expect(p.uplift).toBeCloseTo(0.1, 12);
      expect(p.ci[0]).toBeCloseTo(0.1, 12);
      expect(p.ci[1]).toBeCloseTo(0.1, 12);
    }
  });

  test('the CI is pairedBootstrap of the per-task best-of-k values, with its defaults and seed', () => {
    const mra = [scores([0.3, 0.8, 0.9]), scores([0.1, 0.2, 0.4]), scores([0.9, 0.0, 0.6])];
    const [p] = pairedCurveUplift(ra, mra, [2]);
    const ref = pairedBootstrap(
      ra.map((t) => bestOfK(t, 2)),
      mra.map((t) => bestOfK(t, 2)),
    );
    expect(p).toEqual({ k: 2, ra: ref.baseline, mra: ref.mra, uplift: ref.uplift, ci: ref.ci, level: 0.95, resamples: 2000, seed: 20240531 });
    const again = pairedCurveUplift(ra, mra, [2], { seed: 99 });
    expect(again).toEqual(pairedCurveUplift(ra, mra, [2], { seed: 99 }));
    expect(again[0].ci).toEqual(pairedBootstrap(ra.map((t) => bestOfK(t, 2)), mra.map((t) => bestOfK(t, 2)), { seed: 99 }).ci);
  });

  test('RA and MRA must have the same tasks count', () => {
    expect(() => pairedCurveUplift(ra, ra.slice(0, 2), [1])).toThrow(/RA has 3 tasks, MRA 2/);
    expect(() => pairedCurveUplift([], [], [1])).toThrow(/at least one task/);
  });
});

describe('timeBudgets: 0.5, 1, 2, …, attempts × the per-attempt wall clock', () => {
  test('hand-computed: 3 attempts of 100 s → 50, 100, 200, 300 s; 1 attempt of 300 s → 150, 300 s', () => {
    expect(timeBudgets(100, 3)).toEqual([50, 100, 200, 300]);
    expect(timeBudgets(300, 1)).toEqual([150, 300]);
    expect(timeBudgets(60, 2)).toEqual([30, 60, 120]);
  });

  test('rejects a non-positive wall clock and a non-integer or zero attempt count', () => {
    expect(() => timeBudgets(0, 3)).toThrow(RangeError);
    expect(() => timeBudgets(NaN, 3)).toThrow(RangeError);
    expect(() => timeBudgets(100, 0)).toThrow(RangeError);
    expect(() => timeBudgets(100, 1.5)).toThrow(RangeError);
  });
});

/** mulberry32 written out again (not imported), for a bootstrap computed independently of the code under test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The paired percentile bootstrap spelled out: per resample, n task indices; the mean of the MRA's
 * values at those indices minus the mean of the RA's values at the same indices; 2.5% and 97.5%
 * type-7 quantiles of 2000 such differences.
 */
function pairedCiByHand(ra: number[], mra: number[], seed = 20240531): [number, number] {
  const rand = prng(seed);
  const n = ra.length;
  const stats: number[] = [];
  for (let r = 0; r < 2000; r++) {
    let sr = 0;
    let sm = 0;
    for (let j = 0; j < n; j++) {
      const i = Math.floor(rand() * n);
      sr += ra[i];
      sm += mra[i];
    }
    stats.push(sm / n - sr / n);
  }
  stats.sort((a, b) => a - b);
  const q = (p: number) => {
    const pos = (stats.length - 1) * p;
    const lo = Math.floor(pos);
    return stats[lo] + (stats[Math.min(lo + 1, stats.length - 1)] - stats[lo]) * (pos - lo);
  };
  return [q(0.025), q(0.975)];
}

describe('pairedTimeCurveUplift: baseline vs MRA best score within a total time, paired over tasks', () => {
  // 3 tasks × 3 attempts, in the order they ran, (score, seconds); budgets 50, 100, 200, 300 s (timeBudgets(100, 3)).
  const a = (score: number, seconds: number): Attempt => ({ score, seconds });
  // RA task 1: finishes at 40, 140, 170 → T=50: 0.2 | 100: 0.2 | 200: max(0.2, 0.6, 0.4) = 0.6 | 300: 0.6
  // RA task 2: finishes at 100, 200, 300 → T=50: none (0) | 100: 0.5 (boundary counts) | 200: 0.5 | 300: 0.9
  // RA task 3: finishes at 60, 80, 170 → T=50: none (0) | 100: max(0, 0.3) = 0.3 | 200: 0.8 | 300: 0.8
  const ra = [
    [a(0.2, 40), a(0.6, 100), a(0.4, 30)],
    [a(0.5, 100), a(0.1, 100), a(0.9, 100)],
    [a(0.0, 60), a(0.3, 20), a(0.8, 90)],
  ];
  // MRA task 1: finishes at 50, 110, 210 → 0.7 | 0.7 | 0.7 | 1.0
  // MRA task 2: finishes at 80, 110, 210 → none (0) | 0.3 | 0.6 | 0.9
  // MRA task 3: finishes at 20, 40, 60 → 0.1 | 0.5 | 0.5 | 0.5
  const mra = [
    [a(0.7, 50), a(0.2, 60), a(1.0, 100)],
    [a(0.3, 80), a(0.6, 30), a(0.9, 100)],
    [a(0.1, 20), a(0.1, 20), a(0.5, 20)],
  ];
  const perTask = {
    ra: [[0.2, 0, 0], [0.2, 0.5, 0.3], [0.6, 0.5, 0.8], [0.6, 0.9, 0.8]],
    mra: [[0.7, 0, 0.1], [0.7, 0.3, 0.5], [0.7, 0.6, 0.5], [1.0, 0.9, 0.5]],
  };
  const c = pairedTimeCurveUplift(ra, mra, timeBudgets(100, 3));

  test('hand-computed means, uplifts and tasks with nothing finished at each budget', () => {
    expect(c.map((p) => p.budgetSeconds)).toEqual([50, 100, 200, 300]);
    // RA: 0.2/3, (0.2 + 0.5 + 0.3)/3, (0.6 + 0.5 + 0.8)/3, (0.6 + 0.9 + 0.8)/3
    [0.2 / 3, 1.0 / 3, 1.9 / 3, 2.3 / 3].forEach((v, i) => expect(c[i].ra).toBeCloseTo(v, 12));
    // MRA: (0.7 + 0 + 0.1)/3, (0.7 + 0.3 + 0.5)/3, (0.7 + 0.6 + 0.5)/3, (1.0 + 0.9 + 0.5)/3
    [0.8 / 3, 1.5 / 3, 1.8 / 3, 2.4 / 3].forEach((v, i) => expect(c[i].mra).toBeCloseTo(v, 12));
    // per-task differences: [0.5, 0, 0.1], [0.5, −0.2, 0.2], [0.1, 0.1, −0.3], [0.4, 0, −0.3]
    [0.6 / 3, 0.5 / 3, -0.1 / 3, 0.1 / 3].forEach((v, i) => expect(c[i].uplift).toBeCloseTo(v, 12));
    expect(c.map((p) => p.noneFinished)).toEqual([{ ra: 2, mra: 1 }, { ra: 0, mra: 0 }, { ra: 0, mra: 0 }, { ra: 0, mra: 0 }]);
  });

  test('CIs by hand: with 3 tasks every extreme resample (all 3 draws the same task) has probability 1/27 > 2.5%, so the 95% CI is [min, max] of the per-task differences', () => {
    expect(c[0].ci[0]).toBeCloseTo(0, 12);
    expect(c[0].ci[1]).toBeCloseTo(0.5, 12);
    expect(c[1].ci[0]).toBeCloseTo(-0.2, 12);
    expect(c[1].ci[1]).toBeCloseTo(0.5, 12);
    expect(c[2].ci[0]).toBeCloseTo(-0.3, 12);
    expect(c[2].ci[1]).toBeCloseTo(0.1, 12);
    expect(c[3].ci[0]).toBeCloseTo(-0.3, 12);
    expect(c[3].ci[1]).toBeCloseTo(0.4, 12);
    expect(c.map((p) => [p.resamples, p.level, p.seed])).toEqual(Array(4).fill([2000, 0.95, 20240531]));
  });

  test('CIs equal an independent paired bootstrap of the hand-computed per-task values (same indices for RA and MRA), at the default and another seed', () => {
    c.forEach((p, i) => {
      const [lo, hi] = pairedCiByHand(perTask.ra[i], perTask.mra[i]);
      // equal up to float rounding: the code averages the differences, this the two sides
      expect(p.ci[0]).toBeCloseTo(lo, 12);
      expect(p.ci[1]).toBeCloseTo(hi, 12);
    });
    const tasks = [...ra, [a(0.4, 10), a(0.9, 95), a(0.2, 5)], [a(0.05, 200), a(0.5, 1), a(0.6, 1)]];
    const better = [...mra, [a(0.3, 10), a(0.95, 95), a(0.2, 5)], [a(0.8, 50), a(0.5, 1), a(0.2, 1)]];
    // extra tasks at 100, 200, 300 s: RA task 4 (finishes at 10, 105, 110) 0.4, 0.9, 0.9; RA task 5 (200, 201, 202) none (0), 0.05, 0.6;
    // MRA task 4 (10, 105, 110) 0.3, 0.95, 0.95; MRA task 5 (50, 51, 52) 0.8, 0.8, 0.8
    const wide = pairedTimeCurveUplift(tasks, better, [100, 200, 300], { seed: 7 });
    const values = (side: number[][], extra: number[][]) => [0, 1, 2].map((j) => [...side[j + 1], ...extra[j]]);
    const raV = values(perTask.ra, [[0.4, 0], [0.9, 0.05], [0.9, 0.6]]);
    const mraV = values(perTask.mra, [[0.3, 0.8], [0.95, 0.8], [0.95, 0.8]]);
    // (1.2, 0.7, 0.35) / 5 by hand from the lists above
    [0.24, 0.14, 0.07].forEach((v, j) => expect(wide[j].uplift).toBeCloseTo(v, 12));
    wide.forEach((p, j) => {
      expect(p.uplift).toBeCloseTo(mraV[j].reduce((x, y) => x + y, 0) / 5 - raV[j].reduce((x, y) => x + y, 0) / 5, 12);
      expect(p.ci[0]).toBeCloseTo(pairedCiByHand(raV[j], mraV[j], 7)[0], 12);
      expect(p.ci[1]).toBeCloseTo(pairedCiByHand(raV[j], mraV[j], 7)[1], 12);
      expect(p.ci[0]).toBeLessThan(p.ci[1]);
    });
  });

  test('pairing: an MRA better by 0.1 on every attempt (same times) gives uplift 0.1 with CI [0.1, 0.1] at every budget where all tasks finished something', () => {
    const plus = ra.map((t) => t.map((x) => ({ ...x, score: x.score + 0.1 })));
    const p = pairedTimeCurveUplift(ra, plus, [100, 200, 300]);
    for (const x of p) {
      expect(x.uplift).toBeCloseTo(0.1, 12);
      expect(x.ci[0]).toBeCloseTo(0.1, 12);
      expect(x.ci[1]).toBeCloseTo(0.1, 12);
    }
    const same = pairedTimeCurveUplift(ra, ra, timeBudgets(100, 3));
    for (const x of same) expect([x.uplift, ...x.ci]).toEqual([0, 0, 0]);
  });

  test('task counts must match; a negative budget throws', () => {
    expect(() => pairedTimeCurveUplift(ra, mra.slice(0, 2), [100])).toThrow(/RA has 3 tasks, MRA 2/);
    expect(() => pairedTimeCurveUplift([], [], [100])).toThrow(/at least one task/);
    expect(() => pairedTimeCurveUplift(ra, mra, [-1])).toThrow(RangeError);
  });
});

