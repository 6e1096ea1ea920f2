import { join } from 'node:path';
import { taskTokensProblems } from '../../../core/cbm/workspace/index';
import { LOCAL_COMPUTE } from '../../../core/pricing';
import { parseSpec } from '../../../core/spec';
import { expandPlan, queueFor, type StagedSweep } from '../../../core/sweep/plan';
import { DEFAULT_LIMITS } from '../../../core/sandbox';
import { prepareSweep } from '../../../core/sweep/stage';
import { EXAMPLES } from '../../support/specs';

const BUDGETS = { tlaTokens: 1000, shardTokens: 50_000, tlaWallSeconds: 60, shardWallSeconds: 600, maxUsd: 1000 };
const doc = (cbm: Record<string, unknown>) => ({
  name: 'task-tokens',
  cbms: [{ id: 'w', kind: 'workspace', dataset: join(EXAMPLES, 'datasets/mini-swe'), ...cbm }],
  ras: [{ name: 'r1', bundle: join(EXAMPLES, 'agents/basic-agent'), model: { provider: 'openai', name: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1' } }],
  tlas: [{ kind: 'noop' }],
  shardSize: 6,
  budgets: BUDGETS,
});

function staged(cbm: Record<string, unknown>): StagedSweep {
  const { spec } = parseSpec(doc(cbm), join(EXAMPLES, 'sweeps/task-tokens.yaml'));
  return {
    sweepId: 's',
    createdAt: '2026-01-01T00:00:00Z',
    specFile: 'task-tokens.yaml',
    spec,
    cbms: [{ id: 'w', kind: 'workspace', datasetPrefix: 'datasets/w/v1', datasetVersion: 'v1', devCount: 4, testCount: 11, guardCount: 0 }],
    ras: spec.ras.map((r) => ({ name: r.name, bundleHash: 'h', model: r.model, speaks: 'workspace' })),
    fixedBundles: {},
    compute: LOCAL_COMPUTE,
  };
}

describe('workspace taskTokens: in the spec, the baseline key and the plan checks', () => {
  const keyOf = (cbm: Record<string, unknown>) => expandPlan(staged(cbm)).runs[0].baselineKey;

  test('two values of taskTokens give two baseline keys; unset gives a third (an even share of the shard budget); the same value the same key', () => {
    expect(keyOf({ taskTokens: 10_000 })).not.toBe(keyOf({ taskTokens: 20_000 }));
    expect(keyOf({})).not.toBe(keyOf({ taskTokens: 10_000 }));
    expect(keyOf({ taskTokens: 10_000 })).toBe(keyOf({ taskTokens: 10_000 }));
    expect(expandPlan(staged({ taskTokens: 10_000 })).runs[0].baselineInputs).toMatchObject({ cbm: { fields: { taskTokens: 10_000 } } });
  });

  test('the spec parser refuses a taskTokens that is not a whole number of at least 1000, naming the field', () => {
    expect(() => parseSpec(doc({ taskTokens: 999 }), 'sweep.yaml')).toThrow(/sweep\.yaml: cbms\.0\.taskTokens: must be at least 1000 tokens .*e\.g\. 100000/);
    for (const bad of [1500.5, '100k']) expect(() => parseSpec(doc({ taskTokens: bad }), 'sweep.yaml')).toThrow(/sweep\.yaml: cbms\.0\.taskTokens: expected an? (int|number)/);
  });

  test('taskTokens above budgets.shardTokens is refused with the field, both numbers and the fix; at or below it is fine', () => {
    expect(taskTokensProblems({ taskTokens: 50_001 }, 50_000, 'sweep.yaml: cbms.0')).toEqual([
      'sweep.yaml: cbms.0.taskTokens: 50001 is more than the shard\'s whole budget, budgets.shardTokens = 50000, which every task\'s allowance is drawn from. Fix: lower taskTokens to at most 50000 (to give every task of a shard its whole allowance, shardTokens ≥ shardSize × attempts × taskTokens), or raise budgets.shardTokens',
    ]);
    expect(taskTokensProblems({ taskTokens: 50_000 }, 50_000, 'f')).toEqual([]);
    expect(taskTokensProblems({}, 50_000, 'f')).toEqual([]);
  });
});

describe('workspace taskTokens over the shard budget', () => {
  test('is refused before anything is staged, naming the field, the budget and the fix, with the sweep\'s other problems', () => {
    const loaded = parseSpec(doc({ taskTokens: 60_000 }), join(EXAMPLES, 'sweeps/task-tokens.yaml'));
    expect(() => prepareSweep(loaded, { OPENAI_API_KEY: 'k' })).toThrow(/cbms\.0\.taskTokens: 60000 is more than the shard's whole budget, budgets\.shardTokens = 50000.*Fix: lower taskTokens to at most 50000/);
  });
});

describe('workspace queue, disk and memory: what the CBM entry asks of its jobs', () => {
  test('queue: gpu puts the runs on the GPU queue (priced there) and diskMiB/memoryMiB become the task sandboxes\' limits; the defaults are the sandbox defaults on cpu', () => {
    const gpu = expandPlan(staged({ queue: 'gpu', diskMiB: 1024, memoryMiB: 16384 })).runs[0];
    expect(gpu.cbm.compute).toEqual({ queue: 'gpu', limits: { diskBytes: 1024 * 1024 ** 2, memoryBytes: 16384 * 1024 ** 2 } });
    expect(queueFor(gpu.ra.model, gpu.cbm)).toBe('gpu');
    const plain = expandPlan(staged({})).runs[0];
    expect(plain.cbm.compute).toEqual({ queue: 'cpu', limits: { diskBytes: DEFAULT_LIMITS.diskBytes, memoryBytes: DEFAULT_LIMITS.memoryBytes } });
    expect(queueFor(plain.ra.model, plain.cbm)).toBe('cpu');
    // Each changes how tasks run: each is in the baseline key.
    const key = (c: Record<string, unknown>) => expandPlan(staged(c)).runs[0].baselineKey;
    expect(new Set([key({}), key({ queue: 'gpu' }), key({ diskMiB: 1024 }), key({ memoryMiB: 8192 })]).size).toBe(4);
  });

  test('bad values are refused naming the field', () => {
    expect(() => parseSpec(doc({ queue: 'tpu', diskMiB: 8, memoryMiB: 1.5 }), 'x.yaml')).toThrow(/cbms\.0\.queue: must be "cpu" or "gpu"[\s\S]*cbms\.0\.diskMiB[\s\S]*cbms\.0\.memoryMiB/);
  });
});
