import type { Example } from './dataset';
import type { TaskOutcome } from '../ra/protocol';

/** Normalises a label for comparison: case, surrounding space and trailing punctuation do not count. */
export function normalizeLabel(s: string): string {
  return s.trim().replace(/[.!?;:]+$/, '').trim().toLowerCase();
}

/** Per-task score of the classification CBM: 1 for the target label, 0 otherwise (a missing output is 0). */
export function scoreTask(target: Example, outcome: TaskOutcome | undefined): number {
  if (!outcome || !('output' in outcome)) return 0;
  return normalizeLabel(outcome.output) === normalizeLabel(target.label) ? 1 : 0;
}

/** Scores of every target task, in target order; tasks with no outcome score 0. */
export function scoreSplit(targets: readonly Example[], outcomes: readonly TaskOutcome[]): number[] {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  return targets.map((t) => scoreTask(t, byId.get(t.id)));
}

/** The classification CBM's aggregate metric: accuracy, higher is better. */
export const CLASSIFICATION_METRIC = { name: 'accuracy', direction: 'higher' as const };
