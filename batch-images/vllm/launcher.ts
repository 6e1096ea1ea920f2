/**
 * Entrypoint of the GPU job definitions: `node --import tsx batch-images/vllm/launcher.ts
 * <job entrypoint>`. For a run of a `vllm` model it serves the weights on the job's GPU before
 * running the job (core/models/vllm-launcher.ts); any other run executes the job unchanged.
 *
 * Environment (besides the Batch job contract): UPLIFT_MODEL_CACHE (weights cache directory,
 * default <tmp>/uplift-models), UPLIFT_VLLM_COMMAND (how to start vLLM, default "vllm"),
 * UPLIFT_VLLM_TENSOR_PARALLEL (GPUs per server, default 1), NVIDIA_VISIBLE_DEVICES (set by ECS:
 * the job's own GPUs, which vLLM is then restricted to, see gpu-devices.ts).
 */
import '../../core/polyfills';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { JobEnv, parsePlanUri } from '../../core/jobs/env';
import { runJobWithModelServer } from '../../core/models/vllm-launcher';
import { jobArtifactStore, s3Client, StorageEnv } from '../../lambdas/aws/clients';
import { S3WeightsSource } from '../../lambdas/aws/s3-weights-source';
import { jobGpuEnv } from './gpu-devices';

async function main(): Promise<number> {
  const entry = process.argv[2];
  if (!entry) {
    process.stderr.write('usage: launcher.ts <job entrypoint, e.g. batch-images/jobs/ra-shard.ts>\n');
    return 2;
  }
  const gpus = jobGpuEnv(process.env);
  const env: Record<string, string | undefined> = { ...process.env, ...gpus };
  if (gpus.CUDA_VISIBLE_DEVICES) process.stderr.write(`launcher: this job's GPUs: ${gpus.CUDA_VISIBLE_DEVICES}\n`);
  const jobArgv = [process.execPath, '--import', 'tsx', isAbsolute(entry) ? entry : resolve(entry)];
  const planUri = JobEnv.shape.UPLIFT_PLAN_URI.safeParse(env.UPLIFT_PLAN_URI);
  // Without a plan URI the job reports its own broken environment.
  const bucket = planUri.success ? parsePlanUri(planUri.data).bucket : 'unknown-bucket';
  const storage = StorageEnv.parse({ UPLIFT_TABLE: 'unused-by-jobs', ...env, UPLIFT_BUCKET: bucket });
  const s3 = s3Client(storage);
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort());
  const tp = Number(env.UPLIFT_VLLM_TENSOR_PARALLEL ?? '1');
  return runJobWithModelServer({
    store: jobArtifactStore(env, bucket),
    weightsSource: (b) => new S3WeightsSource(s3, b),
    jobArgv,
    env,
    cacheDir: env.UPLIFT_MODEL_CACHE ?? join(tmpdir(), 'uplift-models'),
    vllmCommand: (env.UPLIFT_VLLM_COMMAND ?? 'vllm').split(/\s+/).filter(Boolean),
    tensorParallelSize: Number.isInteger(tp) && tp > 0 ? tp : 1,
    log: (line) => process.stderr.write(`${line}\n`),
    signal: abort.signal,
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`launcher failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
