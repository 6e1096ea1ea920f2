import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBatch, localWorkerCommand } from '../../../cli/local/batch-pool';
import { LOCAL_JOB_DEFINITION_ARN } from '../../../step-functions/synth';

// Before the pool's first use (jest loads the module afresh per test file).
process.env.UPLIFT_JOB_BUNDLE = '0';
afterAll(() => delete process.env.UPLIFT_JOB_BUNDLE);

test('UPLIFT_JOB_BUNDLE=0: job processes run batch-images/jobs/local-worker.ts through tsx, with the same contract', async () => {
  expect((await localWorkerCommand()).slice(-1)[0]).toMatch(/batch-images\/jobs\/local-worker\.ts$/);
  const dir = mkdtempSync(join(tmpdir(), 'uplift-pool-test-'));
  const pool = new LocalBatch({ size: 1, env: { PATH: process.env.PATH }, logDir: dir });
  try {
    const err = (await pool
      .submitJobSync({
        JobName: 'j',
        JobQueue: 'q',
        JobDefinition: LOCAL_JOB_DEFINITION_ARN.tlaSandbox,
        ContainerOverrides: { Environment: [{ Name: 'UPLIFT_RUN_ID', Value: 'r1' }, { Name: 'UPLIFT_ROLE', Value: 'tla' }] },
      })
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/job exited 2/);
    expect(readFileSync(join(dir, 'r1.tla.log'), 'utf8')).toContain('tla-sandbox: bad job environment');
  } finally {
    pool.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
