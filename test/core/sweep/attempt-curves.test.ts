import type { TaskOutcome } from '../../../core/ra/protocol';
import { attemptCurvesOf } from '../../../core/sweep/steps';

/*
 * What ScoreRun records for a per-task kind run with attempts: best-of-k and the time-budget curve
 * from the shard outcomes, baseline and MRA paired by task id, over the objective tasks only.
 */

const targets = [{ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 't4' }];
/** t4 is not an objective task (e.g. a guard task): its attempts must not count. */
const objective = [0, 1, 2];
const att = (pairs: [number, number][]) => pairs.map(([score, seconds]) => ({ score, seconds }));
const out = (id: string, pairs: [number, number][]): TaskOutcome => {
  const attempts = att(pairs);
  return { id, output: 'done', score: attempts.reduce((s, a) => s + a.score, 0) / attempts.length, attempts };
};

// Baseline, in another order than the targets and the MRA (pairing must go by id):
// t1 finishes at 40, 140, 170 s → at T = 50, 100, 200, 300 s: 0.2, 0.2, 0.6, 0.6
// t2 takes its 100 s wall clock plus the harness's fraction of a second each time; counted as 100 s,
//    it finishes at 100, 200, 300 → none (0), 0.5, 0.5, 0.9
// t3 is an agent error: 3 attempts of 0 in 0 s → 0 at every budget, finished
const base: TaskOutcome[] = [
  { id: 't3', error: 'agent_error', cause: 'the agent crashed (exit 1) before answering' },
  out('t1', [[0.2, 40], [0.6, 100], [0.4, 30]]),
  out('t4', [[0, 1], [0, 1], [0, 1]]),
  out('t2', [[0.5, 100.4], [0.1, 100.3], [0.9, 100.2]]),
];
// MRA: t1 finishes at 50, 110, 210 → 0.7, 0.7, 0.7, 1.0; t2 at 80, 110, 210 → none (0), 0.3, 0.6, 0.9;
// t3 at 20, 40, 60 → 0.1, 0.5, 0.5, 0.5
const mra: TaskOutcome[] = [
  out('t2', [[0.3, 80], [0.6, 30], [0.9, 100]]),
  out('t4', [[1, 1], [1, 1], [1, 1]]),
  out('t1', [[0.7, 50], [0.2, 60], [1.0, 100]]),
  out('t3', [[0.1, 20], [0.1, 20], [0.5, 20]]),
];

describe('attemptCurvesOf: the best-of-k and time-budget curves ScoreRun records', () => {
  const curves = attemptCurvesOf(targets, objective, base, mra, 100);

  test('time curve at 0.5, 1, 2, 3 × the 100 s wall clock: hand-computed means, uplifts, CIs and unfinished tasks', () => {
    const t = curves?.timeCurve ?? [];
    expect(t.map((p) => p.budgetSeconds)).toEqual([50, 100, 200, 300]);
    // baseline per task (t1, t2, t3): [0.2, 0, 0], [0.2, 0.5, 0], [0.6, 0.5, 0], [0.6, 0.9, 0]
    [0.2 / 3, 0.7 / 3, 1.1 / 3, 1.5 / 3].forEach((v, i) => expect(t[i].baseline).toBeCloseTo(v, 12));
    // MRA per task: [0.7, 0, 0.1], [0.7, 0.3, 0.5], [0.7, 0.6, 0.5], [1.0, 0.9, 0.5]
    [0.8 / 3, 1.5 / 3, 1.8 / 3, 2.4 / 3].forEach((v, i) => expect(t[i].mra).toBeCloseTo(v, 12));
    // differences: [0.5, 0, 0.1], [0.5, −0.2, 0.5], [0.1, 0.1, 0.5], [0.4, 0, 0.5]
    [0.6 / 3, 0.8 / 3, 0.7 / 3, 0.9 / 3].forEach((v, i) => expect(t[i].uplift).toBeCloseTo(v, 12));
    // 3 tasks: all three draws of one task has probability 1/27 > 2.5%, so each 95% CI is [min, max] of the differences
    const cis: [number, number][] = [[0, 0.5], [-0.2, 0.5], [0.1, 0.5], [0, 0.5]];
    cis.forEach(([lo, hi], i) => {
      expect(t[i].ci[0]).toBeCloseTo(lo, 12);
      expect(t[i].ci[1]).toBeCloseTo(hi, 12);
    });
    // at 50 s only t2 had nothing finished, on both sides; the agent-error task counts as finished at 0
    expect(t.map((p) => p.noneFinished)).toEqual([{ baseline: 1, mra: 1 }, { baseline: 0, mra: 0 }, { baseline: 0, mra: 0 }, { baseline: 0, mra: 0 }]);
  });

  test('best-of-k over the same attempts, k = 1 … 3 (unchanged by the time curve)', () => {
    const b = curves?.bestOfK ?? [];
    expect(b.map((p) => p.k)).toEqual([1, 2, 3]);
    // k = 1: baseline means (1.2/3, 1.5/3, 0) → 0.3; MRA (1.9/3, 1.8/3, 0.7/3) → 4.4/9
    expect(b[0].baseline).toBeCloseTo(0.3, 12);
    expect(b[0].mra).toBeCloseTo(4.4 / 9, 12);
    // k = 3: maxima (0.6, 0.9, 0) → 0.5 and (1.0, 0.9, 0.5) → 0.8
    expect(b[2].baseline).toBeCloseTo(0.5, 12);
    expect(b[2].mra).toBeCloseTo(0.8, 12);
  });

  test('an attempt that used its whole wall clock counts as finished at 1× the limit, not one budget later', () => {
    // t2's baseline attempts took 100.4, 100.3, 100.2 s: at T = 100 its first attempt (0.5) counts,
    // at T = 300 all three (0.9); uncapped they would finish at 100.4, 200.7, 300.9 s.
    const t = curves?.timeCurve ?? [];
    const alone = attemptCurvesOf([{ id: 't2' }], [0], [base[3]], [base[3]], 100)?.timeCurve ?? [];
    expect(alone.map((p) => p.baseline)).toEqual([0, 0.5, 0.5, 0.9]);
    expect(t[1].noneFinished.baseline).toBe(0);
  });

  test('budgets follow the wall clock and the most attempts any task has', () => {
    expect(attemptCurvesOf(targets, objective, base, mra, 60)?.timeCurve.map((p) => p.budgetSeconds)).toEqual([30, 60, 120, 180]);
    const two = (o: TaskOutcome) => ('attempts' in o && o.attempts ? { ...o, attempts: o.attempts.slice(0, 2) } : o);
    expect(attemptCurvesOf(targets, objective, base.map(two), mra.map(two), 100)?.timeCurve.map((p) => p.budgetSeconds)).toEqual([50, 100, 200]);
  });

  test('no curves when no task has 2 or more attempts', () => {
    const single = (o: TaskOutcome): TaskOutcome => ('output' in o ? { id: o.id, output: o.output, score: o.score } : o);
    expect(attemptCurvesOf(targets, objective, base.map(single), mra.map(single), 100)).toBeUndefined();
  });
});
