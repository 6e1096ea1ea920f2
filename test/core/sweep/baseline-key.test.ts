import { join } from 'node:path';
import { LOCAL_COMPUTE } from '../../../core/pricing';
import { parseSpec } from '../../../core/spec';
import { BASELINE_PROTOCOL_VERSION, baselineDescription, baselineKey, type BaselineInputs } from '../../../core/sweep/baseline-key';
import { expandPlan, type StagedSweep } from '../../../core/sweep/plan';
import { EXAMPLES } from '../../support/specs';

const base: BaselineInputs = {
  bundleHash: 'bundle-1',
  cbm: { id: 'tai', kind: 'classification', datasetVersion: 'v1' },
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

  test('the key is stable, readable and carries the protocol version', () => {
    expect(baselineKey({ ...base })).toBe(baselineKey(base));
    expect(baselineKey(base)).toMatch(/^BASELINE#tai@v1#gpt-4o-mini#[0-9a-f]{64}$/);
    expect(baselineDescription(base)).toMatchObject({ protocol: BASELINE_PROTOCOL_VERSION });
  });

  test('the variable that holds the API key does not change it (same endpoint, same model)', () => {
    expect(baselineKey({ ...base, model: { ...base.model, apiKeyEnv: 'OTHER_KEY' } as BaselineInputs['model'] })).toBe(baselineKey(base));
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
      cbms: [{ id: 'a', datasetPrefix: `datasets/a/${datasetVersion}`, datasetVersion, labels: ['x', 'y'], devCount: 10, testCount: 180 }],
      ras: spec.ras.map((r) => ({ name: r.name, bundleHash: 'h', model: r.model })),
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

  test('what does not change a baseline (the TLA budget, seeds, maxUsd) keeps the key, so baselines are shared', () => {
    expect(keyOf(staged({ seeds: 3, budgets: { tlaTokens: 9999, shardTokens: 50_000, tlaWallSeconds: 99, shardWallSeconds: 600, maxUsd: 5 } }))).toBe(reference);
  });
});
