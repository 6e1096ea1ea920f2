import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SpecError } from '../../core/errors';
import { importCyberSecEvalPi, type CyberSecEvalPiImportResult } from '../../core/cbm/prompt-injection/import';
import { EXIT, type Io } from '../io';


/** The summary printed after an import: counts per split and variant, where it went, the spec entry to use it. */
export function renderPiImport(r: CyberSecEvalPiImportResult): string {
  const dir = resolve(r.outDir);
  const width = Math.max(...Object.keys(r.variants).map((v) => v.length), 'variant'.length);
  const rows = Object.entries(r.variants)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([v, c]) => `  ${v.padEnd(width)}  ${String(c.dev).padStart(3)}  ${String(c.test).padStart(4)}`);
  return [
    `Imported ${r.dev.attacks + r.test.attacks} attacks and ${r.dev.benign + r.test.benign} benign guard tasks (from ${r.systemPrompts} system prompts):`,
    `  dev:  ${r.dev.attacks} attacks, ${r.dev.benign} benign`,
    `  test: ${r.test.attacks} attacks, ${r.test.benign} benign`,
    `  ${'variant'.padEnd(width)}  dev  test`,
    ...rows,
    `Wrote ${dir}/ (dev.jsonl, test.jsonl, meta.json).`,
    'Next: add it to a sweep spec:',
    `  cbms:\n    - { id: cyberseceval-pi, kind: prompt-injection, dataset: ${dir}, judge: { model: { provider: offline } } }`,
    '  (use a real judge model, e.g. judge: { model: { provider: openai, name: gpt-4o-mini } }, for real agents)',
  ].join('\n');
}

/**
 * Adds `cyberseceval-pi <file> --out <dir> [--seed <n>] [--dev-fraction <x>]` to `parent` (the
 * `uplift import` command): imports CyberSecEval 2's prompt_injection.json as a prompt-injection
 * data-set directory. Bad input throws SpecError (the CLI prints it and exits 2).
 */
export function addCyberSecEvalPiImport(parent: Command, io: Io, setExit: (code: number) => void): void {
  parent
    .command('cyberseceval-pi')
    .description("import CyberSecEval 2's prompt_injection.json as a prompt-injection data set directory (benign guard tasks added, seeded split stratified by injection_variant)")
    .argument('<file>', 'path of prompt_injection.json (PurpleLlama CybersecurityBenchmarks/datasets/prompt_injection/)')
    .requiredOption('--out <dir>', 'data set directory to write (dev.jsonl, test.jsonl, meta.json)')
    .option('--seed <n>', 'seed of the dev/test split', '1')
    .option('--dev-fraction <x>', 'share of each variant that goes to dev', '0.4')
    .action((file: string, opts: { out: string; seed: string; devFraction: string }) => {
      const problems: string[] = [];
      const seed = Number(opts.seed);
      const devFraction = Number(opts.devFraction);
      if (!/^-?\d+$/.test(opts.seed.trim())) problems.push(`--seed ${JSON.stringify(opts.seed)} is not a whole number. Fix: e.g. --seed 1`);
      if (!(devFraction > 0 && devFraction < 1)) problems.push(`--dev-fraction ${JSON.stringify(opts.devFraction)} is not a number strictly between 0 and 1. Fix: e.g. --dev-fraction 0.4`);
      if (problems.length) throw new SpecError(problems);
      const r = importCyberSecEvalPi({ file, outDir: opts.out, seed, devFraction });
      io.out(renderPiImport(r) + '\n');
      setExit(EXIT.ok);
    });
}
