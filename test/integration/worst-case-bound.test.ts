import { join } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { executeSweep } from '../../cli/local/runner';
import { loadSpec } from '../../core/spec';
import { readPlan, roleOutputPrefix, shardOutputKey, ShardUsage } from '../../core/sweep/outputs';
import { scoreRun } from '../../core/sweep/steps';
import { newSweepId, prepareSweep, stageSweep } from '../../core/sweep/stage';
import type { Stores } from '../../lambdas/aws/clients';
import { embeddedForTest } from '../support/embedded';
import { writeSmallSpec } from '../support/specs';

let svc: EmbeddedServices;
let stores: Stores;
let dataDir: string;
/** The sweep the first test ran (the second reuses its outputs). */
let ranSweep = '';
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
    ranSweep = sweepId;
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
    // AND each run's split says who spent it: the parts add up to its cost; the MRA's part is exactly its shards' tokens at
    // $1/$2 per M plus their job time at $0.50/h; the baseline is paid only by the run that computed it
    const shardUsd = async (prefix: string) => {
      let usd = 0;
      for (const k of (await stores.artifacts.list(prefix + '/')).filter((x) => x.endsWith('.usage.json'))) {
        const u = ShardUsage.parse(JSON.parse((await stores.artifacts.getText(k)) as string));
        usd += (u.promptTokens * 1 + u.completionTokens * 2) / 1e6 + (u.wallMs / 3_600_000) * 0.5;
      }
      return usd;
    };
    for (const r of runs) {
      const c = r.costs;
      expect(c).toBeDefined();
      if (!c) continue;
      expect(c.tla + c.baseline + c.mra + (c.curve ?? 0) + (c.judge ?? 0)).toBeCloseTo(r.costUsd as number, 12);
      expect(c.mra).toBeCloseTo(await shardUsd(roleOutputPrefix(sweepId, r.runId, 'mra')), 12);
      expect(c.mra).toBeGreaterThan(0);
      if (r.baselineCached) expect(c.baseline).toBe(0);
      else expect(c.baseline).toBeCloseTo(await shardUsd(roleOutputPrefix(sweepId, r.runId, 'baseline')), 12);
      // the TLA job's time at $0.50/h at least (noop calls no model; fewshot-search evaluates on dev with the priced RA model)
      expect(c.tla).toBeGreaterThan(0);
    }
    expect(runs.filter((r) => !r.baselineCached && (r.costs?.baseline ?? 0) > 0)).toHaveLength(1);
    // AND each run knows the data set it was scored on: dev and test sizes as staging counted them, and the label balance
    for (const r of runs) expect(r.dataset).toEqual({ dev: 96, test: 180, objective: 180, guard: 0, labels: { 'not TAI safety research': 91, 'TAI safety research': 89 } });
  });
});

describe('a cached baseline is scored only as RecordBaseline recorded it', () => {
  test('a baseline shard rewritten after it was recorded (every task scored 0, marker untouched) fails ScoreRun naming the shard; restored, the run scores again', async () => {
    // GIVEN the finished sweep above: its runs share one baseline, recorded with each shard's digest
    expect(ranSweep).not.toBe('');
    const runs = await stores.scores.listRuns(ranSweep);
    const run = runs.find((r) => r.baselineCached) as (typeof runs)[number];
    const plan = await readPlan(stores.artifacts, ranSweep);
    const planned = plan.runs.find((r) => r.runId === run.runId);
    const baseline = await stores.scores.getBaseline(planned?.baselineKey as string);
    expect(baseline?.shardDigests).toHaveLength(planned?.shards as number);
    const key = shardOutputKey(baseline?.outputsPrefix as string, 1);
    const original = (await stores.artifacts.getText(key)) as string;
    // WHEN a job with write access to the bucket rewrites one of its shards (every task scored 0: a weaker baseline, a bigger uplift)
    await stores.artifacts.putText(key, original.replace(/"score":1\b/g, '"score":0'));
    expect((await stores.artifacts.getText(key)) === original).toBe(false);
    // THEN ScoreRun refuses to score against it, naming the shard and the fix, and the record keeps its scores
    await expect(scoreRun(stores, { sweepId: ranSweep, runId: run.runId })).rejects.toThrow(/the cached baseline's shard\(s\) 1 under .* changed after RecordBaseline hashed them.*uplift cache clear/);
    expect((await stores.scores.getRun(ranSweep, run.runId))?.uplift).toBe(run.uplift);
    // AND with the shard as recorded it scores the same uplift again
    await stores.artifacts.putText(key, original);
    await scoreRun(stores, { sweepId: ranSweep, runId: run.runId });
    expect((await stores.scores.getRun(ranSweep, run.runId))?.uplift).toBe(run.uplift);
  });
});

