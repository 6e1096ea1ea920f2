import '../../core/polyfills';
import { JobEnv, parsePlanUri, type JobSummary } from '../../core/jobs/env';
import type { ArtifactStore } from '../../core/ports';
import { formatIssues } from '../../core/spec';
import { jobArtifactStore } from '../../lambdas/aws/clients';

export type JobFunction = (store: ArtifactStore, env: JobEnv, processEnv: NodeJS.ProcessEnv) => Promise<JobSummary>;

/**
 * Runs one job with process.env as its environment: validate the env contract, build the S3 store,
 * run the job, print its summary as the last stdout line. Resolves with the exit status a job
 * process reports: 0 on success, 1 on failure, 2 on a broken env contract. The store's connections
 * are closed whatever happens, so a successful job leaves nothing open behind it.
 */
export async function runJobOnce(name: string, job: JobFunction): Promise<number> {
  const parsed = JobEnv.safeParse(process.env);
  if (!parsed.success) {
    process.stderr.write(`${name}: bad job environment:\n${formatIssues('env', parsed.error, process.env).join('\n')}\n`);
    return 2;
  }
  let store: ReturnType<typeof jobArtifactStore> | undefined;
  try {
    store = jobArtifactStore(process.env, parsePlanUri(parsed.data.UPLIFT_PLAN_URI).bucket);
    const summary = await job(store, parsed.data, process.env);
    process.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    store?.close();
  }
}

/** Composition root of a Batch job process: runs the job once (runJobOnce) and exits with its status. */
export async function runJob(name: string, job: JobFunction): Promise<void> {
  process.exit(await runJobOnce(name, job));
}
