import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpec } from '../../../core/spec';
import { prepareSweep } from '../../../core/sweep/stage';
import { runCli } from '../../support/cli';
import { specProblems } from '../../support/spec-problems';
import { EXAMPLES } from '../../support/specs';

/*
 * `plan` starts nothing, so it needs no API keys: each missing key is a warning line there (what
 * `run` would refuse); `run`/`submit` (prepareSweep's default) still refuse them, all at once.
 */

function specWithKeys(): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-keys-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: keys
cbms: [{ id: pi, kind: prompt-injection, dataset: ${join(EXAMPLES, 'datasets/pi-sample')}, judge: { model: { provider: openai, name: gpt-4o-mini, apiKeyEnv: UPLIFT_T_JUDGE_KEY } } }]
ras: [{ name: chat, bundle: ${join(EXAMPLES, 'agents/chat-assistant')}, model: { provider: openai, name: gpt-4o-mini, apiKeyEnv: UPLIFT_T_RA_KEY } }]
tlas: [{ kind: noop }, { kind: react, model: { provider: openai, name: gpt-4o, apiKeyEnv: UPLIFT_T_TLA_KEY } }]
budgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 100 }
`,
  );
  return file;
}

const MISSING = [
  /^.*sweep\.yaml: cbms\.0\.judge\.model\.apiKeyEnv: environment variable UPLIFT_T_JUDGE_KEY is not set\. Fix: export UPLIFT_T_JUDGE_KEY=<key> \(only the scoring harness holds it; agents never see it\)$/,
  /^.*sweep\.yaml: ras\.0\.model\.apiKeyEnv: environment variable UPLIFT_T_RA_KEY is not set\. Fix: export UPLIFT_T_RA_KEY=<key> \(the gateway holds it; agents only get a per-job token\)$/,
  /^.*sweep\.yaml: tlas\.1\.model\.apiKeyEnv: environment variable UPLIFT_T_TLA_KEY is not set\. Fix: export UPLIFT_T_TLA_KEY=<key> \(the TLA's gateway holds it; the TLA only gets a per-job token\)$/,
];

describe('API keys: plan warns, run refuses', () => {
  const file = specWithKeys();

  test('run/submit (the default): every missing key is a problem, all at once', () => {
    expect(specProblems(() => prepareSweep(loadSpec(file), {}))).toEqual(MISSING.map((m) => expect.stringMatching(m)));
  });

  test("plan (missingKeys: 'warn'): the sweep is prepared, with one warning per missing key", () => {
    const prepared = prepareSweep(loadSpec(file), {}, undefined, { missingKeys: 'warn' });
    expect(prepared.warnings).toEqual(MISSING.map((m) => expect.stringMatching(m)));
    expect(prepared.preview.runs.map((r) => r.tla.label).sort()).toEqual(['noop', 'react']);
  });

  test('with every key set, neither warns nor refuses', () => {
    const env = { UPLIFT_T_JUDGE_KEY: 'k', UPLIFT_T_RA_KEY: 'k', UPLIFT_T_TLA_KEY: 'k' };
    expect(prepareSweep(loadSpec(file), env).warnings).toEqual([]);
    expect(prepareSweep(loadSpec(file), env, undefined, { missingKeys: 'warn' }).warnings).toEqual([]);
  });

  test('warn mode still refuses every other problem', () => {
    const bad = specWithKeys();
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('maxUsd: 100', 'maxUsd: 0'));
    expect(specProblems(() => prepareSweep(loadSpec(bad), {}, undefined, { missingKeys: 'warn' }))).toEqual([expect.stringMatching(/budgets\.maxUsd: the worst case of 2 runs is \$[0-9.]+, over the budget of \$0\.00\. Fix:/)]);
  });

  test('uplift plan without the keys: exit 0, the plan on stdout, a warning line per key on stderr; --json stays JSON', async () => {
    const r = await runCli(['plan', file], { UPLIFT_COLUMNS: '200' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Sweep keys: 2 runs$/m);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toHaveLength(3);
    warnings.forEach((w, i) => {
      expect(w).toMatch(/^uplift plan: warning: /);
      expect(w.replace(/^uplift plan: warning: /, '').replace(/ \(`uplift run` refuses the spec until then; plan starts nothing, so it needs no key\)$/, '')).toMatch(MISSING[i]);
    });
    const json = await runCli(['plan', file, '--json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { runs: unknown[] }).runs).toHaveLength(2);
    expect(json.stderr.trim().split('\n')).toHaveLength(3);
  });
});
