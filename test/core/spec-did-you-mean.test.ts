import { join, resolve } from 'node:path';
import { z } from 'zod';
import { closestKey, editDistance, formatIssues, parseSpec } from '../../core/spec';
import { specProblems } from '../support/spec-problems';

/*
 * A misspelt key in a sweep spec is named with the closest key allowed at that place (edit
 * distance ≤ 2), in every strict object of the spec: top level, budgets, concurrency, prices,
 * models, TLAs by kind, and each CBM kind's own fields. A key of another kind says which kind has it.
 */

const EXAMPLES = resolve(__dirname, '../../examples');
const valid = () => ({
  name: 'dym',
  cbms: [{ id: 'tai-safety', dataset: join(EXAMPLES, 'datasets/tai-safety') }] as Record<string, unknown>[],
  ras: [{ name: 'classifier', bundle: join(EXAMPLES, 'agents/classifier'), model: { provider: 'offline' } }] as Record<string, unknown>[],
  tlas: [{ kind: 'noop' }] as Record<string, unknown>[],
  budgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 1 } as Record<string, unknown>,
});
const problems = (raw: unknown) => specProblems(() => parseSpec(raw, 'sweep.yaml'));
const WORKSPACE = { id: 'swe', kind: 'workspace', dataset: '/nope' };

describe('did you mean: the closest known key of each strict object', () => {
  test.each<[string, (raw: ReturnType<typeof valid>) => void, string]>([
    ['top level', (r) => Object.assign(r, { seed: 3 }), 'sweep.yaml: seed: unknown field. Did you mean seeds? Fix: rename it to seeds'],
    ['budgets', (r) => Object.assign(r.budgets, { shardWallSecond: 60 }), 'sweep.yaml: budgets.shardWallSecond: unknown field. Did you mean shardWallSeconds? Fix: rename it to shardWallSeconds'],
    ['concurrency', (r) => Object.assign(r, { concurrency: { run: 2 } }), 'sweep.yaml: concurrency.run: unknown field. Did you mean runs? Fix: rename it to runs'],
    ['a price of prices.models (a record)', (r) => Object.assign(r, { prices: { models: { m: { outputPerMTok: 1, inputPerMtoks: 1 } } } }), 'sweep.yaml: prices.models.m.inputPerMtoks: unknown field. Did you mean inputPerMTok? Fix: rename it to inputPerMTok'],
    ['an RA model (by provider)', (r) => Object.assign(r.ras[0], { model: { provider: 'openai', name: 'm', baseURL: 'http://x' } }), 'sweep.yaml: ras.0.model.baseURL: unknown field. Did you mean baseUrl? Fix: rename it to baseUrl'],
    ['a TLA of kind fewshot-search', (r) => r.tlas.push({ kind: 'fewshot-search', evalTask: 3 }), 'sweep.yaml: tlas.1.evalTask: unknown field. Did you mean evalTasks? Fix: rename it to evalTasks'],
    ['the react TLA model (a refined union)', (r) => r.tlas.push({ kind: 'react', model: { provider: 'openai', name: 'g', apiKeyENV: 'K' } }), 'sweep.yaml: tlas.1.model.apiKeyENV: unknown field. Did you mean apiKeyEnv? Fix: rename it to apiKeyEnv'],
    ['a CBM without kind (classification by default)', (r) => Object.assign(r.cbms[0], { maxGuardDrp: 0.1 }), 'sweep.yaml: cbms.0.maxGuardDrp: unknown field. Did you mean maxGuardDrop? Fix: rename it to maxGuardDrop'],
    ['a workspace CBM field', (r) => r.cbms.push({ ...WORKSPACE, taskWallSecond: 600 }), 'sweep.yaml: cbms.1.taskWallSecond: unknown field. Did you mean taskWallSeconds? Fix: rename it to taskWallSeconds'],
    ['a field of a prompt-injection judge (piped schema)', (r) => r.cbms.push({ id: 'pi', kind: 'prompt-injection', dataset: '/nope', judge: { model: { provider: 'offline' }, tokensPerTsk: 9 } }), 'sweep.yaml: cbms.1.judge.tokensPerTsk: unknown field. Did you mean tokensPerTask? Fix: rename it to tokensPerTask'],
  ])('%s', (_where, edit, expected) => {
    const raw = valid();
    edit(raw);
    expect(problems(raw)).toContain(expected);
  });

  test('several at once, each on its own line, alongside the other problems', () => {
    const raw = { ...valid(), seed: 3, shardSise: 10, name: 'Not Kebab' };
    const p = problems(raw);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sweep\.yaml: name: must be kebab-case/),
        'sweep.yaml: seed: unknown field. Did you mean seeds? Fix: rename it to seeds',
        'sweep.yaml: shardSise: unknown field. Did you mean shardSize? Fix: rename it to shardSize',
      ]),
    );
    expect(p).toHaveLength(3);
  });

  test('a key of another CBM kind names the kind that has it', () => {
    const raw = valid();
    Object.assign(raw.cbms[0], { taskWallSeconds: 600 });
    expect(problems(raw)).toEqual([
      'sweep.yaml: cbms.0.taskWallSeconds: unknown field for kind classification (kind workspace has taskWallSeconds). Fix: remove it, or set kind: workspace; kind classification has id, dataset, maxGuardDrop, kind',
    ]);
  });

  test('nothing close: the fields allowed there; a key already present is not suggested again', () => {
    const raw = { ...valid(), budget: {}, colour: 'red' };
    const fields = 'name, cbms, ras, tlas, variants, seeds, shardSize, budgets, concurrency, prices, onOverBudget, budgetCurve, maxAgentErrorRate';
    expect(problems(raw)).toEqual([`sweep.yaml: budget: unknown field. Fix: remove it; the fields here are ${fields}`, `sweep.yaml: colour: unknown field. Fix: remove it; the fields here are ${fields}`]);
  });

  test('without a schema (other callers), unknown fields keep their one-line form', () => {
    const schema = z.strictObject({ a: z.number() });
    const raw = { a: 1, b: 2 };
    expect(formatIssues('cfg.json', schema.safeParse(raw).error as z.ZodError, raw)).toEqual(['cfg.json: (top level): unknown field(s) "b"; remove or rename them']);
    expect(formatIssues('cfg.json', schema.safeParse(raw).error as z.ZodError, raw, schema)).toEqual(['cfg.json: b: unknown field. Fix: remove it; the fields here are a']);
  });
});

describe('closestKey', () => {
  test('edit distance at most 2 and less than the key, case ignored, nearest first', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestKey('taskWallSecond', ['taskTokens', 'taskWallSeconds'])).toBe('taskWallSeconds');
    expect(closestKey('maxusd', ['maxUsd'])).toBe('maxUsd');
    expect(closestKey('maxAgentErrRate', ['maxAgentErrorRate'])).toBe('maxAgentErrorRate'); // 2 edits
    expect(closestKey('seedz', ['seeds', 'seed'])).toBe('seeds');
    expect(closestKey('tlaWallSecs', ['tlaWallSeconds'])).toBeUndefined(); // 3 edits away
    expect(closestKey('xy', ['id'])).toBeUndefined(); // 2 edits: the whole key
  });
});
