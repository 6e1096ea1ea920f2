import { resolve } from 'node:path';
import { Option } from 'commander';
import { storesFromEnv, type Stores } from '../../lambdas/aws/clients';
import { startEmbedded, type EmbeddedServices } from './embedded';

/** The data dir of the embedded services: `--data-dir`, else $UPLIFT_HOME, else ./.uplift. */
export function dataDirOf(opt: string | undefined): string {
  return resolve(opt ?? process.env.UPLIFT_HOME ?? '.uplift');
}

/** The `--data-dir` option every local command takes. */
export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'where the embedded S3/DynamoDB keep their data (default: $UPLIFT_HOME or ./.uplift)');
}

/** Runs `f` with the embedded services of a data dir started, and stops them after, whatever happens. */
export async function withEmbedded<T>(dataDir: string, f: (svc: EmbeddedServices, stores: Stores) => Promise<T>): Promise<T> {
  const svc = await startEmbedded(dataDir);
  try {
    return await f(svc, storesFromEnv(svc.env));
  } finally {
    await svc.stop();
  }
}
