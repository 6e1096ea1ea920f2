import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { JobSummary } from '../../core/jobs/env';
import { runJobWithModelServer, type ModelServerLaunch } from '../../core/models/vllm-launcher';
import { startVllm, vllmArgProblems, VllmStartupError, type VllmModel } from '../../core/models/vllm';
import { loadSpec } from '../../core/spec';
import { planRun, planSweep } from '../../core/sweep/steps';
import { prepareSweep, stageSweep } from '../../core/sweep/stage';
import { ShardUsage, shardUsageKey } from '../../core/sweep/outputs';
import { s3Client, StorageEnv, type Stores } from '../../lambdas/aws/clients';
import { S3WeightsSource } from '../../lambdas/aws/s3-weights-source';
import { jobGpuEnv } from '../../batch-images/vllm/gpu-devices';
import { embeddedForTest } from '../support/embedded';
import { EXAMPLES } from '../support/specs';

const ROOT = resolve(__dirname, '../..');
const FAKE_VLLM = [process.execPath, '--import', 'tsx', join(__dirname, 'fixtures/fake-vllm.ts')];
const RA_SHARD = [process.execPath, '--import', 'tsx', join(ROOT, 'batch-images/jobs/ra-shard.ts')];
const MODEL: VllmModel = { provider: 'vllm', name: 'tiny-chat', weightsUri: 's3://uplift-artifacts/models/tiny-chat/', startupTimeoutSeconds: 60, extraArgs: [] };

let svc: EmbeddedServices;
let stores: Stores;
let tmp: string;

/** Stages a sweep of one noop run on the sample data with `model`, plans it, and returns the job environment of its runs. */
async function stagedRun(sweepId: string, model: string) {
  const file = join(tmp, `${sweepId}.yaml`);
  writeFileSync(
    file,
    `name: launcher-test
cbms: [{ id: tai-safety, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: ${model} }]
tlas: [{ kind: noop }]
shardSize: 90
budgets: { tlaTokens: 100000, shardTokens: 300000, tlaWallSeconds: 120, shardWallSeconds: 120, maxUsd: 1 }
`,
  );
  await stageSweep(stores.artifacts, prepareSweep(loadSpec(file), {}), sweepId);
  const plan = await planSweep(stores, { sweepId });
  const runId = JSON.parse((await stores.artifacts.getText(plan.itemsKey)) as string)[0] as string;
  return { sweepId, runId, env: { UPLIFT_RUN_ID: runId, UPLIFT_PLAN_URI: plan.planUri } };
}

function launch(env: Record<string, string>, over: Partial<ModelServerLaunch> = {}) {
  const lines: string[] = [];
  let stdout = '';
  const storage = StorageEnv.parse(svc.env);
  const opts: ModelServerLaunch = {
    store: stores.artifacts,
    weightsSource: (b) => new S3WeightsSource(s3Client(storage), b),
    jobArgv: RA_SHARD,
    env: { ...process.env, ...svc.env, ...env },
    cacheDir: join(tmp, 'cache'),
    vllmCommand: FAKE_VLLM,
    pollMs: 100,
    log: (l) => lines.push(l),
    onJobOutput: (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk;
      else lines.push(chunk);
    },
    ...over,
  };
  return { run: () => runJobWithModelServer(opts), lines, stdout: () => stdout };
}

beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
  tmp = mkdtempSync(join(tmpdir(), 'uplift-launcher-'));
  await stores.artifacts.putText('models/tiny-chat/config.json', '{"architectures":["TinyForCausalLM"]}');
  await stores.artifacts.putBytes('models/tiny-chat/model.safetensors', new Uint8Array(300_000).map((_, i) => i % 251));
  await stores.artifacts.putText('models/tiny-chat/tokenizer/tokenizer.json', '{"version":"1.0"}');
});
afterAll(async () => svc.stop());

describe('the GPU job launcher', () => {
  test('a vllm run: weights synced from S3, vLLM started on loopback with a per-job key, the shard job served through the gateway', async () => {
    // GIVEN a planned sweep whose RA model is served by vLLM from weights in S3
    const { sweepId, runId, env } = await stagedRun('vllm-sweep-0001', `{ provider: vllm, name: tiny-chat, weightsUri: "${MODEL.weightsUri}" }`);
    // AND PlanRun sends its jobs to the GPU queue
    expect(await planRun(stores, { sweepId, runId })).toMatchObject({ action: 'compute_baseline', queue: 'gpu' });
    const requests = join(tmp, 'requests.jsonl');
    // WHEN the launcher runs baseline shard 0
    const job = launch({ ...env, UPLIFT_ROLE: 'baseline', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_LOG: requests });
    const code = await job.run();
    // THEN the job succeeded and metered real model calls
    expect({ code, log: code === 0 ? '' : job.lines.join('\n') }).toEqual({ code: 0, log: '' });
    const summary = JobSummary.parse(JSON.parse(job.stdout().trim().split('\n').pop() as string));
    expect(summary).toMatchObject({ role: 'baseline', runId, index: 0, skipped: false, tasks: 90 });
    expect(summary.tokens).toBeGreaterThan(0);
    const usage = ShardUsage.parse(JSON.parse((await stores.artifacts.getText(shardUsageKey(`sweeps/${sweepId}/runs/${runId}/baseline`, 0))) as string));
    expect(usage.calls).toBeGreaterThanOrEqual(90);
    expect(usage.answered).toBe(90);
    // AND every call reached vLLM through the gateway, with vLLM's key and the served name (never the agent's token)
    const calls = readFileSync(requests, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { url: string; auth: string; body?: string });
    expect(calls.length).toBe(usage.calls);
    expect(new Set(calls.map((c) => `${c.url} ${c.body}`))).toEqual(new Set(['/v1/chat/completions tiny-chat']));
    expect(new Set(calls.map((c) => c.auth.slice(0, 'Bearer uplift-vllm-'.length)))).toEqual(new Set(['Bearer uplift-vllm-']));
    // AND the weights are on local disk, byte for byte
    const dir = join(tmp, 'cache', 'uplift-artifacts', 'models/tiny-chat');
    expect(readFileSync(join(dir, 'model.safetensors'))).toEqual(Buffer.from(new Uint8Array(300_000).map((_, i) => i % 251)));
    expect(existsSync(join(dir, 'tokenizer', 'tokenizer.json'))).toBe(true);
    expect(job.lines.join('\n')).toMatch(/vLLM ready on 127\.0\.0\.1:\d+ after [\d.]+ s, serving "tiny-chat"/);

    // WHEN shard 1 runs on the same instance (same cache)
    const second = launch({ ...env, UPLIFT_ROLE: 'baseline', AWS_BATCH_JOB_ARRAY_INDEX: '1' });
    expect(await second.run()).toBe(0);
    // THEN nothing is downloaded again
    expect(second.lines.join('\n')).toContain('(3 files, 0 downloaded, 0 bytes)');
  });

  test('vLLM that never becomes ready fails the job with a clear message and the job never runs; the server is killed', async () => {
    const pidFile = join(tmp, 'never.pid');
    const marker = join(tmp, 'job-ran');
    const { env } = await stagedRun('vllm-sweep-0002', `{ provider: vllm, name: tiny-chat, weightsUri: "${MODEL.weightsUri}", startupTimeoutSeconds: 10 }`);
    const job = launch(
      { ...env, UPLIFT_ROLE: 'baseline', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_NEVER_READY: '1', FAKE_VLLM_PIDFILE: pidFile },
      { startupTimeoutMs: 2000, jobArgv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] },
    );
    expect(await job.run()).toBe(1);
    expect(job.lines.join('\n')).toMatch(/launcher: VllmStartupError: vLLM did not become ready within 2 s \(GET http:\/\/127\.0\.0\.1:\d+\/health: HTTP 503\)\. Fix: raise startupTimeoutSeconds/);
    expect(existsSync(marker)).toBe(false);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  test('vLLM that exits during start-up fails at once, naming its exit code; missing weights fail before it starts', async () => {
    const crash = startVllm({ command: FAKE_VLLM, model: MODEL, weightsDir: join(tmp, 'cache', 'uplift-artifacts', 'models/tiny-chat'), env: { FAKE_VLLM_EXIT: '3' }, timeoutMs: 30_000, pollMs: 50, log: () => undefined });
    await expect(crash).rejects.toBeInstanceOf(VllmStartupError);
    await expect(crash).rejects.toThrow(/^vLLM exited \(code 3\) before http:\/\/127\.0\.0\.1:\d+\/health answered/);
    const { env } = await stagedRun('vllm-sweep-0003', '{ provider: vllm, name: nothing-here, weightsUri: "s3://uplift-artifacts/models/nothing-here/" }');
    const job = launch({ ...env, UPLIFT_ROLE: 'baseline', AWS_BATCH_JOB_ARRAY_INDEX: '0' });
    expect(await job.run()).toBe(1);
    expect(job.lines.join('\n')).toContain('launcher: WeightsSyncError: no weights under s3://uplift-artifacts/models/nothing-here/. Fix: upload the model directory');
  });

  test('a run of an API or offline model runs the job unchanged, without vLLM', async () => {
    const { env } = await stagedRun('offline-sweep-0004', '{ provider: offline }');
    const job = launch({ ...env, UPLIFT_ROLE: 'baseline' }, { jobArgv: [process.execPath, '-e', 'process.stdout.write(process.env.UPLIFT_VLLM_BASE_URL ?? "no vLLM")'], vllmCommand: ['/nonexistent/vllm'] });
    expect(await job.run()).toBe(0);
    expect(job.stdout()).toBe('no vLLM');
  });

  test('extraArgs may not override what the launcher sets', () => {
    expect(vllmArgProblems({ ...MODEL, extraArgs: ['--dtype', 'bfloat16', '--port=1', '--max-model-len', '4096'] }, 'ras.0.model')).toEqual([
      'ras.0.model.extraArgs: "--port=1" is set by the launcher (received ["--dtype","bfloat16","--port=1","--max-model-len","4096"]). Fix: remove it',
      'ras.0.model.extraArgs: "--max-model-len" is set by the launcher (received ["--dtype","bfloat16","--port=1","--max-model-len","4096"]). Fix: remove it; use maxModelLen instead',
    ]);
  });
});

describe('batch-images/vllm/launcher.ts (the GPU job definitions\' command)', () => {
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'batch-images/vllm/launcher.ts'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('close', (code) => done({ code, stdout, stderr }));
    });

  test('wires the S3 weights, the cache directory and UPLIFT_VLLM_COMMAND from the environment, and hands the job the server', async () => {
    const { env } = await stagedRun('vllm-sweep-0005', `{ provider: vllm, name: tiny-chat, weightsUri: "${MODEL.weightsUri}" }`);
    const cache = join(tmp, 'root-cache');
    const r = await run([join(__dirname, 'fixtures/print-vllm-env.ts')], { ...svc.env, ...env, UPLIFT_ROLE: 'baseline', UPLIFT_MODEL_CACHE: cache, UPLIFT_VLLM_COMMAND: FAKE_VLLM.join(' ') });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ base: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1$/), status: 200, models: ['tiny-chat'] });
    expect(existsSync(join(cache, 'uplift-artifacts', 'models/tiny-chat', 'config.json'))).toBe(true);
  });

  test('restricts vLLM to the GPUs ECS gave the job (NVIDIA_VISIBLE_DEVICES → CUDA_VISIBLE_DEVICES): a privileged container sees every GPU of its instance', async () => {
    const { env } = await stagedRun('vllm-sweep-0006', `{ provider: vllm, name: tiny-chat, weightsUri: "${MODEL.weightsUri}" }`);
    const seen = join(tmp, 'vllm-gpu-env.json');
    const r = await run([join(__dirname, 'fixtures/print-vllm-env.ts')], {
      ...svc.env,
      ...env,
      UPLIFT_ROLE: 'baseline',
      UPLIFT_MODEL_CACHE: join(tmp, 'root-cache'),
      UPLIFT_VLLM_COMMAND: FAKE_VLLM.join(' '),
      NVIDIA_VISIBLE_DEVICES: 'GPU-6f4c1e2a-0000-4000-8000-000000000002',
      CUDA_VISIBLE_DEVICES: '0,1,2,3',
      FAKE_VLLM_ENV_FILE: seen,
    });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual({ CUDA_VISIBLE_DEVICES: 'GPU-6f4c1e2a-0000-4000-8000-000000000002', NVIDIA_VISIBLE_DEVICES: 'GPU-6f4c1e2a-0000-4000-8000-000000000002' });
    expect(r.stderr).toContain("launcher: this job's GPUs: GPU-6f4c1e2a-0000-4000-8000-000000000002");
  });

  test('derives CUDA_VISIBLE_DEVICES only from a list of GPUs ECS named', () => {
    expect(jobGpuEnv({ NVIDIA_VISIBLE_DEVICES: 'GPU-a, GPU-b' })).toEqual({ CUDA_VISIBLE_DEVICES: 'GPU-a,GPU-b' });
    for (const v of [undefined, '', 'all', 'none', 'void', 'GPU-a,all']) expect(jobGpuEnv({ NVIDIA_VISIBLE_DEVICES: v })).toEqual({});
  });

  test('without a job entrypoint it prints its usage and exits 2', async () => {
    const r = await run([], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: launcher.ts <job entrypoint');
  });
});
