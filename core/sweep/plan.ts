import { z } from 'zod';
import { SpecError } from '../errors';
import { priceOf, worstCaseUsd } from '../pricing';
import { ModelSpec, modelName, SweepSpec, TlaSpec, tlaLabel, type SweepSpec as SweepSpecT } from '../spec';

/** What the client stages to `sweeps/<id>/spec.json` before an execution starts: the spec plus S3 references. */
export const StagedSweep = z.object({
  sweepId: z.string(),
  createdAt: z.string(),
  specFile: z.string(),
  spec: SweepSpec,
  cbms: z.array(
    z.object({ id: z.string(), datasetPrefix: z.string(), datasetVersion: z.string(), labels: z.array(z.string()), devCount: z.number().int(), testCount: z.number().int() }),
  ),
  ras: z.array(z.object({ name: z.string(), bundleHash: z.string(), model: ModelSpec })),
  /** Bundle hash of each `fixed` TLA, by its label. */
  fixedBundles: z.record(z.string(), z.string()),
});
export type StagedSweep = z.infer<typeof StagedSweep>;

/** One run of the matrix, as every step and job reads it from `plan.json`. */
export const RunPlan = z.object({
  runId: z.string(),
  tla: z.object({ label: z.string(), spec: TlaSpec, bundleHash: z.string().optional() }),
  ra: z.object({ name: z.string(), bundleHash: z.string(), model: ModelSpec, modelName: z.string() }),
  cbm: z.object({ id: z.string(), datasetPrefix: z.string(), datasetVersion: z.string(), testCount: z.number().int() }),
  variant: z.string(),
  seed: z.number().int(),
  shards: z.number().int().min(2),
  tasksPerShard: z.number().int().min(1),
  baselineKey: z.string(),
  worstCaseUsd: z.number().nonnegative(),
});
export type RunPlan = z.infer<typeof RunPlan>;

export const SweepPlan = z.object({
  sweepId: z.string(),
  name: z.string(),
  createdAt: z.string(),
  budgets: SweepSpec.shape.budgets,
  concurrency: z.object({ runs: z.number().int(), requests: z.number().int() }),
  prices: SweepSpec.shape.prices,
  worstCaseUsd: z.number().nonnegative(),
  runs: z.array(RunPlan),
});
export type SweepPlan = z.infer<typeof SweepPlan>;

export function sweepPrefix(sweepId: string): string {
  return `sweeps/${sweepId}`;
}
export function runPrefix(sweepId: string, runId: string): string {
  return `sweeps/${sweepId}/runs/${runId}`;
}
export function planKey(sweepId: string): string {
  return `sweeps/${sweepId}/plan.json`;
}
export function itemsKey(sweepId: string): string {
  return `sweeps/${sweepId}/runs.json`;
}
export function stagedSpecKey(sweepId: string): string {
  return `sweeps/${sweepId}/spec.json`;
}

/** `BASELINE#<bundle-hash>#<cbm>@<dataset-version>#<model>`: one baseline per RA content, data and model. */
export function baselineKey(bundleHash: string, cbmId: string, datasetVersion: string, model: string): string {
  return `BASELINE#${bundleHash}#${cbmId}@${datasetVersion}#${model}`;
}

/** Shards of a test split: at least 2 (an AWS Batch array job has 2 or more children). */
export function shardCount(testCount: number, shardSize: number): number {
  return Math.max(2, Math.ceil(testCount / shardSize));
}

/** The half-open task range [start, end) of shard `index`. */
export function shardRange(run: Pick<RunPlan, 'tasksPerShard' | 'cbm'>, index: number): [number, number] {
  const start = index * run.tasksPerShard;
  return [Math.min(start, run.cbm.testCount), Math.min(start + run.tasksPerShard, run.cbm.testCount)];
}

/**
 * Worst-case dollars of one run: its TLA budget plus baseline and MRA shard budgets, every token
 * at the dearer of its input and output price. A TLA with its own model (`react`) spends its budget
 * on that model and on the RA it evaluates, so TLA tokens are priced at the dearer of the two
 * models; without `tla`, at the dearest TLA model of the spec.
 */
export function runWorstCase(spec: SweepSpecT, model: ModelSpec, shards: number, tla?: TlaSpec): number {
  const raPrice = priceOf(modelName(model), spec.prices);
  const shardTokens = 2 * shards * spec.budgets.shardTokens;
  const ownModels = (t: TlaSpec): ModelSpec[] => (t.kind === 'react' ? [t.model] : []);
  const tlaUsd = Math.max(...(tla ? ownModels(tla) : spec.tlas.flatMap(ownModels)).map((m) => worstCaseUsd(spec.budgets.tlaTokens, priceOf(modelName(m), spec.prices))), 0);
  if (tlaUsd <= worstCaseUsd(spec.budgets.tlaTokens, raPrice)) return worstCaseUsd(spec.budgets.tlaTokens + shardTokens, raPrice);
  return tlaUsd + worstCaseUsd(shardTokens, raPrice);
}

/**
 * Expands the matrix CBMs × RAs × TLAs × variants × seeds into runs, prices the worst case, and
 * refuses (SpecError on `budgets.maxUsd`) a sweep whose worst case exceeds its budget.
 */
export function expandPlan(staged: StagedSweep): SweepPlan {
  const { spec } = staged;
  const runs: RunPlan[] = [];
  for (const cbm of staged.cbms)
    for (const ra of staged.ras)
      for (const tla of spec.tlas)
        for (const variant of spec.variants)
          for (let seed = 1; seed <= spec.seeds; seed++) {
            const label = tlaLabel(tla);
            const shards = shardCount(cbm.testCount, spec.shardSize);
            const name = modelName(ra.model);
            runs.push({
              runId: `${label}-${ra.name}-${cbm.id}-${variant}-s${seed}`,
              tla: { label, spec: tla, bundleHash: staged.fixedBundles[label] },
              ra: { name: ra.name, bundleHash: ra.bundleHash, model: ra.model, modelName: name },
              cbm: { id: cbm.id, datasetPrefix: cbm.datasetPrefix, datasetVersion: cbm.datasetVersion, testCount: cbm.testCount },
              variant,
              seed,
              shards,
              tasksPerShard: Math.ceil(cbm.testCount / shards),
              baselineKey: baselineKey(ra.bundleHash, cbm.id, cbm.datasetVersion, name),
              worstCaseUsd: runWorstCase(spec, ra.model, shards, tla),
            });
          }
  const worst = runs.reduce((s, r) => s + r.worstCaseUsd, 0);
  if (worst > spec.budgets.maxUsd + 1e-9)
    throw new SpecError([
      `${staged.specFile}: budgets.maxUsd: the worst case of ${runs.length} runs is $${worst.toFixed(2)}, over the budget of $${spec.budgets.maxUsd.toFixed(2)}. Fix: raise budgets.maxUsd, lower budgets.tlaTokens or budgets.shardTokens, or run fewer seeds/TLAs`,
    ]);
  return {
    sweepId: staged.sweepId,
    name: spec.name,
    createdAt: staged.createdAt,
    budgets: spec.budgets,
    concurrency: { runs: spec.concurrency.runs, requests: spec.concurrency.requests },
    prices: spec.prices,
    worstCaseUsd: worst,
    runs,
  };
}
