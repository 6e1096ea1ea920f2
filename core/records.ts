import { z } from 'zod';

/** Branded ids: a run id can never be passed where a sweep id is expected. */
export const SweepId = z.string().regex(/^[a-z0-9][a-z0-9-]{2,100}$/, { error: 'a sweep id is lowercase letters, digits and "-"' }).brand<'SweepId'>();
export type SweepId = z.infer<typeof SweepId>;
export const RunId = z.string().regex(/^[a-z0-9][a-z0-9.-]{2,200}$/).brand<'RunId'>();
export type RunId = z.infer<typeof RunId>;

export const SweepStatus = z.enum(['running', 'interrupted', 'succeeded', 'failed']);
export type SweepStatus = z.infer<typeof SweepStatus>;

/** `SWEEP#<id>` / `META`. */
export const SweepMeta = z.object({
  sweepId: SweepId,
  name: z.string(),
  status: SweepStatus,
  createdAt: z.string(),
  updatedAt: z.string(),
  runCount: z.number().int().nonnegative(),
  /** True when every model in the sweep is the offline stand-in: every view of results says so. */
  offlineOnly: z.boolean(),
  models: z.array(z.string()),
  maxUsd: z.number().nonnegative(),
  worstCaseUsd: z.number().nonnegative(),
  reportKey: z.string().optional(),
  counts: z.record(z.string(), z.number().int()).optional(),
});
export type SweepMeta = z.infer<typeof SweepMeta>;

/** Tasks by outcome: `scored` (an output to score), `agent_error`, `infra_error` (see core/ra/protocol.ts). */
export const OutcomeCounts = z.object({ scored: z.number().int().nonnegative(), agent_error: z.number().int().nonnegative(), infra_error: z.number().int().nonnegative() });
export type OutcomeCounts = z.infer<typeof OutcomeCounts>;

/**
 * `guard_violated`: the run finished and has scores, but its guard fell by more than the CBM's
 * maxGuardDrop (its CI wholly below −maxGuardDrop): shown, and left out of headline aggregates.
 */
export const RunStatus = z.enum(['pending', 'running', 'succeeded', 'guard_violated', 'failed', 'budget_exhausted']);
export type RunStatus = z.infer<typeof RunStatus>;

/** A run that finished with scores: `succeeded`, or `guard_violated` (scored, but left out of headline aggregates). */
export function hasScores(status: RunStatus | string): boolean {
  return status === 'succeeded' || status === 'guard_violated';
}

export const Tokens = z.object({
  tla: z.number().int().nonnegative(),
  baseline: z.number().int().nonnegative(),
  mra: z.number().int().nonnegative(),
  /** MRA evaluations of earlier checkpoints for the budget curve. */
  curve: z.number().int().nonnegative().optional(),
  /** The judge's tokens scoring this run's shards (a CBM scored by a judge model). */
  judge: z.number().int().nonnegative().optional(),
});

/** Baseline and MRA means of a set of tasks, the uplift and its paired-bootstrap 95% CI. */
export const ScorePair = z.object({ tasks: z.number().int(), baseline: z.number(), mra: z.number(), uplift: z.number(), ci: z.tuple([z.number(), z.number()]) });
export type ScorePair = z.infer<typeof ScorePair>;

/** The guard of a run: scores on the guard tasks, the fall allowed, and whether it was exceeded. */
export const GuardResult = ScorePair.extend({ maxDrop: z.number(), violated: z.boolean() });
export type GuardResult = z.infer<typeof GuardResult>;

/** What a run's numbers mean: its CBM kind's metric names and chance levels. */
export const RunMetrics = z.object({ kind: z.string(), objective: z.string(), guard: z.string().optional(), chance: z.number().optional(), guardChance: z.number().optional() });
export type RunMetrics = z.infer<typeof RunMetrics>;
export type Tokens = z.infer<typeof Tokens>;

/** Where a run's dollars went, by who spent them (each part's model tokens at its model's price, plus its job time at its queue's price). */
export const CostSplit = z.object({
  /** The TLA job (its own model, and the RA model it evaluated on dev), failed attempts included. */
  tla: z.number().nonnegative(),
  /** The baseline's shards, when this run computed it (0 when it reused a cached one). */
  baseline: z.number().nonnegative(),
  mra: z.number().nonnegative(),
  /** MRA evaluations of earlier checkpoints for the budget curve. */
  curve: z.number().nonnegative().optional(),
  /** The judge model's tokens scoring this run's shards. */
  judge: z.number().nonnegative().optional(),
});
export type CostSplit = z.infer<typeof CostSplit>;

/** Every model a run used, by role: the RA's, the TLA's own (none for a scripted TLA), the judge's. */
export const RunModels = z.object({ ra: z.string(), tla: z.string().optional(), judge: z.string().optional() });
export type RunModels = z.infer<typeof RunModels>;

/** The test split a run was scored on: its size, by set, and its label balance (kinds whose tasks have a label). */
export const DatasetFacts = z.object({
  dev: z.number().int().nonnegative().optional(),
  test: z.number().int().nonnegative(),
  objective: z.number().int().nonnegative(),
  guard: z.number().int().nonnegative(),
  /** Test tasks per label (objective tasks), e.g. {"TAI safety research": 60, "other": 120}. */
  labels: z.record(z.string(), z.number().int()).optional(),
});
export type DatasetFacts = z.infer<typeof DatasetFacts>;

/** `SWEEP#<id>` / `RUN#<id>`: one run's status, scores, CI, tokens and cost. */
export const RunRecord = z.object({
  sweepId: SweepId,
  runId: RunId,
  tla: z.string(),
  ra: z.string(),
  cbm: z.string(),
  variant: z.string(),
  seed: z.number().int(),
  model: z.string(),
  /** Every model the run used, by role (absent on records written before it was kept). */
  models: RunModels.optional(),
  status: RunStatus,
  updatedAt: z.string(),
  baseline: z.number().optional(),
  mra: z.number().optional(),
  uplift: z.number().optional(),
  ci: z.tuple([z.number(), z.number()]).optional(),
  tasks: z.number().int().optional(),
  tokens: Tokens.optional(),
  costUsd: z.number().nonnegative().optional(),
  /** `costUsd` by who spent it. */
  costs: CostSplit.optional(),
  /** The test split it was scored on. */
  dataset: DatasetFacts.optional(),
  reservedUsd: z.number().nonnegative().optional(),
  /** True when this run reused a baseline computed by another run or sweep. */
  baselineCached: z.boolean().optional(),
  error: z.string().optional(),
  /** Scores at token budgets (if the sweep asked): what the TLA's bundle scored on the test split at each budget. */
  curve: z.array(z.object({ budget: z.number().int(), step: z.number().int().nullable(), mra: z.number(), uplift: z.number(), ci: z.tuple([z.number(), z.number()]) })).optional(),
  /** Things a reader of the scores must know: tasks without output, agent crashes, refused calls. */
  warnings: z.array(z.string()).optional(),
  /** The guard (utility that must be kept), for CBMs that have one. `baseline`/`mra`/`uplift`/`ci` above are the objective's. */
  guard: GuardResult.optional(),
  /** Objective scores by group (e.g. injection_variant → value → scores). */
  breakdown: z.record(z.string(), z.record(z.string(), ScorePair)).optional(),
  metrics: RunMetrics.optional(),
  /** RE-Bench best-of-k over each test task's attempts (a per-task kind run with attempts > 1): baseline, MRA, uplift and paired CI per k. */
  bestOfK: z.array(z.object({ k: z.number().int(), baseline: z.number(), mra: z.number(), uplift: z.number(), ci: z.tuple([z.number(), z.number()]) })).optional(),
  /**
   * RE-Bench time-budget curve over the same attempts (run in the order they ran): per total-time
   * budget, the mean best score of the attempts finished within it (a task with none counts 0),
   * baseline and MRA, the uplift with a paired CI, and how many tasks had nothing finished.
   */
  timeCurve: z
    .array(z.object({ budgetSeconds: z.number(), baseline: z.number(), mra: z.number(), uplift: z.number(), ci: z.tuple([z.number(), z.number()]), noneFinished: z.object({ baseline: z.number().int(), mra: z.number().int() }) }))
    .optional(),
  /** Test tasks by outcome, for the baseline the run used and for its MRA. */
  outcomes: z.object({ baseline: OutcomeCounts.optional(), mra: OutcomeCounts.optional() }).optional(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** `SWEEP#<id>` / `BUDGET`: the ledger, changed only by conditional updates. */
export const BudgetLedger = z.object({
  limitUsd: z.number().nonnegative(),
  reservedUsd: z.number(),
  spentUsd: z.number(),
  /** The reservation each run in flight holds, by run id (part of the same item, so it moves with the money). */
  holds: z.record(z.string(), z.number()).default({}),
});
export type BudgetLedger = z.infer<typeof BudgetLedger>;

/** `BASELINE#<cbm>@<data-version>#<model>#<hash of everything that changes a baseline>` / `SCORE`: the baseline cache. */
export const BaselineRecord = z.object({
  key: z.string(),
  status: z.enum(['computing', 'done']),
  ownerSweep: z.string(),
  ownerRun: z.string(),
  claimedAt: z.string(),
  /** S3 prefix of the baseline shard outputs: `sweeps/<sweep>/runs/<run>/baseline`. */
  outputsPrefix: z.string(),
  score: z.number().optional(),
  tokens: z.number().int().optional(),
  costUsd: z.number().optional(),
  /** When it was recorded, and its tasks by outcome (a baseline is cached only without infra errors and under the agent-error limit). */
  completedAt: z.string().optional(),
  counts: OutcomeCounts.optional(),
  /** sha256 of each shard's output and marker when it was recorded (outputs.ts shardDigest): ScoreRun refuses shards that changed since. */
  shardDigests: z.array(z.string()).optional(),
  /** What the key was derived from, readable (`uplift cache list`). */
  describes: z.record(z.string(), z.unknown()).optional(),
});
export type BaselineRecord = z.infer<typeof BaselineRecord>;
