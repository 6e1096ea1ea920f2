/**
 * The stack outputs the CLI reads (`uplift submit/status/results/cancel --stack <name>`). No CDK
 * import here: the CLI loads this file, the stack writes these keys.
 */
import { z } from 'zod';
import { ComputeTargets } from '../core/pricing';

export const OUTPUT = {
  bucket: 'ArtifactsBucketName',
  table: 'TableName',
  stateMachine: 'StateMachineArn',
  cpuQueue: 'CpuJobQueueArn',
  gpuQueue: 'GpuJobQueueArn',
  imagesQueue: 'ImagesJobQueueArn',
  apiKeyEnvs: 'ModelApiKeyEnvs',
  apiKeySecrets: 'ModelApiKeySecrets',
  generatedApiKeys: 'ModelApiKeysGenerated',
  defaultBudget: 'DefaultSweepBudgetUsd',
  tlaTimeout: 'TlaJobTimeoutSeconds',
  shardTimeout: 'ShardJobTimeoutSeconds',
  alarmTopic: 'AlarmTopicArn',
  jobCompute: 'JobCompute',
} as const;

const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const num = z.string().regex(/^\d+(\.\d+)?$/).transform(Number);
/** An output holding JSON, parsed (then checked with `.pipe(schema)`). */
const jsonText = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not JSON' });
    return z.NEVER;
  }
});

/** Parsed outputs of a deployed Uplift stack. */
export const StackOutputs = z.object({
  [OUTPUT.bucket]: z.string().min(3),
  [OUTPUT.table]: z.string().min(3),
  [OUTPUT.stateMachine]: z.string().startsWith('arn:'),
  [OUTPUT.cpuQueue]: z.string().startsWith('arn:'),
  /** "none" when the stack was deployed without a GPU queue. */
  [OUTPUT.gpuQueue]: z.string(),
  /** Absent when the stack was deployed without the images queue (infra config images.enabled). */
  [OUTPUT.imagesQueue]: z.string().startsWith('arn:').optional(),
  [OUTPUT.apiKeyEnvs]: csv,
  /** The secret (ARN) of each API key, as JSON. */
  [OUTPUT.apiKeySecrets]: jsonText
    .pipe(z.record(z.string(), z.string()))
    .optional(),
  /** The API keys whose secret the stack created with a generated placeholder value ("none": no such key; absent from older stacks). */
  [OUTPUT.generatedApiKeys]: z
    .string()
    .transform((s) => (s === NO_GENERATED_KEYS ? [] : s.split(',').map((x) => x.trim()).filter(Boolean)))
    .optional(),
  [OUTPUT.defaultBudget]: num,
  [OUTPUT.tlaTimeout]: num,
  [OUTPUT.shardTimeout]: num,
  /** What each queue's jobs run on (JSON), so `uplift submit` prices job time into the worst case. */
  [OUTPUT.jobCompute]: jsonText
    .pipe(ComputeTargets)
    .optional(),
});
export type StackOutputs = z.infer<typeof StackOutputs>;

/** Written for GpuJobQueueArn when the GPU queue is disabled. */
export const NO_GPU_QUEUE = 'none';
/** Written for ModelApiKeysGenerated when the stack created no secret (CloudFormation outputs are never empty). */
export const NO_GENERATED_KEYS = 'none';

/**
 * What a job's wall-clock budget may use of its Batch timeout: the rest is for fetching the
 * bundle, the data and (GPU) the weights, and for uploading outputs.
 */
export const JOB_TIMEOUT_MARGIN_SECONDS = 300;
