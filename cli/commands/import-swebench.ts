import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_IMAGE_TEMPLATE, importSweBench, type SweBenchImportResult } from '../../core/cbm/workspace/swebench-import';
import { SpecError } from '../../core/errors';
import { tableLines } from '../../core/report';
import { EXIT, type Io } from '../io';


interface SweBenchFlags {
  out: string;
  seed: string;
  devFraction: string;
  imageTemplate?: string;
}

/** What `uplift import swe-bench` prints: instances per repository and split, warnings, then the next step. */
export function renderSweBenchImport(r: SweBenchImportResult, cwd = process.cwd()): string {
  const rows = r.repos.map((x) => [x.repo, String(x.dev), String(x.test)]);
  rows.push(['total', String(r.dev), String(r.test)]);
  const rel = relative(cwd, resolve(r.outDir)) || '.';
  const dir = rel.startsWith('..') ? resolve(r.outDir) : rel;
  return [
    `Wrote ${dir}/ (family.json, splits.json, tasks/<instance_id>/): ${r.dev} dev and ${r.test} test tasks; ${r.withReferencePatch} with a reference.patch (the gold patch).`,
    ...tableLines(['repo', 'dev', 'test'], rows, 1, true),
    ...(r.unknownRepos.length
      ? [
          `Warning: no known test command for ${r.unknownRepos.join(', ')}: their tasks run "pytest -rA" on the test patch's files without re-installing; check .uplift/spec.json in a task's hidden/ folder.`,
        ]
      : []),
    'Each task runs in its SWE-bench instance image (task.json "image"; the repository is at /testbed) and is scored there',
    'by its hidden .uplift/score.py: without the image (e.g. a local run) the tasks cannot be scored.',
    '',
    'Next: add it to a sweep spec:',
    '  cbms:',
    '    - id: swe-bench',
    '      kind: workspace',
    `      dataset: ${resolve(r.outDir)}`,
  ].join('\n');
}

/**
 * Adds `swe-bench <files...> --out <dir> [--seed <n>] [--dev-fraction <x>] [--image-template <t>]`
 * to `parent` (the `uplift import` command): imports SWE-bench instance files (JSONL or the
 * Hugging Face Parquet) as a workspace task family. Bad input throws SpecError listing every
 * problem (the CLI prints it and exits 2).
 */
export function addSweBenchImport(parent: Command, io: Io, setExit: (code: number) => void): void {
  parent
    .command('swe-bench')
    .description('import SWE-bench instance files (.jsonl, or the Hugging Face .parquet of SWE-bench / _Lite / _Verified) as a workspace task family (one task per instance, run in its instance image)')
    .argument('<files...>', 'instance files, e.g. SWE-bench_Verified/data/test-00000-of-00001.parquet')
    .requiredOption('--out <dir>', 'task family directory to write (usable as cbms[].dataset with kind: workspace)')
    .option('--seed <n>', 'seed of the dev/test split (stratified by repository)', '1')
    .option('--dev-fraction <x>', "share of each repository's instances that goes to dev", '0.2')
    .option('--image-template <t>', `image of each task; placeholders {instance_id}, {instance_id_lower}, {instance_id_docker} (lower case, "__" as "_1776_"), {repo}, {repo_docker}, {version}`, DEFAULT_IMAGE_TEMPLATE)
    .action(async (files: string[], o: SweBenchFlags) => {
      const problems: string[] = [];
      const seed = Number(o.seed);
      const devFraction = Number(o.devFraction);
      if (!/^-?\d+$/.test(o.seed.trim()) || !Number.isSafeInteger(seed)) problems.push(`uplift import swe-bench: --seed ${JSON.stringify(o.seed)} is not a whole number. Fix: e.g. --seed 1`);
      if (!(devFraction > 0 && devFraction < 1)) problems.push(`uplift import swe-bench: --dev-fraction ${JSON.stringify(o.devFraction)} is not a number strictly between 0 and 1. Fix: e.g. --dev-fraction 0.2`);
      if (problems.length) throw new SpecError(problems);
      const r = await importSweBench({ files, outDir: o.out, seed, devFraction, imageTemplate: o.imageTemplate });
      io.out(renderSweBenchImport(r) + '\n');
      setExit(EXIT.ok);
    });
}
