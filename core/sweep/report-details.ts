import { z } from 'zod';
import { parseJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';
import { runTasksKey, tlaKey, TaskRow } from './outputs';

/**
 * What the report's drill-downs show of a run, read from its artifacts: the tasks whose score
 * changed between the baseline and the MRA (with both outputs), the MRA's diff and the TLA's
 * transcript — each bounded, so that a report of many runs stays a file a browser opens.
 */
export interface RunDetails {
  /** Test tasks whose score changed, at most REPORT_DETAIL_LIMITS.flippedTasks: gains then losses, half each when there are enough (pickFlipped). */
  flipped: TaskRow[];
  /** Counts over every test task of the run. */
  tasks: { total: number; gained: number; lost: number; errors: { baseline: number; mra: number } };
  /** The MRA diff against the RA (cut at diffChars), and how long it was. */
  diff?: { text: string; chars: number; lines: number };
  /** At most transcriptEvents transcript events, the TLA's steps before model calls (pickEvents), and how many there were. */
  transcript?: { events: Record<string, unknown>[]; total: number };
  /** Why a part is missing (an artifact that could not be read). */
  problems: string[];
}

/** At most `n` flipped tasks, half gains and half losses when there are enough of both (the rest filled from whichever has more), gains first. */
export function pickFlipped<T>(gained: readonly T[], lost: readonly T[], n: number): T[] {
  const g = Math.min(gained.length, Math.max(Math.ceil(n / 2), n - lost.length));
  return [...gained.slice(0, g), ...lost.slice(0, n - g)];
}

/**
 * At most `n` transcript events in their order, the TLA's own steps first: every event that is not a
 * model call (steps, checkpoints, notes) is kept before any model call, which fill what is left —
 * a TLA that evaluates on dev makes thousands of calls that would hide its decisions.
 */
export function pickEvents(events: readonly Record<string, unknown>[], n: number): Record<string, unknown>[] {
  const isCall = (e: Record<string, unknown>) => typeof e.kind === 'string' && e.kind.startsWith('model_');
  const steps = events.map((e, i) => (isCall(e) ? -1 : i)).filter((i) => i >= 0).slice(0, n);
  const calls = events.map((e, i) => (isCall(e) ? i : -1)).filter((i) => i >= 0).slice(0, n - steps.length);
  return [...steps, ...calls].sort((a, b) => a - b).map((i) => events[i]);
}

/** Bounds of the report's drill-downs (per run; runs past `runs` link to `uplift artifacts`). */
export const REPORT_DETAIL_LIMITS = { runs: 60, flippedTasks: 40, diffChars: 20_000, transcriptEvents: 120 } as const;

/** A run's drill-down from its `tasks.jsonl`, `tla/mra.diff` and `tla/transcript.jsonl`; undefined when none of them exists (a run that never got far). */
export async function loadRunDetails(store: ArtifactStore, sweepId: string, runId: string): Promise<RunDetails | undefined> {
  const problems: string[] = [];
  const [tasksText, diffText, transcriptText] = await Promise.all([
    store.getText(runTasksKey(sweepId, runId)),
    store.getText(tlaKey(sweepId, runId, 'mra.diff')),
    store.getText(tlaKey(sweepId, runId, 'transcript.jsonl')),
  ]);
  if (tasksText === undefined && diffText === undefined && transcriptText === undefined) return undefined;
  let rows: TaskRow[] = [];
  if (tasksText !== undefined) {
    try {
      rows = parseJsonl(tasksText, TaskRow, store.uri(runTasksKey(sweepId, runId)));
    } catch (e) {
      problems.push(`per-task outcomes unreadable: ${(e as Error).message.slice(0, 300)}`);
    }
  }
  const gained = rows.filter((r) => r.mra.score > r.baseline.score);
  const lost = rows.filter((r) => r.mra.score < r.baseline.score);
  const details: RunDetails = {
    flipped: pickFlipped(gained, lost, REPORT_DETAIL_LIMITS.flippedTasks),
    tasks: { total: rows.length, gained: gained.length, lost: lost.length, errors: { baseline: rows.filter((r) => r.baseline.error).length, mra: rows.filter((r) => r.mra.error).length } },
    problems,
  };
  if (diffText !== undefined) details.diff = { text: diffText.slice(0, REPORT_DETAIL_LIMITS.diffChars), chars: diffText.length, lines: diffText.split('\n').filter((l) => l).length };
  if (transcriptText !== undefined) {
    const lines = transcriptText.split('\n').filter((l) => l.trim());
    const all = lines.map((l): Record<string, unknown> => {
      try {
        return z.record(z.string(), z.unknown()).parse(JSON.parse(l));
      } catch {
        return { kind: 'unreadable', line: l.slice(0, 200) };
      }
    });
    details.transcript = { events: pickEvents(all, REPORT_DETAIL_LIMITS.transcriptEvents), total: all.length };
  }
  return details;
}

/** Drill-downs of the first REPORT_DETAIL_LIMITS.runs runs (in the order given: the report's). */
export async function loadReportDetails(store: ArtifactStore, sweepId: string, runIds: readonly string[]): Promise<Map<string, RunDetails>> {
  const out = new Map<string, RunDetails>();
  const ids = runIds.slice(0, REPORT_DETAIL_LIMITS.runs);
  // A few at a time: FinalizeSweep is one Lambda invocation.
  for (let i = 0; i < ids.length; i += 8) {
    const batch = await Promise.all(ids.slice(i, i + 8).map(async (id) => [id, await loadRunDetails(store, sweepId, id)] as const));
    for (const [id, d] of batch) if (d) out.set(id, d);
  }
  return out;
}
