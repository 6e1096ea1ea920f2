import type { EmbeddedServices } from '../../../cli/local/embedded';
import type { Stores } from '../../../lambdas/aws/clients';
import type { RunRecord, SweepMeta } from '../../../core/records';
import { embeddedForTest } from '../../support/embedded';

let svc: EmbeddedServices;
let stores: Stores;
beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
});
afterAll(async () => svc.stop());

const meta = (sweepId: string, createdAt: string): SweepMeta => ({ sweepId: sweepId as SweepMeta['sweepId'], name: 'n', status: 'succeeded', createdAt, updatedAt: createdAt, runCount: 1, offlineOnly: true, models: ['offline'], maxUsd: 1, worstCaseUsd: 0 });

describe('DynamoScoreStore.listSweeps', () => {
  test("every sweep's META item, newest first (same time: by sweep id, descending), and nothing else of the table", async () => {
    // GIVEN sweeps created out of order, with runs, ledgers and a cached baseline around them
    await stores.scores.createSweep(meta('mid-20261115-000000-0002', '2026-11-15T00:00:00.000Z'));
    await stores.scores.createSweep(meta('old-20261101-000000-0001', '2026-11-01T00:00:00.000Z'));
    await stores.scores.createSweep(meta('new-a-20261130-000000-0003', '2026-11-30T00:00:00.000Z'));
    await stores.scores.createSweep(meta('new-b-20261130-000000-0004', '2026-11-30T00:00:00.000Z'));
    await stores.scores.putRun({ sweepId: 'mid-20261115-000000-0002', runId: 'noop-r-c-simple-s1', tla: 'noop', ra: 'r', cbm: 'c', variant: 'simple', seed: 1, model: 'offline', status: 'succeeded', updatedAt: 'x', uplift: 0 } as RunRecord);
    await stores.scores.initBudget('mid-20261115-000000-0002', 1);
    await stores.scores.completeBaseline({ key: 'BASELINE#c@v#offline#h', status: 'done', ownerSweep: 'mid-20261115-000000-0002', ownerRun: 'r', claimedAt: 'x', outputsPrefix: 'p' });
    // WHEN listed
    const sweeps = await stores.scores.listSweeps();
    // THEN exactly the four sweeps, newest first, as stored
    expect(sweeps.map((s) => s.sweepId)).toEqual(['new-b-20261130-000000-0004', 'new-a-20261130-000000-0003', 'mid-20261115-000000-0002', 'old-20261101-000000-0001']);
    expect(sweeps[2]).toEqual(meta('mid-20261115-000000-0002', '2026-11-15T00:00:00.000Z'));
  });
});
