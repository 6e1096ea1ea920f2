import { DescribeJobsCommand, ListJobsCommand, TerminateJobCommand, type BatchClient, type JobStatus } from '@aws-sdk/client-batch';

/** Batch statuses of a job that has not finished. */
export const ACTIVE_JOB_STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];

/**
 * Terminates the unfinished Batch jobs of one sweep in the given queues: a job belongs to the
 * sweep when its UPLIFT_PLAN_URI (set by the state machine) is the sweep's plan. Terminating an
 * array job terminates its children. Returns the ids terminated.
 */
export async function terminateSweepJobs(batch: BatchClient, queues: string[], planUri: string, reason: string): Promise<string[]> {
  const ids: string[] = [];
  for (const jobQueue of queues)
    for (const jobStatus of ACTIVE_JOB_STATUSES) {
      let nextToken: string | undefined;
      do {
        const page = await batch.send(new ListJobsCommand({ jobQueue, jobStatus, nextToken }));
        for (const j of page.jobSummaryList ?? []) if (j.jobId) ids.push(j.jobId);
        nextToken = page.nextToken;
      } while (nextToken);
    }
  const mine: string[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const out = await batch.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }));
    for (const j of out.jobs ?? []) if (j.jobId && j.container?.environment?.some((e) => e.name === 'UPLIFT_PLAN_URI' && e.value === planUri)) mine.push(j.jobId);
  }
  for (const jobId of [...new Set(mine)]) await batch.send(new TerminateJobCommand({ jobId, reason }));
  return [...new Set(mine)];
}
