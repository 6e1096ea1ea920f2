import { z } from 'zod';
import { readSplit, type Example } from '../cbm/dataset';
import { scoreSplit } from '../cbm/classification';
import { BaselinePendingError, CorruptRecordError, UpliftError } from '../errors';
import { parseJson } from '../jsonl';
import type { ArtifactStore, ScoreStore } from '../ports';
import { jobUsdPerHour, meteredUsd, priceOf } from '../pricing';
import { RunRecord, type RunRecord as RunRecordT, type SweepId, type RunId } from '../records';
import { pairedBootstrap } from '../scoring/bootstrap';
import { buildResults, renderReportHtml } from '../report';
import { expandPlan, itemsKey, planKey, queueFor, runPrefix, sweepPrefix, StagedSweep, stagedSpecKey, type RunPlan, type SweepPlan } from './plan';
import { CurvePlan, curvePrefix, readFinishedShardUsage, readPlan, readRun, readShards, roleOutputPrefix, shardWarnings, TlaResult, tlaKey, type ShardUsage } from './outputs';

/** What the pipeline steps need: the two stores and a clock. */
export interface StepDeps {
  artifacts: ArtifactStore;
  scores: ScoreStore;
  now?: () => Date;
}

const nowIso = (deps: StepDeps) => (deps.now ? deps.now() : new Date()).toISOString();

/** The baseline of a run that failed before recording it: other runs waiting on it must fail (and be resumed). */
export class BaselineMissingError extends UpliftError {}

/** Seed of every paired bootstrap: results are reproducible. */
export const BOOTSTRAP_SEED = 20240531;

export const SweepInput = z.object({ sweepId: z.string().min(1) });
export const RunInput = z.object({ sweepId: z.string().min(1), runId: z.string().min(1) });
export const FailedRunInput = RunInput.extend({ error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional() });

function baseRecord(plan: SweepPlan, run: RunPlan, now: string): RunRecordT {
  return RunRecord.parse({
    sweepId: plan.sweepId,
    runId: run.runId,
    tla: run.tla.label,
    ra: run.ra.name,
    cbm: run.cbm.id,
    variant: run.variant,
    seed: run.seed,
    model: run.ra.modelName,
    status: 'pending',
    updatedAt: now,
  });
}

export interface PlanSweepOutput {
  sweepId: string;
  planUri: string;
  /** `sweeps/<id>/runs.json`: the run ids the runs Map reads (never passed in the payload). */
  itemsKey: string;
  maxConcurrency: number;
  runCount: number;
}

/**
 * PlanSweep: expand the staged spec into `plan.json` (or reuse it on resume), create the sweep's
 * META, BUDGET and pending RUN items. Idempotent.
 */
export async function planSweep(deps: StepDeps, input: z.infer<typeof SweepInput>): Promise<PlanSweepOutput> {
  const { sweepId } = SweepInput.parse(input);
  const now = nowIso(deps);
  let plan: SweepPlan;
  if (await deps.artifacts.exists(planKey(sweepId))) {
    plan = await readPlan(deps.artifacts, sweepId);
  } else {
    const text = await deps.artifacts.getText(stagedSpecKey(sweepId));
    if (text === undefined) throw new CorruptRecordError(`${deps.artifacts.uri(stagedSpecKey(sweepId))} is missing: stage the sweep before starting it`);
    plan = expandPlan(parseJson(text, StagedSweep, deps.artifacts.uri(stagedSpecKey(sweepId))));
    await deps.artifacts.putText(itemsKey(sweepId), JSON.stringify(plan.runs.map((r) => r.runId)), 'application/json');
    // plan.json last: its presence means the plan and its items are complete.
    await deps.artifacts.putText(planKey(sweepId), JSON.stringify(plan), 'application/json');
  }
  const models = [...new Set(plan.runs.map((r) => r.ra.modelName))].sort();
  await deps.scores.createSweep({
    sweepId: sweepId as SweepId,
    name: plan.name,
    status: 'running',
    createdAt: plan.createdAt,
    updatedAt: now,
    runCount: plan.runs.length,
    offlineOnly: models.every((m) => m === 'offline'),
    models,
    maxUsd: plan.budgets.maxUsd,
    worstCaseUsd: plan.worstCaseUsd,
  });
  await deps.scores.updateSweep(sweepId, { status: 'running', updatedAt: now });
  await deps.scores.initBudget(sweepId, plan.budgets.maxUsd);
  const existing = new Set((await deps.scores.listRuns(sweepId)).map((r) => r.runId));
  await deps.scores.putRuns(plan.runs.filter((run) => !existing.has(run.runId as RunId)).map((run) => baseRecord(plan, run, now)));
  return { sweepId, planUri: deps.artifacts.uri(planKey(sweepId)), itemsKey: itemsKey(sweepId), maxConcurrency: plan.concurrency.runs, runCount: plan.runs.length };
}

export type RunAction = 'skip' | 'compute_baseline' | 'proceed';
export interface PlanRunOutput {
  action: RunAction;
  shards: number;
  /** Job queue of the run's jobs: `gpu` for models served on the job's GPU, else `cpu`. */
  queue: 'cpu' | 'gpu';
  /** Children of the MRA array job: the MRA's shards, then the same shards for each budget-curve bundle (unused ones exit at once). */
  mraJobs: number;
  /** Batch attempt timeouts: the run's wall-clock budgets plus start-up (at least Batch's 60 s). */
  tlaTimeoutSeconds: number;
  shardTimeoutSeconds: number;
  reason?: string;
}

/**
 * PlanRun: skip a run that already succeeded (resume), reserve its worst case on the ledger (or
 * mark it `budget_exhausted`), and claim the shared baseline or find it cached.
 */
export async function planRun(deps: StepDeps, input: z.infer<typeof RunInput>): Promise<PlanRunOutput> {
  const { sweepId, runId } = RunInput.parse(input);
  const { plan, run } = await readRun(deps.artifacts, sweepId, runId);
  const now = nowIso(deps);
  const rec = (await deps.scores.getRun(sweepId, runId)) ?? baseRecord(plan, run, now);
  if (rec.status === 'succeeded') return { action: 'skip', ...jobShape(plan, run), reason: 'already succeeded' };
  let reserved = rec.reservedUsd;
  if (reserved === undefined) {
    if (!(await deps.scores.reserveBudget(sweepId, run.worstCaseUsd))) {
      await deps.scores.putRun({ ...rec, status: 'budget_exhausted', updatedAt: now, error: `could not reserve its worst case of $${run.worstCaseUsd.toFixed(4)}: the sweep budget is committed` });
      return { action: 'skip', ...jobShape(plan, run), reason: 'budget_exhausted' };
    }
    reserved = run.worstCaseUsd;
  }
  const lease = plan.budgets.shardWallSeconds * 2 + 600;
  const claim = await deps.scores.claimBaseline(
    { key: run.baselineKey, status: 'computing', ownerSweep: sweepId, ownerRun: runId, claimedAt: now, outputsPrefix: roleOutputPrefix(sweepId, runId, 'baseline') },
    lease,
  );
  await deps.scores.putRun({ ...rec, status: 'running', reservedUsd: reserved, updatedAt: now, error: undefined, baselineCached: claim.status !== 'claimed' });
  return { action: claim.status === 'claimed' ? 'compute_baseline' : 'proceed', ...jobShape(plan, run) };
}

/** Seconds a job may spend outside its agent: process start, downloads, uploads. */
const JOB_STARTUP_SECONDS = 300;

/** What the state machine needs to submit a run's jobs: array size, queue and attempt timeouts. */
function jobShape(plan: SweepPlan, run: RunPlan): Pick<PlanRunOutput, 'shards' | 'mraJobs' | 'queue' | 'tlaTimeoutSeconds' | 'shardTimeoutSeconds'> {
  // A GPU job also starts vLLM and syncs weights before its agent runs.
  const startup = JOB_STARTUP_SECONDS + (run.ra.model.provider === 'vllm' ? run.ra.model.startupTimeoutSeconds : 0);
  return {
    shards: run.shards,
    mraJobs: run.shards * (1 + (plan.budgetCurve?.length ?? 0)),
    queue: queueFor(run.ra.model),
    tlaTimeoutSeconds: Math.max(60, plan.budgets.tlaWallSeconds + startup),
    shardTimeoutSeconds: Math.max(60, plan.budgets.shardWallSeconds + startup),
  };
}



async function testTargets(deps: StepDeps, run: RunPlan) {
  return readSplit(deps.artifacts, run.cbm.datasetPrefix, 'test');
}

/** RecordBaseline: score the baseline shards this run computed and publish them in the baseline cache. */
export async function recordBaseline(deps: StepDeps, input: z.infer<typeof RunInput>): Promise<{ baseline: number }> {
  const { sweepId, runId } = RunInput.parse(input);
  const { plan, run } = await readRun(deps.artifacts, sweepId, runId);
  const prefix = roleOutputPrefix(sweepId, runId, 'baseline');
  const { outcomes, usage } = await readShards(deps.artifacts, prefix, run.shards);
  const scores = scoreSplit(await testTargets(deps, run), outcomes);
  const price = priceOf(run.ra.modelName, plan.prices);
  const prompt = usage.reduce((s, u) => s + u.promptTokens, 0);
  const completion = usage.reduce((s, u) => s + u.completionTokens, 0);
  const score = scores.reduce((a, b) => a + b, 0) / scores.length;
  await deps.scores.completeBaseline({
    key: run.baselineKey,
    status: 'done',
    ownerSweep: sweepId,
    ownerRun: runId,
    claimedAt: nowIso(deps),
    outputsPrefix: prefix,
    score,
    tokens: prompt + completion,
    costUsd: meteredUsd({ promptTokens: prompt, completionTokens: completion }, price),
  });
  return { baseline: score };
}

async function readTlaResult(deps: StepDeps, sweepId: string, runId: string): Promise<TlaResult | undefined> {
  const text = await deps.artifacts.getText(tlaKey(sweepId, runId, 'result.json'));
  return text === undefined ? undefined : parseJson(text, TlaResult, deps.artifacts.uri(tlaKey(sweepId, runId, 'result.json')));
}

/** ScoreRun: per-task scores of baseline and MRA on the test split → uplift with a paired bootstrap CI; settle the budget. */
export async function scoreRun(deps: StepDeps, input: z.infer<typeof RunInput>): Promise<{ uplift: number; costUsd: number; tokens: number }> {
  const { sweepId, runId } = RunInput.parse(input);
  const { plan, run } = await readRun(deps.artifacts, sweepId, runId);
  const cached = await deps.scores.getBaseline(run.baselineKey);
  if (!cached) throw new BaselineMissingError(`baseline ${run.baselineKey} is neither cached nor being computed: the run that claimed it failed. Resume the sweep to compute it`);
  if (cached.status !== 'done') throw new BaselinePendingError(`baseline ${run.baselineKey} is still being computed by run ${cached.ownerRun} of sweep ${cached.ownerSweep}`);
  const targets = await testTargets(deps, run);
  const base = await readShards(deps.artifacts, cached.outputsPrefix, run.shards);
  const mra = await readShards(deps.artifacts, roleOutputPrefix(sweepId, runId, 'mra'), run.shards);
  const tla = await readTlaResult(deps, sweepId, runId);
  if (!tla) throw new CorruptRecordError(`${deps.artifacts.uri(tlaKey(sweepId, runId, 'result.json'))} is missing: the TLA job never finished`);
  const baseScores = scoreSplit(targets, base.outcomes);
  const mraScores = scoreSplit(targets, mra.outcomes);
  const result = pairedBootstrap(baseScores, mraScores, { seed: BOOTSTRAP_SEED });
  const curve = plan.budgetCurve ? await scoreCurve(deps, sweepId, run, targets, baseScores, mraScores) : undefined;
  const owner = cached.ownerSweep === sweepId && cached.ownerRun === runId;
  const total = (us: readonly ShardUsage[]) => us.reduce((s, u) => s + u.totalTokens, 0);
  const cost = runCostUsd(plan, run, [...(owner ? base.usage : []), ...mra.usage, ...(curve?.usage ?? [])], tla);
  const rec = (await deps.scores.getRun(sweepId, runId)) ?? baseRecord(plan, run, nowIso(deps));
  if (rec.reservedUsd !== undefined) await deps.scores.settleBudget(sweepId, rec.reservedUsd, cost);
  const tokens = {
    tla: tla.usage.totalTokens,
    baseline: owner ? total(base.usage) : 0,
    mra: total(mra.usage),
    ...(curve ? { curve: total(curve.usage) } : {}),
  };
  await deps.scores.putRun({
    ...rec,
    status: 'succeeded',
    updatedAt: nowIso(deps),
    baseline: result.baseline,
    mra: result.mra,
    uplift: result.uplift,
    ci: result.ci,
    tasks: targets.length,
    tokens,
    costUsd: cost,
    reservedUsd: undefined,
    baselineCached: !owner,
    error: undefined,
    ...(curve ? { curve: curve.points } : {}),
    warnings: [...shardWarnings('baseline', base.usage), ...shardWarnings('mra', mra.usage), ...(curve?.warnings ?? [])],
  });
  return { uplift: result.uplift, costUsd: cost, tokens: tokens.tla + tokens.baseline + tokens.mra + (tokens.curve ?? 0) };
}

/**
 * Scores at token budgets: each budget's bundle (curve.json, written by the TLA job) scored on the
 * test split — the RA's and the MRA's scores reused, other checkpoints from the MRA array job's
 * extra children — with a paired bootstrap CI against the baseline.
 */
async function scoreCurve(deps: StepDeps, sweepId: string, run: RunPlan, targets: Example[], baseScores: number[], mraScores: number[]) {
  const key = tlaKey(sweepId, run.runId, 'curve.json');
  const text = await deps.artifacts.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${deps.artifacts.uri(key)} is missing: the sweep asked for a budget curve and the TLA job wrote none`);
  const curve = parseJson(text, CurvePlan, deps.artifacts.uri(key));
  const bundles = await Promise.all(curve.bundles.map((_, b) => readShards(deps.artifacts, curvePrefix(sweepId, run.runId, b), run.shards)));
  const bundleScores = bundles.map((b) => scoreSplit(targets, b.outcomes));
  const points = curve.points.map((p) => {
    const scores = p.source === 'ra' ? baseScores : p.source === 'mra' ? mraScores : bundleScores[p.bundle as number];
    const r = pairedBootstrap(baseScores, scores, { seed: BOOTSTRAP_SEED });
    return { budget: p.budget, step: p.step, mra: r.mra, uplift: r.uplift, ci: r.ci };
  });
  const usage = bundles.flatMap((b) => b.usage);
  return { points, usage, warnings: shardWarnings('mra', usage).map((w) => w.replace(/^mra:/, 'budget curve:')) };
}

/**
 * What a run metered: its shard jobs' tokens at the RA model's price, its TLA job's tokens at
 * each gateway's model price, and all their job time (as the jobs measured it) at the hourly
 * price of the run's queue (free locally).
 */
function runCostUsd(plan: SweepPlan, run: RunPlan, shards: readonly ShardUsage[], tla: TlaResult | undefined): number {
  const tokens = { promptTokens: shards.reduce((s, u) => s + u.promptTokens, 0), completionTokens: shards.reduce((s, u) => s + u.completionTokens, 0) };
  const jobMs = shards.reduce((s, u) => s + u.wallMs, 0) + (tla?.wallMs ?? 0);
  return (
    meteredUsd(tokens, priceOf(run.ra.modelName, plan.prices)) +
    (tla ? tlaCostUsd(tla, run, plan) : 0) +
    (jobMs / 3_600_000) * jobUsdPerHour(plan.compute[queueFor(run.ra.model)], plan.prices)
  );
}

/** Metered dollars of a TLA job: each gateway's tokens at its own model's price (a `react` TLA's model and the RA's). */
export function tlaCostUsd(tla: TlaResult, run: RunPlan, plan: SweepPlan): number {
  if (!tla.usageByModel.length) return meteredUsd(tla.usage, priceOf(run.ra.modelName, plan.prices));
  return tla.usageByModel.reduce((s, u) => s + meteredUsd(u, priceOf(u.model, plan.prices)), 0);
}

function describeError(error: { Error?: string; Cause?: string } | undefined): string {
  if (!error) return 'failed';
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; message?: string };
    cause = parsed.errorMessage ?? parsed.message ?? cause;
  } catch {
    /* a plain-text cause */
  }
  return `${error.Error ?? 'Error'}: ${cause}`.slice(0, 2000);
}

/** MarkRunFailed: record the error, free a baseline claim this run held, settle what it metered. Never throws for a known run. */
export async function markRunFailed(deps: StepDeps, input: z.infer<typeof FailedRunInput>): Promise<{ status: 'failed' }> {
  const { sweepId, runId, error } = FailedRunInput.parse(input);
  const { plan, run } = await readRun(deps.artifacts, sweepId, runId);
  await deps.scores.releaseBaseline(run.baselineKey, sweepId, runId);
  const rec = (await deps.scores.getRun(sweepId, runId)) ?? baseRecord(plan, run, nowIso(deps));
  // Whatever finished: baseline, MRA and budget-curve shards all sit under the run's prefix.
  const usages = await readFinishedShardUsage(deps.artifacts, runPrefix(sweepId, runId));
  const cost = runCostUsd(plan, run, usages, await readTlaResult(deps, sweepId, runId));
  if (rec.reservedUsd !== undefined) await deps.scores.settleBudget(sweepId, rec.reservedUsd, cost);
  await deps.scores.putRun({ ...rec, status: 'failed', updatedAt: nowIso(deps), error: describeError(error), reservedUsd: undefined, costUsd: cost });
  return { status: 'failed' };
}

/** FinalizeSweep: counts, the HTML report in S3, and the sweep's final status. */
export async function finalizeSweep(deps: StepDeps, input: z.infer<typeof SweepInput>): Promise<{ sweepId: string; reportKey: string; counts: Record<string, number> }> {
  const { sweepId } = SweepInput.parse(input);
  const meta = await deps.scores.getSweep(sweepId);
  if (!meta) throw new CorruptRecordError(`sweep ${sweepId} has no META item`);
  const runs = await deps.scores.listRuns(sweepId);
  const counts: Record<string, number> = {};
  for (const r of runs) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const unfinished = runs.some((r) => r.status === 'pending' || r.status === 'running');
  const status = unfinished ? 'interrupted' : 'succeeded';
  const reportKey = `${sweepPrefix(sweepId)}/report/index.html`;
  const results = buildResults({ ...meta, status }, runs, await deps.scores.getBudget(sweepId));
  await deps.artifacts.putText(reportKey, renderReportHtml(results), 'text/html; charset=utf-8');
  await deps.artifacts.putText(reportKey.replace(/index\.html$/, 'results.json'), JSON.stringify(results, null, 2), 'application/json');
  await deps.scores.updateSweep(sweepId, { status, reportKey, counts, updatedAt: nowIso(deps) });
  return { sweepId, reportKey, counts };
}
