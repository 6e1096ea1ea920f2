import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { buildResults, leaderboardRows, renderLeaderboardHtml, type LeaderboardSweep } from '../../core/report';
import { cloudError, connectStack, downloadReport } from './cloud';
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
    .option('--out <file>', 'where to write it (default: <data dir>/reports/index.html, beside the reports it links to; with --stack: ./<stack>-leaderboard/index.html)')
    .addOption(dataDirOption())
    .addOption(new Option('--stack <name>', "rank the sweeps of a deployed stack instead: their reports are downloaded from its bucket beside the page (<out dir>/<sweep-id>/index.html)"))
    .addOption(new Option('--region <region>', "with --stack: the stack's AWS region (default: AWS_REGION or your profile's region)"))
    .action(async (opts: { out?: string; dataDir?: string; stack?: string; region?: string }) => {
      if (opts.stack) {
        await stackLeaderboard(io, { stack: opts.stack, region: opts.region, out: resolve(opts.out ?? join(`${opts.stack}-leaderboard`, 'index.html')) });
        setExit(EXIT.ok);
        return;
      }
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

/**
 * The leaderboard of a deployed stack: every sweep in its table, each finished sweep's report
 * downloaded from its bucket to `<dir of out>/<sweep-id>/index.html`, so that the page and its
 * links work offline and can be moved as one directory.
 */
async function stackLeaderboard(io: Io, opts: { stack: string; region?: string; out: string }): Promise<void> {
  const stack = await connectStack(opts);
  const dir = dirname(opts.out);
  const sweeps: LeaderboardSweep[] = [];
  let downloaded = 0;
  try {
    for (const meta of await stack.stores.scores.listSweeps()) {
      const results = buildResults(meta, await stack.stores.scores.listRuns(meta.sweepId), await stack.stores.scores.getBudget(meta.sweepId));
      const path = await downloadReport(stack, meta, dir);
      if (path) downloaded++;
      sweeps.push({ results, ...(path ? { href: relativeHref(dir, path) } : {}) });
    }
  } catch (e) {
    cloudError(e, stack.name);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(opts.out, renderLeaderboardHtml(sweeps, `Uplift leaderboard — stack ${stack.name}`));
  io.err(`Leaderboard of ${sweeps.length} sweep(s) of stack ${stack.name}, ${leaderboardRows(sweeps).length} cell(s), ${downloaded} report(s) downloaded: ${opts.out}\n`);
}

/** A link from a page in `fromDir` to `target`, as a relative URL path. */
function relativeHref(fromDir: string, target: string): string {
  return relative(fromDir, target).split(sep).map(encodeURIComponent).join('/');
}
