import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { addCifar10Import } from '../../cli/commands/import-cifar10';
import { main } from '../../cli/main';
import { loadTaskFamily } from '../../core/cbm/workspace/family';
import { SpecError } from '../../core/errors';
import { writeCifarArchive } from '../support/cifar-archive';

function cli() {
  const out: string[] = [];
  const codes: number[] = [];
  const parent = new Command('import').exitOverride();
  addCifar10Import(parent, { out: (s) => out.push(s), err: (s) => out.push(s) }, (c) => codes.push(c));
  return { out, codes, run: (...args: string[]) => parent.parseAsync(args, { from: 'user' }) };
}

describe('uplift import cifar10', () => {
  let dir: string;
  let archive: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cifar-cli-'));
    archive = join(dir, 'cifar-10-python.tar.gz');
    writeCifarArchive(archive);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the family and prints its tasks, slices, assets, how it is scored and the cbms entry to use', async () => {
    const c = cli();
    const out = join(dir, 'fam');
    await c.run('cifar10', archive, '--out', out, '--seed', '2', '--dev-tasks', '2', '--test-tasks', '2', '--starting-score', '0.5', '--reference-score', '0.55');
    expect(c.codes).toEqual([0]);
    const text = c.out.join('');
    expect(text).toContain('2 dev task(s) (cifar10-1, cifar10-2) and 2 test task(s) (cifar10-3, cifar10-4),');
    expect(text).toContain('each scored on its own slice of 10 test images');
    expect(text).toContain('normalised between --starting-score (0) and --reference-score (1)');
    expect(text).toContain(`      dataset: ${out}`);
    const f = loadTaskFamily(out);
    expect(f.test.map((t) => [t.id, t.startingScore, t.referenceScore])).toEqual([['cifar10-3', 0.5, 0.55], ['cifar10-4', 0.5, 0.55]]);
  });

  test('bad flags are one SpecError naming each flag, with a fix, and nothing is written', async () => {
    const c = cli();
    const out = join(dir, 'never');
    const err = await c.run('cifar10', archive, '--out', out, '--seed', 'x', '--test-tasks', '1.5', '--starting-score', 'high').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).problems).toEqual([
      expect.stringMatching(/^uplift import cifar10: --seed "x" is not a whole number\. Fix: e\.g\. --seed 1$/),
      expect.stringMatching(/^uplift import cifar10: --test-tasks "1\.5" is not a whole number\. Fix:/),
      expect.stringMatching(/^uplift import cifar10: --starting-score "high" is not a number\. Fix:/),
    ]);
    expect(existsSync(out)).toBe(false);
  });

  test('is registered under `uplift import`; a malformed archive prints every problem and exits 2', async () => {
    const bad = join(dir, 'bad.tar.gz');
    writeCifarArchive(bad, { omit: ['batches.meta', 'test_batch'] });
    const err: string[] = [];
    const code = await main(['node', 'uplift', 'import', 'cifar10', bad, '--out', join(dir, 'never2')], { out: () => undefined, err: (s) => err.push(s) });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/uplift: invalid input:\n  - .*test_batch is missing\. Fix: .*\n  - .*batches\.meta is missing\. Fix: /);
  });
});
