import { runTlaSandbox } from '../../../core/jobs/tla-sandbox';
import { runPrefix } from '../../../core/sweep/plan';
import { TlaResult, tlaKey } from '../../../core/sweep/outputs';
import { MemoryArtifactStore } from '../../support/memory-store';
import { stageTestPlan } from '../tla/react-fixture';

/*
 * Checkpoints are uploaded while the TLA goes on: the job's result.json (written last, what
 * ScoreRun and the budget curve trust) names only checkpoints that landed, and a failed upload
 * fails the job instead of leaving a result that names a missing checkpoint.
 */

async function fewshotJob(store: MemoryArtifactStore) {
  const { plan, sweepId } = await stageTestPlan(store, { tla: { kind: 'fewshot-search', evalTasks: 8 }, tlaTokens: 60_000 });
  const run = plan.runs[0];
  return { sweepId, run, job: () => runTlaSandbox(store, { UPLIFT_RUN_ID: run.runId, UPLIFT_ROLE: 'tla', UPLIFT_PLAN_URI: `s3://test-bucket/sweeps/${sweepId}/plan.json` }, {}) };
}

describe('TLA checkpoint uploads', () => {
  test('every checkpoint result.json names is in the store when result.json is written', async () => {
    const store = new MemoryArtifactStore();
    const { sweepId, run, job } = await fewshotJob(store);
    // Slow checkpoint uploads: they land well after the TLA moved on.
    const put = store.putBytes.bind(store);
    const missingAtResult: string[] = [];
    store.putBytes = async (key: string, body: Uint8Array) => {
      if (key.includes('/tla/checkpoints/')) await new Promise((r) => setTimeout(r, 150));
      return put(key, body);
    };
    const putText = store.putText.bind(store);
    store.putText = async (key: string, body: string, type?: string) => {
      if (key === tlaKey(sweepId, run.runId, 'result.json')) {
        const result = TlaResult.parse(JSON.parse(body));
        for (const c of result.checkpoints) if (c.key && !store.objects.has(c.key)) missingAtResult.push(c.key);
      }
      return putText(key, body, type);
    };
    await job();
    const result = TlaResult.parse(JSON.parse((await store.getText(tlaKey(sweepId, run.runId, 'result.json'))) as string));
    expect(result.checkpoints.length).toBeGreaterThan(1);
    expect(missingAtResult).toEqual([]);
  }, 60_000);

  test('a checkpoint upload that fails fails the job: no result.json', async () => {
    const store = new MemoryArtifactStore();
    const { sweepId, run, job } = await fewshotJob(store);
    const put = store.putBytes.bind(store);
    store.putBytes = async (key: string, body: Uint8Array) => {
      if (key === `${runPrefix(sweepId, run.runId)}/tla/checkpoints/1.tar.gz`) throw new Error('S3 said 503 SlowDown');
      return put(key, body);
    };
    await expect(job()).rejects.toThrow(/503 SlowDown/);
    expect(await store.exists(tlaKey(sweepId, run.runId, 'result.json'))).toBe(false);
  }, 60_000);
});
