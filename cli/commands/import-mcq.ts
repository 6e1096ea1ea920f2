import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { importMultipleChoice, type McImportResult } from '../../core/cbm/multiple-choice/import';
import { SpecError } from '../../core/errors';
import { tableLines } from '../../core/report';
import { EXIT, type Io } from '../io';


interface McImportFlags {
  out: string;
  forget?: string[];
  retain?: string[];
  questions?: string[];
  seed: string;
  devFraction: string;
  limitPerSource?: string;
}

/** Parses the numeric flags; every bad one is a problem line. */
function numbers(o: McImportFlags): { seed: number; devFraction: number; limitPerSource?: number } {
  const problems: string[] = [];
  const seed = Number(o.seed);
  const devFraction = Number(o.devFraction);
  const limit = o.limitPerSource === undefined ? undefined : Number(o.limitPerSource);
  if (!Number.isSafeInteger(seed)) problems.push(`uplift import multiple-choice: --seed "${o.seed}" is not an integer. Fix: e.g. --seed 1`);
  if (!(devFraction > 0 && devFraction < 1)) problems.push(`uplift import multiple-choice: --dev-fraction "${o.devFraction}" is not a number strictly between 0 and 1. Fix: e.g. --dev-fraction 0.4`);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) problems.push(`uplift import multiple-choice: --limit-per-source "${o.limitPerSource}" is not a positive integer. Fix: e.g. --limit-per-source 200, or leave it out`);
  if (problems.length) throw new SpecError(problems);
  return { seed, devFraction, ...(limit === undefined ? {} : { limitPerSource: limit }) };
}

/** What `uplift import multiple-choice` prints: counts per source and split, then the next step. */
export function renderMcImport(r: McImportResult, cwd = process.cwd()): string {
  const rows = r.sources.map((s) => [s.source, s.role, s.set, String(s.rows), String(s.kept), String(s.dev), String(s.test)]);
  rows.push(['total', '', '', '', String(r.dev + r.test), String(r.dev), String(r.test)]);
  const rel = relative(cwd, resolve(r.outDir)) || '.';
  const dir = rel.startsWith('..') ? resolve(r.outDir) : rel;
  const chance = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(3));
  return [
    `Wrote ${dir}/dev.jsonl (${r.dev} tasks), ${dir}/test.jsonl (${r.test}) and ${dir}/meta.json; goal ${r.goal}.`,
    ...tableLines(['source', 'role', 'set', 'rows', 'kept', 'dev', 'test'], rows, 3, true),
    `Chance accuracy (test): objective ${chance(r.meta.chance?.objective)}, guard ${chance(r.meta.chance?.guard)}.`,
    '',
    'Next: add it to a sweep spec (dataset paths are relative to the spec file):',
    '  cbms:',
    `    - id: ${r.goal === 'unlearn' ? 'wmdp-unlearn' : 'mcq'}`,
    '      kind: multiple-choice',
    `      goal: ${r.goal}`,
    `      dataset: ${resolve(r.outDir)}`,
    '  with an RA whose agent.yaml says `cbm: multiple-choice` (e.g. examples/agents/mc-answerer)' +
      (r.goal === 'unlearn' ? ' and e.g. tlas: [{ kind: noop }, { kind: unlearn-search }].' : '.'),
  ].join('\n');
}

/**
 * Adds `multiple-choice` to `parent` (the `uplift import` command): imports WMDP / MMLU files in
 * the Hugging Face layout (JSONL or Parquet) as a multiple-choice data set directory. Bad input is
 * a SpecError listing every problem.
 */
export function addMultipleChoiceImport(parent: Command, io: Io, setExit: (code: number) => void): void {
  parent
    .command('multiple-choice')
    .description(
      'import WMDP / MMLU files (Hugging Face columns question, choices, answer[, subject]; .jsonl or .parquet) as a multiple-choice data set directory (dev.jsonl, test.jsonl, meta.json)',
    )
    .requiredOption('--out <dir>', 'data set directory to write (usable as cbms[].dataset)')
    .option('--forget <file...>', 'forget-set files, e.g. wmdp-bio/test-00000-of-00001.parquet: the objective of goal unlearn (source name: the file or its folder; name=path to set it)')
    .option('--retain <file...>', 'retain-set files, e.g. MMLU: the guard')
    .option('--questions <file...>', 'question files for goal maximize: the objective')
    .option('--seed <n>', 'seed of the stratified dev/test split', '1')
    .option('--dev-fraction <x>', 'share of each set × source × subject stratum that goes to dev', '0.4')
    .option('--limit-per-source <n>', 'keep at most n rows per file (a seeded sample)')
    .action(async (o: McImportFlags) => {
      const r = await importMultipleChoice({ forget: o.forget, retain: o.retain, questions: o.questions, outDir: o.out, ...numbers(o) });
      io.out(renderMcImport(r) + '\n');
      setExit(EXIT.ok);
    });
}
