import { SpecError } from '../../core/errors';
import { buildResults, type SweepResults } from '../../core/report';
import type { BudgetLedger, RunRecord, SweepMeta } from '../../core/records';
import type { Stores } from '../../lambdas/aws/clients';
import { editDistance } from '../../core/spec';

/** A sweep as the read-only commands use it: its META item, run records, ledger, and the results built from them. */
export interface SweepData {
  meta: SweepMeta;
  records: RunRecord[];
  budget?: BudgetLedger;
  results: SweepResults;
}

/** The error for a sweep id the data dir does not hold. */
export function sweepNotFound(sweepId: string, dataDir: string): SpecError {
  return new SpecError([`sweep ${sweepId}: not found in ${dataDir}. Fix: pass a sweep id printed by \`uplift run\` (\`uplift list\` shows them), and the same --data-dir`]);
}

/** Reads one sweep through the same readers as `uplift results` (core/report.ts buildResults). */
export async function readSweep(stores: Pick<Stores, 'scores'>, dataDir: string, sweepId: string): Promise<SweepData> {
  const meta = await stores.scores.getSweep(sweepId);
  if (!meta) throw sweepNotFound(sweepId, dataDir);
  const records = await stores.scores.listRuns(sweepId);
  const budget = await stores.scores.getBudget(sweepId);
  return { meta, records, budget, results: buildResults(meta, records, budget) };
}

/**
 * The known names closest to `wanted`, closest first, at most `max`: those within a fifth of its
 * length in edit distance (at least 2: a typo or two), or that contain it or are contained in it.
 */
export function closeMatches(wanted: string, known: readonly string[], max = 5): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 5));
  return [...new Set(known)]
    .map((k) => ({ k, d: editDistance(wanted, k), sub: k.includes(wanted) || wanted.includes(k) }))
    .filter((x) => x.sub || x.d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map((x) => x.k);
}
