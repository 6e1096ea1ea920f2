import type { Command } from 'commander';
import { SpecError } from '../../core/errors';
import { tableLines, usd } from '../../core/report';
import type { BaselineRecord } from '../../core/records';
import { dataDirOf, dataDirOption, withEmbedded, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';


/** One line per cached baseline: key, state, score, outcome counts, where it came from. */
export function renderBaselines(records: readonly BaselineRecord[]): string {
  if (!records.length) return 'No cached baselines.';
  const rows = records.map((b) => [
    b.key,
    b.status,
    b.score === undefined ? '—' : (b.score * 100).toFixed(1),
    b.counts ? `${b.counts.scored}/${b.counts.agent_error}/${b.counts.infra_error}` : '—',
    b.tokens === undefined ? '—' : b.tokens.toLocaleString('en-US'),
    b.costUsd === undefined ? '—' : usd(b.costUsd),
    `${b.ownerSweep} / ${b.ownerRun}`,
    b.completedAt ?? b.claimedAt,
  ]);
  return tableLines(['key', 'status', 'score %', 'scored/agent err/infra err', 'tokens', 'cost', 'computed by (sweep / run)', 'at'], rows, 2, true).join('\n');
}

/** `uplift cache list` and `uplift cache clear [--all | <key>]`: the baseline cache of a data dir. */
export function registerCacheCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const cache = program.command('cache').description('list or clear cached baselines (a baseline is reused across runs and sweeps while its key matches)');
  cache
    .command('list')
    .description('every cached (or being computed) baseline: key, score, outcomes, where it came from')
    .option('--json', 'print the records as JSON')
    .addOption(dataDirOption())
    .action(async (opts: { json?: boolean; dataDir?: string }) => {
      // Read-only: works while a sweep holds the data dir (through its services).
      const records = await withReadOnlyStores(dataDirOf(opts.dataDir), (stores) => stores.scores.listBaselines());
      io.out((opts.json ? JSON.stringify(records, null, 2) : renderBaselines(records)) + '\n');
      setExit(EXIT.ok);
    });
  cache
    .command('clear')
    .description('delete one cached baseline by key, or all of them (--all); the next run computes it afresh')
    .argument('[key]', 'a key from `uplift cache list`')
    .option('--all', 'delete every cached baseline')
    .addOption(dataDirOption())
    .action(async (key: string | undefined, opts: { all?: boolean; dataDir?: string }) => {
      if (!key === !opts.all) throw new SpecError(['uplift cache clear: give a key from `uplift cache list`, or --all (not both)']);
      const removed = await withEmbedded(dataDirOf(opts.dataDir), async (_svc, { scores: s }) => {
        const keys = opts.all ? (await s.listBaselines()).map((b) => b.key) : [key as string];
        let n = 0;
        for (const k of keys) if (await s.deleteBaseline(k)) n++;
        return n;
      });
      if (!opts.all && removed === 0) throw new SpecError([`uplift cache clear: no cached baseline has the key "${key}". Fix: copy a key from \`uplift cache list\``]);
      io.out(`Cleared ${removed} cached baseline(s).\n`);
      setExit(EXIT.ok);
    });
}
