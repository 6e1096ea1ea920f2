import { z } from 'zod';

/** The Batch job environment contract (DESIGN.md): the same in AWS Batch and in the local pool. */
export const JobEnv = z.object({
  UPLIFT_RUN_ID: z.string().min(1, { error: 'UPLIFT_RUN_ID is required' }),
  UPLIFT_ROLE: z.enum(['baseline', 'tla', 'mra'], { error: 'UPLIFT_ROLE must be baseline, tla or mra' }),
  UPLIFT_PLAN_URI: z.string().regex(/^s3:\/\/[^/]+\/sweeps\/[^/]+\/plan\.json$/, { error: 'UPLIFT_PLAN_URI must be s3://<bucket>/sweeps/<sweep>/plan.json' }),
  /** Set by AWS Batch for array children; absent for a single job. */
  AWS_BATCH_JOB_ARRAY_INDEX: z.coerce.number().int().min(0).optional(),
  /** Scratch directory for workspaces. @default the OS temp dir */
  UPLIFT_SCRATCH: z.string().optional(),
});
export type JobEnv = z.infer<typeof JobEnv>;

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
