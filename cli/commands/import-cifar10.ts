import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { importCifar10, type Cifar10ImportResult } from '../../core/cbm/workspace/cifar10-import';
import { SpecError } from '../../core/errors';
import { EXIT, type Io } from '../io';

interface Cifar10Flags {
  out: string;
  seed: string;
  devTasks: string;
  testTasks: string;
  startingScore?: string;
  referenceScore?: string;
}

/** What `uplift import cifar10` prints: the tasks and their test slices, the assets, how tasks are scored, then the next step. */
export function renderCifar10Import(r: Cifar10ImportResult, cwd = process.cwd()): string {
  const rel = relative(cwd, resolve(r.outDir)) || '.';
  const dir = rel.startsWith('..') ? resolve(r.outDir) : rel;
  const sizes = [...new Set(r.slices)].sort((a, b) => b - a).join(' or ');
  return [
    `Wrote ${dir}/ (family.json, splits.json, tasks/<id>/, assets/): ${r.dev.length} dev task(s) (${r.dev.join(', ')}) and ${r.test.length} test task(s) (${r.test.join(', ')}),`,
    `each scored on its own slice of ${sizes} test images (disjoint: dev and test tasks share none); all train on the ${r.trainImages} training images.`,
    `Assets: ${(r.assetBytes / 1e6).toFixed(1)} MB in ${dir}/assets/ (staged to the artifact store with the data set; the test tasks' labels under assets/test/).`,
    r.normalised
      ? 'Scores are normalised between --starting-score (0) and --reference-score (1), clipped to [0, 1].'
      : 'Scores are raw test accuracy (no --starting-score/--reference-score): measure the baseline on the GPU queue and import again with them (docs/cbm-cifar10.md).',
    'train.py needs PyTorch (the GPU runner image has it); run the CBM on the gpu queue.',
    '',
    'Next: add it to a sweep spec:',
    '  cbms:',
    '    - id: cifar10',
    '      kind: workspace',
    `      dataset: ${resolve(r.outDir)}`,
  ].join('\n');
}

/** A flag's number, or a problem naming the flag (pushed) and undefined. */
function numberFlag(flag: string, raw: string | undefined, whole: boolean, problems: string[], example: string): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (whole && !/^-?\d+$/.test(raw.trim()))) {
    problems.push(`uplift import cifar10: ${flag} ${JSON.stringify(raw)} is not ${whole ? 'a whole number' : 'a number'}. Fix: e.g. ${flag} ${example}`);
    return undefined;
  }
  return v;
}

/**
 * Adds `cifar10 <archive> --out <dir> [--seed n] [--dev-tasks n] [--test-tasks n]
 * [--starting-score x] [--reference-score y]` to `parent` (the `uplift import` command): imports
 * the official CIFAR-10 python archive as a workspace task family (docs/cbm-cifar10.md). Bad input
 * throws SpecError listing every problem (the CLI prints it and exits 2).
 */
export function addCifar10Import(parent: Command, io: Io, setExit: (code: number) => void): void {
  parent
    .command('cifar10')
    .description("import the official CIFAR-10 python archive (cifar-10-python.tar.gz, which you download) as a workspace task family: MLAgentBench's cifar10 task, one task per disjoint slice of the test set, the data staged as assets")
    .argument('<archive>', 'cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar-10.html')
    .requiredOption('--out <dir>', 'task family directory to write (usable as cbms[].dataset with kind: workspace)')
    .option('--seed <n>', 'seed of the split of the test images into task slices', '1')
    .option('--dev-tasks <n>', 'dev tasks (the TLA learns on them)', '1')
    .option('--test-tasks <n>', 'test tasks (the held-out score)', '4')
    .option('--starting-score <x>', "the baseline train.py's measured test accuracy (with --reference-score: scores are normalised between them)")
    .option('--reference-score <y>', "a reference solution's test accuracy (MLAgentBench's target: 1.1 × the starting score)")
    .action(async (archive: string, o: Cifar10Flags) => {
      const problems: string[] = [];
      const seed = numberFlag('--seed', o.seed, true, problems, '1');
      const devTasks = numberFlag('--dev-tasks', o.devTasks, true, problems, '1');
      const testTasks = numberFlag('--test-tasks', o.testTasks, true, problems, '4');
      const startingScore = numberFlag('--starting-score', o.startingScore, false, problems, '0.52');
      const referenceScore = numberFlag('--reference-score', o.referenceScore, false, problems, '0.57');
      if (problems.length) throw new SpecError(problems);
      const r = importCifar10({ archive, outDir: o.out, seed, devTasks, testTasks, startingScore, referenceScore });
      io.out(renderCifar10Import(r) + '\n');
      setExit(EXIT.ok);
    });
}
