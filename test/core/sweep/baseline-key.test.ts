import { join } from 'node:path';
import { CBM_KINDS } from '../../../core/cbm/registry';
import { LOCAL_COMPUTE } from '../../../core/pricing';
import { parseSpec, type CbmSpec } from '../../../core/spec';
import { BASELINE_PROTOCOL_VERSION, baselineDescription, baselineKey, type BaselineInputs } from '../../../core/sweep/baseline-key';
import { expandPlan, type StagedSweep } from '../../../core/sweep/plan';
import { EXAMPLES } from '../../support/specs';

const base: BaselineInputs = {
  bundleHash: 'bundle-1',
  cbm: { id: 'tai', kind: 'classification', datasetVersion: 'v1', fields: {}, judge: null },
  model: { provider: 'openai', name: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' },
  shards: 4,
  tasksPerShard: 45,
  shardTokens: 100_000,
  shardWallSeconds: 600,
  requests: 8,
};

describe('baseline cache key: everything that changes a baseline is in it', () => {
  // Each change must give a fresh baseline: a key that ignores any of these lets a later sweep reuse a baseline computed under other conditions.
  const changes: [string, Partial<BaselineInputs>][] = [
    ['bundle content', { bundleHash: 'bundle-2' }],
    ['CBM id', { cbm: { ...base.cbm, id: 'other' } }],
    ['CBM kind', { cbm: { ...base.cbm, kind: 'prompt-injection' } }],
    ['data version', { cbm: { ...base.cbm, datasetVersion: 'v2' } }],
    ['CBM kind fields', { cbm: { ...base.cbm, fields: { goal: 'unlearn' } } }],
    ['CBM judge', { cbm: { ...base.cbm, judge: { model: { provider: 'offline', latencyMs: 0 }, tokensPerTask: 64 } } }],
    ['model name', { model: { ...base.model, name: 'gpt-4o' } as BaselineInputs['model'] }],
    ['model base URL', { model: { ...base.model, baseUrl: 'http://127.0.0.1:8000/v1' } as BaselineInputs['model'] }],
    ['model provider', { model: { provider: 'vllm', name: 'gpt-4o-mini', weightsUri: 's3://b/models/x/', startupTimeoutSeconds: 900, extraArgs: [] } }],
    ['shard count', { shards: 5 }],
    ['tasks per shard', { tasksPerShard: 40 }],
    ['shard token budget', { shardTokens: 100_001 }],
    ['shard wall limit', { shardWallSeconds: 601 }],
    ['requests in flight', { requests: 16 }],
  ];
  // The hash alone must change: the readable prefix (cbm@version#model) is for people, and leaves fields out.
  const hashOf = (k: string) => k.split('#').pop();
  test.each(changes)('changing the %s changes the key', (_what, change) => {
    expect(hashOf(baselineKey({ ...base, ...change }))).not.toBe(hashOf(baselineKey(base)));
  });

  // A judged CBM with kind fields: every field of the kind and of the judge is in the key too.
  const judgeModel: BaselineInputs['model'] = { provider: 'openai', name: 'gpt-4o', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' };
  const judged: BaselineInputs = { ...base, cbm: { ...base.cbm, kind: 'multiple-choice', fields: { goal: 'unlearn', forget: ['bio'] }, judge: { model: judgeModel, tokensPerTask: 64 } } };
  const judgedChanges: [string, BaselineInputs['cbm']][] = [
    ['kind field value', { ...judged.cbm, fields: { goal: 'retain', forget: ['bio'] } }],
    ['nested kind field', { ...judged.cbm, fields: { goal: 'unlearn', forget: ['chem'] } }],
    ['extra kind field', { ...judged.cbm, fields: { goal: 'unlearn', forget: ['bio'], strict: true } }],
    ['judge model name', { ...judged.cbm, judge: { model: { ...judgeModel, name: 'gpt-4o-mini' }, tokensPerTask: 64 } }],
    ['judge base URL', { ...judged.cbm, judge: { model: { ...judgeModel, baseUrl: 'http://127.0.0.1:8000/v1' }, tokensPerTask: 64 } }],
    ['judge provider', { ...judged.cbm, judge: { model: { provider: 'offline', latencyMs: 0 }, tokensPerTask: 64 } }],
    ['judge tokensPerTask', { ...judged.cbm, judge: { model: judgeModel, tokensPerTask: 65 } }],
    ['judge removed', { ...judged.cbm, judge: null }],
  ];
  test.each(judgedChanges)('for a judged CBM, changing the %s changes the key', (_what, cbm) => {
    expect(hashOf(baselineKey({ ...judged, cbm }))).not.toBe(hashOf(baselineKey(judged)));
  });

  test('kind fields are hashed by content, not by the order they were written in', () => {
    const reordered: BaselineInputs = { ...judged, cbm: { ...judged.cbm, fields: { forget: ['bio'], goal: 'unlearn' } } };
    expect(baselineKey(reordered)).toBe(baselineKey(judged));
  });

  test('the key is stable, readable and carries the protocol version', () => {
    expect(baselineKey({ ...base })).toBe(baselineKey(base));
    expect(baselineKey(base)).toMatch(/^BASELINE#tai@v1#gpt-4o-mini#[0-9a-f]{64}$/);
    expect(baselineDescription(base)).toMatchObject({ protocol: BASELINE_PROTOCOL_VERSION });
  });

  test('the variable that holds the API key does not change it (same endpoint, same model)', () => {
    expect(baselineKey({ ...base, model: { ...base.model, apiKeyEnv: 'OTHER_KEY' } as BaselineInputs['model'] })).toBe(baselineKey(base));
    expect(baselineKey({ ...judged, cbm: { ...judged.cbm, judge: { model: { ...judgeModel, apiKeyEnv: 'OTHER_KEY' }, tokensPerTask: 64 } } })).toBe(baselineKey(judged));
  });
});

describe('baseline cache key as the plan derives it', () => {
  function staged(over: Record<string, unknown>, model: Record<string, unknown> = { provider: 'openai', name: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1' }, datasetVersion = 'v1'): StagedSweep {
    const { spec } = parseSpec(
      {
        name: 'key-test',
        cbms: [{ id: 'a', dataset: join(EXAMPLES, 'datasets/tai-safety') }],
        ras: [{ name: 'r1', bundle: join(EXAMPLES, 'agents/classifier'), model }],
        tlas: [{ kind: 'noop' }],
        shardSize: 90,
        budgets: { tlaTokens: 1000, shardTokens: 50_000, tlaWallSeconds: 60, shardWallSeconds: 600, maxUsd: 1000 },
        ...over,
      },
      join(EXAMPLES, 'sweeps/key-test.yaml'),
    );
    return {
      sweepId: 's',
      createdAt: '2026-01-01T00:00:00Z',
      specFile: 'key-test.yaml',
      spec,
      cbms: [{ id: 'a', kind: 'classification', datasetPrefix: `datasets/a/${datasetVersion}`, datasetVersion, devCount: 10, testCount: 180, guardCount: 0 }],
      ras: spec.ras.map((r) => ({ name: r.name, bundleHash: 'h', model: r.model, speaks: 'classification' })),
      fixedBundles: {},
      compute: LOCAL_COMPUTE,
    };
  }
  const keyOf = (s: StagedSweep) => expandPlan(s).runs[0].baselineKey;
  const reference = keyOf(staged({}));

  test.each([
    ['shardSize', staged({ shardSize: 60 })],
    ['budgets.shardTokens', staged({ budgets: { tlaTokens: 1000, shardTokens: 60_000, tlaWallSeconds: 60, shardWallSeconds: 600, maxUsd: 1000 } })],
    ['budgets.shardWallSeconds', staged({ budgets: { tlaTokens: 1000, shardTokens: 50_000, tlaWallSeconds: 60, shardWallSeconds: 300, maxUsd: 1000 } })],
    ['concurrency.requests', staged({ concurrency: { requests: 2 } })],
    ['the model base URL', staged({}, { provider: 'openai', name: 'gpt-4o-mini', baseUrl: 'http://127.0.0.1:9/v1' })],
    ['the data version', staged({}, undefined, 'v2')],
  ])('a sweep that changes %s gets a fresh baseline', (_what, s) => {
    expect(keyOf(s)).not.toBe(reference);
  });

  test('the plan puts the kind\'s spec fields in the key: another value of a kind field gets a fresh baseline', () => {
    // GIVEN the same sweep, its CBM entry carrying a kind field (as a kind with a `goal` field would; classification has none, so it is set past the spec parser)
    const withGoal = (goal: string) => {
      const s = staged({});
      const entry: CbmSpec = { ...s.spec.cbms[0], goal };
      s.spec.cbms[0] = entry as StagedSweep['spec']['cbms'][number];
      return s;
    };
    // THEN the field and each of its values give their own key
    expect(keyOf(withGoal('unlearn'))).not.toBe(reference);
    expect(keyOf(withGoal('unlearn'))).not.toBe(keyOf(withGoal('retain')));
    expect(keyOf(withGoal('unlearn'))).toBe(keyOf(withGoal('unlearn')));
  });

  test('the plan puts the kind\'s judge in the key: another judge model or allowance gets a fresh baseline', () => {
    // GIVEN the classification kind with a judge (for this test only), the same spec each time, so only the judge differs
    const original = CBM_KINDS.classification;
    let judge = { name: 'gpt-4o', tokensPerTask: 64 };
    CBM_KINDS.classification = {
      ...original,
      judge: () => ({ model: { provider: 'openai', name: judge.name, baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' }, tokensPerTask: judge.tokensPerTask }),
    };
    try {
      const keyWith = (j: typeof judge) => {
        judge = j;
        return keyOf(staged({}));
      };
      const judged = keyWith({ name: 'gpt-4o', tokensPerTask: 64 });
      expect(expandPlan(staged({})).runs[0].baselineInputs).toMatchObject({ cbm: { judge: { model: { name: 'gpt-4o' }, tokensPerTask: 64 } } });
      // THEN a judge gets a key of its own, and so does each judge model and allowance
      expect(judged).not.toBe(reference);
      expect(keyWith({ name: 'gpt-4o-mini', tokensPerTask: 64 })).not.toBe(judged);
      expect(keyWith({ name: 'gpt-4o', tokensPerTask: 128 })).not.toBe(judged);
      expect(keyWith({ name: 'gpt-4o', tokensPerTask: 64 })).toBe(judged);
    } finally {
      CBM_KINDS.classification = original;
    }
  });

  test('what does not change a baseline (the TLA budget, seeds, maxUsd) keeps the key, so baselines are shared', () => {
    expect(keyOf(staged({ seeds: 3, budgets: { tlaTokens: 9999, shardTokens: 50_000, tlaWallSeconds: 99, shardWallSeconds: 600, maxUsd: 5 } }))).toBe(reference);
  });
});
