import type { EmbeddedServices } from '../../../cli/local/embedded';
import type { Stores } from '../../../lambdas/aws/clients';
import type { BaselineRecord } from '../../../core/records';
import { embeddedForTest } from '../../support/embedded';

let svc: EmbeddedServices;
let stores: Stores;
beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
});
afterAll(async () => svc.stop());

describe('budget ledger on the embedded DynamoDB', () => {
  const runs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `run-${from + i}`);

  test('50 concurrent reservations against a budget that fits 20: exactly 20 succeed, settling restores the rest', async () => {
    // GIVEN a ledger of $2.00 and runs whose worst case is $0.10
    await stores.scores.initBudget('ledger-50', 2);
    // WHEN 50 runs race to reserve
    const results = await Promise.all(runs(50).map((r) => stores.scores.reserveBudget('ledger-50', r, 0.1)));
    // THEN exactly 20 got through and nothing is overcommitted
    const winners = runs(50).filter((_, i) => results[i] === 'reserved');
    expect(winners).toHaveLength(20);
    expect(results.filter((r) => r === 'insufficient')).toHaveLength(30);
    const mid = await stores.scores.getBudget('ledger-50');
    expect(mid).toMatchObject({ limitUsd: 2, reservedUsd: 2, spentUsd: 0 });
    expect(Object.keys(mid?.holds ?? {}).sort()).toEqual([...winners].sort());
    // WHEN each settles at a metered $0.03
    await Promise.all(winners.map((r) => stores.scores.settleBudget('ledger-50', r, 0.03)));
    // THEN the unspent remainder is available again, exactly, and no hold is left
    expect(await stores.scores.getBudget('ledger-50')).toEqual({ limitUsd: 2, reservedUsd: 0, spentUsd: 0.6, holds: {} });
    const again = await Promise.all(runs(20, 100).map((r) => stores.scores.reserveBudget('ledger-50', r, 0.1)));
    expect(again.filter((r) => r === 'reserved')).toHaveLength(14);
  });

  test('initBudget does not reset an existing ledger (resume)', async () => {
    await stores.scores.initBudget('ledger-resume', 1);
    expect(await stores.scores.reserveBudget('ledger-resume', 'r1', 0.4)).toBe('reserved');
    await stores.scores.initBudget('ledger-resume', 1);
    expect(await stores.scores.getBudget('ledger-resume')).toEqual({ limitUsd: 1, reservedUsd: 0.4, spentUsd: 0, holds: { r1: 0.4 } });
  });

  test('a run reserves once however often PlanRun runs: the second reservation finds its hold and moves no money', async () => {
    // GIVEN a run that reserved $0.40 of $1
    await stores.scores.initBudget('ledger-once', 1);
    expect(await stores.scores.reserveBudget('ledger-once', 'r1', 0.4)).toBe('reserved');
    // WHEN PlanRun is retried or the sweep resumed, concurrently even
    const again = await Promise.all([1, 2, 3].map(() => stores.scores.reserveBudget('ledger-once', 'r1', 0.4)));
    // THEN it is held, not reserved again
    expect(again).toEqual(['held', 'held', 'held']);
    expect(await stores.scores.getBudget('ledger-once')).toMatchObject({ reservedUsd: 0.4, spentUsd: 0 });
  });

  test('settlement happens exactly once: concurrent and retried settlements of one run move the money once', async () => {
    // GIVEN a run holding $0.50 of $1
    await stores.scores.initBudget('ledger-settle', 1);
    await stores.scores.reserveBudget('ledger-settle', 'r1', 0.5);
    // WHEN ScoreRun and a retried ScoreRun (or MarkRunFailed) settle it at the same time, then once more
    const settled = await Promise.all([0.2, 0.2, 0.2].map((usd) => stores.scores.settleBudget('ledger-settle', 'r1', usd)));
    const late = await stores.scores.settleBudget('ledger-settle', 'r1', 0.2);
    // THEN one of them settled; spend counts once
    expect(settled.filter(Boolean)).toHaveLength(1);
    expect(late).toBe(false);
    expect(await stores.scores.getBudget('ledger-settle')).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0.2, holds: {} });
  });
});

describe('baseline cache claims', () => {
  const rec = (run: string, claimedAt = new Date().toISOString()): BaselineRecord => ({
    key: 'BASELINE#h#cbm@v#m',
    status: 'computing',
    ownerSweep: 's1',
    ownerRun: run,
    claimedAt,
    outputsPrefix: `sweeps/s1/runs/${run}/baseline`,
  });

  test('one of many concurrent claimants computes; the rest wait; the owner may re-claim; done is final', async () => {
    const claims = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => stores.scores.claimBaseline(rec(r), 3600)));
    expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.status === 'pending')).toHaveLength(3);
    const owner = ['r1', 'r2', 'r3', 'r4'][claims.findIndex((c) => c.status === 'claimed')];
    expect((await stores.scores.claimBaseline(rec(owner), 3600)).status).toBe('claimed');
    await stores.scores.completeBaseline({ ...rec(owner), status: 'done', score: 0.5, tokens: 10 });
    const after = await stores.scores.claimBaseline(rec('r9'), 3600);
    expect(after.status).toBe('done');
  });

  test('an expired claim is taken over; a released claim frees the key', async () => {
    const key = { ...rec('old', new Date(Date.now() - 7200_000).toISOString()), key: 'BASELINE#expiry' };
    expect((await stores.scores.claimBaseline(key, 3600)).status).toBe('claimed');
    expect((await stores.scores.claimBaseline({ ...rec('new'), key: 'BASELINE#expiry' }, 3600)).status).toBe('claimed');
    await stores.scores.releaseBaseline('BASELINE#expiry', 's1', 'new');
    expect(await stores.scores.getBaseline('BASELINE#expiry')).toBeUndefined();
  });
});
