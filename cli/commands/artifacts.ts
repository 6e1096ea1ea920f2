import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { SpecError } from '../../core/errors';
import { buildResults } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';
import { planKey, runPrefix } from '../../core/sweep/plan';
import { readPlan } from '../../core/sweep/outputs';
import type { Stores } from '../../lambdas/aws/clients';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { defaultLogDir } from '../local/runner';
import { EXIT, type Io } from '../io';
import { closeMatches, sweepNotFound } from './sweep-data';

/** One file `uplift artifacts` wrote: its path under --out, its size, and where it came from. */
export interface WrittenArtifact {
  path: string;
  bytes: number;
  from: string;
}

/** The run's sweep: the given one, else the newest sweep that has a run of that id. */
async function findRun(stores: Stores, dataDir: string, runId: string, sweepId: string | undefined): Promise<{ meta: SweepMeta; run: RunRecord; others: string[] }> {
  const sweeps = sweepId ? [await stores.scores.getSweep(sweepId)] : await stores.scores.listSweeps();
  if (sweepId && !sweeps[0]) throw sweepNotFound(sweepId, dataDir);
  const found: { meta: SweepMeta; run: RunRecord }[] = [];
  const known: string[] = [];
  for (const meta of sweeps as SweepMeta[]) {
    const runs = await stores.scores.listRuns(meta.sweepId);
    const run = runs.find((r) => r.runId === runId);
    if (run) found.push({ meta, run });
    known.push(...runs.map((r) => r.runId));
  }
  if (!found.length) {
    const close = closeMatches(runId, known);
    const where = sweepId ? `sweep ${sweepId}` : `any sweep in ${dataDir}`;
    const hint = close.length ? `Did you mean ${close.join(', ')}?` : known.length ? `Run ids look like ${[...new Set(known)].slice(0, 3).join(', ')}.` : 'There are no runs.';
    throw new SpecError([`run ${runId}: not in ${where}. ${hint} Fix: pass a run id from \`uplift results <sweep-id>\`${sweepId ? '' : ' (or --sweep <id>)'}, with the same --data-dir`]);
  }
  // listSweeps is newest first.
  return { ...found[0], others: found.slice(1).map((f) => f.meta.sweepId) };
}

/** Job log files of a run in a sweep's log dir (`<run>.<role>[.<i>].log`), and its lines of `jobs.jsonl`. */
function runLogs(logDir: string, runId: string, role?: string): { files: string[]; jobLines: string[] } {
  if (!existsSync(logDir)) return { files: [], jobLines: [] };
  const prefix = role ? `${runId}.${role}` : `${runId}.`;
  const files = readdirSync(logDir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.log') && (!role || /^(\.\d+)?\.log$/.test(f.slice(prefix.length))))
    .sort()
    .map((f) => join(logDir, f));
  const jobsFile = join(logDir, 'jobs.jsonl');
  const jobLines = existsSync(jobsFile)
    ? readFileSync(jobsFile, 'utf8')
        .split('\n')
        .filter((l) => {
          try {
            const e = JSON.parse(l) as { runId?: string; role?: string };
            return e.runId === runId && (!role || e.role === role);
          } catch {
            return false;
          }
        })
    : [];
  return { files, jobLines };
}

/**
 * Writes a run's artifacts under `out`, in the layout of the S3 prefix `sweeps/<sweep>/runs/<run>/`
 * (`tla/{mra.tar.gz, mra.diff, transcript.jsonl, result.json, checkpoints/…}`, `baseline/` and
 * `mra/` shard outputs, usage and transcripts), plus `baseline/` from the run that computed a
 * cached baseline, the job logs as `logs/` (and `logs/jobs.jsonl`, the run's job starts and ends),
 * and `run.json` (the run as `uplift results --json` shows it).
 */
export async function extractArtifacts(stores: Stores, dataDir: string, meta: SweepMeta, run: RunRecord, out: string): Promise<{ written: WrittenArtifact[]; notes: string[] }> {
  const root = resolve(out);
  const written: WrittenArtifact[] = [];
  const notes: string[] = [];
  const write = (rel: string, body: Uint8Array | string, from: string) => {
    const path = resolve(root, rel);
    // Keys come from the store: nothing may land outside --out.
    if (relative(root, path).startsWith('..') || path === root) {
      notes.push(`skipped ${from}: its name leads outside ${root}`);
      return;
    }
    // The outputs hold test targets (tasks.jsonl): the owner's alone, as in the data dir.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, body, { mode: 0o600 });
    written.push({ path: relative(root, path).split(sep).join('/'), bytes: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, from });
  };
  const copyPrefix = async (prefix: string, under: string) => {
    for (const key of await stores.artifacts.list(`${prefix}/`)) {
      const body = await stores.artifacts.getBytes(key);
      if (body !== undefined) write(join(under, key.slice(prefix.length + 1)), body, stores.artifacts.uri(key));
    }
  };
  const copyLogs = (logDir: string, runId: string, under: string, role?: string) => {
    const logs = runLogs(logDir, runId, role);
    for (const f of logs.files) {
      const dest = resolve(root, under, f.slice(logDir.length + 1));
      mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
      copyFileSync(f, dest);
      chmodSync(dest, 0o600);
      written.push({ path: relative(root, dest).split(sep).join('/'), bytes: statSync(dest).size, from: f });
    }
    if (logs.jobLines.length) write(join(under, 'jobs.jsonl'), logs.jobLines.join('\n') + '\n', join(logDir, 'jobs.jsonl'));
  };

  const prefix = runPrefix(meta.sweepId, run.runId);
  const runResult = buildResults(meta, [run]).runs[0];
  write('run.json', JSON.stringify(runResult, null, 2) + '\n', `the run record SWEEP#${meta.sweepId}/RUN#${run.runId}`);
  await copyPrefix(prefix, '.');
  copyLogs(defaultLogDir(dataDir, meta.sweepId), run.runId, 'logs');

  // A cached baseline lives under the run that computed it.
  if (await stores.artifacts.exists(planKey(meta.sweepId))) {
    const planned = (await readPlan(stores.artifacts, meta.sweepId)).runs.find((r) => r.runId === run.runId);
    const baseline = planned ? await stores.scores.getBaseline(planned.baselineKey) : undefined;
    if (baseline && baseline.outputsPrefix !== `${prefix}/baseline`) {
      notes.push(`the baseline was computed by run ${baseline.ownerRun} of sweep ${baseline.ownerSweep} (cached): its shard outputs are in baseline/, its job logs in logs/baseline/`);
      await copyPrefix(baseline.outputsPrefix, 'baseline');
      copyLogs(defaultLogDir(dataDir, baseline.ownerSweep), baseline.ownerRun, join('logs', 'baseline'), 'baseline');
    }
  }
  if (!written.some((w) => w.path.startsWith('tla/'))) notes.push('no TLA outputs yet (the TLA job has not finished, or the run failed before it)');
  return { written, notes };
}

/** `uplift artifacts <run-id> [--sweep id] --out dir`. */
export function registerArtifactsCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('artifacts')
    .description("extract a run's artifacts into a directory: MRA tarball and diff, TLA transcript, shard outputs and usage, job logs")
    .argument('<run-id>', 'a run id from `uplift results`')
    .option('--sweep <sweep-id>', 'the sweep of the run (default: the newest sweep that has it)')
    .requiredOption('--out <dir>', 'a new or empty directory to write into')
    .addOption(dataDirOption())
    .action(async (runId: string, opts: { sweep?: string; out: string; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      const out = resolve(opts.out);
      if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length))
        throw new SpecError([`--out ${out}: ${statSync(out).isDirectory() ? 'is not empty' : 'is not a directory'}. Fix: pass a new or empty directory, so one run's files are not mixed with others`]);
      const { meta, run, others, written, notes } = await withReadOnlyStores(dir, async (stores) => {
        const found = await findRun(stores, dir, runId, opts.sweep);
        return { ...found, ...(await extractArtifacts(stores, dir, found.meta, found.run, out)) };
      });
      io.out(`Run ${run.runId} of sweep ${meta.sweepId} (${run.status}): ${written.length} file(s) in ${out}\n`);
      const width = Math.max(...written.map((w) => w.path.length));
      for (const w of written) io.out(`  ${w.path.padEnd(width)}  ${w.bytes.toLocaleString('en-US').padStart(12)} B\n`);
      for (const n of notes) io.out(`Note: ${n}\n`);
      if (others.length) io.err(`(run ${runId} is also in sweep(s) ${others.join(', ')}; pass --sweep to pick one)\n`);
      setExit(EXIT.ok);
    });
}
