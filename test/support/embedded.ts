import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, type EmbeddedServices } from '../../cli/local/embedded';
import { storesFromEnv, type Stores } from '../../lambdas/aws/clients';

/** Starts the embedded S3 and DynamoDB in a fresh temp data dir for one test file. */
export async function embeddedForTest(): Promise<{ svc: EmbeddedServices; stores: Stores; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uplift-test-'));
  const svc = await startEmbedded(dataDir);
  return { svc, stores: storesFromEnv(svc.env), dataDir };
}
