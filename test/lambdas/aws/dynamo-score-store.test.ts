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
  test('50 concurrent reservations against a budget that fits 20: exactly 20 succeed, settling restores the rest', async () => {
    // GIVEN a ledger of $2.00 and runs whose worst case is $0.10
    await stores.scores.initBudget('ledger-50', 2);
    // WHEN 50 reservations race
    const results = await Promise.all(Array.from({ length: 50 }, () => stores.scores.reserveBudget('ledger-50', 0.1)));
    // THEN exactly 20 got through and nothing is overcommitted
    expect(results.filter(Boolean)).toHaveLength(20);
    const mid = await stores.scores.getBudget('ledger-50');
    expect(mid).toEqual({ limitUsd: 2, reservedUsd: 2, spentUsd: 0 });
    // WHEN each settles at a metered $0.03
    await Promise.all(Array.from({ length: 20 }, () => stores.scores.settleBudget('ledger-50', 0.1, 0.03)));
    // THEN the unspent remainder is available again, exactly
    expect(await stores.scores.getBudget('ledger-50')).toEqual({ limitUsd: 2, reservedUsd: 0, spentUsd: 0.6 });
    const again = await Promise.all(Array.from({ length: 20 }, () => stores.scores.reserveBudget('ledger-50', 0.1)));
    expect(again.filter(Boolean)).toHaveLength(14);
  });

  test('initBudget does not reset an existing ledger (resume)', async () => {
    await stores.scores.initBudget('ledger-resume', 1);
    expect(await stores.scores.reserveBudget('ledger-resume', 0.4)).toBe(true);
    await stores.scores.initBudget('ledger-resume', 1);
    expect(await stores.scores.getBudget('ledger-resume')).toEqual({ limitUsd: 1, reservedUsd: 0.4, spentUsd: 0 });
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
