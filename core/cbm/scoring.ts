import type { TaskOutcome } from '../ra/protocol';
import { JudgeAllowanceError } from './judge';
import { JudgeUnavailableError, JudgeVerdictError, UnscorableOutputError, type CbmKind, type CbmTask, type Judge } from './types';

/**
 * Scores a role's outcomes in the harness, `concurrency` tasks at a time (judge calls are model
 * calls): each output gets its kind's score in [0, 1]. A task whose judge failed becomes an
 * `infra_error` naming the judge (never a score); one whose response is too long to judge within
 * the allowance, or that left the judge without a verdict, an `agent_error` (scored 0). Outcomes without output are returned as they are.
 */
export async function scoreOutcomes<T extends CbmTask, M>(opts: {
  kind: CbmKind<T, M>;
  spec: Record<string, unknown>;
  meta: M;
  tasks: readonly T[];
  outcomes: readonly TaskOutcome[];
  judge?: Judge;
  concurrency: number;
}): Promise<TaskOutcome[]> {
  const byId = new Map(opts.tasks.map((t) => [t.id, t]));
  const out: TaskOutcome[] = [...opts.outcomes];
  let next = 0;
  const worker = async () => {
    while (next < out.length) {
      const i = next++;
      const o = out[i];
      // Outputs a per-task run scored already (on their workspaces) keep their score.
      if (!('output' in o) || o.score !== undefined) continue;
      const task = byId.get(o.id);
      if (!task) throw new Error(`outcome for unknown task ${o.id}`);
      try {
        const score = await opts.kind.score(task, o.output, { judge: opts.judge }, opts.spec, opts.meta);
        if (!(score >= 0 && score <= 1)) throw new Error(`the ${opts.kind.kind} scorer gave ${score} for task ${o.id}, outside [0, 1]`);
        out[i] = { id: o.id, output: o.output, score };
      } catch (e) {
        if (e instanceof JudgeUnavailableError) out[i] = { id: o.id, error: 'infra_error', cause: e.message };
        else if (e instanceof JudgeAllowanceError || e instanceof JudgeVerdictError || e instanceof UnscorableOutputError) out[i] = { id: o.id, error: 'agent_error', cause: e.message };
        else throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, out.length)) }, worker));
  return out;
}

/** A scored outcome's score; 0 for a task without output (an agent error scores 0). */
export function taskScore(o: TaskOutcome | undefined): number {
  if (!o || !('output' in o)) return 0;
  if (o.score === undefined) throw new Error(`task ${o.id} has an output but no score: it was never scored`);
  return o.score;
}
