import { hasScores } from '../core/records';
import '../core/polyfills';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { importRaftTaiSafety } from '../core/cbm/raft-import';
import { classificationKind } from '../core/cbm/classification';
import { addCyberSecEvalPiImport } from './commands/import-cyberseceval';
import { addMultipleChoiceImport } from './commands/import-mcq';
import { addSweBenchImport } from './commands/import-swebench';
import { addCifar10Import } from './commands/import-cifar10';
import { readMeta, readSplit } from '../core/cbm/dataset';
import { SpecError, UpliftError } from '../core/errors';
import { serveOfflineModel } from '../core/gateway/offline-server';
import { toJsonl } from '../core/jsonl';
import { renderTable, type SweepResults } from '../core/report';
import { LOCAL_COMPUTE } from '../core/pricing';
import { loadSpec } from '../core/spec';
import { newSweepId, prepareSweep, stageSweep } from '../core/sweep/stage';
import { planKey, stagedSpecKey } from '../core/sweep/plan';
import { readPlan } from '../core/sweep/outputs';
import type { Stores } from '../lambdas/aws/clients';
import { dataDirOf, dataDirOption, withEmbedded, withReadOnlyStores } from './local/data-dir';
import { defaultLogDir, executeSweep } from './local/runner';
import { ProgressDisplay } from './progress';
import { describeTrim, renderPlan } from './plan-view';
import { readStackConfig } from './stack-config';
import { registerCloudCommands } from './commands/cloud';
import { registerShowCommand } from './commands/show';
import { registerCacheCommands } from './commands/cache';
import { registerListCommand } from './commands/list';
import { registerExportCommand } from './commands/export';
import { registerLeaderboardCommand } from './commands/leaderboard';
import { registerCompareCommand } from './commands/compare';
import { registerArtifactsCommand } from './commands/artifacts';
import { readSweep } from './commands/sweep-data';
import { EXIT, type Io } from './io';
import { harnessPath, SHIPPED } from '../core/assets';

export { EXIT };

/** The package's version (`uplift --version`), read once from package.json. */
const VERSION = (JSON.parse(readFileSync(harnessPath(SHIPPED.packageJson), 'utf8')) as { version: string }).version;

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Results of a sweep from the stores, plus the local copy of its HTML report. */
async function collectResults(stores: Stores, dataDir: string, sweepId: string): Promise<{ results: SweepResults; reportPath?: string }> {
  const { meta, results } = await readSweep(stores, dataDir, sweepId);
  let reportPath: string | undefined;
  if (meta.reportKey) {
    const html = await stores.artifacts.getText(meta.reportKey);
    if (html !== undefined) {
      reportPath = join(dataDir, 'reports', sweepId, 'index.html');
      mkdirSync(join(reportPath, '..'), { recursive: true });
      writeFileSync(reportPath, html);
    }
  }
  return { results, reportPath };
}

function printResults(io: Io, json: boolean, results: SweepResults, reportPath?: string): void {
  if (json) {
    io.out(JSON.stringify({ ...results, report: reportPath ?? null }, null, 2) + '\n');
    return;
  }
  io.out(renderTable(results) + '\n');
  io.out(reportPath ? `\nReport: ${reportPath}\n` : '\nReport: not written yet (the sweep has not finished; resume it)\n');
}

function exitFor(results: SweepResults): number {
  // A guard_violated run finished and is reported as such: the harness did its job.
  return results.runs.every((r) => hasScores(r.status)) ? EXIT.ok : EXIT.runsFailed;
}

async function runCommand(io: Io, specFile: string | undefined, opts: { resume?: string; json?: boolean; dataDir?: string; jobs?: number }): Promise<number> {
  if (!specFile && !opts.resume) throw new SpecError(['uplift run: give a spec file (e.g. examples/sweeps/tai-demo.yaml) or --resume <sweep-id>']);
  if (specFile && opts.resume) throw new SpecError(['uplift run: give either a spec file or --resume <sweep-id>, not both (a resumed sweep keeps its staged spec)']);
  // All validation happens before anything is started or written.
  const prepared = specFile ? prepareSweep(loadSpec(specFile), process.env) : undefined;
  const dataDir = dataDirOf(opts.dataDir);
  return withEmbedded(dataDir, async (svc, stores) => {
    let sweepId: string;
    if (prepared) {
      sweepId = newSweepId(prepared.loaded.spec.name);
      await stageSweep(stores.artifacts, prepared, sweepId);
      const models = [...new Set(prepared.preview.runs.map((r) => r.ra.modelName))];
      const modelNote = models.map((m) => (m === 'offline' ? 'offline (the deterministic stand-in, not an LLM)' : m)).join(', ');
      const trim = describeTrim(prepared.preview);
      if (trim) io.err(trim + '\n');
      io.err(`Sweep ${sweepId}: ${prepared.preview.runs.length} runs, worst case $${prepared.preview.worstCaseUsd.toFixed(2)} of $${prepared.preview.budgets.maxUsd.toFixed(2)}. Models: ${modelNote}. Data: ${dataDir}\n`);
    } else {
      sweepId = opts.resume as string;
      if (!(await stores.artifacts.exists(stagedSpecKey(sweepId))))
        throw new SpecError([`--resume ${sweepId}: no such sweep in ${dataDir}. Fix: pass a sweep id printed by an earlier \`uplift run\`, with the same --data-dir`]);
      const runs = await stores.scores.listRuns(sweepId);
      const done = runs.filter((r) => hasScores(r.status)).length;
      io.err(`Resuming ${sweepId}: ${done} of ${runs.length} runs already succeeded and will not be recomputed.\n`);
    }
    const poolSize = opts.jobs ?? prepared?.loaded.spec.concurrency.shards ?? cpus().length;
    const display = new ProgressDisplay(sweepId.slice(0, 40));
    const abort = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(EXIT.interrupted);
      display.stop();
      io.err('Interrupted: stopping jobs (finished work is kept)...\n');
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    let outcome;
    try {
      outcome = await executeSweep({ sweepId, storageEnv: svc.env, logDir: defaultLogDir(dataDir, sweepId), poolSize, onProgress: (p) => display.update(p), signal: abort.signal });
    } finally {
      display.stop();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
    if (outcome.status === 'aborted') {
      if (await stores.scores.getSweep(sweepId)) await stores.scores.updateSweep(sweepId, { status: 'interrupted', updatedAt: new Date().toISOString() });
      await releaseUnfinishedClaims(stores, sweepId);
      io.err(`Sweep ${sweepId} interrupted. Resume it with:\n  npx uplift run --resume ${sweepId}${opts.dataDir ? ` --data-dir ${opts.dataDir}` : ''}\n`);
      return EXIT.interrupted;
    }
    if (outcome.status === 'failed') {
      io.err(`Sweep ${sweepId} failed: ${outcome.error}\nJob logs: ${defaultLogDir(dataDir, sweepId)}\n`);
      if (await stores.scores.getSweep(sweepId)) await stores.scores.updateSweep(sweepId, { status: 'failed', updatedAt: new Date().toISOString() });
      return EXIT.runsFailed;
    }
    const { results, reportPath } = await collectResults(stores, dataDir, sweepId);
    printResults(io, Boolean(opts.json), results, reportPath);
    return exitFor(results);
  });
}

/**
 * After an interrupt, frees the baseline claims of this sweep's unfinished runs, so another sweep
 * (or the resume) computes those baselines at once instead of waiting out the claim's lease.
 */
async function releaseUnfinishedClaims(stores: Stores, sweepId: string): Promise<void> {
  if (!(await stores.artifacts.exists(planKey(sweepId)))) return;
  const plan = await readPlan(stores.artifacts, sweepId);
  const unfinished = new Set((await stores.scores.listRuns(sweepId)).filter((r) => r.status === 'running' || r.status === 'pending').map((r) => r.runId as string));
  for (const run of plan.runs) if (unfinished.has(run.runId)) await stores.scores.releaseBaseline(run.baselineKey, sweepId, run.runId);
}

/** Builds the `uplift` command line. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('uplift')
    .description('Measure how well a top-level agent (TLA) improves a reference agent (RA) on a component benchmark (CBM).')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .version(VERSION, '-V, --version', 'print the version of uplift');
  const dataDir = dataDirOption();

  program
    .command('run')
    .description('run a sweep on the embedded services: stage, execute the state machine, print the scores table and the report path')
    .argument('[spec]', 'sweep spec (YAML)')
    .option('--resume <sweep-id>', 'continue an interrupted sweep; finished runs are not recomputed')
    .option('--json', 'print results as JSON on stdout (progress stays on stderr)')
    .option('--jobs <n>', 'job processes at once (default: concurrency.shards of the spec, else the number of cores)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new SpecError([`--jobs: expected a whole number ≥ 1 (received "${v}")`]);
      return n;
    })
    .addOption(dataDir)
    .action(async (spec: string | undefined, opts) => setExit(await runCommand(io, spec, opts)));

  program
    .command('results')
    .description('print the results of a sweep from the score store')
    .argument('<sweep-id>')
    .option('--json', 'print results as JSON')
    .addOption(dataDir)
    .action(async (sweepId: string, opts: { json?: boolean; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      // Read-only: works while a `run` holds the data dir (through its services).
      const { results, reportPath } = await withReadOnlyStores(dir, (stores) => collectResults(stores, dir, sweepId));
      printResults(io, Boolean(opts.json), results, reportPath);
      setExit(exitFor(results));
    });

  program
    .command('plan')
    .description('validate a spec and print its runs and worst-case cost, starting nothing')
    .argument('<spec>')
    .option('--json', 'print the plan as JSON')
    .option('--stack-config <file>', 'price job time as a stack deployed from this config would (e.g. infra/uplift.config.json); default: local rates')
    .action(async (spec: string, opts: { json?: boolean; stackConfig?: string }) => {
      // A bad config file and a bad spec are reported together.
      const problems: string[] = [];
      const collect = <T>(f: () => T): T | undefined => {
        try {
          return f();
        } catch (e) {
          if (!(e instanceof SpecError)) throw e;
          problems.push(...e.problems);
          return undefined;
        }
      };
      const stack = opts.stackConfig === undefined ? undefined : collect(() => readStackConfig(opts.stackConfig as string));
      // plan starts nothing, so a missing API key is a warning here (what `run` would refuse), not an error.
      const prepared = collect(() => prepareSweep(loadSpec(spec), process.env, stack?.compute ?? LOCAL_COMPUTE, { missingKeys: 'warn' }));
      if (problems.length || !prepared) throw new SpecError(problems);
      for (const w of prepared.warnings) io.err(`uplift plan: warning: ${w} (\`uplift run\` refuses the spec until then; plan starts nothing, so it needs no key)\n`);
      io.out(opts.json ? JSON.stringify({ ...prepared.preview, stackConfig: stack?.path ?? null }, null, 2) + '\n' : renderPlan(prepared.preview, stack?.file) + '\n');
      setExit(EXIT.ok);
    });

  program
    .command('import-raft')
    .description("import RAFT's tai_safety_research train.csv into the S3 dataset layout, and as a dataset directory")
    .argument('<csv>', 'path of data/tai_safety_research/train.csv from the RAFT data set')
    .option('--cbm-id <id>', 'CBM id to stage it under', 'tai-safety-raft')
    .option('--out <dir>', 'also write dev.jsonl, test.jsonl and labels.json here (usable as cbms[].dataset)')
    .addOption(dataDir)
    .action(async (csv: string, opts: { cbmId: string; out?: string; dataDir?: string }) => {
      let csvText: string;
      try {
        csvText = readFileSync(csv, 'utf8');
      } catch (cause) {
        throw new SpecError([`${csv}: cannot read (${(cause as Error).message}). Fix: pass the path of RAFT's data/tai_safety_research/train.csv`], { cause });
      }
      await withEmbedded(dataDirOf(opts.dataDir), async (_svc, stores) => {
        const r = await importRaftTaiSafety({ csvText, store: stores.artifacts, cbmId: opts.cbmId, source: csv });
        io.out(`Imported ${r.dev} dev + ${r.test} test examples (${r.skipped} rows skipped) to ${stores.artifacts.uri(r.prefix)}/\n`);
        if (opts.out) {
          mkdirSync(opts.out, { recursive: true });
          writeFileSync(join(opts.out, 'dev.jsonl'), toJsonl(await readSplit(stores.artifacts, r.prefix, 'dev', classificationKind)));
          writeFileSync(join(opts.out, 'test.jsonl'), toJsonl(await readSplit(stores.artifacts, r.prefix, 'test', classificationKind)));
          writeFileSync(join(opts.out, 'labels.json'), JSON.stringify(await readMeta(stores.artifacts, r.prefix, classificationKind), null, 2) + '\n');
          io.out(`Wrote the data set directory ${resolve(opts.out)}\n`);
        }
      });
      setExit(EXIT.ok);
    });

  // `uplift import <format>`: turn a benchmark's official file into a data-set directory (one subcommand per format).
  const importCmd = program.command('import').description("turn a benchmark's official files into a data-set directory for cbms[].dataset");
  addCyberSecEvalPiImport(importCmd, io, setExit);
  addMultipleChoiceImport(importCmd, io, setExit);
  addSweBenchImport(importCmd, io, setExit);
  addCifar10Import(importCmd, io, setExit);

  program
    .command('offline-model')
    .description('serve the offline stand-in model as an OpenAI-compatible endpoint (Ctrl-C stops it)')
    .option('--port <port>', 'port on 127.0.0.1', '8777')
    .option('--latency <ms>', 'added latency per call', '0')
    .action(async (opts: { port: string; latency: string }) => {
      const s = await serveOfflineModel({ port: Number(opts.port), latencyMs: Number(opts.latency) });
      io.err(`offline model at ${s.baseUrl} (OPENAI_BASE_URL); Ctrl-C stops it\n`);
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
      await s.close();
      setExit(EXIT.ok);
    });

  // Commands against a deployed stack (`--stack`); `results --stack` replaces the local `results`.
  registerCloudCommands(program, io, setExit);
  registerShowCommand(program, io, setExit);
  registerCacheCommands(program, io, setExit);
  registerListCommand(program, io, setExit);
  registerExportCommand(program, io, setExit);
  registerLeaderboardCommand(program, io, setExit);
  registerCompareCommand(program, io, setExit);
  registerArtifactsCommand(program, io, setExit);
  return program;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    if (e instanceof SpecError) {
      io.err(`uplift: invalid input:\n${e.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return EXIT.badInput;
    }
    if (e instanceof UpliftError) {
      io.err(`uplift: ${e.message}\n`);
      return EXIT.runsFailed;
    }
    throw e;
  }
}
