import { SweepSpec } from '../../../core/spec';
import { guardOf } from '../../../core/sweep/steps';
import { runWorstCase } from '../../../core/sweep/plan';

const pair = (ci: [number, number], uplift = (ci[0] + ci[1]) / 2) => ({ tasks: 40, baseline: 0.9, mra: 0.9 + uplift, uplift, ci });

describe('the guard: a run whose guard fell by more than maxGuardDrop (by its CI) is guard_violated', () => {
  test('violated only when the whole CI lies below −maxDrop', () => {
    expect(guardOf(pair([-0.4, -0.2]), 0.05).violated).toBe(true);
    expect(guardOf(pair([-0.1, -0.051]), 0.05).violated).toBe(true);
    // The CI reaches the allowance: the data do not show a larger fall.
    expect(guardOf(pair([-0.1, -0.05]), 0.05).violated).toBe(false);
    expect(guardOf(pair([-0.1, -0.04]), 0.05).violated).toBe(false);
    expect(guardOf(pair([0, 0]), 0).violated).toBe(false);
    // With no fall allowed, any CI wholly below 0 violates it.
    expect(guardOf(pair([-0.02, -0.01]), 0).violated).toBe(true);
  });

  test('keeps the scores and the allowance it was judged by', () => {
    expect(guardOf(pair([-0.3, -0.1], -0.2), 0.05)).toEqual({ tasks: 40, baseline: 0.9, mra: 0.7, uplift: -0.2, ci: [-0.3, -0.1], maxDrop: 0.05, violated: true });
  });
});

describe('worst case of a run whose CBM is scored by a judge', () => {
  const spec = SweepSpec.parse({
    name: 'judge-cost',
    cbms: [{ id: 'c', dataset: 'd' }],
    ras: [{ name: 'r', bundle: 'b', model: { provider: 'openai', name: 'ra-m' } }],
    tlas: [{ kind: 'noop' }],
    budgets: { tlaTokens: 100_000, shardTokens: 10_000, tlaWallSeconds: 600, maxUsd: 100 },
    prices: { models: { 'ra-m': { inputPerMTok: 1, outputPerMTok: 2 }, 'judge-m': { inputPerMTok: 3, outputPerMTok: 5 } } },
  });
  const judge = { model: { provider: 'openai' as const, name: 'judge-m', apiKeyEnv: 'OPENAI_API_KEY' }, tokensPerShard: 4_000 };

  test('adds every shard job’s judge allowance at the judge’s dearer price', () => {
    const shards = 3;
    const withoutJudge = runWorstCase(spec, spec.ras[0].model, shards, spec.tlas[0]);
    expect(withoutJudge).toBeCloseTo(((100_000 + 2 * shards * 10_000) * 2) / 1e6, 12);
    // 2 × 3 shard jobs × 4,000 judge tokens at $5/M — plus the TLA's budget now priced at the judge's $5/M (dev evaluations ask it too).
    const expected = (100_000 * 5) / 1e6 + (2 * shards * 10_000 * 2) / 1e6 + (2 * shards * 4_000 * 5) / 1e6;
    expect(runWorstCase(spec, spec.ras[0].model, shards, spec.tlas[0], judge)).toBeCloseTo(expected, 12);
  });

  test('a budget curve adds its extra MRA shard jobs to the judge allowance too', () => {
    const curved = { ...spec, budgetCurve: [1000, 2000] };
    const shards = 2;
    const jobs = (2 + 2) * shards;
    const expected = (100_000 * 5) / 1e6 + (jobs * 10_000 * 2) / 1e6 + (jobs * 4_000 * 5) / 1e6;
    expect(runWorstCase(curved, spec.ras[0].model, shards, spec.tlas[0], judge)).toBeCloseTo(expected, 12);
  });
});
