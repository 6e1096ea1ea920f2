import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { ensureStorage, storesFromEnv } from '../../../lambdas/aws/clients';

// dynalite (like DynamoDB) keeps a new table CREATING for createTableMs and answers
// ResourceNotFound meanwhile; a slow machine stretches that window in CI.
test('ensureStorage returns only once the table is ACTIVE, so the first write succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-ensure-'));
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: join(dir, 's3'), silent: true });
  const s3Address = await s3.run();
  const ddb = dynalite({ createTableMs: 400 });
  await new Promise<void>((r) => ddb.listen(0, '127.0.0.1', () => r()));
  const env = {
    UPLIFT_BUCKET: 'bucket-ensure',
    UPLIFT_TABLE: 'table-ensure',
    AWS_REGION: 'us-east-1',
    UPLIFT_S3_ENDPOINT: `http://127.0.0.1:${s3Address.port}`,
    UPLIFT_DYNAMODB_ENDPOINT: `http://127.0.0.1:${(ddb.address() as AddressInfo).port}`,
  };
  try {
    const started = Date.now();
    await ensureStorage(env);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    const { scores } = storesFromEnv(env);
    await scores.initBudget('first-write', 1);
    expect(await scores.getBudget('first-write')).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0, holds: {} });
    // a second call on the existing table is a no-op
    await ensureStorage(env);
  } finally {
    await s3.close();
    await new Promise<void>((r) => ddb.close(() => r()));
  }
});
