import { budgetCurvePlan, checkpointAtBudget } from '../../../core/tla/react-budget';

// A react run: the RA as given (0), a better edit (1), a worse one (2), a budget-voided one (3), the best (4).
const checkpoints = [
  { step: 0, tokens: 8_000, accepted: true, key: 'c0' },
  { step: 1, tokens: 40_000, accepted: true, key: 'c1' },
  { step: 2, tokens: 90_000, accepted: false, key: 'c2' },
  { step: 3, tokens: 120_000, accepted: false, key: 'c3' },
  { step: 4, tokens: 260_000, accepted: true, key: 'c4' },
];

describe('scores at token budgets, from the checkpoints a TLA job records', () => {
  test('the bundle at a budget is the last accepted checkpoint within it', () => {
    expect(checkpointAtBudget(checkpoints, 5_000)).toBeNull();
    expect(checkpointAtBudget(checkpoints, 10_000)?.step).toBe(0);
    expect(checkpointAtBudget(checkpoints, 100_000)?.step).toBe(1);
    expect(checkpointAtBudget(checkpoints, 260_000)?.step).toBe(4);
  });

  test('each distinct bundle is scored once for the whole curve', () => {
    const plan = budgetCurvePlan(checkpoints);
    expect(plan.points.map((p) => [p.budget, p.checkpoint?.step ?? null])).toEqual([
      [10_000, 0],
      [30_000, 0],
      [100_000, 1],
      [300_000, 4],
      [500_000, 4],
    ]);
    expect(plan.bundles.map((b) => b.key)).toEqual(['c0', 'c1', 'c4']);
  });
});
