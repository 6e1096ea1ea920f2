import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { executeSweep } from '../../cli/local/runner';
import { parseJson } from '../../core/jsonl';
import { loadSpec } from '../../core/spec';
import { CurvePlan, TlaResult } from '../../core/sweep/outputs';
import { newSweepId, prepareSweep, stageSweep } from '../../core/sweep/stage';
import type { Stores } from '../../lambdas/aws/clients';
import { withoutSandboxNote } from '../support/sandbox-note';
import { embeddedForTest } from '../support/embedded';
import { writeSmallSpec } from '../support/specs';

let svc: EmbeddedServices;
let stores: Stores;
let dataDir: string;
beforeAll(async () => {
  ({ svc, stores, dataDir } = await embeddedForTest());
});
afterAll(async () => svc.stop());

describe('scores at token budgets (budgetCurve)', () => {
  test('each budget is scored on the test split with the bundle the TLA had then', async () => {
    // GIVEN a fewshot-search run and a curve at 5k, 60k and 400k TLA tokens
    const spec = writeSmallSpec({ tlas: '[{kind: fewshot-search, evalTasks: 40}]', extra: 'budgetCurve: [400000, 5000, 60000]' });
    const prepared = prepareSweep(loadSpec(spec), process.env);
    const sweepId = newSweepId('curve');
    await stageSweep(stores.artifacts, prepared, sweepId);
    // WHEN it runs
    const outcome = await executeSweep({ sweepId, storageEnv: svc.env, logDir: join(dataDir, 'logs'), poolSize: 2 });
    expect(outcome.status).toBe('succeeded');
    const [run] = await stores.scores.listRuns(sweepId);
    const runPrefix = `sweeps/${sweepId}/runs/${run.runId}`;
    const result = parseJson((await stores.artifacts.getText(`${runPrefix}/tla/result.json`)) as string, TlaResult, 'result.json');
    const curve = parseJson((await stores.artifacts.getText(`${runPrefix}/tla/curve.json`)) as string, CurvePlan, 'curve.json');
    // THEN the record has one point per budget, in increasing order
    expect(run.status).toBe('succeeded');
    expect(withoutSandboxNote(run.warnings)).toEqual([]);
    expect(run.curve?.map((p) => p.budget)).toEqual([5000, 60000, 400000]);
    // AND 5k tokens is less than the first evaluation costs: the RA as given, uplift 0
    expect(result.checkpoints[0].tokens).toBeGreaterThan(5000);
    expect(run.curve?.[0]).toMatchObject({ step: null, uplift: 0 });
    // AND at the full budget the TLA had what it submitted: the run's own MRA score
    expect(run.curve?.[2].mra).toBeCloseTo(run.mra as number, 12);
    // AND a middle budget scores the last accepted checkpoint within it: evaluated by extra MRA children when distinct
    expect(curve.bundles.length).toBeGreaterThan(0);
    const mid = result.checkpoints.filter((c) => c.accepted && c.tokens <= 60000).pop();
    expect(run.curve?.[1].step).toBe(mid?.step ?? null);
    for (const [b] of curve.bundles.entries()) for (const s of [0, 1]) expect(await stores.artifacts.exists(`${runPrefix}/curve/${b}/shard-${s}.usage.json`)).toBe(true);
    // AND the MRA array job had shards × (1 + 3 budgets) children; the ones past the distinct bundles did nothing
    const jobs = readFileSync(join(dataDir, 'logs', 'jobs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; role: string; summary?: { skipped: boolean } });
    const mraEnds = jobs.filter((j) => j.event === 'end' && j.role === 'mra');
    expect(mraEnds).toHaveLength(2 * 4);
    expect(mraEnds.filter((j) => !j.summary?.skipped)).toHaveLength(2 * (1 + curve.bundles.length));
    expect(run.tokens?.curve ?? 0).toBeGreaterThanOrEqual(curve.bundles.length ? 1 : 0);
  });
});
