import { join } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { executeSweep } from '../../cli/local/runner';
import { loadSpec } from '../../core/spec';
import { readPlan } from '../../core/sweep/outputs';
import { newSweepId, prepareSweep, stageSweep } from '../../core/sweep/stage';
import type { Stores } from '../../lambdas/aws/clients';
import { embeddedForTest } from '../support/embedded';
import { writeSmallSpec } from '../support/specs';

let svc: EmbeddedServices;
let stores: Stores;
let dataDir: string;
beforeAll(async () => {
  ({ svc, stores, dataDir } = await embeddedForTest());
});
afterAll(async () => svc.stop());

describe('the worst case bounds what a sweep spends', () => {
  test('a real local run with priced tokens and job time spends less than its planned worst case, per run and in all', async () => {
    // GIVEN the offline model priced at $1/$2 per million tokens and this machine at $0.50 an hour
    const spec = writeSmallSpec({ maxUsd: 50, extra: 'prices: { models: { offline: { inputPerMTok: 1, outputPerMTok: 2 } }, instances: { local: 0.5 } }' });
    const prepared = prepareSweep(loadSpec(spec), process.env);
    const sweepId = newSweepId('bound');
    await stageSweep(stores.artifacts, prepared, sweepId);
    // WHEN it runs for real
    const outcome = await executeSweep({ sweepId, storageEnv: svc.env, logDir: join(dataDir, 'logs'), poolSize: 2 });
    expect(outcome.status).toBe('succeeded');
    // THEN the ledger's metered spend is positive and below the planned worst case, run by run
    const plan = await readPlan(stores.artifacts, sweepId);
    const budget = await stores.scores.getBudget(sweepId);
    expect(budget?.reservedUsd).toBeCloseTo(0, 6);
    expect(budget?.spentUsd).toBeGreaterThan(0);
    expect(budget?.spentUsd).toBeLessThanOrEqual(plan.worstCaseUsd);
    const runs = await stores.scores.listRuns(sweepId);
    expect(runs).toHaveLength(plan.runs.length);
    for (const r of runs) {
      const planned = plan.runs.find((p) => p.runId === r.runId);
      expect({ run: r.runId, status: r.status, withinWorstCase: (r.costUsd ?? Infinity) <= (planned?.worstCaseUsd ?? 0) }).toEqual({ run: r.runId, status: 'succeeded', withinWorstCase: true });
      expect(r.costUsd).toBeGreaterThan(0);
    }
    expect(runs.reduce((s, r) => s + (r.costUsd ?? 0), 0)).toBeCloseTo(budget?.spentUsd as number, 5);
  });
});
