import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { tableLines, usd } from '../../core/report';
import type { BudgetLedger, RunRecord, SweepMeta } from '../../core/records';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';

/** One sweep of `uplift list` (and of its `--json`). */
export interface SweepListing {
  sweepId: string;
  name: string;
  status: string;
  createdAt: string;
  /** Distinct (TLA, RA, CBM, variant) cells among the runs, and how many of each dimension. */
  cells: { count: number; tlas: number; ras: number; cbms: number; variants: number };
  /** Runs by status (succeeded, failed, pending, …); `total` is their sum. */
  runs: { total: number; byStatus: Record<string, number> };
  spentUsd: number | null;
  limitUsd: number;
  reservedUsd: number | null;
  offlineStandIn: boolean;
}

/** Status order in the runs column: finished with scores first, then the rest. */
const STATUS_ORDER = ['succeeded', 'guard_violated', 'failed', 'budget_exhausted', 'running', 'pending'];

export function describeSweep(meta: SweepMeta, runs: readonly RunRecord[], budget: BudgetLedger | undefined): SweepListing {
  const distinct = (f: (r: RunRecord) => string) => new Set(runs.map(f)).size;
  const byStatus: Record<string, number> = {};
  for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    sweepId: meta.sweepId,
    name: meta.name,
    status: meta.status,
    createdAt: meta.createdAt,
    cells: { count: distinct((r) => [r.tla, r.ra, r.cbm, r.variant].join('\u0000')), tlas: distinct((r) => r.tla), ras: distinct((r) => r.ra), cbms: distinct((r) => r.cbm), variants: distinct((r) => r.variant) },
    runs: { total: runs.length, byStatus },
    spentUsd: budget?.spentUsd ?? null,
    limitUsd: budget?.limitUsd ?? meta.maxUsd,
    reservedUsd: budget?.reservedUsd ?? null,
    offlineStandIn: meta.offlineOnly || meta.models.includes('offline'),
  };
}

function statusRank(s: string): number {
  const i = STATUS_ORDER.indexOf(s);
  return i < 0 ? STATUS_ORDER.length : i;
}

/** `6: 5 succeeded, 1 failed` */
export function runsText(runs: SweepListing['runs']): string {
  const parts = Object.entries(runs.byStatus)
    .sort(([a], [b]) => statusRank(a) - statusRank(b) || a.localeCompare(b))
    .map(([s, n]) => `${n} ${s}`);
  return parts.length ? `${runs.total}: ${parts.join(', ')}` : '0';
}

/** The table of `uplift list`: newest first, as given. */
export function renderSweepList(sweeps: readonly SweepListing[], dataDir: string): string {
  if (!sweeps.length) return `No sweeps in ${dataDir}.`;
  const rows = sweeps.map((s) => [
    s.sweepId,
    s.status,
    `${s.createdAt.slice(0, 16).replace('T', ' ')}Z`,
    `${s.cells.count} (${s.cells.tlas}×${s.cells.ras}×${s.cells.cbms}×${s.cells.variants})`,
    runsText(s.runs),
    `${s.spentUsd === null ? '—' : usd(s.spentUsd)} of ${usd(s.limitUsd)}`,
    s.offlineStandIn ? 'offline stand-in' : '',
  ]);
  return [`Sweeps in ${dataDir}, newest first:`, ...tableLines(['sweep', 'status', 'created (UTC)', 'cells (TLA×RA×CBM×variant)', 'runs', 'spent of budget', 'model'], rows, 99, true).map((l) => l.trimEnd())].join('\n');
}

/** `uplift list`: every sweep of a data dir. */
export function registerListCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('list')
    .description('every sweep in the data dir, newest first: status, created, cells, runs by status, spend and budget')
    .option('--json', 'print the sweeps as JSON')
    .addOption(dataDirOption())
    .action(async (opts: { json?: boolean; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      const sweeps = !existsSync(dir)
        ? []
        : await withReadOnlyStores(dir, async ({ scores }) => {
            const out: SweepListing[] = [];
            for (const meta of await scores.listSweeps()) out.push(describeSweep(meta, await scores.listRuns(meta.sweepId), await scores.getBudget(meta.sweepId)));
            return out;
          });
      io.out((opts.json ? JSON.stringify(sweeps, null, 2) : renderSweepList(sweeps, dir)) + '\n');
      setExit(EXIT.ok);
    });
}
