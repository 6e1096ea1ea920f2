import { tlaCostUsd } from '../../../core/sweep/steps';
import type { TlaResult } from '../../../core/sweep/outputs';
import type { RunPlan, SweepPlan } from '../../../core/sweep/plan';

const usage = (promptTokens: number, completionTokens: number) => ({ calls: 1, rejected: 0, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens });

describe('metered TLA cost', () => {
  const run = { ra: { modelName: 'gpt-4o-mini' } } as RunPlan;
  const plan = { prices: { models: { 'big-tla': { inputPerMTok: 10, outputPerMTok: 30 } } } } as unknown as SweepPlan;

  test("prices each gateway's tokens at its own model: the TLA's model and the RA's", () => {
    // GIVEN a react TLA that spent 1M+0.1M tokens on its own model and 1M+0.1M evaluating the RA
    const tla = { usage: usage(2_000_000, 200_000), usageByModel: [{ gateway: 'tla', model: 'big-tla', ...usage(1_000_000, 100_000) }, { gateway: 'ra', model: 'gpt-4o-mini', ...usage(1_000_000, 100_000) }] } as TlaResult;
    // THEN 10 + 3 dollars for the TLA model and 0.15 + 0.06 for gpt-4o-mini
    expect(tlaCostUsd(tla, run, plan)).toBeCloseTo(13 + 0.21, 10);
  });

  test('a result without per-model usage (older jobs) is priced at the RA model', () => {
    const tla = { usage: usage(1_000_000, 0), usageByModel: [] as TlaResult['usageByModel'] } as TlaResult;
    expect(tlaCostUsd(tla, run, plan)).toBeCloseTo(0.15, 10);
  });
});
