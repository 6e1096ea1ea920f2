import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { UpliftError } from '../errors';
import { VLLM_ENV } from '../gateway/upstream';
import { JobEnv, jobIndex, parsePlanUri } from '../jobs/env';
import type { ArtifactStore } from '../ports';
import { readPlan } from '../sweep/outputs';
import { ArtifactWeightsSource, verifiedWeightsSource, weightsForRun, type StagedWeights } from './bundle-weights';
import { startVllm, type VllmServer } from './vllm';
import { parseS3Prefix, syncWeights, type WeightsSource } from './weights';

export interface ModelServerLaunch {
  /** The artifacts store of the job (the plan is read from it). */
  store: ArtifactStore;
  /** Weights store of a bucket (the model's weightsUri may name the artifacts bucket or another). */
  weightsSource: (bucket: string) => WeightsSource;
  /** The job process to run, e.g. [node, --import, tsx, batch-images/jobs/ra-shard.ts]. */
  jobArgv: string[];
  /** The Batch job environment (UPLIFT_PLAN_URI, UPLIFT_RUN_ID, …) plus storage settings. */
  env: Record<string, string | undefined>;
  /** Local weights cache; a host volume on GPU instances, so jobs on one instance download once. */
  cacheDir: string;
  /** How to start vLLM. @default ["vllm"] */
  vllmCommand?: string[];
  tensorParallelSize?: number;
  /** Overrides the model's startupTimeoutSeconds (tests). */
  startupTimeoutMs?: number;
  pollMs?: number;
  /** Launcher and vLLM log lines (stderr of the job). */
  log: (line: string) => void;
  /** The job's own output; inherited when absent (its last stdout line is the job summary). */
  onJobOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /** Aborting (SIGTERM from Batch) stops the job and the server. */
  signal?: AbortSignal;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function runJobProcess(o: ModelServerLaunch, env: Record<string, string | undefined>): Promise<number> {
  const [exe, ...args] = o.jobArgv;
  const child = spawn(exe, args, { env, stdio: ['ignore', o.onJobOutput ? 'pipe' : 'inherit', o.onJobOutput ? 'pipe' : 'inherit'] });
  child.stdout?.setEncoding('utf8').on('data', (c: string) => o.onJobOutput?.('stdout', c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => o.onJobOutput?.('stderr', c));
  const onAbort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve) => {
    child.once('error', (e) => {
      o.log(`launcher: cannot start the job ${o.jobArgv.join(' ')}: ${e.message}`);
      resolve(127);
    });
    child.once('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0));
    });
  });
}

/**
 * Where staged weights (`weights/<sha256>/` of the artifacts store) are read from: streamed from
 * the artifacts bucket through `weightsSource` when the store is an S3 bucket, else through the
 * store itself; either way checked against the upload's marker.
 */
function stagedWeightsSource(o: ModelServerLaunch, marker: StagedWeights): { source: WeightsSource; root: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(o.store.uri(marker.key));
  const inner = m && m[2] === marker.key ? o.weightsSource(m[1]) : new ArtifactWeightsSource(o.store, marker);
  return { source: verifiedWeightsSource(inner, marker), root: m ? m[1] : 'artifacts' };
}

/**
 * The GPU job's launcher: for a run whose model is `vllm`, sync the weights from S3 to local
 * disk, start vLLM on loopback, wait for it to be ready (failing clearly if it never is), and run
 * the job with the model gateway pointed at it (UPLIFT_VLLM_BASE_URL / UPLIFT_VLLM_API_KEY, which
 * only the gateway reads: agents get a clean environment). Any other run executes the job as is.
 * The weights are the RA model's `weightsUri`, except for an MRA shard whose bundle names
 * `weights`: then its staged weights (core/models/bundle-weights.ts), under the same served name;
 * a missing or incomplete upload fails the job (never the base weights in their place).
 * Resolves with the exit code the container should exit with.
 */
export async function runJobWithModelServer(o: ModelServerLaunch): Promise<number> {
  const env = JobEnv.safeParse(o.env);
  // A broken job environment is reported by the job itself, with its own exit code.
  if (!env.success) return runJobProcess(o, o.env);
  const plan = await readPlan(o.store, parsePlanUri(env.data.UPLIFT_PLAN_URI).sweepId);
  const run = plan.runs.find((r) => r.runId === env.data.UPLIFT_RUN_ID);
  const model = run?.ra.model;
  if (!model || model.provider !== 'vllm') return runJobProcess(o, o.env);

  let server: VllmServer | undefined;
  try {
    const { sweepId } = parsePlanUri(env.data.UPLIFT_PLAN_URI);
    const served = await weightsForRun({ store: o.store, sweepId, plan, run, role: env.data.UPLIFT_ROLE, index: jobIndex(env.data), scratch: env.data.UPLIFT_SCRATCH });
    if (served.source === 'none') {
      o.log(`launcher: no model to serve (${served.reason}); running the job without vLLM`);
      return await runJobProcess(o, o.env);
    }
    let source: WeightsSource;
    let prefix: string;
    let dir: string;
    let what: string;
    if (served.source === 'model') {
      const at = parseS3Prefix(served.weightsUri);
      source = o.weightsSource(at.bucket);
      prefix = at.prefix;
      dir = join(o.cacheDir, at.bucket, prefix);
      what = `weights of vllm:${model.name}`;
    } else {
      const at = stagedWeightsSource(o, served.marker);
      source = at.source;
      prefix = served.key;
      dir = join(o.cacheDir, at.root, prefix);
      what = `the MRA's weights ${o.store.uri(served.key)} (from ${o.store.uri(served.bundleKey)}), served as vllm:${model.name}`;
    }
    const synced = await syncWeights(source, prefix, dir, { log: o.log });
    o.log(`launcher: ${what} in ${dir} (${synced.files} files, ${synced.downloaded} downloaded, ${synced.bytesDownloaded} bytes)`);
    if (o.signal?.aborted) return 143;
    server = await startVllm({
      command: o.vllmCommand ?? ['vllm'],
      model,
      weightsDir: dir,
      tensorParallelSize: o.tensorParallelSize,
      timeoutMs: o.startupTimeoutMs,
      pollMs: o.pollMs,
      env: o.env,
      log: o.log,
    });
    const stopOnAbort = () => void server?.stop();
    o.signal?.addEventListener('abort', stopOnAbort, { once: true });
    try {
      return await runJobProcess(o, { ...o.env, [VLLM_ENV.baseUrl]: server.baseUrl, [VLLM_ENV.apiKey]: server.apiKey });
    } finally {
      o.signal?.removeEventListener('abort', stopOnAbort);
    }
  } catch (e) {
    if (!(e instanceof UpliftError)) throw e;
    o.log(`launcher: ${e.name}: ${e.message}`);
    return 1;
  } finally {
    await server?.stop();
  }
}
