import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMeta, readSplit } from '../cbm/dataset';
import { gatewayJudge } from '../cbm/judge';
import { cbmKind } from '../cbm/registry';
import { scoreOutcomes } from '../cbm/scoring';
import { CorruptRecordError, InfraFailureError, SpecError } from '../errors';
import type { ModelGateway } from '../gateway/gateway';
import { jobGateway } from '../gateway/upstream';
import { agentLines } from '../terminal-text';
import type { ArtifactStore } from '../ports';
import { fetchBundle, readManifest, unpackBundle, type AgentManifest } from '../ra/bundle';
import { invalidBundleResult, runAgentOnTasks, type TaskOutcome } from '../ra/protocol';
import { allowTraversal, detectIsolation, jobGpus, removeTree } from '../sandbox';
import { runKindPerTask } from '../ra/per-task';
import { TranscriptWriter } from '../transcript';
import { shardRange } from '../sweep/plan';
import type { CbmKind, CbmTask } from '../cbm/types';
import type { RunCbm } from '../sweep/plan';
import { countOutcomes, CurvePlan, type InfraFailure, curvePrefix, describeInfraFailure, hadInfraFailure, readRun, readShardUsage, roleOutputPrefix, shardSpend, shardTranscriptKey, tlaKey, writeShard } from '../sweep/outputs';
import { parseJson } from '../jsonl';
import { jobIndex, jobLogLocation, parsePlanUri, type JobEnv, type JobSummary } from './env';
import { pullTaskRoot, useTaskRoot } from '../images/task-root';
import type { PullOptions } from '../images/pull';

/** What the job's composition root gives it (batch-images/jobs/ra-shard-image.ts). */
export interface RaShardDeps {
  /** How an image job pulls its task's image: the registry's credentials (ECR's, from the job role; anonymous without), limits. */
  readonly imagePull?: PullOptions;
}

/**
 * The `ra-shard` job: one shard of the test split through the RA (role `baseline`) or the MRA
 * (role `mra`), every model call through a gateway with the shard's token budget. Outputs go to
 * deterministic keys; a shard whose usage marker exists is skipped, so retries and resumes
 * never redo or duplicate work.
 */
export async function runRaShard(store: ArtifactStore, env: JobEnv, processEnv: Record<string, string | undefined>, deps: RaShardDeps = {}): Promise<JobSummary> {
  if (env.UPLIFT_ROLE === 'tla') throw new Error('runRaShard got role tla');
  const role = env.UPLIFT_ROLE;
  const index = jobIndex(env);
  const { sweepId } = parsePlanUri(env.UPLIFT_PLAN_URI);
  const { plan, run } = await readRun(store, sweepId, env.UPLIFT_RUN_ID);
  // MRA array children past the MRA's own shards evaluate budget-curve bundles, shard by shard.
  const children = role === 'mra' ? run.shards * (1 + (plan.budgetCurve?.length ?? 0)) : run.shards;
  if (index >= children) throw new CorruptRecordError(`array index ${index} is out of range: run ${run.runId} has ${children} ${role} jobs`);
  const shard = index % run.shards;
  const curveBundle = index >= run.shards ? Math.floor(index / run.shards) - 1 : undefined;
  const summary = (skipped: boolean, tokens: number, tasks?: number): JobSummary => ({ uplift: 'job-summary', role, runId: run.runId, index, skipped, tokens, tasks });
  let curveKey: string | undefined;
  if (curveBundle !== undefined) {
    const text = await store.getText(tlaKey(sweepId, run.runId, 'curve.json'));
    const curve = text === undefined ? undefined : parseJson(text, CurvePlan, store.uri(tlaKey(sweepId, run.runId, 'curve.json')));
    // Fewer distinct bundles than budgets: this child has nothing to evaluate.
    if (!curve || curveBundle >= curve.bundles.length) return summary(true, 0);
    curveKey = curve.bundles[curveBundle].key;
  }
  const prefix = curveBundle === undefined ? roleOutputPrefix(sweepId, run.runId, role) : curvePrefix(sweepId, run.runId, curveBundle);
  // A finished shard is skipped; one that ended with infrastructure errors is run again, and what
  // its earlier attempts spent is carried into the new marker (the run pays for it).
  const previous = await readShardUsage(store, prefix, shard);
  if (previous && !hadInfraFailure(previous)) return summary(true, 0);
  const earlier = previous ? { attempts: (previous.earlier?.attempts ?? 0) + 1, ...shardSpend(previous) } : undefined;

  const scratch = mkdtempSync(join(env.UPLIFT_SCRATCH ?? tmpdir(), `uplift-${role}-${index}-`));
  // The gateway socket's path must stay short (Unix sockets allow ~107 bytes).
  const socketDir = mkdtempSync(join(tmpdir(), 'uplift-gw-'));
  let restoreTaskRoot: (() => void) | undefined;
  try {
    // The sandbox's uid may traverse the scratch dir to its bundle; what the harness keeps is in a private subdirectory.
    allowTraversal(scratch);
    const own = join(scratch, 'harness');
    mkdirSync(own, { mode: 0o700 });
    const bundleDir = join(scratch, 'bundle');
    if (role === 'baseline') await fetchBundle(store, run.ra.bundleHash, bundleDir);
    else {
      const key = curveKey ?? tlaKey(sweepId, run.runId, 'mra.tar.gz');
      const bytes = await store.getBytes(key);
      if (!bytes) throw new CorruptRecordError(`${store.uri(key)} is missing: the TLA job has not produced this bundle`);
      unpackBundle(bytes, bundleDir);
    }
    // An MRA whose agent.yaml the TLA broke cannot run: its tasks are agent errors (scored 0), not a failed job.
    let manifest: AgentManifest | undefined;
    let invalid: string[] | undefined;
    try {
      manifest = readManifest(bundleDir);
    } catch (e) {
      if (role === 'mra' && e instanceof SpecError) invalid = e.problems;
      else throw e;
    }
    const kind = cbmKind(run.cbm.kind);
    const meta = await readMeta(store, run.cbm.datasetPrefix, kind);
    const [start, end] = shardRange(run, shard);
    // Targets stay here, in the harness: the agent gets inputs only, and its outputs are scored here.
    const targets = (await readSplit(store, run.cbm.datasetPrefix, 'test', kind)).slice(start, end);
    const tasks = targets.map((t) => kind.toInput(t, meta));
    // An image job: its task's image, pulled here without running any of it, is the system of the task's sandboxes.
    const taskRoot = await pullTaskRoot(processEnv, targets.map((t) => kind.taskImage?.(t)), scratch, deps.imagePull);
    if (taskRoot) restoreTaskRoot = useTaskRoot(taskRoot);
    const transcriptPath = join(own, 'transcript.jsonl');
    const transcript = new TranscriptWriter(transcriptPath);
    // A shard run again after infrastructure errors gets what its earlier attempts left of the shard budget, never a fresh one.
    const tokenBudget = Math.max(0, plan.budgets.shardTokens - (earlier?.totalTokens ?? 0));
    const gateway = jobGateway(run.ra.model, processEnv, { tokenBudget, transcript });
    const baseUrl = await gateway.start();
    const socketPath = join(socketDir, 'gateway.sock');
    let result;
    try {
      await gateway.listenUnix(socketPath);
      const level = detectIsolation(processEnv).level;
      const agentEnv = { ...gateway.agentEnv(baseUrl), UPLIFT_CONCURRENCY: String(plan.concurrency.requests) };
      result = invalid || !manifest
        ? invalidBundleResult(tasks, invalid ?? [], level)
        : kind.perTask
          ? await runKindPerTask({
              kind,
              meta,
              spec: run.cbm.spec,
              tasks: targets,
              bundleDir,
              entrypoint: manifest.entrypoint,
              scratch: perTaskDir(scratch),
              env: agentEnv,
              sandbox: { gateway: { baseUrl, socketPath }, level },
              // The kind's own needs, then each task's wall clock (within what is left of the shard's).
              limitsFor: (wallMs) => ({ ...run.cbm.compute.limits, wallMs: Math.max(1000, wallMs) }),
              deadline: Date.now() + plan.budgets.shardWallSeconds * 1000,
              defaultTaskWallMs: plan.budgets.shardWallSeconds * 1000,
              attempts: Number(run.cbm.spec.attempts ?? 1),
              // Each task's own share of the shard's budget; a CBM on the GPU queue gets the job's GPUs (none found: CPU).
              tokens: { gateway, shardTokens: plan.budgets.shardTokens, tasksPerShard: run.tasksPerShard },
              gpus: run.cbm.compute.queue === 'gpu' ? jobGpus(processEnv) : undefined,
              transcript,
            })
          : await runAgentOnTasks({
        bundleDir,
        entrypoint: manifest.entrypoint,
        tasks,
        env: agentEnv,
        // The kind's own needs (more memory, disk, …), then the shard's wall clock.
        limits: { ...run.cbm.compute.limits, wallMs: plan.budgets.shardWallSeconds * 1000 },
        // The sandbox gets the bundle and the gateway; the targets stay in this process.
        sandbox: { gateway: { baseUrl, socketPath }, level },
      });
    } finally {
      await gateway.stop();
    }
    // Scoring, in this process: a CBM with a judge asks it through its own gateway and budget
    // (tasks × judge.tokensPerTask, less what earlier attempts spent); its key never reaches the agent.
    let judged: { outcomes: TaskOutcome[]; gateway?: ModelGateway };
    try {
      judged = await scoreShard(run.cbm, kind, meta, targets, result.outcomes, transcript, processEnv, plan.concurrency.requests, earlier?.judgeTokens ?? 0);
    } finally {
      await transcript.close();
    }
    const { retries, upstreamFailures, ...usage } = gateway.usage;
    const judgeUsage = judged.gateway ? { model: run.cbm.judge?.modelName ?? judged.gateway.model, ...judged.gateway.usage } : undefined;
    const judgeInfra = judged.gateway ? judgeFailure(judged.gateway, judged.outcomes) : undefined;
    // A shard run again after infrastructure errors may find its budget spent by the failed attempts:
    // tasks it then leaves unanswered are the endpoint's doing, never the agent's, and never scored.
    const budgetLostToInfra = earlier !== undefined && usage.rejected > 0;
    const infraFailure =
      gateway.infraFailure ??
      judgeInfra ??
      (budgetLostToInfra
        ? { endpoint: gateway.endpoint, status: null, message: `the earlier attempts of this shard, cut short by the endpoint's failures, spent ${earlier.totalTokens} of the shard's ${plan.budgets.shardTokens} tokens, so this attempt could not answer every task`, calls: usage.rejected }
        : undefined);
    // Tasks left without output while the endpoint kept failing were never answered: infrastructure, not the agent.
    const outcomes: TaskOutcome[] = infraFailure
      ? judged.outcomes.map((o) => ('output' in o ? o : { id: o.id, error: 'infra_error' as const, cause: describeInfraFailure(infraFailure) }))
      : judged.outcomes;
    const counts = countOutcomes(outcomes);
    await store.putBytes(shardTranscriptKey(prefix, shard), readFileSync(transcriptPath), 'application/x-ndjson');
    await writeShard(store, prefix, shard, outcomes, {
      ...usage,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      ...(result.killedFor ? { killedFor: result.killedFor } : {}),
      tasks: tasks.length,
      answered: counts.scored,
      rejectedLines: result.rejectedLines.slice(0, 50),
      isolation: result.isolation,
      wallMs: result.wallMs,
      counts,
      retries,
      upstreamFailures,
      ...(judgeUsage ? { judge: judgeUsage } : {}),
      ...(infraFailure ? { infraFailure } : {}),
      stderrTail: result.stderrTail.slice(-2000),
      log: jobLogLocation(env),
      ...(earlier ? { earlier } : {}),
    });
    // The agent's words, marked as its own and made inert (no control characters), in the job's log.
    if (result.exitCode !== 0) process.stderr.write(`agent exited with ${result.exitCode}${result.timedOut ? ' (wall-clock limit)' : ''}; stderr tail:\n${agentLines(result.stderrTail)}\n`);
    // Any call that failed after retries fails the shard, even when the agent answered every task: an
    // agent may fall back to a default answer on errors, which would score a down endpoint as a result.
    // The job fails, so Batch runs the shard again; if the endpoint stays down the run fails with this cause.
    if (infraFailure)
      throw new InfraFailureError(
        `${role} shard ${shard} of run ${run.runId}: ${upstreamFailures + (judgeUsage?.upstreamFailures ?? 0)} model call(s) failed after retries (${counts.infra_error} of ${tasks.length} tasks got no answer) because ${describeInfraFailure(infraFailure)}`,
      );
    return summary(false, usage.totalTokens, tasks.length);
  } finally {
    restoreTaskRoot?.();
    // removeTree copes with trees deeper than PATH_MAX, which an agent can leave in its bundle dir.
    removeTree(scratch);
    rmSync(socketDir, { recursive: true, force: true });
  }
}

/** Scores a shard's outcomes with its kind's scorer; a CBM with a judge gets one, behind a gateway on the judge's shard budget. */
async function scoreShard(
  cbm: RunCbm,
  kind: CbmKind,
  meta: unknown,
  targets: CbmTask[],
  outcomes: TaskOutcome[],
  transcript: TranscriptWriter,
  processEnv: Record<string, string | undefined>,
  concurrency: number,
  judgeSpentBefore: number,
): Promise<{ outcomes: TaskOutcome[]; gateway?: ModelGateway }> {
  if (!cbm.judge) return { outcomes: await scoreOutcomes({ kind, spec: cbm.spec, meta, tasks: targets, outcomes, concurrency }) };
  const budget = Math.max(0, targets.length * cbm.judge.tokensPerTask - judgeSpentBefore);
  const gateway = jobGateway(cbm.judge.model, processEnv, { tokenBudget: budget, transcript, name: 'judge' });
  const url = await gateway.start();
  try {
    const judge = gatewayJudge(gateway, url, cbm.judge.tokensPerTask);
    return { outcomes: await scoreOutcomes({ kind, spec: cbm.spec, meta, tasks: targets, outcomes, judge, concurrency }), gateway };
  } finally {
    await gateway.stop();
  }
}

/** The judge's failure, when tasks could not be judged: its endpoint's last failure, else the first cause a task recorded. */
function judgeFailure(gateway: ModelGateway, outcomes: readonly TaskOutcome[]): InfraFailure | undefined {
  const failed = outcomes.filter((o) => 'error' in o && o.error === 'infra_error');
  if (!failed.length) return undefined;
  if (gateway.infraFailure) return { ...gateway.infraFailure, message: `judge: ${gateway.infraFailure.message}` };
  const first = failed[0] as { cause: string };
  return { endpoint: gateway.endpoint, status: null, message: `judge: ${first.cause}`, calls: failed.length };
}

/** Where a per-task shard makes its tasks' workspaces: inside the scratch dir, traversable by the sandbox's uid. */
function perTaskDir(scratch: string): string {
  const dir = join(scratch, 'tasks');
  mkdirSync(dir);
  allowTraversal(dir);
  return dir;
}
