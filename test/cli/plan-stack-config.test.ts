import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTaskFamily } from '../../core/cbm/workspace/family';
import { DEFAULT_INSTANCE_PRICES, LOCAL_COMPUTE } from '../../core/pricing';
import { runCli } from '../support/cli';
import { EXAMPLES, writeSmallSpec } from '../support/specs';

const REPO = resolve(__dirname, '../..');
const P = DEFAULT_INSTANCE_PRICES;
/** USD per hour of a job on the default stack's CPU queue: a Fargate task of 1 vCPU and 4 GiB. */
const FARGATE_1_4 = 1 * P['fargate-vcpu'] + 4 * P['fargate-gib'];

interface PlanJson {
  worstCaseUsd: number;
  compute: unknown;
  stackConfig: string | null;
  runs: { shards: number; worstCase: { tokensUsd: number; computeUsd: number } }[];
}

async function planJson(args: string[], env: Record<string, string> = {}): Promise<PlanJson> {
  const r = await runCli(['plan', ...args, '--json'], env, REPO);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

/** One run (noop TLA) on the sample data: 2 shards, 120 s wall-clock budgets; `model` replaces the offline model. */
function oneRunSpec(model?: string, extra = ''): string {
  const spec = writeSmallSpec({ tlas: '[{kind: noop}]', maxUsd: 10, extra });
  if (model) writeFileSync(spec, readFileSync(spec, 'utf8').replace('model: { provider: offline }', `model: ${model}`));
  return spec;
}

function writeConfig(doc: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'uplift-stack-config-')), 'config.json');
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

describe('uplift plan --stack-config prices job time as a stack deployed from that config would', () => {
  test('a CPU run: the worst case grows by exactly its job hours at the Fargate task price of the config', async () => {
    const spec = oneRunSpec();
    const local = await planJson([spec]);
    // cpu.vcpusPerJob 2 with 8 GiB: a non-default size, so a price that ignored the config would show.
    const deployed = await planJson([spec, '--stack-config', writeConfig({ cpu: { vcpusPerJob: 2, memoryMiBPerJob: 8192 } })]);
    expect(local.runs.map((r) => r.shards)).toEqual([2]);
    // TLA job (120 s + 300 s start-up) + 2 × 2 shard jobs of (120 s + 300 s), at 2 vCPU and 8 GiB of Fargate.
    const hours = (420 + 2 * 2 * 420) / 3600;
    const expected = hours * (2 * P['fargate-vcpu'] + 8 * P['fargate-gib']);
    expect(local.runs[0].worstCase.computeUsd).toBe(0);
    expect(deployed.runs[0].worstCase.computeUsd).toBeCloseTo(expected, 12);
    expect(deployed.worstCaseUsd - local.worstCaseUsd).toBeCloseTo(expected, 12);
    expect(deployed.runs[0].worstCase.tokensUsd).toBe(local.runs[0].worstCase.tokensUsd);
  });

  test('a vllm run: its TLA and shard jobs on the GPU queue, at the dearest pinned instance type, with the spec’s prices.instances', async () => {
    // g6.xlarge made dearer than g5.xlarge (1.006) by the spec: the price must follow both.
    const spec = oneRunSpec('{ provider: vllm, name: tiny, weightsUri: "s3://my-bucket/models/tiny/" }', 'prices: { instances: { g6.xlarge: 2.5 } }');
    const local = await planJson([spec]);
    const deployed = await planJson([spec, '--stack-config', 'infra/uplift.config.json']);
    // Each job's start-up allowance is 300 s plus vLLM's startupTimeoutSeconds (900 by default).
    const hours = (120 + 1200 + 2 * 2 * (120 + 1200)) / 3600;
    expect(deployed.worstCaseUsd - local.worstCaseUsd).toBeCloseTo(hours * 2.5, 12);
    const text = await runCli(['plan', spec, '--stack-config', 'infra/uplift.config.json'], {}, REPO);
    expect(text.stdout).toContain('gpu g5.xlarge|g6.xlarge ($2.5000/h, the dearest)');
  });

  test('a run of tasks in container images: shard jobs on the images queue (m6i.xlarge), its TLA job on Fargate', async () => {
    const family = join(mkdtempSync(join(tmpdir(), 'uplift-img-fam-')), 'mini-swe-images');
    cpSync(join(EXAMPLES, 'datasets/mini-swe'), family, { recursive: true });
    for (const id of readdirSync(join(family, 'tasks'))) {
      const file = join(family, 'tasks', id, 'task.json');
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), image: `example.org/env/${id}:1` }));
    }
    const spec = join(mkdtempSync(join(tmpdir(), 'uplift-img-')), 'sweep.yaml');
    writeFileSync(
      spec,
      `name: images-plan
cbms:
  - { id: mini-swe-img, kind: workspace, dataset: ${family}, taskWallSeconds: 60 }
ras:
  - name: basic-agent
    bundle: ${join(EXAMPLES, 'agents/basic-agent')}
    model: { provider: openai, name: fake-swe, baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: FAKE_SWE_KEY }
tlas: [{kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]
budgets: { tlaTokens: 200000, shardTokens: 400000, tlaWallSeconds: 300, shardWallSeconds: 600, maxUsd: 20 }
prices: { models: { fake-swe: { inputPerMTok: 0.1, outputPerMTok: 0.2 } } }
`,
    );
    const env = { FAKE_SWE_KEY: 'sk-test' };
    const local = await planJson([spec], env);
    const deployed = await planJson([spec, '--stack-config', 'infra/uplift.config.json'], env);
    const tasks = loadTaskFamily(family).test.length;
    expect(local.runs.map((r) => r.shards)).toEqual([tasks]); // one shard job per test task
    const expected = ((300 + 300) / 3600) * FARGATE_1_4 + ((2 * tasks * (600 + 300)) / 3600) * P['m6i.xlarge'];
    expect(deployed.worstCaseUsd - local.worstCaseUsd).toBeCloseTo(expected, 12);
  });

  test('the README default config: the output names the file and what each queue runs on, and --json carries the compute used', async () => {
    const spec = oneRunSpec();
    const r = await runCli(['plan', spec, '--stack-config', 'infra/uplift.config.json'], { UPLIFT_COLUMNS: '1000' }, REPO);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Job time priced for the stack config infra/uplift.config.json: cpu Fargate 1 vCPU 4 GiB ($0.0583/h), gpu g5.xlarge|g6.xlarge ($1.0060/h, the dearest), images m6i.xlarge ($0.1920/h).',
    );
    const json = await planJson([spec, '--stack-config', 'infra/uplift.config.json']);
    expect(json.compute).toEqual({
      cpu: { kind: 'fargate', vcpus: 1, memoryMiB: 4096 },
      gpu: { kind: 'ec2', instanceTypes: ['g5.xlarge', 'g6.xlarge'] },
      images: { kind: 'ec2', instanceTypes: ['m6i.xlarge'] },
    });
    expect(json.stackConfig).toBe(join(REPO, 'infra/uplift.config.json'));
  });

  test('without the flag: local rates, said so with the flag to use, and no stack config in --json', async () => {
    const spec = oneRunSpec();
    const r = await runCli(['plan', spec], { UPLIFT_COLUMNS: '1000' }, REPO);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Job time priced at local rates: every job on this machine ($0.0000/h). --stack-config <file> prices it as a stack deployed from that config would');
    const json = await planJson([spec]);
    expect(json.compute).toEqual(LOCAL_COMPUTE);
    expect(json.stackConfig).toBeNull();
  });

  test('a malformed config is refused naming each field and its fix, together with the spec’s own problems, exit 2', async () => {
    const bad = writeConfig({ cpu: { vcpusPerJob: 3 }, gpu: { instanceClasses: ['g7'] } });
    const r = await runCli(['plan', join(tmpdir(), 'no-such-spec.yaml'), '--stack-config', bad], {}, REPO);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}: cpu.vcpusPerJob: must be a Fargate size: 0.25, 0.5, 1, 2, 4, 8 or 16 (received 3)`);
    expect(r.stderr).toContain(`${bad}: gpu.instanceClasses.0: must be one of g4dn, g5, g6`);
    expect(r.stderr).toMatch(/no-such-spec\.yaml: no such file\. Fix: /);
    // The checks after the schema too (a Fargate size that does not exist).
    const memory = await runCli(['plan', oneRunSpec(), '--stack-config', writeConfig({ cpu: { vcpusPerJob: 1, memoryMiBPerJob: 1024 } })], {}, REPO);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/cpu\.memoryMiBPerJob: Fargate does not offer 1024 MiB with 1 vCPU \(received 1024\)\. Fix: /);
  });

  test('a missing or unparsable config file is refused with the path and the fix, exit 2', async () => {
    const spec = oneRunSpec();
    const missing = join(tmpdir(), 'uplift-no-such-config.json');
    const r = await runCli(['plan', spec, '--stack-config', missing], {}, REPO);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--stack-config: ${missing} does not exist. Fix: pass the stack's config file, e.g. --stack-config infra/uplift.config.json`);
    const broken = writeConfig('{ "cpu": ');
    const j = await runCli(['plan', spec, '--stack-config', broken], {}, REPO);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(new RegExp(`${broken.replace(/[.\\/]/g, '\\$&')}: not valid JSON \\(.*\\)\\. Fix: `));
  });

  test('an instance type the config pins and the price table lacks is refused naming prices.instances', async () => {
    const spec = oneRunSpec('{ provider: vllm, name: tiny, weightsUri: "s3://my-bucket/models/tiny/" }');
    const r = await runCli(['plan', spec, '--stack-config', writeConfig({ gpu: { instanceClasses: ['g6e'] } })], {}, REPO);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('prices.instances.g6e.xlarge: no hourly price for instance type "g6e.xlarge"');
  });
});
