import { createHash } from 'node:crypto';
import pkg from '../../package.json';
import { cbmKind } from '../cbm/registry';
import { CorruptRecordError } from '../errors';
import { taskScore } from '../cbm/scoring';
import type { CbmTask } from '../cbm/types';
import type { ModelSpec } from '../model-spec';
import type { TaskOutcome } from '../ra/protocol';
import { hasScores, type RunRecord } from '../records';
import { OFFLINE_NOTICE } from '../report';
import { mean } from '../scoring/bootstrap';
import { shardSpend, type Role, type ShardUsage } from '../sweep/outputs';
import type { RunPlan } from '../sweep/plan';

/**
 * A run's baseline and MRA evaluations as Inspect eval logs: the `.json` log format, version 2
 * (inspect.aisi.org.uk, "Log Files" / the EvalLog API), so they open in `inspect view` and load
 * with `read_eval_log`. Field names are Inspect's; only the subset Uplift has data for is written.
 * Keys are written in EvalLog's field order (version, status, eval, plan, results, stats, error,
 * samples): Inspect reads a log's header without its samples by streaming up to `samples`.
 */

/** Inspect's ModelUsage (the fields Uplift meters). */
export interface InspectModelUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export interface InspectChatMessage {
  role: 'user' | 'assistant';
  content: string;
  source?: 'input' | 'generate';
  model?: string;
}

export interface InspectScore {
  value: number;
  answer?: string;
  explanation?: string;
}

export interface InspectEvalError {
  message: string;
  traceback: string;
  traceback_ansi: string;
}

export interface InspectSample {
  id: string;
  epoch: number;
  input: string;
  target: string;
  messages: InspectChatMessage[];
  output: { model: string; choices: { message: InspectChatMessage; stop_reason: 'stop' }[]; completion: string };
  scores?: Record<string, InspectScore>;
  metadata: Record<string, unknown>;
  total_time?: number;
  error?: InspectEvalError;
}

export interface InspectEvalScore {
  name: string;
  scorer: string;
  scored_samples: number;
  unscored_samples: number;
  params: Record<string, never>;
  metrics: Record<string, { name: string; value: number; params: Record<string, never> }>;
}

export interface InspectEvalLog {
  version: 2;
  status: 'started' | 'success' | 'error';
  eval: {
    eval_id: string;
    run_id: string;
    created: string;
    task: string;
    task_id: string;
    task_version: string;
    dataset: { name: string; location: string; samples: number; sample_ids: string[] };
    model: string;
    model_base_url?: string;
    config: { epochs: number };
    packages: Record<string, string>;
    metadata: Record<string, unknown>;
  };
  plan: { name: string; steps: { solver: string; params: Record<string, unknown> }[]; config: Record<string, never> };
  results?: { total_samples: number; completed_samples: number; scores: InspectEvalScore[] };
  stats: { started_at: string; completed_at: string; model_usage: Record<string, InspectModelUsage> };
  error?: InspectEvalError;
  samples: InspectSample[];
}

/** What one role's evaluation left: the per-task outcomes and usage of the shards that finished, and where they are. */
export interface RoleEvidence {
  /** Per-task outcomes of the finished shards (`shard-<i>.jsonl`), scores included. */
  outcomes: readonly TaskOutcome[];
  /** Usage markers of the finished shards (`shard-<i>.usage.json`). */
  usage: readonly ShardUsage[];
  /** Shards of the evaluation without a usage marker (never finished, or never ran). */
  shardsMissing: number;
  /** The outputs prefix read (a baseline may be another run's, from the baseline cache). */
  outputsPrefix: string;
  /** When the evaluation started and finished, if known (ISO 8601). */
  startedAt?: string;
  completedAt?: string;
}

/** Everything a run's results hold, as the loader (inspect-loader.ts) reads it through the ports. */
export interface RunEvalInputs {
  sweepId: string;
  /** When the sweep was planned (plan.json `createdAt`). */
  sweepCreatedAt: string;
  run: RunPlan;
  record: RunRecord;
  /** The test split in order, targets included (they stay here: samples show `target`, never in `input`). */
  tasks: readonly CbmTask[];
  /** The data set's meta (what the kind's toInput and describeTarget read). */
  meta: unknown;
  baseline: RoleEvidence;
  mra: RoleEvidence;
}

/**
 * The model name as Inspect writes it, `<provider>/<model>`: `openai/gpt-4o-mini`,
 * `vllm/llama-3.1-8b`; the offline stand-in is `uplift/offline` (provider `uplift`: it is this
 * project's, no Inspect provider serves it).
 */
export function inspectModelName(m: ModelSpec): string {
  if (m.provider === 'offline') return 'uplift/offline';
  return `${m.provider}/${m.name}`;
}

/** A stable id of 22 characters (the length of Inspect's shortuuid ids) derived from its parts. */
function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

/** An ISO time with an explicit UTC offset (`+00:00`), as Inspect writes times. */
function utc(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace(/Z$/, '+00:00');
}

/** A metric name as a scorer name: `attack failure rate` → `attack_failure_rate`. */
function scorerName(metric: string): string {
  return metric.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'score';
}

/** Standard error of the mean (sample standard deviation, n − 1, over √n), as Inspect's `stderr` metric; 0 for one value. */
function stderrOf(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const variance = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance / xs.length);
}

function usageOf(run: RunPlan, usage: readonly ShardUsage[]): Record<string, InspectModelUsage> {
  const out: Record<string, InspectModelUsage> = {};
  const add = (model: string, input: number, output: number, total: number) => {
    const u = (out[model] ??= { input_tokens: 0, output_tokens: 0, total_tokens: 0 });
    u.input_tokens += input;
    u.output_tokens += output;
    u.total_tokens += total;
  };
  // What the run pays: each shard with what its earlier attempts (retried after infrastructure errors) spent.
  const spend = usage.map(shardSpend);
  add(inspectModelName(run.ra.model), spend.reduce((s, u) => s + u.promptTokens, 0), spend.reduce((s, u) => s + u.completionTokens, 0), spend.reduce((s, u) => s + u.totalTokens, 0));
  if (run.cbm.judge && spend.some((u) => u.judgeTokens > 0))
    add(inspectModelName(run.cbm.judge.model), spend.reduce((s, u) => s + u.judgePromptTokens, 0), spend.reduce((s, u) => s + u.judgeCompletionTokens, 0), spend.reduce((s, u) => s + u.judgeTokens, 0));
  return out;
}

/** The Inspect status of a run's evaluations: `success` with scores, `error` for a failed run, `started` while it runs. */
function statusOf(record: RunRecord): InspectEvalLog['status'] {
  if (hasScores(record.status)) return 'success';
  return record.status === 'failed' || record.status === 'budget_exhausted' ? 'error' : 'started';
}

function logOf(x: RunEvalInputs, role: Role): InspectEvalLog {
  const { run, record, tasks, meta } = x;
  const ev = x[role];
  const kind = cbmKind(run.cbm.kind);
  const model = inspectModelName(run.ra.model);
  const metrics = kind.metrics(run.cbm.spec, meta);
  const objective = scorerName(metrics.objective.name);
  const guardName = metrics.guard ? scorerName(metrics.guard.name) : undefined;
  const guard = guardName === objective ? `${guardName}_guard` : guardName;
  const status = statusOf(record);
  const byId = new Map(ev.outcomes.map((o) => [o.id, o]));
  const complete = ev.shardsMissing === 0;
  if (status === 'success' && !complete) throw new CorruptRecordError(`run ${run.runId} has scores, but ${ev.shardsMissing} ${role} shard(s) under ${ev.outputsPrefix} have no usage marker: its outputs are incomplete`);

  const samples: InspectSample[] = [];
  for (const t of tasks) {
    const o = byId.get(t.id);
    // A task of a shard that never finished has no sample (a failed or unfinished run).
    if (!o && !complete) continue;
    const set = kind.setOf(t);
    const scorer = set === 'guard' && guard ? guard : objective;
    const input = JSON.stringify(kind.toInput(t, meta));
    const groups = kind.groupsOf?.(t);
    const common = { set, ...(groups && Object.keys(groups).length ? { groups } : {}) };
    const sample = { id: t.id, epoch: 1, input, target: kind.describeTarget(t, meta) };
    const user: InspectChatMessage = { role: 'user', content: input, source: 'input' };
    if (o && 'output' in o) {
      const answer: InspectChatMessage = { role: 'assistant', content: o.output, source: 'generate', model };
      const seconds = o.attempts?.reduce((s, a) => s + a.seconds, 0);
      samples.push({
        ...sample,
        messages: [user, answer],
        output: { model, choices: [{ message: answer, stop_reason: 'stop' }], completion: o.output },
        scores: { [scorer]: { value: taskScore(o), answer: o.output } },
        metadata: { outcome: 'scored', ...common, ...(o.attempts ? { attempts: o.attempts } : {}) },
        ...(seconds !== undefined ? { total_time: seconds } : {}),
      });
    } else if (o?.error === 'infra_error') {
      // Never scored: the endpoint, sandbox or job failed (the run then fails).
      samples.push({
        ...sample,
        messages: [user],
        output: { model, choices: [], completion: '' },
        metadata: { outcome: 'infra_error', cause: o.cause, ...common },
        error: { message: `infra_error: ${o.cause}`, traceback: '', traceback_ansi: '' },
      });
    } else {
      // An agent error (or a task the agent's shard has no line for) scores 0, as in the run's scores.
      const cause = o?.cause ?? 'no outcome was recorded for this task';
      samples.push({
        ...sample,
        messages: [user],
        output: { model, choices: [], completion: '' },
        scores: { [scorer]: { value: 0, explanation: `agent_error: ${cause}` } },
        metadata: { outcome: 'agent_error', cause, ...common },
      });
    }
  }

  const scoreOfSample = (s: InspectSample, name: string) => s.scores?.[name]?.value;
  const evalScores = (status === 'success' ? [objective, ...(guard ? [guard] : [])] : []).map((name): InspectEvalScore => {
    const inSet = samples.filter((s) => (s.metadata.set === 'guard' && guard ? guard : objective) === name);
    const values = inSet.flatMap((s) => {
      const v = scoreOfSample(s, name);
      return v === undefined ? [] : [v];
    });
    const key = values.every((v) => v === 0 || v === 1) ? 'accuracy' : 'mean';
    return {
      name,
      scorer: name,
      scored_samples: values.length,
      unscored_samples: inSet.length - values.length,
      params: {},
      metrics: { [key]: { name: key, value: mean(values), params: {} }, stderr: { name: 'stderr', value: stderrOf(values), params: {} } },
    };
  });

  const started = utc(ev.startedAt ?? x.sweepCreatedAt);
  const finished = status === 'started' ? '' : utc(ev.completedAt ?? record.updatedAt);
  const bundle = role === 'baseline' ? { bundle_hash: run.ra.bundleHash } : { bundle_hash: run.tla.bundleHash ?? null, mra_bundle: `sweeps/${x.sweepId}/runs/${run.runId}/tla/mra.tar.gz`, ra_bundle_hash: run.ra.bundleHash };
  const offline = run.ra.model.provider === 'offline';
  return {
    version: 2,
    status,
    eval: {
      eval_id: stableId('uplift-eval', x.sweepId, run.runId, role),
      run_id: stableId('uplift-run', x.sweepId, run.runId),
      created: started,
      task: `uplift/${run.cbm.id}`,
      task_id: stableId('uplift-task', run.cbm.id, run.cbm.datasetVersion),
      task_version: run.cbm.datasetVersion,
      dataset: { name: run.cbm.id, location: run.cbm.datasetPrefix, samples: tasks.length, sample_ids: tasks.map((t) => t.id) },
      model,
      ...(run.ra.model.provider === 'openai' && run.ra.model.baseUrl ? { model_base_url: run.ra.model.baseUrl } : {}),
      config: { epochs: 1 },
      packages: { uplift: pkg.version },
      metadata: {
        uplift_sweep_id: x.sweepId,
        uplift_run_id: run.runId,
        role,
        tla: run.tla.label,
        ra: run.ra.name,
        cbm: run.cbm.id,
        cbm_kind: run.cbm.kind,
        variant: run.variant,
        seed: run.seed,
        ...bundle,
        baseline_key: run.baselineKey,
        outputs_prefix: ev.outputsPrefix,
        run_status: record.status,
        ...(role === 'baseline' ? { baseline_cached: record.baselineCached ?? false } : {}),
        ...(metrics.guard ? { objective_metric: metrics.objective.name, guard_metric: metrics.guard.name } : { objective_metric: metrics.objective.name }),
        ...(offline ? { offline_stand_in: OFFLINE_NOTICE } : {}),
      },
    },
    plan: {
      name: 'plan',
      steps: [{ solver: role === 'baseline' ? `uplift/ra/${run.ra.name}` : `uplift/mra/${run.ra.name}/${run.tla.label}`, params: { ...bundle } }],
      config: {},
    },
    ...(status === 'success' ? { results: { total_samples: samples.length, completed_samples: samples.filter((s) => !s.error).length, scores: evalScores } } : {}),
    stats: { started_at: started, completed_at: finished, model_usage: usageOf(run, ev.usage) },
    ...(status === 'error' ? { error: { message: record.error ?? `the run ended ${record.status}`, traceback: '', traceback_ansi: '' } } : {}),
    samples,
  };
}

/**
 * A run's baseline and MRA evaluations as two Inspect eval logs (JSON log format, version 2).
 * A run with scores gives `status: "success"` logs whose `results` are the run record's means
 * (the objective's scorer first, then the guard's); a failed run gives `status: "error"` logs
 * carrying its cause in `error`, with the samples of whatever shards finished and no `results`
 * (a failure is never a score). Each sample's `input` is the agent's view of the task (the kind's
 * toInput, never the target), `target` the kind's describeTarget; an agent error scores 0 with its
 * cause in `metadata`, an infrastructure error is an unscored sample with `error`.
 */
export function inspectLogsOfRun(x: RunEvalInputs): { baseline: InspectEvalLog; mra: InspectEvalLog } {
  return { baseline: logOf(x, 'baseline'), mra: logOf(x, 'mra') };
}

/** The file name of a log, Inspect's `{timestamp}_{task}_{id}.json` pattern: e.g. `2026-01-01T10-00-00+00-00_uplift-tai-safety_<run>-baseline.json`. */
export function inspectLogFileName(log: InspectEvalLog, runId: string, role: Role): string {
  const ts = (log.eval.created || '1970-01-01T00:00:00+00:00').replace(/\.\d+/, '').replace(/:/g, '-');
  return `${ts}_${log.eval.task.replace(/[^A-Za-z0-9.-]+/g, '-')}_${runId}-${role}.json`;
}
