import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { JobSummary } from '../../core/jobs/env';
import { packBundleWithWeights, weightsMarkerKey, type StagedWeightsInfo } from '../../core/models/bundle-weights';
import { runJobWithModelServer, type ModelServerLaunch } from '../../core/models/vllm-launcher';
import { packBundle } from '../../core/ra/bundle';
import { loadSpec } from '../../core/spec';
import { tlaKey } from '../../core/sweep/outputs';
import { planSweep } from '../../core/sweep/steps';
import { prepareSweep, stageSweep } from '../../core/sweep/stage';
import { s3Client, StorageEnv, type Stores } from '../../lambdas/aws/clients';
import { S3WeightsSource } from '../../lambdas/aws/s3-weights-source';
import { embeddedForTest } from '../support/embedded';
import { MemoryArtifactStore } from '../support/memory-store';
import { EXAMPLES } from '../support/specs';

const ROOT = resolve(__dirname, '../..');
const FAKE_VLLM = [process.execPath, '--import', 'tsx', join(__dirname, 'fixtures/fake-vllm.ts')];
const RA_SHARD = [process.execPath, '--import', 'tsx', join(ROOT, 'batch-images/jobs/ra-shard.ts')];
const RA_CONFIG = '{"architectures":["TinyForCausalLM"],"note":"base"}';
const MRA_CONFIG = '{"architectures":["TinyForCausalLM"],"note":"unlearned"}';
const MRA_SAFETENSORS = new Uint8Array(120_000).map((_, i) => (i * 13) % 251);

let svc: EmbeddedServices;
let stores: Stores;
let tmp: string;

/** Stages and plans a sweep of one noop run of the classifier on vllm:tiny-chat; its run id and job environment. */
async function stagedRun(sweepId: string) {
  const file = join(tmp, `${sweepId}.yaml`);
  writeFileSync(
    file,
    `name: mra-weights-test
cbms: [{ id: tai-safety, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: { provider: vllm, name: tiny-chat, weightsUri: "s3://uplift-artifacts/models/tiny-chat/" } }]
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

/** The classifier as a TLA would leave it after unlearning: its code unchanged, plus `weights: unlearned` (config.json, tokenizer, safetensors). */
function mraDir(config = MRA_CONFIG): string {
  const dir = mkdtempSync(join(tmp, 'mra-'));
  cpSync(join(EXAMPLES, 'agents/classifier'), dir, { recursive: true });
  writeFileSync(join(dir, 'agent.yaml'), `${readFileSync(join(dir, 'agent.yaml'), 'utf8')}weights: unlearned\n`);
  mkdirSync(join(dir, 'unlearned/tokenizer'), { recursive: true });
  writeFileSync(join(dir, 'unlearned/config.json'), config);
  writeFileSync(join(dir, 'unlearned/tokenizer/tokenizer.json'), '{"version":"1.0"}');
  writeFileSync(join(dir, 'unlearned/model.safetensors'), MRA_SAFETENSORS);
  return dir;
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

/** What the fake vLLM was started on (FAKE_VLLM_SERVE_FILE). */
const servedBy = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { weightsDir: string; config: string; served: string };

beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
  tmp = mkdtempSync(join(tmpdir(), 'uplift-mra-weights-'));
  await stores.artifacts.putText('models/tiny-chat/config.json', RA_CONFIG);
  await stores.artifacts.putBytes('models/tiny-chat/model.safetensors', new Uint8Array(30_000).map((_, i) => i % 251));
  await stores.artifacts.putText('models/tiny-chat/tokenizer.json', '{"version":"1.0"}');
});
afterAll(async () => svc.stop());

describe('the GPU launcher serves an MRA\'s own weights', () => {
  test('an MRA shard whose bundle names weights: vLLM serves the staged MRA weights under the RA\'s served name, and the unchanged agent answers through it; a baseline shard of the run serves the RA\'s weights', async () => {
    // GIVEN a vllm run whose TLA left an MRA carrying weights, packed without them and staged to weights/<sha256>/
    const { sweepId, runId, env } = await stagedRun('mra-weights-0001');
    const { bytes, weights } = await packBundleWithWeights(stores.artifacts, mraDir());
    const staged = weights as StagedWeightsInfo;
    await stores.artifacts.putBytes(tlaKey(sweepId, runId, 'mra.tar.gz'), bytes, 'application/gzip');
    const serveFile = join(tmp, 'serve-mra.json');
    const requests = join(tmp, 'requests-mra.jsonl');
    // WHEN the launcher runs MRA shard 0 (the real ra-shard job)
    const job = launch({ ...env, UPLIFT_ROLE: 'mra', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_SERVE_FILE: serveFile, FAKE_VLLM_LOG: requests });
    const code = await job.run();
    expect({ code, log: code === 0 ? '' : job.lines.join('\n') }).toEqual({ code: 0, log: '' });
    // THEN vLLM was started on the MRA's weights, synced from weights/<sha256>/, under the RA's served name
    const mraWeightsDir = join(tmp, 'cache', 'uplift-artifacts', `weights/${staged.sha256}/`);
    expect(servedBy(serveFile)).toEqual({ weightsDir: mraWeightsDir, config: MRA_CONFIG, served: 'tiny-chat' });
    expect(readFileSync(join(mraWeightsDir, 'model.safetensors'))).toEqual(Buffer.from(MRA_SAFETENSORS));
    expect(job.lines.join('\n')).toContain(`launcher: the MRA's weights s3://uplift-artifacts/weights/${staged.sha256}/ (from s3://uplift-artifacts/${tlaKey(sweepId, runId, 'mra.tar.gz')}), served as vllm:tiny-chat`);
    // AND the MRA's agent ran unchanged against it: every task answered, every call for "tiny-chat"
    const summary = JobSummary.parse(JSON.parse(job.stdout().trim().split('\n').pop() as string));
    expect(summary).toMatchObject({ role: 'mra', runId, index: 0, skipped: false, tasks: 90 });
    const calls = readFileSync(requests, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { url: string; body?: string });
    expect(calls.length).toBeGreaterThanOrEqual(90);
    expect(new Set(calls.map((c) => `${c.url} ${c.body}`))).toEqual(new Set(['/v1/chat/completions tiny-chat']));

    // WHEN the launcher runs baseline shard 0 of the same run
    const baseFile = join(tmp, 'serve-baseline.json');
    const baseline = launch({ ...env, UPLIFT_ROLE: 'baseline', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_SERVE_FILE: baseFile });
    expect(await baseline.run()).toBe(0);
    // THEN it serves the RA model's weights
    expect(servedBy(baseFile)).toEqual({ weightsDir: join(tmp, 'cache', 'uplift-artifacts', 'models/tiny-chat/'), config: RA_CONFIG, served: 'tiny-chat' });
  });

  test('an MRA that names no weights is served the RA\'s weights', async () => {
    const { sweepId, runId, env } = await stagedRun('mra-weights-0002');
    await stores.artifacts.putBytes(tlaKey(sweepId, runId, 'mra.tar.gz'), packBundle(join(EXAMPLES, 'agents/classifier')), 'application/gzip');
    const serveFile = join(tmp, 'serve-plain-mra.json');
    const job = launch({ ...env, UPLIFT_ROLE: 'mra', AWS_BATCH_JOB_ARRAY_INDEX: '1', FAKE_VLLM_SERVE_FILE: serveFile });
    expect(await job.run()).toBe(0);
    expect(servedBy(serveFile)).toMatchObject({ config: RA_CONFIG, served: 'tiny-chat' });
  });

  test('an MRA naming weights whose upload is missing fails the job, naming the key; vLLM never starts and the job never runs', async () => {
    // GIVEN an MRA whose weights were staged somewhere else (never to this bucket)
    const { sweepId, runId, env } = await stagedRun('mra-weights-0003');
    const { bytes, weights } = await packBundleWithWeights(new MemoryArtifactStore(), mraDir('{"note":"never uploaded"}'));
    const sha = (weights as StagedWeightsInfo).sha256;
    await stores.artifacts.putBytes(tlaKey(sweepId, runId, 'mra.tar.gz'), bytes, 'application/gzip');
    const serveFile = join(tmp, 'serve-missing.json');
    const marker = join(tmp, 'job-ran-missing');
    const job = launch(
      { ...env, UPLIFT_ROLE: 'mra', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_SERVE_FILE: serveFile },
      { jobArgv: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] },
    );
    // WHEN the launcher runs the MRA shard
    expect(await job.run()).toBe(1);
    // THEN it fails, naming the weights key and their marker, and serves nothing in their place
    expect(job.lines.join('\n')).toContain(
      `launcher: WeightsSyncError: the MRA's weights s3://uplift-artifacts/weights/${sha}/ are not completely uploaded: their marker s3://uplift-artifacts/${weightsMarkerKey(sha)} is missing`,
    );
    expect(existsSync(serveFile)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  test('an incomplete upload (the marker there, a weight file gone) fails the job, naming the file: the base weights are never served instead', async () => {
    // GIVEN the marker and some files in the bucket, but not model.safetensors
    const { sweepId, runId, env } = await stagedRun('mra-weights-0004');
    const elsewhere = new MemoryArtifactStore();
    const { bytes, weights } = await packBundleWithWeights(elsewhere, mraDir('{"note":"partly uploaded"}'));
    const sha = (weights as StagedWeightsInfo).sha256;
    for (const [key, body] of elsewhere.objects) if (!key.endsWith('model.safetensors')) await stores.artifacts.putBytes(key, body);
    await stores.artifacts.putBytes(tlaKey(sweepId, runId, 'mra.tar.gz'), bytes, 'application/gzip');
    const serveFile = join(tmp, 'serve-incomplete.json');
    const job = launch({ ...env, UPLIFT_ROLE: 'mra', AWS_BATCH_JOB_ARRAY_INDEX: '0', FAKE_VLLM_SERVE_FILE: serveFile });
    expect(await job.run()).toBe(1);
    expect(job.lines.join('\n')).toContain(`launcher: WeightsSyncError: the staged weights s3://uplift-artifacts/weights/${sha}/ do not match their marker s3://uplift-artifacts/weights/${sha}.json: model.safetensors is missing.`);
    expect(existsSync(serveFile)).toBe(false);
  });
});
