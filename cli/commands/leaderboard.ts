import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { leaderboardRows, renderLeaderboardHtml, type LeaderboardSweep } from '../../core/report';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';
import { readSweep } from './sweep-data';

/** Where `uplift leaderboard` writes the index page of a data dir, next to the sweeps' reports (`reports/<sweep>/index.html`). */
export function leaderboardPath(dataDir: string): string {
  return join(dataDir, 'reports', 'index.html');
}

/** `uplift leaderboard [--out file]`: one page ranking every cell of every sweep in the data dir, linking to each sweep's report. */
export function registerLeaderboardCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('leaderboard')
    .description("write an index page of every sweep in the data dir: TLA × RA × CBM × variant cells ranked by mean uplift with CI, linking to each sweep's report")
    .option('--out <file>', 'where to write it (default: <data dir>/reports/index.html, beside the reports it links to)')
    .addOption(dataDirOption())
    .action(async (opts: { out?: string; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      const out = resolve(opts.out ?? leaderboardPath(dir));
      const sweeps = await withReadOnlyStores(dir, async (stores) => {
        const metas = await stores.scores.listSweeps();
        const list: LeaderboardSweep[] = [];
        // Links are relative to the page, so the reports directory can be moved or served as a whole.
        for (const m of metas) list.push({ results: (await readSweep(stores, dir, m.sweepId)).results, href: relativeHref(dirname(out), join(dir, 'reports', m.sweepId, 'index.html')) });
        return list;
      });
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, renderLeaderboardHtml(sweeps));
      io.err(`Leaderboard of ${sweeps.length} sweep(s), ${leaderboardRows(sweeps).length} cell(s): ${out}\n`);
      setExit(EXIT.ok);
    });
}

/** A link from a page in `fromDir` to `target`, as a relative URL path. */
function relativeHref(fromDir: string, target: string): string {
  return relative(fromDir, target).split(sep).map(encodeURIComponent).join('/');
}
