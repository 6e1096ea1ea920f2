import { join } from 'node:path';
import { SpecError } from '../../../core/errors';
import { jobUsdPerHour, LOCAL_COMPUTE } from '../../../core/pricing';
import { parseSpec } from '../../../core/spec';
import { expandPlan, queueFor, type StagedSweep } from '../../../core/sweep/plan';
import { CBM_KINDS } from '../../../core/cbm/registry';
import { EXAMPLES } from '../../support/specs';

/** A staged sweep over two CBMs and two RAs (no files needed: expandPlan is pure). */
function staged(over: Record<string, unknown> = {}, compute = LOCAL_COMPUTE): StagedSweep {
  const { spec } = parseSpec(
    {
      name: 'plan-test',
      cbms: [{ id: 'a', dataset: join(EXAMPLES, 'datasets/tai-safety') }, { id: 'b', dataset: join(EXAMPLES, 'datasets/tai-safety') }],
      ras: [
        { name: 'r1', bundle: join(EXAMPLES, 'agents/classifier'), model: { provider: 'openai', name: 'gpt-4o-mini' } },
        { name: 'r2', bundle: join(EXAMPLES, 'agents/classifier'), model: { provider: 'openai', name: 'gpt-4o' } },
      ],
      tlas: [{ kind: 'noop' }, { kind: 'fewshot-search' }],
      variants: ['simple', 'hard'],
      seeds: 2,
      shardSize: 100,
      budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, shardWallSeconds: 600, maxUsd: 1000 },
      ...over,
    },
    join(EXAMPLES, 'sweeps/plan-test.yaml'),
  );
  return {
    sweepId: 's',
    createdAt: '2026-01-01T00:00:00Z',
    specFile: 'plan-test.yaml',
    spec,
    cbms: spec.cbms.map((c) => ({ id: c.id, kind: 'classification', datasetPrefix: `datasets/${c.id}/v1`, datasetVersion: 'v1', devCount: 10, testCount: 180, guardCount: 0 })),
    ras: spec.ras.map((r, i) => ({ name: r.name, bundleHash: `h${i}`, model: r.model, speaks: 'classification' })),
    fixedBundles: {},
    compute,
  };
}

describe('sweep plan: pricing the worst case', () => {
  test('expands the full matrix with one worst case per run: tokens at the dearer price', () => {
    const plan = expandPlan(staged());
    expect(plan.runs).toHaveLength(2 * 2 * 2 * 2 * 2);
    // gpt-4o: 100k + 2 × 2 shards × 50k = 300k tokens at $10/MTok
    const r = plan.runs.find((x) => x.ra.name === 'r2') as (typeof plan.runs)[number];
    expect(r.worstCase).toEqual({ tokensUsd: 3, computeUsd: 0 });
    expect(plan.worstCaseUsd).toBeCloseTo(16 * 3 + 16 * 0.18, 10);
    expect(plan.trimmed).toEqual([]);
  });

  test('prices job time at the wall-clock limits on the queue\'s compute', () => {
    // GIVEN jobs on Fargate 1 vCPU / 2 GiB: $0.04048 + 2 × $0.004445 per hour
    const plan = expandPlan(staged({}, { cpu: { kind: 'fargate', vcpus: 1, memoryMiB: 2048 }, gpu: { kind: 'ec2', instanceTypes: ['g5.xlarge', 'g6.xlarge'] } }));
    // each job at its attempt timeout: its wall-clock budget plus the 300 s start-up allowance
    const hours = (3600 + 300 + 2 * 2 * (600 + 300)) / 3600;
    expect(plan.runs[0].worstCase.computeUsd).toBeCloseTo(hours * (0.04048 + 2 * 0.004445), 10);
    expect(jobUsdPerHour({ kind: 'ec2', instanceTypes: ['g5.xlarge', 'g6.xlarge'] })).toBe(1.006);
    expect(() => jobUsdPerHour({ kind: 'ec2', instanceTypes: ['x9.mega'] })).toThrow(/prices\.instances\.x9\.mega: no hourly price .* Fix: add `prices: \{ instances: \{ x9\.mega: <USD per hour> \} \}`/);
  });

  test('refuses a sweep over budget, naming the field and both fixes', () => {
    expect(() => expandPlan(staged({ budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 10 } }))).toThrow(SpecError);
    expect(() => expandPlan(staged({ budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 10 } }))).toThrow(
      /budgets\.maxUsd: the worst case of 32 runs is \$50\.88, over the budget of \$10\.00\. Fix: .*or set onOverBudget: trim/,
    );
  });

  test('trim drops whole cells in reverse matrix order until the rest fits, and lists them', () => {
    // GIVEN $30: the 16 gpt-4o runs cost $3 each, the 16 gpt-4o-mini runs $0.18
    const plan = expandPlan(staged({ onOverBudget: 'trim', budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 30 } }));
    // THEN the last cells go first (CBM b's r2 cells, $6 each) until the rest fits: 50.88 − 4 × 6 ≤ 30
    expect(plan.worstCaseUsd).toBeCloseTo(26.88, 10);
    expect(plan.trimmed.map((t) => t.cell)).toEqual(['noop × r2 × b × simple', 'noop × r2 × b × hard', 'fewshot-search × r2 × b × simple', 'fewshot-search × r2 × b × hard']);
    expect(plan.trimmed.every((t) => t.runs === 2 && Math.abs(t.worstCaseUsd - 6) < 1e-9)).toBe(true);
    expect(plan.runs.some((r) => r.cbm.id === 'b' && r.ra.name === 'r2')).toBe(false);
    expect(plan.runs).toHaveLength(24);
    // AND the same spec always trims the same way
    expect(expandPlan(staged({ onOverBudget: 'trim', budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 30 } })).trimmed).toEqual(plan.trimmed);
  });

  test('trim refuses when not even one cell fits', () => {
    expect(() => expandPlan(staged({ onOverBudget: 'trim', budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 0.01 } }))).toThrow(/not even one cell/);
  });

  test('a 2,000-run matrix expands into 2,000 distinct runs whose worst cases add up', () => {
    const plan = expandPlan(staged({ seeds: 125, budgets: { tlaTokens: 100_000, shardTokens: 50_000, tlaWallSeconds: 3600, maxUsd: 100_000 } }));
    expect(plan.runs).toHaveLength(2000);
    expect(new Set(plan.runs.map((r) => r.runId)).size).toBe(2000);
    expect(plan.worstCaseUsd).toBeCloseTo(plan.runs.reduce((s, r) => s + r.worstCaseUsd, 0), 6);
  });
});

describe('sweep plan: a CBM kind’s compute needs', () => {
  test('a kind that needs a GPU puts its runs on the gpu queue, priced at the GPU’s hourly price, and hands its sandbox limits to the jobs', () => {
    const compute = { cpu: { kind: 'fargate' as const, vcpus: 1, memoryMiB: 2048 }, gpu: { kind: 'ec2' as const, instanceTypes: ['g5.xlarge'] } };
    const original = CBM_KINDS.classification;
    CBM_KINDS.classification = { ...original, compute: { queue: 'gpu', limits: { memoryBytes: 16 * 1024 ** 3, diskBytes: 8 * 1024 ** 3 } } };
    try {
      const plan = expandPlan(staged({}, compute));
      const hours = (3600 + 300 + 2 * 2 * (600 + 300)) / 3600;
      expect(plan.runs[0].cbm.compute).toEqual({ queue: 'gpu', limits: { memoryBytes: 16 * 1024 ** 3, diskBytes: 8 * 1024 ** 3 } });
      expect(queueFor(plan.runs[0].ra.model, plan.runs[0].cbm)).toBe('gpu');
      expect(plan.runs[0].worstCase.computeUsd).toBeCloseTo(hours * jobUsdPerHour(compute.gpu), 10);
    } finally {
      CBM_KINDS.classification = original;
    }
    // Without the need, the same runs stay on the CPU queue at Fargate's price.
    const plain = expandPlan(staged({}, compute));
    expect(plain.runs[0].cbm.compute).toEqual({ queue: 'cpu', limits: {} });
    expect(queueFor(plain.runs[0].ra.model, plain.runs[0].cbm)).toBe('cpu');
  });
});
