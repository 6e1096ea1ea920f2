import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRaShard } from '../../../core/jobs/ra-shard';
import { weightsForRun } from '../../../core/models/bundle-weights';
import { packBundle } from '../../../core/ra/bundle';
import { readShards, roleOutputPrefix, tlaKey } from '../../../core/sweep/outputs';
import { MemoryArtifactStore } from '../../support/memory-store';
import { CLASSIFIER, stageTestPlan } from '../tla/react-fixture';

/**
 * An MRA whose agent.yaml the TLA broke cannot run. That is the TLA's doing: every test task is an
 * agent error scored 0, like any MRA the TLA broke — never a failed job, which would let a TLA
 * heading for a negative uplift turn it into a failed run instead.
 */
describe('an MRA bundle that is not valid', () => {
  test('its shards answer every task with an agent error naming the problem, and the jobs succeed', async () => {
    const store = new MemoryArtifactStore();
    const { plan, sweepId, dataset } = await stageTestPlan(store, { tla: { kind: 'noop' } });
    const run = plan.runs[0];
    const broken = mkdtempSync(join(tmpdir(), 'invalid-mra-'));
    cpSync(CLASSIFIER, broken, { recursive: true });
    writeFileSync(join(broken, 'agent.yaml'), 'name: broken\nentrypoint: 42\ncbm: classification\n');
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), packBundle(broken));
    const env = { UPLIFT_RUN_ID: run.runId, UPLIFT_ROLE: 'mra' as const, UPLIFT_PLAN_URI: `s3://test-bucket/sweeps/${sweepId}/plan.json` };
    for (let i = 0; i < run.shards; i++) await expect(runRaShard(store, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: i }, {})).resolves.toMatchObject({ skipped: false });
    const { outcomes, usage } = await readShards(store, roleOutputPrefix(sweepId, run.runId, 'mra'), run.shards);
    expect(outcomes).toHaveLength(dataset.test.length);
    for (const o of outcomes) expect(o).toEqual({ id: o.id, error: 'agent_error', cause: expect.stringMatching(/^the bundle is not valid, so the agent could not run: .*agent\.yaml: entrypoint/) });
    expect(usage.every((u) => u.counts.agent_error === u.tasks && u.counts.infra_error === 0 && u.calls === 0)).toBe(true);
    // The GPU launcher runs such a job without starting vLLM: nothing to serve, nothing to fail on.
    const served = await weightsForRun({ store, sweepId, plan, run: { ...run, ra: { ...run.ra, model: { provider: 'vllm', name: 'm', weightsUri: 's3://bucket/models/m/', startupTimeoutSeconds: 900, extraArgs: [] } } }, role: 'mra', index: 0 });
    expect(served).toMatchObject({ source: 'none', reason: expect.stringMatching(/the MRA bundle is not valid .*: its tasks are agent errors/) });
  });

  test('a baseline RA that is not valid still fails its job: the user’s bundle, checked before anything starts', async () => {
    const store = new MemoryArtifactStore();
    const { plan, sweepId } = await stageTestPlan(store, { tla: { kind: 'noop' } });
    const run = plan.runs[0];
    const broken = mkdtempSync(join(tmpdir(), 'invalid-ra-'));
    cpSync(CLASSIFIER, broken, { recursive: true });
    writeFileSync(join(broken, 'agent.yaml'), 'name: broken\nentrypoint: 42\ncbm: classification\n');
    // A cached RA tarball replaced behind the plan's back (a corrupt store): the job fails rather than scoring it.
    const { stageBundle } = await import('../../../core/ra/bundle');
    const { hash } = await stageBundle(store, CLASSIFIER);
    await store.putBytes(`agents/${hash}.tar.gz`, packBundle(broken));
    const env = { UPLIFT_RUN_ID: run.runId, UPLIFT_ROLE: 'baseline' as const, UPLIFT_PLAN_URI: `s3://test-bucket/sweeps/${sweepId}/plan.json` };
    await expect(runRaShard(store, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: 0 }, {})).rejects.toThrow(/entrypoint/);
  });
});
