import type { CbmTask, TaskSet } from '../cbm/types';
import type { AgentManifest } from '../ra/bundle';
import type { SandboxExit } from '../sandbox';
import type { TlaSpec } from '../spec';

/** Result of running a bundle on dev tasks through the gateway. */
export interface Evaluation {
  /** Checkpoint number (0, 1, …): the bundle was snapshotted under it. */
  step: number;
  /** Objective: mean score of the objective tasks evaluated (of all, when none is a guard task). */
  score: number;
  /** Guard: mean score of the guard tasks evaluated, when the kind has a guard and some were given. */
  guardScore?: number;
  tasks: number;
  /** The gateway refused calls: the TLA's token budget is spent and this score is not trustworthy. */
  budgetExhausted: boolean;
  /** A few failed tasks, for agents that learn from errors. */
  failures: { id: string; expected: string; got: string | null }[];
  tokensUsed: number;
}

/** What a TLA knows of its CBM (see core/cbm/types.ts). */
export interface TlaCbm {
  kind: string;
  /** The CBM's spec entry (its kind's fields included). */
  spec: Record<string, unknown>;
  /** The data set's meta (shown to agents): classification's label set, … */
  meta: unknown;
  setOf(task: CbmTask): TaskSet;
  /** The target of a dev task in words. */
  describeTarget(task: CbmTask): string;
}

/** What a TLA gets inside the `tla-sandbox` job. */
export interface TlaContext {
  /** Editable copy of the RA bundle; what it holds at the end is the MRA. */
  workspace: string;
  manifest: AgentManifest;
  /** The dev split, targets included (the test split never reaches a TLA). */
  dev: CbmTask[];
  /** The CBM this run improves on: its kind, spec fields and data-set meta (classification: the label set). */
  cbm: TlaCbm;
  spec: TlaSpec;
  variant: string;
  seed: number;
  /** Epoch ms after which the TLA must stop. */
  deadline: number;
  /** Runs the workspace bundle on `tasks` (dev examples) through the gateway; snapshots it as a checkpoint. */
  evaluate(tasks: readonly CbmTask[]): Promise<Evaluation>;
  /** Marks a checkpoint as the one the TLA kept. */
  accept(step: number): void;
  /** Records a step in the transcript. */
  log(step: Record<string, unknown>): void;
  /** For `fixed`: directory of the user-supplied MRA bundle. */
  fixedBundleDir?: string;
  /** What LLM TLAs (`react`) use besides the above; the tla-sandbox job always sets it. */
  runtime?: TlaRuntime;
}

/** A command's result in the TLA's sandbox. */
export interface ExecResult {
  /** Exit code; null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** Set when the harness killed it: its wall clock ran out, or the workspace outgrew its disk quota. */
  killedFor?: SandboxExit['killedFor'];
  stdout: string;
  stderr: string;
  /** Characters of stdout + stderr beyond what the harness keeps (0 when it kept everything). */
  droppedChars: number;
  wallMs: number;
}

/** The sandboxed machinery an LLM TLA works through. */
export interface TlaRuntime {
  /** Runs a command in the sandbox, in the workspace, with the RA model's gateway as OPENAI_BASE_URL. */
  exec(argv: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Puts a checkpoint's bundle back into the workspace. */
  restore(step: number): Promise<void>;
  /** The TLA's own model, behind its own gateway: only the harness calls it, sandboxed code never sees this key. */
  model?: { baseUrl: string; apiKey: string; name: string };
  /** Tokens the job has spent (own model + evaluations + commands) and its budget (budgets.tlaTokens). */
  tokens(): { spent: number; budget: number };
  /** Where sandboxed commands see the workspace, the dev split and the kind's data folder (dev.jsonl and its data files). */
  paths: { workspace: string; dev: string; data: string };
  /** How sandboxed commands are isolated (core/sandbox.ts). */
  isolation: string;
}

export interface TlaOutcome {
  /** Why it stopped: `done`, `token_budget`, `wall_time`, `converged`, … */
  stopReason: string;
}

/** A top-level agent: edits `ctx.workspace` in place. */
export interface Tla {
  run(ctx: TlaContext): Promise<TlaOutcome>;
  /** CBM kinds it can work on; absent = every kind. A spec pairing it with another kind is refused before anything runs. */
  kinds?: readonly string[];
}
