import { z } from 'zod';
import { SpecError } from '../errors';
import type { RetryOptions } from '../gateway/gateway';

/** The Batch job environment contract (README, Architecture): the same in AWS Batch and in the local pool. */
export const JobEnv = z.object({
  UPLIFT_RUN_ID: z.string().min(1, { error: 'UPLIFT_RUN_ID is required' }),
  UPLIFT_ROLE: z.enum(['baseline', 'tla', 'mra'], { error: 'UPLIFT_ROLE must be baseline, tla or mra' }),
  UPLIFT_PLAN_URI: z.string().regex(/^s3:\/\/[^/]+\/sweeps\/[^/]+\/plan\.json$/, { error: 'UPLIFT_PLAN_URI must be s3://<bucket>/sweeps/<sweep>/plan.json' }),
  /** Set by AWS Batch for array children; absent for a single job. */
  AWS_BATCH_JOB_ARRAY_INDEX: z.coerce.number().int().min(0).optional(),
  /** The same index for the single jobs of an image run (the state machine sets it; core/sweep/image-jobs.ts). */
  UPLIFT_JOB_INDEX: z.coerce.number().int().min(0).optional(),
  /** Scratch directory for workspaces. @default the OS temp dir */
  UPLIFT_SCRATCH: z.string().optional(),
  /** Where this job's own log is (set by the local pool; in AWS Batch the job id names it). */
  UPLIFT_JOB_LOG: z.string().optional(),
  /** Set by AWS Batch: the job id, which names its CloudWatch log stream. */
  AWS_BATCH_JOB_ID: z.string().optional(),
});
export type JobEnv = z.infer<typeof JobEnv>;

/** Which of its role's jobs this is: the array child's index, or the index an image run's single job was given (0 for a lone job). */
export function jobIndex(env: Pick<JobEnv, 'AWS_BATCH_JOB_ARRAY_INDEX' | 'UPLIFT_JOB_INDEX'>): number {
  return env.UPLIFT_JOB_INDEX ?? env.AWS_BATCH_JOB_ARRAY_INDEX ?? 0;
}

/** Where a user finds a job's log, in words: the local pool's file, or the AWS Batch job id. */
export function jobLogLocation(env: Pick<JobEnv, 'UPLIFT_JOB_LOG' | 'AWS_BATCH_JOB_ID'>): string {
  if (env.UPLIFT_JOB_LOG) return env.UPLIFT_JOB_LOG;
  if (env.AWS_BATCH_JOB_ID) return `AWS Batch job ${env.AWS_BATCH_JOB_ID} (its CloudWatch log stream in the stack's job log group)`;
  return 'the job log (stderr of the ra-shard job)';
}

/** Bucket and sweep id from `s3://<bucket>/sweeps/<sweep>/plan.json`. */
export function parsePlanUri(uri: string): { bucket: string; sweepId: string } {
  const m = /^s3:\/\/([^/]+)\/sweeps\/([^/]+)\/plan\.json$/.exec(uri);
  if (!m) throw new Error(`not a plan URI: ${uri}`);
  return { bucket: m[1], sweepId: m[2] };
}

/** The last stdout line of every job: the local runner reads it for progress; CloudWatch keeps it in the cloud. */
export const JobSummary = z.object({
  uplift: z.literal('job-summary'),
  role: z.enum(['baseline', 'tla', 'mra']),
  runId: z.string(),
  index: z.number().int().nullable(),
  skipped: z.boolean(),
  tokens: z.number().int(),
  tasks: z.number().int().optional(),
});
export type JobSummary = z.infer<typeof JobSummary>;

/** The environment variable that tunes how a job's gateways retry a failing model endpoint (JSON, see RetryOptions). */
export const UPSTREAM_RETRY_ENV = 'UPLIFT_UPSTREAM_RETRY';

const RetryEnv = z.strictObject({
  attempts: z.number().int().min(1).max(20).optional(),
  totalMs: z.number().int().min(0).max(3_600_000).optional(),
  baseDelayMs: z.number().int().min(0).max(600_000).optional(),
  maxDelayMs: z.number().int().min(0).max(600_000).optional(),
});

/**
 * Retry settings of a job's gateways from UPLIFT_UPSTREAM_RETRY (e.g. `{"attempts": 8, "totalMs":
 * 120000}`); the gateway's defaults when unset. A malformed value fails the job before any agent runs.
 */
export function upstreamRetryFromEnv(env: Record<string, string | undefined>): RetryOptions | undefined {
  const raw = env[UPSTREAM_RETRY_ENV];
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  const r = RetryEnv.safeParse(value);
  if (!r.success)
    throw new SpecError([`${UPSTREAM_RETRY_ENV}: ${r.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ')} (received ${raw.slice(0, 80)}). Fix: a JSON object such as {"attempts": 5, "totalMs": 60000, "baseDelayMs": 500, "maxDelayMs": 20000}`]);
  return r.data;
}
