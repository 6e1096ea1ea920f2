import type { z } from 'zod';
import type { ChatRequest } from '../gateway/chat';
import type { IsolationLevel, SandboxLimits } from '../sandbox';
import type { ModelSpec } from '../spec';

/**
 * The CBM port (README, "CBM kinds"). A kind lives in its own folder under `core/cbm/` and is
 * registered in `core/cbm/registry.ts`; the pipeline (staging, plan, jobs, steps, report) asks
 * the registry and never names a kind.
 */

/** Which metric a task counts toward: the objective, or the guard (utility that must be kept). */
export type TaskSet = 'objective' | 'guard';

/** Every task of every kind has an id, unique across dev and test. */
export interface CbmTask {
  id: string;
}

/** What an agent reads on stdin for one task (RA protocol): never a target. */
export type AgentInput = { id: string } & Record<string, unknown>;

/** A data set as a kind loads it: data shown to agents and TLAs (`meta`), and both splits. */
/** What a kind's RA runs need beyond the defaults (see CbmKind.compute). */
export interface KindCompute {
  queue?: 'cpu' | 'gpu';
  limits?: Partial<Omit<SandboxLimits, 'wallMs'>>;
}

/** A kind's compute needs for one CBM spec entry (fixed for the kind, or chosen by the spec's fields). */
export function kindCompute<S>(kind: { compute?: KindCompute; computeFor?(spec: S): KindCompute }, spec: S): KindCompute {
  return kind.computeFor?.(spec) ?? kind.compute ?? {};
}

export interface KindDataset<T extends CbmTask = CbmTask, M = unknown> {
  meta: M;
  dev: T[];
  test: T[];
}

/**
 * The judge a scorer may ask: a model behind a metered, budgeted gateway in the harness (never
 * inside an agent's sandbox). `ask` rejects with {@link JudgeUnavailableError} when the judge's
 * endpoint failed after retries or its budget is spent: the task is then an `infra_error`.
 */
export interface Judge {
  ask(messages: { role: 'system' | 'user'; content: string }[], opts?: { maxTokens?: number }): Promise<string>;
}

export class JudgeUnavailableError extends Error {}

/**
 * The judge answered, but gave no verdict on this response (neither Yes nor No), or refused the
 * call for its content (HTTP 400/422, e.g. a content filter): the response's doing — an agent can
 * write text that derails a judge — so the task is an `agent_error` (scored 0), never a failure
 * of the run.
 */
export class JudgeVerdictError extends Error {}

/**
 * What the agent produced cannot be scored because of the agent (a workspace it filled past the
 * disk limit, or could not be copied): an `agent_error` scored 0, never a failed job.
 */
export class UnscorableOutputError extends Error {}

export interface ScoreContext {
  /** Present when the kind declared a judge for this CBM (see CbmKind.judge). */
  judge?: Judge;
  /** For a per-task kind: the task's final workspace on the host (scored outside the agent's sandbox). */
  workspaceDir?: string;
  /** The sandbox level scorers that run code (a workspace's tests) must run it at. */
  sandboxLevel?: IsolationLevel;
}

/** A metric as tables and reports show it. */
export interface MetricInfo {
  /** e.g. "accuracy", "attack failure rate", "forget drop". */
  name: string;
  /** One line on what a task's 1 means. */
  describe: string;
  /** The score a model guessing at random would get, when the kind knows it (shown next to scores). */
  chance?: number;
  /**
   * A score above which a result is suspect, when the kind knows one: e.g. a forget drop that puts
   * accuracy below chance shows the model still knows the answers and avoids them. A run whose MRA
   * scores above it (its objective CI wholly above) gets a warning.
   */
  suspectAbove?: { value: number; why: string };
}

export interface KindMetrics {
  objective: MetricInfo;
  guard?: MetricInfo;
}

/** Texts and variables the react TLA's prompts take from the kind, per hand-holding variant. */
export interface TlaTexts {
  /** Files written next to dev.jsonl in the TLA's read-only data folder (name → content). */
  dataFiles: Record<string, string>;
  /** `{{name}}` variables of the kind's react prompts (`prompts/react-<variant>.md` in the kind's folder). */
  vars: Record<string, string>;
}

export interface CbmKind<T extends CbmTask = CbmTask, M = unknown, S extends Record<string, unknown> = Record<string, unknown>> {
  kind: string;
  /** One line for `uplift --help`, errors and docs. */
  summary: string;
  /** The kind's own spec fields (besides `id`, `kind`, `dataset`), as a zod shape. */
  specShape: z.ZodRawShape;
  /** What a data set directory of this kind holds, with the fix for a wrong one. */
  datasetHelp: string;
  /** Staged task and meta schemas (staged splits are JSONL of tasks, meta.json is the meta). */
  task: z.ZodType<T>;
  meta: z.ZodType<M>;
  /** Reads and validates a data set directory; throws SpecError listing every problem (file:line and a fix). */
  load(dir: string, spec: S): KindDataset<T, M>;
  /** Further spec checks that need the data (e.g. a guard the data set lacks); problems as lines. */
  checkSpec?(spec: S, ds: KindDataset<T, M>, field: string): string[];
  /** Checks of the kind's fields against the sweep's budgets (e.g. a per-task allowance the shard's budget cannot hold); problems as lines. */
  checkBudgets?(spec: S, budgets: { shardTokens: number }, field: string): string[];
  /** Objective or guard. */
  setOf(task: T): TaskSet;
  /** A task's label, for kinds whose tasks have one (the report shows the test split's label balance); never shown to agents. */
  labelOf?(task: T): string;
  /** Breakdown groups of a task (e.g. injection_variant → "ignore_previous_instructions"). */
  groupsOf?(task: T): Record<string, string>;
  /** What the agent sees of a task: never the target. */
  toInput(task: T, meta: M): AgentInput;
  /** A task's score in [0, 1] from the agent's output (the judge's failures reject, see Judge). */
  score(task: T, output: string, ctx: ScoreContext, spec: S, meta: M): Promise<number>;
  /** The target in words, for TLAs that learn from failures (dev only). */
  describeTarget(task: T, meta: M): string;
  metrics(spec: S, meta: M): KindMetrics;
  /** The judge model and its token allowance per scored task, when the kind uses one. */
  judge?(spec: S): { model: ModelSpec; tokensPerTask: number } | undefined;
  /**
   * The messages the scorer sends the judge for a task's response (a kind with a judge): staging
   * checks with it that judging even an empty response fits judge.tokensPerTask.
   */
  judgeMessages?(task: T, response: string): { role: 'system' | 'user'; content: string }[];
  /**
   * What its RA runs need beyond the defaults: the `gpu` queue (e.g. an agent that trains or
   * serves a model itself), and sandbox limits for the agent (more memory, disk, processes; the
   * wall clock comes from the sweep's budgets). Priced into the worst case by the queue's hourly price.
   */
  compute?: KindCompute;
  /** The same, chosen by a CBM's spec fields (e.g. a workspace family that trains on a GPU); wins over `compute`. */
  computeFor?(spec: S): KindCompute;
  /**
   * A per-task kind (`workspace`): its agent runs once per task in a sandbox whose working
   * directory is the task's workspace, made by `prepare`; `score` then gets that workspace in
   * `ctx.workspaceDir`. Kinds without it stream every task of a shard through one agent process.
   */
  perTask?: {
    /** Writes the task's starting workspace into `dir` (an empty directory); may fetch files (awaited). */
    prepare(task: T, dir: string): void | Promise<void>;
    /**
     * The task's own system for its sandboxes (agent and scorer), when it has one here: a container
     * image's root filesystem on the host and where the workspace appears in it (SandboxOptions
     * `root`, `workspaceAt`). Undefined: the host's system, the workspace at /workspace.
     */
    system?(task: T): { root: string; workspaceAt?: string } | undefined;
  };
  /**
   * The container image a task runs in on the deployed stack (e.g. a SWE-bench instance's
   * environment), when it names one: its shard job then runs on the images queue with a job
   * definition of that image (core/sweep/image-jobs.ts). Locally there is no container engine and
   * tasks run on this machine.
   */
  taskImage?(task: T): string | undefined;
  /** Texts the react TLA is given. */
  tlaTexts(meta: M, spec: S): TlaTexts;
  /**
   * The offline stand-in's behaviour for this kind's prompts: an answer when the request is one
   * this kind recognises (its RA's or its judge's prompt shape), else undefined.
   */
  offlineAnswer?(req: ChatRequest, lastUser: string): string | undefined;
  /**
   * The offline stand-in as this kind's judge: a verdict when the last user message is this kind's
   * judge prompt, else undefined. Asked before any kind's offlineAnswer: a judge prompt quotes an
   * agent's response, which may look like another kind's prompt.
   */
  offlineJudge?(lastUser: string): string | undefined;
}
