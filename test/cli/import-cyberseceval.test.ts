import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { addCyberSecEvalPiImport } from '../../cli/commands/import-cyberseceval';
import { SpecError } from '../../core/errors';

const SOURCE = join(__dirname, '../../examples/datasets/pi-sample/source/prompt_injection.json');

function cli() {
  const out: string[] = [];
  const codes: number[] = [];
  const parent = new Command('import').exitOverride();
  addCyberSecEvalPiImport(parent, { out: (s) => out.push(s), err: (s) => out.push(s) }, (c) => codes.push(c));
  return { parent, out, codes, run: (...args: string[]) => parent.parseAsync(args, { from: 'user' }) };
}

describe('uplift import cyberseceval-pi', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pi-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the data set and prints counts per split and variant, where it wrote, and the cbms entry to use', async () => {
    const c = cli();
    await c.run('cyberseceval-pi', SOURCE, '--out', join(dir, 'ds'), '--seed', '1', '--dev-fraction', '0.4');
    expect(c.codes).toEqual([0]);
    const text = c.out.join('');
    expect(text).toContain('dev:  78 attacks, 30 benign');
    expect(text).toContain('test: 104 attacks, 46 benign');
    expect(text).toMatch(/ignore_previous_instructions +6 +8/);
    expect(text).toContain(`kind: prompt-injection, dataset: ${join(dir, 'ds')}, judge: { model: { provider: offline } }`);
    for (const f of ['dev.jsonl', 'test.jsonl', 'meta.json']) expect(existsSync(join(dir, 'ds', f))).toBe(true);
  });

  test('bad options are a SpecError naming each, with a fix', async () => {
    const c = cli();
    const err = await c.run('cyberseceval-pi', SOURCE, '--out', join(dir, 'ds'), '--seed', 'x', '--dev-fraction', '2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).problems).toEqual([expect.stringMatching(/^--seed "x" is not a whole number\. Fix:/), expect.stringMatching(/^--dev-fraction "2" .* Fix:/)]);
    expect(existsSync(join(dir, 'ds'))).toBe(false);
  });
});
