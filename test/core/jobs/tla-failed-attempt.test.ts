import { runTlaSandbox } from '../../../core/jobs/tla-sandbox';
import { readFailedTlaAttempts, tlaKey } from '../../../core/sweep/outputs';
import { MemoryArtifactStore } from '../../support/memory-store';
import { startScriptedModel } from '../../support/scripted-model';
import { helpfulEdit, REAL_KEY, stageTestPlan } from '../tla/react-fixture';

const call = (name: string, args: Record<string, unknown>) => ({ toolCalls: [{ name, arguments: args }] });

describe('a TLA job attempt that fails still pays for what it spent', () => {
  test('GIVEN a react TLA that spends and then breaks its job WHEN the job fails THEN its usage is kept as a failed attempt', async () => {
    // The TLA's own model bills 1,000 + 200 tokens a turn; it leaves an 80 MB file in a checkpoint that raised the dev score, which the MRA diff cannot hold.
    const usage = { prompt_tokens: 1000, completion_tokens: 200 };
    const model = await startScriptedModel(
      [
        { ...call('bash', { command: "python3 -c \"open('big.txt','w').write('a\\n' * 40_000_000)\"" }), usage },
        { toolCalls: [helpfulEdit()], usage },
        { ...call('evaluate', {}), usage },
        { ...call('submit', {}), usage },
      ],
      { apiKey: REAL_KEY },
    );
    try {
      const store = new MemoryArtifactStore();
      const { plan, sweepId } = await stageTestPlan(store, { tla: { kind: 'react', model: { provider: 'openai', name: 'scripted', baseUrl: model.baseUrl, apiKeyEnv: 'SCRIPTED_KEY' }, evalTasks: 16 } });
      const run = plan.runs[0];
      const job = runTlaSandbox(store, { UPLIFT_RUN_ID: run.runId, UPLIFT_ROLE: 'tla', UPLIFT_PLAN_URI: `s3://test-bucket/sweeps/${sweepId}/plan.json` }, { SCRIPTED_KEY: REAL_KEY });
      await expect(job).rejects.toThrow();
      // No result.json: the job did not finish…
      expect(await store.exists(tlaKey(sweepId, run.runId, 'result.json'))).toBe(false);
      // …but what it spent is on record, per gateway: the TLA's own model (4 turns) and the RA's evaluation of checkpoint 0.
      const attempts = await readFailedTlaAttempts(store, sweepId, run.runId);
      expect(attempts).toHaveLength(1);
      const byGateway = Object.fromEntries(attempts[0].usageByModel.map((u) => [u.gateway, u]));
      expect(byGateway.tla).toMatchObject({ model: 'scripted', promptTokens: 4000, completionTokens: 800 });
      expect(byGateway.ra.totalTokens).toBeGreaterThan(0);
      expect(attempts[0].wallMs).toBeGreaterThan(0);
      expect(attempts[0].error).not.toBe('');
    } finally {
      await model.close();
    }
  });
});
