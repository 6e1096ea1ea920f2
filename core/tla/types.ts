import type { Example, LabelSet } from '../cbm/dataset';
import type { AgentManifest } from '../ra/bundle';
import type { TlaSpec } from '../spec';

/** Result of running a bundle on dev tasks through the gateway. */
export interface Evaluation {
  /** Checkpoint number (0, 1, …): the bundle was snapshotted under it. */
  step: number;
  score: number;
  tasks: number;
  /** The gateway refused calls: the TLA's token budget is spent and this score is not trustworthy. */
  budgetExhausted: boolean;
  /** A few failed tasks, for agents that learn from errors. */
  failures: { id: string; expected: string; got: string | null }[];
  tokensUsed: number;
}

/** What a TLA gets inside the `tla-sandbox` job. */
export interface TlaContext {
  /** Editable copy of the RA bundle; what it holds at the end is the MRA. */
  workspace: string;
  manifest: AgentManifest;
  /** The dev split, labels included (the test split never reaches a TLA). */
  dev: Example[];
  labels: LabelSet;
  spec: TlaSpec;
  variant: string;
  seed: number;
  /** Epoch ms after which the TLA must stop. */
  deadline: number;
  /** Runs the workspace bundle on `tasks` (dev examples) through the gateway; snapshots it as a checkpoint. */
  evaluate(tasks: readonly Example[]): Promise<Evaluation>;
  /** Marks a checkpoint as the one the TLA kept. */
  accept(step: number): void;
  /** Records a step in the transcript. */
  log(step: Record<string, unknown>): void;
  /** For `fixed`: directory of the user-supplied MRA bundle. */
  fixedBundleDir?: string;
}

export interface TlaOutcome {
  /** Why it stopped: `done`, `token_budget`, `wall_time`, `converged`, … */
  stopReason: string;
}

/** A top-level agent: edits `ctx.workspace` in place. */
export interface Tla {
  run(ctx: TlaContext): Promise<TlaOutcome>;
}
