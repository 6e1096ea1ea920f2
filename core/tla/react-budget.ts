/** The token budgets a budget curve is usually read at. */
export const DEFAULT_CURVE_BUDGETS = [10_000, 30_000, 100_000, 300_000, 500_000] as const;

/** What a TLA job records per checkpoint (`result.json` → checkpoints). */
export interface CheckpointRecord {
  step: number;
  /** Tokens the job had spent when the checkpoint was taken (its own model and evaluations). */
  tokens: number;
  /** The checkpoint was the TLA's best so far when it was taken. */
  accepted: boolean;
  /** S3 key of the checkpoint's bundle. */
  key?: string;
}

/**
 * The bundle a TLA had at a token budget (README, "Checkpoints and scores at token budgets"): the last accepted
 * checkpoint taken within `budget` tokens, i.e. what it would have submitted had its budget been
 * `budget`. Null when none was accepted by then: it had the RA as given (an uplift of 0).
 */
export function checkpointAtBudget<C extends CheckpointRecord>(checkpoints: readonly C[], budget: number): C | null {
  let found: C | null = null;
  for (const c of [...checkpoints].sort((a, b) => a.tokens - b.tokens || a.step - b.step)) if (c.tokens <= budget && c.accepted) found = c;
  return found;
}

/**
 * For each budget, the checkpoint to score on the test split; `bundles` lists each distinct
 * checkpoint once, so a post-hoc curve costs one MRA evaluation per distinct bundle, not per budget.
 */
export function budgetCurvePlan<C extends CheckpointRecord>(checkpoints: readonly C[], budgets: readonly number[] = DEFAULT_CURVE_BUDGETS): { points: { budget: number; checkpoint: C | null }[]; bundles: C[] } {
  const points = budgets.map((budget) => ({ budget, checkpoint: checkpointAtBudget(checkpoints, budget) }));
  const bundles = [...new Map(points.flatMap((p) => (p.checkpoint ? [[p.checkpoint.step, p.checkpoint] as const] : []))).values()];
  return { points, bundles };
}
