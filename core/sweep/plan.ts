import { z } from 'zod';
import { SpecError } from '../errors';
import { ComputeTargets, LOCAL_COMPUTE, priceOf, queueUsdPerHour, worstCaseUsd } from '../pricing';
import { baselineDescription, baselineKey, type BaselineInputs } from './baseline-key';
import { cbmKind } from '../cbm/registry';
import { kindCompute } from '../cbm/types';
import { DEFAULT_MAX_GUARD_DROP, ModelSpec, modelName, SweepSpec, TlaSpec, tlaLabel, type CbmSpec as CbmSpecT, type SweepSpec as SweepSpecT } from '../spec';

/** The kind's own fields of a CBM spec entry (what changes scoring besides the data): all but id, dataset and maxGuardDrop. */
function kindFields(c: CbmSpecT): Record<string, unknown> {
  const { id: _id, dataset: _dataset, maxGuardDrop: _drop, kind: _kind, ...rest } = c;
  return rest;
}

/** What the client stages to `sweeps/<id>/spec.json` before an execution starts: the spec plus S3 references. */
export const StagedSweep = z.object({
  sweepId: z.string(),
  createdAt: z.string(),
  specFile: z.string(),
  spec: SweepSpec,
  cbms: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      datasetPrefix: z.string(),
      datasetVersion: z.string(),
      devCount: z.number().int(),
      testCount: z.number().int(),
      /** Test tasks that count toward the guard (the rest toward the objective). */
      guardCount: z.number().int().default(0),
      /** The container image of each test task, in order, when its tasks name images (core/sweep/image-jobs.ts). */
      testImages: z.array(z.string()).optional(),
    }),
  ),
  /** Each RA with the CBM kind its manifest speaks: it is paired only with CBMs of that kind. */
  ras: z.array(z.object({ name: z.string(), bundleHash: z.string(), model: ModelSpec, speaks: z.string().default('classification') })),
  /** Bundle hash of each `fixed` TLA, by its label. */
  fixedBundles: z.record(z.string(), z.string()),
  /** Where jobs run, for pricing job time: local for `uplift run`, the stack's for `uplift submit`. */
  compute: ComputeTargets.default(LOCAL_COMPUTE),
});
export type StagedSweep = z.infer<typeof StagedSweep>;

/** A run's CBM as jobs and steps read it: where its data is, its kind and the kind's spec fields, its judge and guard. */
export const RunCbm = z.object({
  id: z.string(),
  kind: z.string().default('classification'),
  datasetPrefix: z.string(),
  datasetVersion: z.string(),
  testCount: z.number().int(),
  guardCount: z.number().int().default(0),
  /** Tasks of the dev split, as staging counted them (absent in plans written before it was kept). */
  devCount: z.number().int().optional(),
  /** The CBM's spec entry (id, kind, dataset, the kind's fields). */
  spec: z.record(z.string(), z.unknown()).default({}),
  /** Largest guard fall allowed (fraction); null when the CBM has no guard. */
  maxGuardDrop: z.number().nullable().default(null),
  /** What the kind's agents need: the queue its jobs ask for, and sandbox limits beyond the defaults (core/cbm/types.ts `compute`). */
  compute: z.object({ queue: z.enum(['cpu', 'gpu']), limits: z.record(z.string(), z.number()) }).default({ queue: 'cpu', limits: {} }),
  /** The judge the kind scores with, if any: its model, name (prices) and token allowance per scored task. */
  judge: z.object({ model: ModelSpec, modelName: z.string(), tokensPerTask: z.number().int().positive() }).optional(),
  /** The container image of each test task, in order, when its tasks name images: one shard per task, on the images queue. */
  images: z.array(z.string()).optional(),
});
export type RunCbm = z.infer<typeof RunCbm>;

/** One run of the matrix, as every step and job reads it from `plan.json`. */
export const RunPlan = z.object({
  runId: z.string(),
  tla: z.object({ label: z.string(), spec: TlaSpec, bundleHash: z.string().optional() }),
  ra: z.object({ name: z.string(), bundleHash: z.string(), model: ModelSpec, modelName: z.string() }),
  cbm: RunCbm,
  variant: z.string(),
  seed: z.number().int(),
  /** Shard jobs per evaluation: at least 2 for an array job; image runs have one per task (core/sweep/image-jobs.ts). */
  shards: z.number().int().min(1),
  tasksPerShard: z.number().int().min(1),
  /** The baseline cache key (core/sweep/baseline-key.ts) and what it was derived from. */
  baselineKey: z.string(),
  baselineInputs: z.record(z.string(), z.unknown()),
  /** Worst case split into model tokens and job time. */
  worstCase: z.object({ tokensUsd: z.number().nonnegative(), computeUsd: z.number().nonnegative() }),
  worstCaseUsd: z.number().nonnegative(),
});
export type RunPlan = z.infer<typeof RunPlan>;

export const SweepPlan = z.object({
  sweepId: z.string(),
  name: z.string(),
  createdAt: z.string(),
  budgets: SweepSpec.shape.budgets,
  /** Share of a baseline's tasks that may end in agent errors before its run fails. */
  maxAgentErrorRate: z.number().min(0).max(1),
  /** Token budgets to score each TLA at (from its checkpoints), if the spec asks. */
  budgetCurve: z.array(z.number().int()).optional(),
  concurrency: z.object({ runs: z.number().int(), requests: z.number().int() }),
  prices: SweepSpec.shape.prices,
  /** Where each queue's jobs run, as priced. */
  compute: ComputeTargets,
  worstCaseUsd: z.number().nonnegative(),
  /** Cells dropped by `onOverBudget: trim`, in the order they were dropped last-to-first. */
  trimmed: z.array(z.object({ cell: z.string(), runs: z.number().int(), worstCaseUsd: z.number() })),
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
 * on that model and on the RA it evaluates, and a CBM with a judge scores its dev evaluations on
 * the same budget, so TLA tokens are priced at the dearest of those models; without `tla`, at the
 * dearest TLA model of the spec. A judge's shard allowance (tokensPerTask × tasks per shard, per
 * shard job) is added at the judge's price.
 */
export function runWorstCase(spec: SweepSpecT, model: ModelSpec, shards: number, tla?: TlaSpec, judge?: { model: ModelSpec; tokensPerShard: number }): number {
  const raPrice = priceOf(modelName(model), spec.prices);
  const jobs = shardJobsAtMost(spec.budgetCurve, shards);
  const shardTokens = jobs * spec.budgets.shardTokens;
  const ownModels = (t: TlaSpec): ModelSpec[] => (t.kind === 'react' ? [t.model] : []);
  const tlaModels = [...(tla ? ownModels(tla) : spec.tlas.flatMap(ownModels)), ...(judge ? [judge.model] : [])];
  const tlaUsd = Math.max(...tlaModels.map((m) => worstCaseUsd(spec.budgets.tlaTokens, priceOf(modelName(m), spec.prices))), 0);
  const judgeUsd = judge ? worstCaseUsd(jobs * judge.tokensPerShard, priceOf(modelName(judge.model), spec.prices)) : 0;
  if (tlaUsd <= worstCaseUsd(spec.budgets.tlaTokens, raPrice)) return worstCaseUsd(spec.budgets.tlaTokens + shardTokens, raPrice) + judgeUsd;
  return tlaUsd + worstCaseUsd(shardTokens, raPrice) + judgeUsd;
}

/**
 * The queue a run's shard jobs use: `images` when its tasks run in their own container images,
 * `gpu` for a model served on the job's GPU (vllm) or a CBM kind whose agents need one (its
 * `compute.queue`), else `cpu`. An image run's TLA job uses `cpu`.
 */
export function queueFor(model: ModelSpec, cbm?: Pick<RunCbm, 'compute' | 'images'>): Queue {
  if (cbm?.images) return 'images';
  return model.provider === 'vllm' || cbm?.compute.queue === 'gpu' ? 'gpu' : 'cpu';
}

/** Job queues: `cpu` (Fargate), `gpu` (NVIDIA EC2), `images` (EC2; shard jobs of tasks that run in their own container image). */
export type Queue = 'cpu' | 'gpu' | 'images';

/**
 * Shard jobs a run may run: baseline and MRA shards, plus one more MRA evaluation per
 * budget-curve point at most. Every worst case counts shard jobs with this.
 */
export function shardJobsAtMost(budgetCurve: readonly number[] | undefined, shards: number): number {
  return (2 + (budgetCurve?.length ?? 0)) * shards;
}

/** Seconds a job may spend outside its agent (process start, downloads, uploads): part of every Batch attempt timeout. */
export const JOB_STARTUP_SECONDS = 300;

/** What a job of this model may spend before and after its agent: JOB_STARTUP_SECONDS, plus vLLM's start-up on the GPU queue. */
export function jobStartupSeconds(model: ModelSpec): number {
  return JOB_STARTUP_SECONDS + (model.provider === 'vllm' ? model.startupTimeoutSeconds : 0);
}

/**
 * Worst-case job time of one run in hours: its TLA job and (apart) its shard jobs, each at its Batch
 * attempt timeout (wall-clock budget + start-up allowance): no job can run — or be metered — longer.
 */
export function runWorstCaseHours(spec: SweepSpecT, shards: number, model: ModelSpec): { tla: number; shards: number } {
  const startup = jobStartupSeconds(model);
  return { tla: (spec.budgets.tlaWallSeconds + startup) / 3600, shards: (shardJobsAtMost(spec.budgetCurve, shards) * (spec.budgets.shardWallSeconds + startup)) / 3600 };
}

/** The queue of a run's TLA job: its shard jobs' queue, but `cpu` for image runs (the TLA runs in the Uplift image). */
export function tlaQueueFor(model: ModelSpec, cbm: Pick<RunCbm, 'compute' | 'images'>): 'cpu' | 'gpu' {
  return queueFor(model, { compute: cbm.compute }) as 'cpu' | 'gpu';
}

/** Key of a matrix cell: a (TLA, RA, CBM, variant) and all its seeds. */
export const cellOf = (r: Pick<RunPlan, 'tla' | 'ra' | 'cbm' | 'variant'>) => `${r.tla.label} × ${r.ra.name} × ${r.cbm.id} × ${r.variant}`;

/**
 * Expands the matrix CBMs × RAs × TLAs × variants × seeds into runs and prices each one's worst
 * case: tokens (runWorstCase) plus job time at its queue's hourly price. When the total exceeds
 * `budgets.maxUsd`, `onOverBudget: refuse` throws a SpecError naming the field; `trim` drops
 * whole cells in reverse matrix order (last CBM, then last RA, last TLA, last variant first)
 * until the rest fits, and lists them in `trimmed`.
 */
export function expandPlan(staged: StagedSweep): SweepPlan {
  const { spec } = staged;
  const runs: RunPlan[] = [];
  const hourly = (q: Queue) => queueUsdPerHour(staged.compute, q, spec.prices);
  for (const cbm of staged.cbms)
    for (const ra of staged.ras.filter((r) => r.speaks === cbm.kind))
      for (const tla of spec.tlas)
        for (const variant of spec.variants) {
          const label = tlaLabel(tla);
          // Image runs: one shard per task, each submitted with its task's image (core/sweep/image-jobs.ts).
          const shards = cbm.testImages ? Math.max(1, cbm.testCount) : shardCount(cbm.testCount, spec.shardSize);
          const tasksPerShard = cbm.testImages ? 1 : Math.ceil(cbm.testCount / shards);
          const name = modelName(ra.model);
          const cbmSpec = spec.cbms.find((c) => c.id === cbm.id) as CbmSpecT;
          const kind = cbmKind(cbm.kind);
          const judgeOf = kind.judge?.(cbmSpec);
          const judge = judgeOf ? { model: judgeOf.model, modelName: modelName(judgeOf.model), tokensPerTask: judgeOf.tokensPerTask } : undefined;
          const runCbm: RunCbm = {
            id: cbm.id,
            kind: cbm.kind,
            datasetPrefix: cbm.datasetPrefix,
            datasetVersion: cbm.datasetVersion,
            testCount: cbm.testCount,
            guardCount: cbm.guardCount,
            devCount: cbm.devCount,
            spec: cbmSpec,
            maxGuardDrop: cbm.guardCount > 0 ? (cbmSpec.maxGuardDrop ?? DEFAULT_MAX_GUARD_DROP) : null,
            compute: { queue: kindCompute(kind, cbmSpec).queue ?? 'cpu', limits: { ...(kindCompute(kind, cbmSpec).limits ?? {}) } },
            ...(cbm.testImages ? { images: cbm.testImages } : {}),
            ...(judge ? { judge } : {}),
          };
          const baselineInputs: BaselineInputs = {
            bundleHash: ra.bundleHash,
            cbm: { id: cbm.id, kind: cbm.kind, datasetVersion: cbm.datasetVersion, fields: kindFields(cbmSpec), judge: judge ? { model: judge.model, tokensPerTask: judge.tokensPerTask } : null },
            model: ra.model,
            shards,
            tasksPerShard,
            shardTokens: spec.budgets.shardTokens,
            shardWallSeconds: spec.budgets.shardWallSeconds,
            requests: spec.concurrency.requests,
          };
          const tokensUsd = runWorstCase(spec, ra.model, shards, tla, judge ? { model: judge.model, tokensPerShard: judge.tokensPerTask * tasksPerShard } : undefined);
          const hours = runWorstCaseHours(spec, shards, ra.model);
          const computeUsd = hours.tla * hourly(tlaQueueFor(ra.model, runCbm)) + hours.shards * hourly(queueFor(ra.model, runCbm));
          for (let seed = 1; seed <= spec.seeds; seed++)
            runs.push({
              runId: `${label}-${ra.name}-${cbm.id}-${variant}-s${seed}`,
              tla: { label, spec: tla, bundleHash: staged.fixedBundles[label] },
              ra: { name: ra.name, bundleHash: ra.bundleHash, model: ra.model, modelName: name },
              cbm: runCbm,
              variant,
              seed,
              shards,
              tasksPerShard,
              baselineKey: baselineKey(baselineInputs),
              baselineInputs: baselineDescription(baselineInputs),
              worstCase: { tokensUsd, computeUsd },
              worstCaseUsd: tokensUsd + computeUsd,
            });
        }
  const total = (rs: RunPlan[]) => rs.reduce((s, r) => s + r.worstCaseUsd, 0);
  const fullWorst = total(runs);
  const trimmed: SweepPlan['trimmed'] = [];
  let kept = runs;
  if (fullWorst > spec.budgets.maxUsd + 1e-9) {
    const over = `the worst case of ${runs.length} runs is $${fullWorst.toFixed(2)}, over the budget of $${spec.budgets.maxUsd.toFixed(2)}`;
    if (spec.onOverBudget === 'refuse')
      throw new SpecError([
        `${staged.specFile}: budgets.maxUsd: ${over}. Fix: raise budgets.maxUsd, lower budgets.tlaTokens or budgets.shardTokens, run fewer seeds/TLAs, or set onOverBudget: trim`,
      ]);
    const cells = [...new Set(runs.map(cellOf))];
    let worst = fullWorst;
    while (worst > spec.budgets.maxUsd + 1e-9 && cells.length) {
      const cell = cells.pop() as string;
      const dropped = kept.filter((r) => cellOf(r) === cell);
      kept = kept.filter((r) => cellOf(r) !== cell);
      worst -= total(dropped);
      trimmed.unshift({ cell, runs: dropped.length, worstCaseUsd: total(dropped) });
    }
    if (!kept.length)
      throw new SpecError([`${staged.specFile}: budgets.maxUsd: ${over}, and not even one cell (TLA × RA × CBM × variant with all its seeds) fits. Fix: raise budgets.maxUsd or lower the token and wall-clock budgets`]);
  }
  return {
    sweepId: staged.sweepId,
    name: spec.name,
    createdAt: staged.createdAt,
    budgets: spec.budgets,
    maxAgentErrorRate: spec.maxAgentErrorRate,
    ...(spec.budgetCurve ? { budgetCurve: [...spec.budgetCurve].sort((x, y) => x - y) } : {}),
    concurrency: { runs: spec.concurrency.runs, requests: spec.concurrency.requests },
    prices: spec.prices,
    compute: staged.compute,
    worstCaseUsd: total(kept),
    trimmed,
    runs: kept,
  };
}
