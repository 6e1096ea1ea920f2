import { z } from 'zod';
import { readMeta, readSplit } from '../cbm/dataset';
import { cbmKind } from '../cbm/registry';
import { taskScore } from '../cbm/scoring';
import type { CbmKind, CbmTask } from '../cbm/types';
import type { TaskOutcome } from '../ra/protocol';
import { AgentBrokenError, BaselinePendingError, CorruptRecordError, InfraFailureError, UpliftError } from '../errors';
import { parseJson, toJsonl } from '../jsonl';
import type { ArtifactStore, ScoreStore } from '../ports';
import { meteredUsd, priceOf, queueUsdPerHour } from '../pricing';
import { hasScores, RunRecord, type CostSplit, type DatasetFacts, type RunModels, type GuardResult, type RunRecord as RunRecordT, type ScorePair, type SweepId, type RunId } from '../records';
import { pairedBootstrap } from '../scoring/bootstrap';
import { pairedCurveUplift, pairedTimeCurveUplift, timeBudgets, type Attempt } from '../scoring/best-of-k';
import { buildResults, renderReportHtml } from '../report';
import { expandPlan, itemsKey, jobStartupSeconds, planKey, queueFor, sweepPrefix, StagedSweep, stagedSpecKey, tlaQueueFor, type Queue, type RunPlan, type SweepPlan } from './plan';
import { loadReportDetails } from './report-details';
import { imageJobs, type ImageJob, type JobDefinitions } from './image-jobs';
import { checkBaselineDigests, countOutcomes, CurvePlan, curvePrefix, curvesPrefix, describeInfraFailure, hadInfraFailure, isWithoutNetworkIsolation, readFailedTlaAttempts, readFinishedShardUsage, readPlan, readRun, readShards, roleOutputPrefix, runTasksKey, shardSpend, TASK_OUTPUT_CHARS, shardWarnings, taskSide, TlaResult, tlaKey, type TaskRow, type FailedTlaAttempt, type Role, type ShardSpend, type ShardUsage } from './outputs';
import { DEFAULT_MAX_GUARD_DROP, modelName } from '../spec';

/** What the pipeline steps need: the two stores and a clock. */
export interface StepDeps {
  artifacts: ArtifactStore;
  scores: ScoreStore;
  now?: () => Date;
  /** Job definitions of tasks' container images (PlanRun of image runs): the stack's Batch, or the local pool's stand-in. */
  jobDefinitions?: JobDefinitions;
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
    models: runModels(run),
    status: 'pending',
    updatedAt: now,
  });
}

/** Every model a run uses, by role: the RA's, a `react` TLA's own (scripted TLAs have none), the judge's. */
function runModels(run: RunPlan): RunModels {
  return { ra: run.ra.modelName, ...(run.tla.spec.kind === 'react' ? { tla: modelName(run.tla.spec.model) } : {}), ...(run.cbm.judge ? { judge: run.cbm.judge.modelName } : {}) };
}

/** The test split's size by set, the dev split's size (as staging counted it), and the objective tasks' label balance (kinds with labels). */
function datasetFacts(kind: CbmKind, targets: readonly CbmTask[], sets: { objective: number[]; guard: number[] }, dev: number | undefined): DatasetFacts {
  const labelOf = kind.labelOf?.bind(kind);
  const labels: Record<string, number> = {};
  if (labelOf)
    for (const i of sets.objective) {
      const label = labelOf(targets[i]);
      labels[label] = (labels[label] ?? 0) + 1;
    }
  return { ...(dev === undefined ? {} : { dev }), test: targets.length, objective: sets.objective.length, guard: sets.guard.length, ...(labelOf ? { labels } : {}) };
}

/** An agent input as the per-task view shows it: its fields without the id, as JSON, cut at TASK_OUTPUT_CHARS. */
function inputText(input: Record<string, unknown>): string {
  const { id: _id, ...rest } = input;
  return JSON.stringify(rest).slice(0, TASK_OUTPUT_CHARS);
}

/** Every test task's baseline and MRA outcome side by side, in target order. */
function taskRows(kind: CbmKind, meta: unknown, targets: readonly CbmTask[], base: readonly TaskOutcome[], mra: readonly TaskOutcome[], baseScores: readonly number[], mraScores: readonly number[]): TaskRow[] {
  const b = new Map(base.map((o) => [o.id, o]));
  const m = new Map(mra.map((o) => [o.id, o]));
  return targets.map((t, i) => ({
    id: t.id,
    set: kind.setOf(t),
    ...(kind.labelOf ? { label: kind.labelOf(t) } : {}),
    ...(kind.groupsOf ? { groups: kind.groupsOf(t) } : {}),
    input: inputText(kind.toInput(t, meta)),
    target: kind.describeTarget(t, meta).slice(0, 600),
    baseline: taskSide(b.get(t.id), baseScores[i]),
    mra: taskSide(m.get(t.id), mraScores[i]),
  }));
}

/**
 * The order the runs Map starts runs in: seed by seed across every cell (each cell's first seed,
 * then each cell's second…), the plan's order within a seed. Every cell gets a result early, and
 * the runs of a slow TLA do not all wait for the end behind a fast one's.
 */
export function runOrder<R extends { seed: number }>(runs: readonly R[]): R[] {
  return runs.map((r, i) => ({ r, i })).sort((a, b) => a.r.seed - b.r.seed || a.i - b.i).map((x) => x.r);
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
    await deps.artifacts.putText(itemsKey(sweepId), JSON.stringify(runOrder(plan.runs).map((r) => r.runId)), 'application/json');
    // plan.json last: its presence means the plan and its items are complete.
    await deps.artifacts.putText(planKey(sweepId), JSON.stringify(plan), 'application/json');
  }
  // Every model of every role (RA, a react TLA's own, the judge): what the report and `list` name.
  const models = [...new Set(plan.runs.flatMap((r) => Object.values(runModels(r))))].sort();
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
  /** Job queue of the run's shard jobs (core/sweep/plan.ts queueFor); an `images` run's TLA job uses `cpu`. */
  queue: Queue;
  /**
   * Image runs: the baseline's and the MRA's shard jobs, each with the job definition of its
   * task's image (core/sweep/image-jobs.ts); the state machine submits them one by one.
   */
  baselineImageJobs?: ImageJob[];
  mraImageJobs?: ImageJob[];
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
  if (hasScores(rec.status)) return { action: 'skip', ...jobShape(plan, run), reason: 'already finished' };
  // Image runs: their job definitions first (a Batch API failure then fails the run before it holds budget or a baseline claim).
  const shape = jobShape(plan, run);
  const images = run.cbm.images ? await imageJobsOf(deps, run.cbm.images, shape.mraJobs) : {};
  // Idempotent: a retried or resumed PlanRun finds the run's hold on the ledger and reserves nothing more.
  const reservation = await deps.scores.reserveBudget(sweepId, runId, run.worstCaseUsd);
  if (reservation === 'insufficient') {
    await deps.scores.putRun({ ...rec, status: 'budget_exhausted', updatedAt: now, error: `could not reserve its worst case of $${run.worstCaseUsd.toFixed(4)}: the sweep budget is committed` });
    return { action: 'skip', ...jobShape(plan, run), reason: 'budget_exhausted' };
  }
  // What the run holds is always its worst case (a plan never changes), whether reserved now or before.
  const reserved = run.worstCaseUsd;
  const lease = plan.budgets.shardWallSeconds * 2 + 600;
  const claim = await deps.scores.claimBaseline(
    { key: run.baselineKey, status: 'computing', ownerSweep: sweepId, ownerRun: runId, claimedAt: now, outputsPrefix: roleOutputPrefix(sweepId, runId, 'baseline') },
    lease,
  );
  await deps.scores.putRun({ ...rec, status: 'running', reservedUsd: reserved, updatedAt: now, error: undefined, baselineCached: claim.status !== 'claimed' });
  return { action: claim.status === 'claimed' ? 'compute_baseline' : 'proceed', ...shape, ...images };
}

/** The shard jobs of an image run, their job definitions registered (or found) first. */
async function imageJobsOf(deps: StepDeps, images: readonly string[], mraJobs: number): Promise<Pick<PlanRunOutput, 'baselineImageJobs' | 'mraImageJobs'>> {
  if (!deps.jobDefinitions) throw new Error(`this run's tasks run in container images (${images[0]}${images.length > 1 ? ', …' : ''}) and PlanRun has no job definitions registry (UPLIFT_IMAGE_JOB_TEMPLATE unset): deploy the stack with the images queue enabled (infra config images.enabled)`);
  const mra = await imageJobs(images, mraJobs, deps.jobDefinitions);
  return { baselineImageJobs: mra.slice(0, images.length), mraImageJobs: mra };
}

/** What the state machine needs to submit a run's jobs: array size, queue and attempt timeouts. */
function jobShape(plan: SweepPlan, run: RunPlan): Pick<PlanRunOutput, 'shards' | 'mraJobs' | 'queue' | 'tlaTimeoutSeconds' | 'shardTimeoutSeconds'> {
  // A GPU job also starts vLLM before its agent runs (the stack adds its weight-sync allowance on the GPU queue).
  const startup = jobStartupSeconds(run.ra.model);
  return {
    shards: run.shards,
    mraJobs: run.shards * (1 + (plan.budgetCurve?.length ?? 0)),
    queue: queueFor(run.ra.model, run.cbm),
    tlaTimeoutSeconds: Math.max(60, plan.budgets.tlaWallSeconds + startup),
    shardTimeoutSeconds: Math.max(60, plan.budgets.shardWallSeconds + startup),
  };
}



async function testTargets(deps: StepDeps, run: RunPlan): Promise<CbmTask[]> {
  return readSplit(deps.artifacts, run.cbm.datasetPrefix, 'test', cbmKind(run.cbm.kind));
}

/** Per-task scores in target order, from the scores the shard jobs gave (a task without output scores 0). */
function scoresOf(targets: readonly CbmTask[], outcomes: readonly TaskOutcome[]): number[] {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  return targets.map((t) => taskScore(byId.get(t.id)));
}

/** Indices of the objective's and the guard's tasks among the targets. */
function taskSets(run: RunPlan, targets: readonly CbmTask[]): { objective: number[]; guard: number[] } {
  const kind = cbmKind(run.cbm.kind);
  const sets = { objective: [] as number[], guard: [] as number[] };
  targets.forEach((t, i) => sets[kind.setOf(t)].push(i));
  return sets;
}

const pick = (xs: readonly number[], idx: readonly number[]) => idx.map((i) => xs[i]);
const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Baseline vs MRA on a subset of tasks: means, uplift and the paired-bootstrap CI. */
function pairOn(base: readonly number[], mra: readonly number[], idx: readonly number[]): ScorePair {
  const r = pairedBootstrap(pick(base, idx), pick(mra, idx), { seed: BOOTSTRAP_SEED });
  return { tasks: idx.length, baseline: r.baseline, mra: r.mra, uplift: r.uplift, ci: r.ci };
}

/** The bootstrap 95% CI of a mean score (the paired bootstrap against all-zero scores: its uplift is the score). */
function scoreCi(scores: readonly number[]): [number, number] {
  return pairedBootstrap(scores.map(() => 0), scores, { seed: BOOTSTRAP_SEED }).ci;
}

/**
 * The guard of a run: violated when the guard's CI lies wholly below −maxDrop, i.e. the data show
 * a fall larger than allowed (a fall within the CI's reach of the allowance is not enough).
 */
export function guardOf(pair: ScorePair, maxDrop: number): GuardResult {
  return { ...pair, maxDrop, violated: pair.ci[1] < -maxDrop };
}

/**
 * RE-Bench curves over the objective tasks' attempts (a per-task kind run with attempts ≥ 2),
 * baseline vs MRA paired by task id, each point with a paired bootstrap CI over tasks (seed
 * BOOTSTRAP_SEED); undefined when no task has 2 or more attempts. A task without attempts (an
 * agent error) counts as attempts that all scored 0 in 0 s.
 * - `bestOfK`: k = 1 … the fewest attempts any task has.
 * - `timeCurve`: at the budgets `timeBudgets(taskWallSeconds, most attempts of a task)`, the best
 *   score of the attempts finished within the budget, in the order they ran (a task with none
 *   counts 0). An attempt's time counts at most `taskWallSeconds`, its wall clock: the few
 *   seconds over it are the harness making the workspace and stopping the sandbox, so an attempt
 *   that used its whole wall clock is finished at 1× the limit, not one budget later.
 */
export function attemptCurvesOf(
  targets: readonly CbmTask[],
  objective: readonly number[],
  base: readonly TaskOutcome[],
  mra: readonly TaskOutcome[],
  taskWallSeconds: number,
): { bestOfK: NonNullable<RunRecordT['bestOfK']>; timeCurve: NonNullable<RunRecordT['timeCurve']> } | undefined {
  const attemptsOf = (outcomes: readonly TaskOutcome[]) => {
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    return objective.map((i) => {
      const o = byId.get(targets[i].id);
      return o && 'output' in o ? (o.attempts ?? [{ score: taskScore(o), seconds: 0 }]) : undefined;
    });
  };
  const b = attemptsOf(base);
  const m = attemptsOf(mra);
  const n = Math.max(...[...b, ...m].map((a) => a?.length ?? 0), 0);
  if (n < 2) return undefined;
  const fill = (a: Attempt[] | undefined) => a ?? Array.from({ length: n }, () => ({ score: 0, seconds: 0 }));
  const k = Math.min(...[...b, ...m].map((a) => fill(a).length));
  const ks = Array.from({ length: k }, (_, i) => i + 1);
  const bestOfK = pairedCurveUplift(b.map(fill), m.map(fill), ks, { seed: BOOTSTRAP_SEED }).map((p) => ({ k: p.k, baseline: p.ra, mra: p.mra, uplift: p.uplift, ci: p.ci }));
  const capped = (a: Attempt[] | undefined) => fill(a).map((x) => ({ score: x.score, seconds: Math.min(x.seconds, taskWallSeconds) }));
  const timeCurve = pairedTimeCurveUplift(b.map(capped), m.map(capped), timeBudgets(taskWallSeconds, n), { seed: BOOTSTRAP_SEED }).map((p) => ({
    budgetSeconds: p.budgetSeconds,
    baseline: p.ra,
    mra: p.mra,
    uplift: p.uplift,
    ci: p.ci,
    noneFinished: { baseline: p.noneFinished.ra, mra: p.noneFinished.mra },
  }));
  return { bestOfK, timeCurve };
}

/** Objective scores by each breakdown group of the kind (e.g. injection_variant), objective tasks only. */
function breakdownOf(run: RunPlan, targets: readonly CbmTask[], objective: readonly number[], base: readonly number[], mra: readonly number[]): RunRecordT['breakdown'] {
  const kind = cbmKind(run.cbm.kind);
  if (!kind.groupsOf) return undefined;
  const groups: Record<string, Record<string, number[]>> = {};
  for (const i of objective)
    for (const [key, value] of Object.entries(kind.groupsOf(targets[i]))) ((groups[key] ??= {})[value] ??= []).push(i);
  return Object.fromEntries(Object.entries(groups).map(([key, values]) => [key, Object.fromEntries(Object.keys(values).sort().map((v) => [v, pairOn(base, mra, values[v])]))]));
}

/**
 * Fails the run when a role's shards hold infrastructure errors: those tasks were never answered,
 * so nothing is scored or cached. The cause names the endpoint and what it answered.
 */
function refuseInfraErrors(role: Role, runId: string, usage: readonly ShardUsage[]): void {
  const bad = usage.filter(hadInfraFailure);
  if (!bad.length) return;
  const failure = bad.find((u) => u.infraFailure)?.infraFailure;
  const n = bad.reduce((s, u) => s + u.counts.infra_error, 0);
  const calls = bad.reduce((s, u) => s + u.upstreamFailures, 0);
  throw new InfraFailureError(`${role} of run ${runId}: ${calls} model call(s) failed after retries and ${n} task(s) were never answered because ${failure ? describeInfraFailure(failure) : 'the sandbox or job failed'}; nothing was scored or cached. Log: ${bad[0].log ?? 'the shard job log'}`);
}

/** RecordBaseline: check the baseline shards this run computed and publish them in the baseline cache — only when valid. */
export async function recordBaseline(deps: StepDeps, input: z.infer<typeof RunInput>): Promise<{ baseline: number }> {
  const { sweepId, runId } = RunInput.parse(input);
  const { plan, run } = await readRun(deps.artifacts, sweepId, runId);
  const prefix = roleOutputPrefix(sweepId, runId, 'baseline');
  const { outcomes, usage, digests } = await readShards(deps.artifacts, prefix, run.shards);
  refuseInfraErrors('baseline', runId, usage);
  const counts = countOutcomes(outcomes);
  const total = outcomes.length;
  if (total > 0 && counts.agent_error / total > plan.maxAgentErrorRate) {
    // The user's RA is broken: a score of it would be a statement about the harness, not the agent.
    const worst = usage.find((u) => u.counts.agent_error > 0) ?? usage[0];
    const causes = [...new Set(outcomes.flatMap((o) => ('error' in o ? [o.cause] : [])))].slice(0, 3).join('; ');
    throw new AgentBrokenError(
      `the baseline RA ${run.ra.name} gave agent errors on ${counts.agent_error} of ${total} test tasks (${pctText(counts.agent_error / total)}, above maxAgentErrorRate ${pctText(plan.maxAgentErrorRate)}): ${causes}. ` +
        `Its stderr ends: ${JSON.stringify(worst.stderrTail.slice(-600))}. Log: ${worst.log ?? 'the shard job log'}. ` +
        `Fix: run the RA by hand on a few tasks (see README, RA bundles) and repair it; nothing was cached`,
    );
  }
  const targets = await testTargets(deps, run);
  const scores = scoresOf(targets, outcomes);
  const spend = usage.map(shardSpend);
  const prompt = spend.reduce((s, u) => s + u.promptTokens, 0);
  const completion = spend.reduce((s, u) => s + u.completionTokens, 0);
  const score = meanOf(pick(scores, taskSets(run, targets).objective));
  const now = nowIso(deps);
  await deps.scores.completeBaseline({
    key: run.baselineKey,
    status: 'done',
    ownerSweep: sweepId,
    ownerRun: runId,
    claimedAt: now,
    completedAt: now,
    outputsPrefix: prefix,
    score,
    tokens: prompt + completion,
    costUsd: meteredUsd({ promptTokens: prompt, completionTokens: completion }, priceOf(run.ra.modelName, plan.prices)) + judgeUsd(plan, run, spend),
    counts,
    shardDigests: digests,
    describes: run.baselineInputs,
  });
  return { baseline: score };
}

const pctText = (x: number) => `${(x * 100).toFixed(1)}%`;

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
  // A baseline cached by a sweep with a laxer maxAgentErrorRate is not valid for this one.
  if (cached.counts && targets.length > 0 && cached.counts.agent_error / targets.length > plan.maxAgentErrorRate)
    throw new AgentBrokenError(
      `the cached baseline ${run.baselineKey} (computed by run ${cached.ownerRun} of sweep ${cached.ownerSweep}) has agent errors on ${cached.counts.agent_error} of ${targets.length} test tasks (${pctText(cached.counts.agent_error / targets.length)}), above this sweep's maxAgentErrorRate ${pctText(plan.maxAgentErrorRate)}. Fix: repair the RA, or raise maxAgentErrorRate knowingly`,
    );
  const base = await readShards(deps.artifacts, cached.outputsPrefix, run.shards);
  checkBaselineDigests(deps.artifacts, cached.outputsPrefix, cached.shardDigests, base.digests);
  const mra = await readShards(deps.artifacts, roleOutputPrefix(sweepId, runId, 'mra'), run.shards);
  const tla = await readTlaResult(deps, sweepId, runId);
  if (!tla) throw new CorruptRecordError(`${deps.artifacts.uri(tlaKey(sweepId, runId, 'result.json'))} is missing: the TLA job never finished`);
  refuseInfraErrors('baseline', runId, base.usage);
  refuseInfraErrors('mra', runId, mra.usage);
  // An MRA's agent errors score 0: the TLA broke the agent. They are counted and flagged.
  const baseScores = scoresOf(targets, base.outcomes);
  const mraScores = scoresOf(targets, mra.outcomes);
  const sets = taskSets(run, targets);
  const result = pairOn(baseScores, mraScores, sets.objective);
  const guard = sets.guard.length ? guardOf(pairOn(baseScores, mraScores, sets.guard), run.cbm.maxGuardDrop ?? DEFAULT_MAX_GUARD_DROP) : undefined;
  const breakdown = breakdownOf(run, targets, sets.objective, baseScores, mraScores);
  const kind = cbmKind(run.cbm.kind);
  const meta = await readMeta(deps.artifacts, run.cbm.datasetPrefix, kind);
  const metricInfo = kind.metrics(run.cbm.spec, meta);
  const curve = plan.budgetCurve ? await scoreCurve(deps, sweepId, run, targets, sets.objective, baseScores, mraScores) : undefined;
  // A task's wall clock as the shard job sets it (ra-shard.ts): the spec's taskWallSeconds, else the shard's.
  const attemptCurves = attemptCurvesOf(targets, sets.objective, base.outcomes, mra.outcomes, run.cbm.spec.taskWallSeconds === undefined ? plan.budgets.shardWallSeconds : Number(run.cbm.spec.taskWallSeconds));
  const owner = cached.ownerSweep === sweepId && cached.ownerRun === runId;
  const total = (us: readonly ShardUsage[]) => us.reduce((s, u) => s + shardSpend(u).totalTokens, 0);
  // TLA job attempts that failed before this one succeeded spent too.
  const failedTla = await readFailedTlaAttempts(deps.artifacts, sweepId, runId);
  const costs = runCosts(plan, run, { baseline: owner ? base.usage : [], mra: mra.usage, curve: curve?.usage ?? [] }, tla, failedTla);
  const cost = costs.total;
  // The per-task view (report, `uplift artifacts`): written before the record, so a scored run always has it.
  await deps.artifacts.putText(runTasksKey(sweepId, runId), toJsonl(taskRows(kind, meta, targets, base.outcomes, mra.outcomes, baseScores, mraScores)), 'application/x-ndjson');
  const rec = (await deps.scores.getRun(sweepId, runId)) ?? baseRecord(plan, run, nowIso(deps));
  // Exactly once: a retried ScoreRun finds the hold settled and settles nothing more.
  await deps.scores.settleBudget(sweepId, runId, cost);
  const mraCounts = countOutcomes(mra.outcomes);
  const tokens = {
    tla: tla.usage.totalTokens + failedTla.reduce((s, a) => s + a.usageByModel.reduce((t, u) => t + u.totalTokens, 0), 0),
    baseline: owner ? total(base.usage) : 0,
    mra: total(mra.usage),
    ...(curve ? { curve: total(curve.usage) } : {}),
    ...(run.cbm.judge ? { judge: judgeTotal([...(owner ? base.usage : []), ...mra.usage, ...(curve?.usage ?? [])]) } : {}),
  };
  await deps.scores.putRun({
    ...rec,
    status: guard?.violated ? 'guard_violated' : 'succeeded',
    updatedAt: nowIso(deps),
    baseline: result.baseline,
    mra: result.mra,
    uplift: result.uplift,
    ci: result.ci,
    tasks: result.tasks,
    tokens,
    guard,
    breakdown,
    ...(attemptCurves ? { bestOfK: attemptCurves.bestOfK, timeCurve: attemptCurves.timeCurve } : {}),
    metrics: { kind: run.cbm.kind, objective: metricInfo.objective.name, guard: metricInfo.guard?.name, chance: metricInfo.objective.chance, guardChance: metricInfo.guard?.chance },
    costUsd: cost,
    costs: costs.split,
    dataset: datasetFacts(kind, targets, sets, run.cbm.devCount),
    reservedUsd: undefined,
    baselineCached: !owner,
    error: undefined,
    ...(curve ? { curve: curve.points } : {}),
    outcomes: { baseline: countOutcomes(base.outcomes), mra: mraCounts },
    warnings: [
      ...tla.infraFailures.map((f) => `tla: ${describeInfraFailure(f)} during the TLA's work: its dev evaluations may be off (the test scores are not)`),
      ...(isWithoutNetworkIsolation(tla.isolation) ? [`tla: the TLA's commands ran at sandbox level ${tla.isolation}, which does not isolate the network or the filesystem: services on this machine's network and world-readable files (a data set's test split among them) were within their reach`] : []),
      ...(guard?.violated ? [`guard: ${metricInfo.guard?.name ?? 'the guard'} fell from ${guard.baseline.toFixed(3)} to ${guard.mra.toFixed(3)} (CI of the change [${guard.ci[0].toFixed(3)}, ${guard.ci[1].toFixed(3)}] wholly below −${guard.maxDrop}): the MRA bought its objective with the utility it had to keep, so this run is guard_violated and left out of the across-seeds summary`] : []),
      ...(metricInfo.objective.suspectAbove && scoreCi(pick(mraScores, sets.objective))[0] > metricInfo.objective.suspectAbove.value
        ? [`mra: its ${metricInfo.objective.name} is above ${pctText(metricInfo.objective.suspectAbove.value)} with its whole CI (${metricInfo.objective.suspectAbove.why}): read this uplift with suspicion`]
        : []),
      ...(tla.invalidMra ? [`mra: the TLA left a bundle that is not valid, so every MRA task is an agent error scored 0: ${tla.invalidMra.slice(0, 3).join('; ').slice(0, 600)}`] : []),
      ...(mraCounts.agent_error ? [`mra: the TLA broke the agent on ${mraCounts.agent_error} of ${targets.length} test tasks (agent errors, scored 0)`] : []),
      ...shardWarnings('baseline', base.usage, run.runId),
      ...shardWarnings('mra', mra.usage, run.runId),
      ...(curve?.warnings ?? []),
    ],
  });
  return { uplift: result.uplift, costUsd: cost, tokens: tokens.tla + tokens.baseline + tokens.mra + (tokens.curve ?? 0) + (tokens.judge ?? 0) };
}

/**
 * Scores at token budgets: each budget's bundle (curve.json, written by the TLA job) scored on the
 * test split — the RA's and the MRA's scores reused, other checkpoints from the MRA array job's
 * extra children — with a paired bootstrap CI against the baseline.
 */
async function scoreCurve(deps: StepDeps, sweepId: string, run: RunPlan, targets: CbmTask[], objective: number[], baseScores: number[], mraScores: number[]) {
  const key = tlaKey(sweepId, run.runId, 'curve.json');
  const text = await deps.artifacts.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${deps.artifacts.uri(key)} is missing: the sweep asked for a budget curve and the TLA job wrote none`);
  const curve = parseJson(text, CurvePlan, deps.artifacts.uri(key));
  const bundles = await Promise.all(curve.bundles.map((_, b) => readShards(deps.artifacts, curvePrefix(sweepId, run.runId, b), run.shards)));
  for (const b of bundles) refuseInfraErrors('mra', run.runId, b.usage);
  const bundleScores = bundles.map((b) => scoresOf(targets, b.outcomes));
  const points = curve.points.map((p) => {
    const scores = p.source === 'ra' ? baseScores : p.source === 'mra' ? mraScores : bundleScores[p.bundle as number];
    const r = pairOn(baseScores, scores, objective);
    return { budget: p.budget, step: p.step, mra: r.mra, uplift: r.uplift, ci: r.ci };
  });
  const usage = bundles.flatMap((b) => b.usage);
  return { points, usage, warnings: shardWarnings('mra', usage).map((w) => w.replace(/^mra:/, 'budget curve:')) };
}

/**
 * What a run metered, by who spent it: each role's shard jobs' tokens at the RA model's price and
 * their job time at the hourly price of the run's queue (free locally); the TLA job's tokens at
 * each gateway's model price and its job time (failed attempts included); the judge's tokens at
 * the judge model's price. `total` is what the ledger settles.
 */
function runCosts(
  plan: SweepPlan,
  run: RunPlan,
  shards: { baseline: readonly ShardUsage[]; mra: readonly ShardUsage[]; curve: readonly ShardUsage[] },
  tla: TlaResult | undefined,
  failedTla: readonly FailedTlaAttempt[] = [],
): { split: CostSplit; total: number } {
  const hourly = queueUsdPerHour(plan.compute, queueFor(run.ra.model, run.cbm), plan.prices);
  const shardUsd = (us: readonly ShardUsage[]) => {
    const spend = us.map(shardSpend);
    const tokens = { promptTokens: spend.reduce((s, u) => s + u.promptTokens, 0), completionTokens: spend.reduce((s, u) => s + u.completionTokens, 0) };
    return meteredUsd(tokens, priceOf(run.ra.modelName, plan.prices)) + (spend.reduce((s, u) => s + u.wallMs, 0) / 3_600_000) * hourly;
  };
  const tlaMs = (tla?.wallMs ?? 0) + failedTla.reduce((s, a) => s + a.wallMs, 0);
  const split: CostSplit = {
    tla:
      (tla ? tlaCostUsd(tla, run, plan) : 0) +
      failedTla.reduce((s, a) => s + a.usageByModel.reduce((t, u) => t + meteredUsd(u, priceOf(u.model, plan.prices)), 0), 0) +
      (tlaMs / 3_600_000) * queueUsdPerHour(plan.compute, tlaQueueFor(run.ra.model, run.cbm), plan.prices),
    baseline: shardUsd(shards.baseline),
    mra: shardUsd(shards.mra),
    ...(shards.curve.length ? { curve: shardUsd(shards.curve) } : {}),
    ...(run.cbm.judge ? { judge: judgeUsd(plan, run, [...shards.baseline, ...shards.mra, ...shards.curve].map(shardSpend)) } : {}),
  };
  return { split, total: split.tla + split.baseline + split.mra + (split.curve ?? 0) + (split.judge ?? 0) };
}

/** The judge's tokens of a run's shards. */
function judgeTotal(shards: readonly ShardUsage[]): number {
  return shards.reduce((s, u) => s + shardSpend(u).judgeTokens, 0);
}

/** What the judge's tokens of some shards cost at the judge model's price (0 for a CBM without a judge). */
function judgeUsd(plan: SweepPlan, run: RunPlan, spend: readonly ShardSpend[]): number {
  if (!run.cbm.judge) return 0;
  return meteredUsd({ promptTokens: spend.reduce((s, u) => s + u.judgePromptTokens, 0), completionTokens: spend.reduce((s, u) => s + u.judgeCompletionTokens, 0) }, priceOf(run.cbm.judge.modelName, plan.prices));
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
  // Whatever finished, by role: baseline, MRA and budget-curve shards.
  const byRole = {
    baseline: await readFinishedShardUsage(deps.artifacts, roleOutputPrefix(sweepId, runId, 'baseline')),
    mra: await readFinishedShardUsage(deps.artifacts, roleOutputPrefix(sweepId, runId, 'mra')),
    curve: await readFinishedShardUsage(deps.artifacts, curvesPrefix(sweepId, runId)),
  };
  const usages = [...byRole.baseline, ...byRole.mra, ...byRole.curve];
  const costs = runCosts(plan, run, byRole, await readTlaResult(deps, sweepId, runId), await readFailedTlaAttempts(deps.artifacts, sweepId, runId));
  const cost = costs.total;
  // Exactly once: a retried MarkRunFailed finds the hold settled.
  await deps.scores.settleBudget(sweepId, runId, cost);
  // A job that failed on an endpoint says so in its shard marker: that cause beats Batch's "exited 1".
  const infra = usages.find((u) => hadInfraFailure(u) && u.infraFailure);
  const cause = infra?.infraFailure && !describeError(error).includes(infra.infraFailure.endpoint) ? `InfraFailureError: ${describeInfraFailure(infra.infraFailure)}; log: ${infra.log ?? 'the shard job log'}. Then: ` : '';
  await deps.scores.putRun({ ...rec, status: 'failed', updatedAt: nowIso(deps), error: (cause + describeError(error)).slice(0, 3000), reservedUsd: undefined, costUsd: cost, costs: costs.split });
  return { status: 'failed' };
}

/** FinalizeSweep: counts, the HTML report in S3, and the sweep's final status. */
export async function finalizeSweep(deps: StepDeps, input: z.infer<typeof SweepInput>): Promise<{ sweepId: string; reportKey: string; counts: Record<string, number> }> {
  const { sweepId } = SweepInput.parse(input);
  const meta = await deps.scores.getSweep(sweepId);
  if (!meta) throw new CorruptRecordError(`sweep ${sweepId} has no META item`);
  // Runs this execution left unfinished (a MarkRunFailed that kept failing, a Map that failed) say why; their ledger holds stay for a resume.
  const unfinishedNote = 'did not finish in this execution (the runs Map or MarkRunFailed failed after their retries): resume the sweep to run it';
  const runs: RunRecordT[] = [];
  for (const r of await deps.scores.listRuns(sweepId)) {
    const noted = (r.status === 'pending' || r.status === 'running') && r.error !== unfinishedNote ? { ...r, error: unfinishedNote, updatedAt: nowIso(deps) } : r;
    if (noted !== r) await deps.scores.putRun(noted);
    runs.push(noted);
  }
  const counts: Record<string, number> = {};
  for (const r of runs) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const unfinished = runs.some((r) => r.status === 'pending' || r.status === 'running');
  // A sweep with a failed run has failed as a whole (uplift exits 1), even though its other runs have scores.
  const status = unfinished ? 'interrupted' : runs.some((r) => r.status === 'failed') ? 'failed' : 'succeeded';
  const reportKey = `${sweepPrefix(sweepId)}/report/index.html`;
  const results = buildResults({ ...meta, status }, runs, await deps.scores.getBudget(sweepId));
  const details = await loadReportDetails(deps.artifacts, sweepId, results.runs.map((r) => r.runId));
  await deps.artifacts.putText(reportKey, renderReportHtml(results, details), 'text/html; charset=utf-8');
  await deps.artifacts.putText(reportKey.replace(/index\.html$/, 'results.json'), JSON.stringify(results, null, 2), 'application/json');
  await deps.scores.updateSweep(sweepId, { status, reportKey, counts, updatedAt: nowIso(deps) });
  return { sweepId, reportKey, counts };
}
