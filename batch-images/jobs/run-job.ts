import '../../core/polyfills';
import { JobEnv, parsePlanUri, type JobSummary } from '../../core/jobs/env';
import type { ArtifactStore } from '../../core/ports';
import { formatIssues } from '../../core/spec';
import { jobArtifactStore } from '../../lambdas/aws/clients';

/**
 * Composition root of a Batch job process: validate the env contract, build the S3 store, run
 * the job, print its summary as the last stdout line. Exit 0 on success, 1 on failure, 2 on a
 * broken env contract.
 */
export async function runJob(name: string, job: (store: ArtifactStore, env: JobEnv, processEnv: NodeJS.ProcessEnv) => Promise<JobSummary>): Promise<void> {
  const parsed = JobEnv.safeParse(process.env);
  if (!parsed.success) {
    process.stderr.write(`${name}: bad job environment:\n${formatIssues('env', parsed.error, process.env).join('\n')}\n`);
    process.exit(2);
  }
  try {
    const store = jobArtifactStore(process.env, parsePlanUri(parsed.data.UPLIFT_PLAN_URI).bucket);
    const summary = await job(store, parsed.data, process.env);
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.exit(0);
  } catch (e) {
    process.stderr.write(`${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}
