import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { writeSmallSpec } from '../support/specs';

describe('uplift run: bad input', () => {
  test('a spec error exits 2, names the field and the fix, and writes or starts nothing', async () => {
    // GIVEN a spec with a bad variant and a budget that is not a number
    const spec = join(mkdtempSync(join(tmpdir(), 'uplift-cli-')), 'bad.yaml');
    writeFileSync(spec, `name: bad\ncbms: [{id: tai-safety, dataset: /nope}]\nras: [{name: r, bundle: /nope, model: {provider: offline}}]\ntlas: [{kind: noop}]\nvariants: [medium]\nbudgets: {tlaTokens: 1, shardTokens: 1, tlaWallSeconds: 1, maxUsd: lots}\n`);
    const dataDir = join(mkdtempSync(join(tmpdir(), 'uplift-cli-')), 'data');
    // WHEN uplift run is given it
    const r = await runCli(['run', spec, '--data-dir', dataDir]);
    // THEN it exits 2 with every problem, and nothing was created
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('variants.0: must be "simple" or "hard" (received "medium")');
    expect(r.stderr).toContain('budgets.maxUsd: expected a number (received "lots")');
    expect(existsSync(dataDir)).toBe(false);
  });

  test('a sweep over its dollar budget is refused before anything starts', async () => {
    const spec = writeSmallSpec({ maxUsd: 0 });
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('model: { provider: offline }', 'model: { provider: openai, name: gpt-4o-mini }'));
    const dataDir = join(mkdtempSync(join(tmpdir(), 'uplift-cli-')), 'data');
    const r = await runCli(['run', spec, '--data-dir', dataDir], { OPENAI_API_KEY: 'sk-test' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/budgets\.maxUsd: the worst case of 2 runs is \$[0-9.]+, over the budget of \$0\.00\. Fix: raise budgets\.maxUsd/);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('an API model without its key is refused with the variable to set', async () => {
    const spec = writeSmallSpec();
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('model: { provider: offline }', 'model: { provider: openai, name: gpt-4o-mini, apiKeyEnv: UPLIFT_TEST_NO_SUCH_KEY }'));
    const dataDir = join(mkdtempSync(join(tmpdir(), 'uplift-cli-')), 'data');
    const r = await runCli(['run', spec, '--data-dir', dataDir]); // `plan` only warns: test/core/sweep/plan-without-keys.test.ts
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ras.0.model.apiKeyEnv: environment variable UPLIFT_TEST_NO_SUCH_KEY is not set. Fix: export UPLIFT_TEST_NO_SUCH_KEY=<key>');
    expect(existsSync(dataDir)).toBe(false);
  });

  test('results of an unknown sweep exit 2 and say how to find one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-cli-'));
    const r = await runCli(['results', 'no-such-sweep', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sweep no-such-sweep: not found in');
  });

  test('uplift plan shows the per-TLA/RA/CBM breakdown, and what trim dropped', async () => {
    // GIVEN two TLAs on gpt-4o with a budget that fits one of them, and onOverBudget: trim
    const spec = writeSmallSpec({ maxUsd: 20, extra: 'onOverBudget: trim' });
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('model: { provider: offline }', 'model: { provider: openai, name: gpt-4o }'));
    const r = await runCli(['plan', spec], { OPENAI_API_KEY: 'sk-test' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TLA\s+runs\s+tokens\s+tokens \$\s+compute \$\s+total \$$/m);
    // 400k TLA tokens + 2 × 2 shards × 300k shard tokens at gpt-4o's $10 per million
    expect(r.stdout).toMatch(/^noop\s+1\s+1,600,000\s+\$16\.00\s+\$0\.0000\s+\$16\.00$/m);
    expect(r.stdout).toContain('Trimmed to fit budgets.maxUsd (onOverBudget: trim): dropped');
    expect(r.stdout).toContain('fewshot-search × classifier × tai-safety × simple: 1 run(s), worst case $16.00');
    expect(r.stdout).toContain('Worst case: $16.00 of budgets.maxUsd $20.00.');
  });
});
