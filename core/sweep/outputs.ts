import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CorruptRecordError } from '../errors';
import { parseJson, parseJsonl, toJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';
import type { TaskOutcome } from '../ra/protocol';
import { OutcomeCounts } from '../records';
import { runPrefix, SweepPlan, planKey, type RunPlan } from './plan';

/** A stored per-task outcome line of `shard-<i>.jsonl`: the agent's output, or an error with its cause. */
export const StoredOutcome = z.union([
  z.object({
    id: z.string(),
    output: z.string(),
    score: z.number().min(0).max(1).optional(),
    /** A per-task kind run `attempts` times: each attempt's score and wall time (`score` is their mean). */
    attempts: z.array(z.object({ score: z.number().min(0).max(1), seconds: z.number().nonnegative() })).optional(),
  }),
  z.object({ id: z.string(), error: z.enum(['agent_error', 'infra_error']), cause: z.string() }),
]);

/** A role's tasks by outcome (`scored`: an output to score). */
export function countOutcomes(outcomes: readonly TaskOutcome[]): OutcomeCounts {
  const c = { scored: 0, agent_error: 0, infra_error: 0 };
  for (const o of outcomes) c['output' in o ? 'scored' : o.error]++;
  return c;
}

/** Outcome counts of several shards together. */
export function addCounts(...cs: readonly OutcomeCounts[]): OutcomeCounts {
  return cs.reduce((a, c) => ({ scored: a.scored + c.scored, agent_error: a.agent_error + c.agent_error, infra_error: a.infra_error + c.infra_error }), { scored: 0, agent_error: 0, infra_error: 0 });
}

/** A model endpoint that kept failing after the gateway's retries. */
export const InfraFailure = z.object({ endpoint: z.string(), status: z.number().int().nullable(), message: z.string(), calls: z.number().int() });
export type InfraFailure = z.infer<typeof InfraFailure>;

/** An endpoint failure in words: which endpoint, what it last answered, how many calls failed. */
export function describeInfraFailure(f: InfraFailure): string {
  return `the model endpoint ${f.endpoint} kept failing after retries (${f.calls} call(s); last answer: ${f.status === null ? 'no response' : `HTTP ${f.status}`}: ${f.message.slice(0, 300)})`;
}

/** `shard-<i>.usage.json`: written last by a shard job, so its presence marks the shard done. */
export const ShardUsage = z.object({
  calls: z.number().int(),
  rejected: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  tasks: z.number().int(),
  answered: z.number().int(),
  rejectedLines: z.array(z.object({ line: z.number().int(), reason: z.string(), text: z.string() })),
  isolation: z.string(),
  wallMs: z.number(),
  /** Tasks by outcome. */
  counts: OutcomeCounts,
  /** Upstream attempts the gateway retried, and calls that still failed after retries. */
  retries: z.number().int().default(0),
  upstreamFailures: z.number().int().default(0),
  /** The judge's usage, for a CBM scored by a judge model (priced at the judge's price). */
  judge: z.object({ model: z.string(), calls: z.number().int(), rejected: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int(), totalTokens: z.number().int(), retries: z.number().int(), upstreamFailures: z.number().int() }).optional(),
  /** The last persistent upstream failure, if any: its tasks are `infra_error`. */
  infraFailure: InfraFailure.optional(),
  killedFor: z.string().optional(),
  /** The agent's last stderr lines (also in the job log). */
  stderrTail: z.string().default(''),
  /** Where the job's log is (a local file, or the AWS Batch job). */
  log: z.string().optional(),
  /** What earlier attempts of this shard spent (retried after infrastructure errors): added to the run's cost. */
  earlier: z
    .object({
      attempts: z.number().int(),
      promptTokens: z.number().int(),
      completionTokens: z.number().int(),
      totalTokens: z.number().int(),
      wallMs: z.number(),
      judgePromptTokens: z.number().int().default(0),
      judgeCompletionTokens: z.number().int().default(0),
      judgeTokens: z.number().int().default(0),
    })
    .optional(),
});
export type ShardUsage = z.infer<typeof ShardUsage>;

/** Sandbox levels whose agents share the host's network (core/sandbox.ts): loopback services are within their reach. */
export function isWithoutNetworkIsolation(level: string): boolean {
  return level !== 'bwrap' && level !== 'bwrap-userns';
}

/** True when a shard's model calls failed after retries or tasks were left unanswered by infrastructure: it is never scored or cached. */
export function hadInfraFailure(u: ShardUsage): boolean {
  return u.counts.infra_error > 0 || u.upstreamFailures > 0 || u.infraFailure !== undefined;
}

/** What a shard spent including its earlier attempts: the RA model's tokens, the judge's tokens, job time. */
export interface ShardSpend {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  wallMs: number;
  judgePromptTokens: number;
  judgeCompletionTokens: number;
  judgeTokens: number;
}

/** A shard's spend including its earlier attempts: what the run pays for it. */
export function shardSpend(u: ShardUsage): ShardSpend {
  const e = u.earlier;
  return {
    promptTokens: u.promptTokens + (e?.promptTokens ?? 0),
    completionTokens: u.completionTokens + (e?.completionTokens ?? 0),
    totalTokens: u.totalTokens + (e?.totalTokens ?? 0),
    wallMs: u.wallMs + (e?.wallMs ?? 0),
    judgePromptTokens: (u.judge?.promptTokens ?? 0) + (e?.judgePromptTokens ?? 0),
    judgeCompletionTokens: (u.judge?.completionTokens ?? 0) + (e?.judgeCompletionTokens ?? 0),
    judgeTokens: (u.judge?.totalTokens ?? 0) + (e?.judgeTokens ?? 0),
  };
}

/** `tla/result.json`: written last by the TLA job. */
export const TlaResult = z.object({
  tla: z.string(),
  usage: z.object({ calls: z.number().int(), rejected: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int(), totalTokens: z.number().int() }),
  checkpoints: z.array(z.object({ step: z.number().int(), tokens: z.number().int(), devScore: z.number(), accepted: z.boolean(), key: z.string().optional(), sha256: z.string().optional(), note: z.string().optional() })),
  stopReason: z.string(),
  isolation: z.string(),
  wallMs: z.number(),
  changedFiles: z.array(z.string()),
  /** Usage per gateway: `ra` (evaluations of the bundle, on the RA's model), `tla` (the TLA's own model) and `judge` (scoring dev evaluations). */
  usageByModel: z.array(z.object({ gateway: z.enum(['ra', 'tla', 'judge']), model: z.string(), calls: z.number().int(), rejected: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int(), totalTokens: z.number().int() })).default([]),
  /** Stronger sandbox levels that were not available, and why. */
  isolationFallbacks: z.array(z.string()).default([]),
  /** Model endpoints that kept failing after retries during the TLA's work (its dev evaluations may be off; test scores are not). */
  infraFailures: z.array(InfraFailure).default([]),
  /** Why the MRA bundle the TLA left is not valid (its test tasks are then agent errors, scored 0). */
  invalidMra: z.array(z.string()).optional(),
});
export type TlaResult = z.infer<typeof TlaResult>;

/** `tla/failed-attempts/<id>.json`: what a TLA job attempt that failed had spent (a retried or failed TLA job is paid for too). */
export const FailedTlaAttempt = z.object({ usageByModel: TlaResult.shape.usageByModel, wallMs: z.number(), error: z.string() });
export type FailedTlaAttempt = z.infer<typeof FailedTlaAttempt>;

export const tlaFailedAttemptKey = (sweepId: string, runId: string, id: string) => `${runPrefix(sweepId, runId)}/tla/failed-attempts/${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/** Every failed TLA attempt of a run, oldest first. */
export async function readFailedTlaAttempts(store: ArtifactStore, sweepId: string, runId: string): Promise<FailedTlaAttempt[]> {
  const keys = await store.list(`${runPrefix(sweepId, runId)}/tla/failed-attempts/`);
  const out: FailedTlaAttempt[] = [];
  for (const k of keys) out.push(parseJson((await store.getText(k)) as string, FailedTlaAttempt, store.uri(k)));
  return out;
}

export type Role = 'baseline' | 'mra';

/**
 * `tla/curve.json`, written by the TLA job when the sweep asks for a budget curve: at each token
 * budget, which bundle the TLA had (`ra`: none accepted yet; `mra`: the one it submitted;
 * `bundle`: a distinct earlier checkpoint, evaluated by the MRA array job's extra children).
 */
export const CurvePlan = z.object({
  points: z.array(z.object({ budget: z.number().int(), source: z.enum(['ra', 'mra', 'bundle']), bundle: z.number().int().optional(), step: z.number().int().nullable() })),
  bundles: z.array(z.object({ step: z.number().int(), key: z.string() })),
});
export type CurvePlan = z.infer<typeof CurvePlan>;

/** Where the shards of curve bundle `b` go. */
/** Where a run's budget-curve evaluations go: one folder per checkpoint bundle (curvePrefix). */
export const curvesPrefix = (sweepId: string, runId: string) => `${runPrefix(sweepId, runId)}/curve`;
export const curvePrefix = (sweepId: string, runId: string, b: number) => `${curvesPrefix(sweepId, runId)}/${b}`;

/**
 * What went wrong in a role's shards, in words: tasks without output (agent errors, scored as
 * failures), agents that crashed or hit their wall clock, calls the gateway refused, malformed
 * output lines, upstream retries. Empty when all is well.
 */
export function shardWarnings(role: Role, usage: readonly ShardUsage[], runId?: string): string[] {
  const w: string[] = [];
  const tasks = usage.reduce((s, u) => s + u.tasks, 0);
  const counts = addCounts(...usage.map((u) => u.counts));
  if (counts.agent_error) w.push(`${role}: ${counts.agent_error} of ${tasks} tasks ended in agent errors (no or malformed output, crash, own limit), scored as failures`);
  const crashed = usage.filter((u) => u.exitCode !== 0 && !u.timedOut);
  if (crashed.length) w.push(`${role}: the agent exited with code ${[...new Set(crashed.map((u) => u.exitCode))].join('/')} in ${crashed.length} of ${usage.length} shards (their transcripts and job logs: ${runId ? `\`uplift artifacts ${runId} --out <dir>\`` : '`uplift artifacts <run> --out <dir>`'} locally, the job log group's streams on the stack)`);
  const timedOut = usage.filter((u) => u.timedOut).length;
  if (timedOut) w.push(`${role}: ${timedOut} shard(s) hit the wall-clock limit (budgets.shardWallSeconds)`);
  const refused = usage.reduce((s, u) => s + u.rejected, 0);
  if (refused) w.push(`${role}: the gateway refused ${refused} call(s): the shard token budget (budgets.shardTokens) was spent`);
  const bad = usage.reduce((s, u) => s + u.rejectedLines.length, 0);
  if (bad) w.push(`${role}: ${bad} output line(s) were malformed, repeated or named unknown tasks`);
  const retries = usage.reduce((s, u) => s + u.retries, 0);
  if (retries) w.push(`${role}: the gateway retried ${retries} failed upstream attempt(s); every call it retried then succeeded`);
  const exposed = [...new Set(usage.map((u) => u.isolation).filter(isWithoutNetworkIsolation))];
  if (exposed.length) w.push(`${role}: agents ran at sandbox level ${exposed.join('/')}, which does not isolate the network or the filesystem: any service on this machine's network and any file a fresh uid may read (a world-readable data set passed to the sweep among them: its test labels) were within their reach; the embedded S3 and DynamoDB refuse requests without the harness's key. Install bubblewrap (README, The sandbox) for isolated agents`);
  const again = usage.filter((u) => u.earlier).length;
  if (again) w.push(`${role}: ${again} shard(s) were run again after infrastructure errors (their earlier spend is included)`);
  return w;
}

/** `tasks.jsonl` of a scored run: every test task's baseline and MRA outcome side by side (the report's per-task view). */
export const runTasksKey = (sweepId: string, runId: string) => `${runPrefix(sweepId, runId)}/tasks.jsonl`;
/** What a per-task row keeps of an agent's output (the whole output stays in the shard's JSONL). */
export const TASK_OUTPUT_CHARS = 4000;
const TaskSide = z.object({ score: z.number(), output: z.string().optional(), truncated: z.boolean().optional(), error: z.string().optional(), cause: z.string().optional() });
/** One line of `tasks.jsonl`. */
export const TaskRow = z.object({
  id: z.string(),
  set: z.enum(['objective', 'guard']),
  label: z.string().optional(),
  groups: z.record(z.string(), z.string()).optional(),
  /** What the agent was given (its input without the id, as JSON, cut at TASK_OUTPUT_CHARS). */
  input: z.string().optional(),
  /** The target in words (the kind's describeTarget), for a reader of the report. */
  target: z.string(),
  baseline: TaskSide,
  mra: TaskSide,
});
export type TaskRow = z.infer<typeof TaskRow>;

/** A task's side of a per-task row: its score and its output (cut at TASK_OUTPUT_CHARS) or its error. */
export function taskSide(o: TaskOutcome | undefined, score: number): z.infer<typeof TaskSide> {
  if (!o) return { score, error: 'no_output', cause: 'no outcome was recorded for this task' };
  if ('error' in o) return { score, error: o.error, cause: o.cause.slice(0, TASK_OUTPUT_CHARS) };
  return { score, output: o.output.slice(0, TASK_OUTPUT_CHARS), ...(o.output.length > TASK_OUTPUT_CHARS ? { truncated: true } : {}) };
}

export const shardOutputKey = (prefix: string, i: number) => `${prefix}/shard-${i}.jsonl`;
export const shardUsageKey = (prefix: string, i: number) => `${prefix}/shard-${i}.usage.json`;
export const shardTranscriptKey = (prefix: string, i: number) => `${prefix}/shard-${i}.transcript.jsonl`;
export const tlaKey = (sweepId: string, runId: string, file: 'transcript.jsonl' | 'mra.tar.gz' | 'mra.diff' | 'result.json' | 'curve.json') => `${runPrefix(sweepId, runId)}/tla/${file}`;
export const roleOutputPrefix = (sweepId: string, runId: string, role: Role) => `${runPrefix(sweepId, runId)}/${role}`;

export async function writeShard(store: ArtifactStore, prefix: string, i: number, outcomes: TaskOutcome[], usage: ShardUsage): Promise<void> {
  await store.putText(shardOutputKey(prefix, i), toJsonl(outcomes), 'application/x-ndjson');
  await store.putText(shardUsageKey(prefix, i), JSON.stringify(usage, null, 2), 'application/json');
}

/** All outcomes and usage of a role's shards; a shard without its usage marker is an error (the job never finished). */
export async function readShards(store: ArtifactStore, prefix: string, shards: number): Promise<{ outcomes: TaskOutcome[]; usage: ShardUsage[]; digests: string[] }> {
  const outcomes: TaskOutcome[] = [];
  const usage: ShardUsage[] = [];
  const digests: string[] = [];
  for (let i = 0; i < shards; i++) {
    const u = await store.getText(shardUsageKey(prefix, i));
    const o = await store.getText(shardOutputKey(prefix, i));
    if (u === undefined || o === undefined) throw new CorruptRecordError(`${store.uri(shardUsageKey(prefix, i))} is missing: shard ${i} of ${prefix} never finished`);
    usage.push(parseJson(u, ShardUsage, store.uri(shardUsageKey(prefix, i))));
    outcomes.push(...parseJsonl(o, StoredOutcome, store.uri(shardOutputKey(prefix, i))));
    digests.push(shardDigest(o, u));
  }
  return { outcomes, usage, digests };
}

/** What a shard's outputs and marker hash to: RecordBaseline keeps it in the score store, where no job can write, and ScoreRun checks it. */
export function shardDigest(output: string, usage: string): string {
  return createHash('sha256').update(output).update('\u0000').update(usage).digest('hex');
}

/**
 * Refuses a cached baseline whose shards changed after RecordBaseline hashed them (a job with the
 * bucket's write access rewrote them): scoring against them would score a forged baseline.
 */
export function checkBaselineDigests(store: ArtifactStore, prefix: string, expected: readonly string[] | undefined, found: readonly string[]): void {
  if (!expected) return; // a baseline recorded before digests were kept
  const changed = found.flatMap((d, i) => (d === expected[i] ? [] : [i]));
  if (changed.length || expected.length !== found.length)
    throw new CorruptRecordError(
      `the cached baseline's shard(s) ${changed.join(', ') || '(count)'} under ${store.uri(prefix)} changed after RecordBaseline hashed them: they were rewritten, so nothing is scored against them. Fix: clear the cached baseline (uplift cache clear) and resume the sweep to compute it again`,
    );
}

/** Usage of whatever shards of a role finished (for settling a failed run's spend). */
export async function readFinishedShardUsage(store: ArtifactStore, prefix: string): Promise<ShardUsage[]> {
  const keys = (await store.list(prefix + '/')).filter((k) => k.endsWith('.usage.json'));
  const out: ShardUsage[] = [];
  for (const k of keys) out.push(parseJson((await store.getText(k)) as string, ShardUsage, store.uri(k)));
  return out;
}

/** The usage marker of a shard, if it exists. */
export async function readShardUsage(store: ArtifactStore, prefix: string, i: number): Promise<ShardUsage | undefined> {
  const text = await store.getText(shardUsageKey(prefix, i));
  return text === undefined ? undefined : parseJson(text, ShardUsage, store.uri(shardUsageKey(prefix, i)));
}

/** A run of a sweep's plan (the plan read as readPlan does); a run id not in it is a CorruptRecordError. */
export async function readRun(store: ArtifactStore, sweepId: string, runId: string): Promise<{ plan: SweepPlan; run: RunPlan }> {
  const plan = await readPlan(store, sweepId);
  const run = plan.runs.find((r) => r.runId === runId);
  if (!run) throw new CorruptRecordError(`run ${runId} is not in the plan of sweep ${sweepId}`);
  return { plan, run };
}

const planCache = new Map<string, SweepPlan>();

/** Reads `plan.json` (cached per process: a plan never changes once written). */
export async function readPlan(store: ArtifactStore, sweepId: string): Promise<SweepPlan> {
  const key = planKey(sweepId);
  const cached = planCache.get(store.uri(key));
  if (cached) return cached;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: PlanSweep has not run for sweep ${sweepId}`);
  const plan = parseJson(text, SweepPlan, store.uri(key));
  planCache.set(store.uri(key), plan);
  return plan;
}
