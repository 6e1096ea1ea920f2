import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchClient, DescribeJobsCommand, ListJobsCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { CommanderError } from 'commander';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { buildProgram } from '../../cli/main';
import { SpecError } from '../../core/errors';
import { templateKey } from '../../core/models/upload';
import { bundleHash } from '../../core/ra/bundle';
import { finalizeSweep, planSweep } from '../../core/sweep/steps';
import { StagedSweep } from '../../core/sweep/plan';
import { dynamoClient, StorageEnv, type Stores } from '../../lambdas/aws/clients';
import { DynamoTriggerStore } from '../../lambdas/aws/dynamo-trigger-store';
import { secretState } from '../../infra/api-key-placeholders';
import { OUTPUT } from '../../infra/outputs';
import { embeddedForTest } from '../support/embedded';
import { EXAMPLES } from '../support/specs';

const REGION = 'eu-west-1';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:UpliftPipeline`;
const CPU_QUEUE = `arn:aws:batch:${REGION}:123456789012:job-queue/UpliftCpu`;
const GPU_QUEUE = `arn:aws:batch:${REGION}:123456789012:job-queue/UpliftGpu`;
const OPENAI_SECRET = `arn:aws:secretsmanager:${REGION}:123456789012:secret:UpliftJobsApiKeyOpenaiApiKey-AbCdEf`;
/** DescribeSecret of a secret the stack created: only the generated version, or a put value over it. */
const GENERATED_ONLY = { ARN: OPENAI_SECRET, VersionIdsToStages: { 'v-generated': ['AWSCURRENT'] } };
const KEY_PUT = { ARN: OPENAI_SECRET, VersionIdsToStages: { 'v-put': ['AWSCURRENT'], 'v-generated': ['AWSPREVIOUS'] } };
const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const batch = mockClient(BatchClient);
const secrets = mockClient(SecretsManagerClient);

let svc: EmbeddedServices;
let stores: Stores;
let tmp: string;
const savedEnv = { ...process.env };

/** Runs `uplift <args>` through the CLI's program (cloud commands included). */
async function uplift(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = 0;
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s) };
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(['node', 'uplift', ...args]);
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, out, err };
    throw e;
  }
  return { code, out, err };
}

async function specProblems(...args: string[]): Promise<string[]> {
  try {
    await uplift(...args);
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected the command to refuse its input');
}

function writeSpec(name: string, extra: { model?: string; budgets?: string } = {}): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
cbms: [{ id: tai-safety, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: ${extra.model ?? '{ provider: offline }'} }]
tlas: [{ kind: noop }, { kind: fewshot-search, evalTasks: 20 }]
shardSize: 90
budgets: ${extra.budgets ?? '{ tlaTokens: 100000, shardTokens: 100000, tlaWallSeconds: 600, shardWallSeconds: 300 }'}
`,
  );
  return file;
}

const stackArgs = ['--stack', 'Uplift', '--region', REGION];

beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
  tmp = mkdtempSync(join(tmpdir(), 'uplift-cloud-cli-'));
  // The storage clients honour the shared env contract: the embedded S3 and DynamoDB stand in for the stack's.
  Object.assign(process.env, {
    UPLIFT_S3_ENDPOINT: svc.env.UPLIFT_S3_ENDPOINT,
    UPLIFT_DYNAMODB_ENDPOINT: svc.env.UPLIFT_DYNAMODB_ENDPOINT,
    UPLIFT_LOCAL_ACCESS_KEY_ID: svc.env.UPLIFT_LOCAL_ACCESS_KEY_ID,
    UPLIFT_LOCAL_SECRET_ACCESS_KEY: svc.env.UPLIFT_LOCAL_SECRET_ACCESS_KEY,
  });
});
afterAll(async () => {
  process.env = savedEnv;
  await svc.stop();
});
beforeEach(() => {
  cfn.reset();
  sfn.reset();
  batch.reset();
  secrets.reset();
  secrets.on(DescribeSecretCommand, { SecretId: OPENAI_SECRET }).resolves(KEY_PUT);
  stackOutputs({});
  sfn.on(StartExecutionCommand).callsFake((i: { name: string }) => ({ executionArn: `arn:aws:states:${REGION}:123456789012:execution:UpliftPipeline:${i.name}`, startDate: new Date() }));
});

/** The outputs of the mocked stack Uplift; `over` replaces some (undefined: left out, as an older stack would). */
function stackOutputs(over: Record<string, string | undefined>): void {
  cfn.on(DescribeStacksCommand, { StackName: 'Uplift' }).resolves({
    Stacks: [
      {
        StackName: 'Uplift',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries({
          [OUTPUT.bucket]: svc.env.UPLIFT_BUCKET,
          [OUTPUT.table]: svc.env.UPLIFT_TABLE,
          [OUTPUT.stateMachine]: STATE_MACHINE,
          [OUTPUT.cpuQueue]: CPU_QUEUE,
          [OUTPUT.gpuQueue]: GPU_QUEUE,
          [OUTPUT.apiKeyEnvs]: 'OPENAI_API_KEY',
          [OUTPUT.apiKeySecrets]: JSON.stringify({ OPENAI_API_KEY: OPENAI_SECRET }),
          [OUTPUT.generatedApiKeys]: 'OPENAI_API_KEY',
          [OUTPUT.defaultBudget]: '7',
          [OUTPUT.tlaTimeout]: '3600',
          [OUTPUT.shardTimeout]: '1200',
          [OUTPUT.alarmTopic]: 'arn:aws:sns:eu-west-1:123456789012:UpliftAlarms',
          ...over,
        })
          .filter((e): e is [string, string] => e[1] !== undefined)
          .map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

let submitted: string;

describe('uplift submit --stack', () => {
  test('stages bundles, data and the spec in the stack\'s bucket and starts one execution named after the sweep', async () => {
    // GIVEN a spec without budgets.maxUsd
    const file = writeSpec('cloud-demo');
    // WHEN it is submitted to the stack
    const r = await uplift('submit', file, ...stackArgs);
    // THEN the sweep id is printed and the stack's default budget applied
    expect(r.code).toBe(0);
    submitted = r.out.trim();
    expect(submitted).toMatch(/^cloud-demo-\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(r.err).toContain("budgets.maxUsd is not set: using the stack's default sweep budget of $7.00");
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([{ StackName: 'Uplift' }]);
    // AND exactly one execution was started, named after the sweep, with the sweep id as input
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([{ stateMachineArn: STATE_MACHINE, name: submitted, input: JSON.stringify({ sweepId: submitted }) }]);
    // AND the bundle, the data set and the spec are in the bucket, where PlanSweep reads them
    const staged = StagedSweep.parse(JSON.parse((await stores.artifacts.getText(`sweeps/${submitted}/spec.json`)) as string));
    expect(staged.spec.budgets.maxUsd).toBe(7);
    expect(await stores.artifacts.exists(`agents/${bundleHash(join(EXAMPLES, 'agents/classifier'))}.tar.gz`)).toBe(true);
    expect(await stores.artifacts.exists(`${staged.cbms[0].datasetPrefix}/test.jsonl`)).toBe(true);
    // AND an offline-only sweep needs no API key: no secret was looked at
    expect(secrets.commandCalls(DescribeSecretCommand)).toHaveLength(0);
  });

  test('refuses, before staging or starting anything, a spec the stack cannot run, naming each field and the fix', async () => {
    const file = writeSpec('cloud-bad', {
      model: '{ provider: vllm, name: big, weightsUri: "s3://elsewhere/weights/big/", extraArgs: ["--port", "9"] }',
      budgets: '{ tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 3500, shardWallSeconds: 300, maxUsd: 1 }',
    });
    const p = await specProblems('submit', file, ...stackArgs);
    expect(p).toEqual([
      expect.stringMatching(/ras\.0\.model\.weightsUri: GPU jobs may read weights only under s3:\/\/uplift-artifacts\/models\/ \(received "s3:\/\/elsewhere\/weights\/big\/"\)\. Fix: upload them there/),
      expect.stringMatching(/ras\.0\.model\.extraArgs: "--port" is set by the launcher/),
      expect.stringMatching(/budgets\.tlaWallSeconds: 3500 s does not fit the stack's Batch job timeout of 3600 s .*Fix: lower it to at most 3300, or raise jobTimeouts\.tlaSeconds/),
    ]);
    const key = writeSpec('cloud-key', { model: '{ provider: openai, name: gpt-4o-mini, apiKeyEnv: TEAM_KEY }' });
    expect(await specProblems('submit', key, ...stackArgs)).toEqual([expect.stringMatching(/ras\.0\.model\.apiKeyEnv: stack Uplift gives jobs no TEAM_KEY \(it has: OPENAI_API_KEY\)\. Fix: /)]);
    const react = writeSpec('cloud-react').replace(/\.yaml$/, '-tla.yaml');
    writeFileSync(react, readFileSync(writeSpec('cloud-react'), 'utf8').replace('tlas: [{ kind: noop }, { kind: fewshot-search, evalTasks: 20 }]', 'tlas: [{ kind: react, model: { provider: openai, name: gpt-4o, apiKeyEnv: TLA_KEY } }]'));
    expect(await specProblems('submit', react, ...stackArgs)).toEqual([expect.stringMatching(/tlas\.0\.model\.apiKeyEnv: stack Uplift gives jobs no TLA_KEY/)]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(await stores.artifacts.list('sweeps/cloud-bad')).toEqual([]);
  });

  test('an API model whose key the stack holds needs no key on the submitting machine', async () => {
    delete process.env.OPENAI_API_KEY;
    const file = writeSpec('cloud-openai', { model: '{ provider: openai, name: gpt-4o-mini }', budgets: '{ tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 600, shardWallSeconds: 300, maxUsd: 1 }' });
    const r = await uplift('submit', file, ...stackArgs, '--json');
    expect(JSON.parse(r.out)).toMatchObject({ sweepId: expect.stringMatching(/^cloud-openai-/), executionArn: expect.stringContaining(':execution:UpliftPipeline:cloud-openai-'), runs: 2 });
    // The key's secret was checked (metadata only: the value is readable by the jobs alone).
    expect(secrets.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: OPENAI_SECRET }]);
  });

  test('refuses a sweep whose API key secret still holds the value the stack generated, naming the secret and the put-secret-value fix, before staging or starting anything', async () => {
    // GIVEN the stack's OPENAI_API_KEY secret was never set (its only version is the generated one)
    secrets.on(DescribeSecretCommand, { SecretId: OPENAI_SECRET }).resolves(GENERATED_ONLY);
    // AND a spec whose RA and react TLA both call the API with that key
    const file = writeSpec('cloud-unset-key', { model: '{ provider: openai, name: gpt-4o-mini }', budgets: '{ tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 600, shardWallSeconds: 300, maxUsd: 1 }' });
    writeFileSync(file, readFileSync(file, 'utf8').replace('tlas: [{ kind: noop }, { kind: fewshot-search, evalTasks: 20 }]', 'tlas: [{ kind: react, model: { provider: openai, name: gpt-4o-mini } }]'));
    // WHEN it is submitted THEN it is refused, once per key, with the fix
    expect(await specProblems('submit', file, ...stackArgs)).toEqual([
      `${file}: OPENAI_API_KEY (ras.0.model, tlas.0.model): secret ${OPENAI_SECRET} still holds the placeholder value stack Uplift generated when it was deployed, not an API key; every job calling the model would fail. ` +
        `Fix: aws secretsmanager put-secret-value --region ${REGION} --secret-id ${OPENAI_SECRET} --secret-string "$OPENAI_API_KEY", then submit again`,
    ]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect((await stores.artifacts.list('sweeps/')).filter((k) => k.includes('cloud-unset-key'))).toEqual([]);
    // AND a template that would start such sweeps on uploads is refused too
    expect(await specProblems('subscribe', file, '--prefix', 'models/llama/', ...stackArgs)).toEqual([expect.stringContaining(`secret ${OPENAI_SECRET} still holds the placeholder value`)]);
    // WHEN the key is put THEN the same spec is accepted
    secrets.on(DescribeSecretCommand, { SecretId: OPENAI_SECRET }).resolves(KEY_PUT);
    expect((await uplift('submit', file, ...stackArgs)).code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  test('the placeholder check: what a secret\'s versions say, a secret the user brought is not checked, an older stack is not checked (and says so), a denied check names the permission', async () => {
    expect(secretState(GENERATED_ONLY)).toBe('placeholder');
    expect(secretState(KEY_PUT)).toBe('set');
    expect(secretState({ VersionIdsToStages: { a: ['AWSCURRENT'], b: [] } })).toBe('set');
    expect(secretState({})).toBe('no-value');
    expect(secretState({ ...KEY_PUT, DeletedDate: new Date() })).toBe('scheduled-for-deletion');
    const file = writeSpec('cloud-key-owner', { model: '{ provider: openai, name: gpt-4o-mini }', budgets: '{ tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 600, shardWallSeconds: 300, maxUsd: 1 }' });
    secrets.on(DescribeSecretCommand, { SecretId: OPENAI_SECRET }).resolves(GENERATED_ONLY);
    // A secret given by secretName is the user's own, with whatever value they gave it.
    stackOutputs({ [OUTPUT.generatedApiKeys]: 'none' });
    expect((await uplift('submit', file, ...stackArgs)).code).toBe(0);
    // A stack deployed before the check existed: submitted, with a warning.
    stackOutputs({ [OUTPUT.generatedApiKeys]: undefined });
    const old = await uplift('submit', file, ...stackArgs);
    expect(old.code).toBe(0);
    expect(old.err).toContain('stack output ModelApiKeysGenerated is missing (deployed by an older version)');
    expect(secrets.commandCalls(DescribeSecretCommand)).toHaveLength(0);
    // Credentials without secretsmanager:DescribeSecret: refused with the fix.
    stackOutputs({});
    secrets.on(DescribeSecretCommand).rejects(Object.assign(new Error('not authorized to perform: secretsmanager:DescribeSecret'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    await expect(uplift('submit', file, ...stackArgs)).rejects.toThrow(/AWS denied the request \(AccessDeniedException: .*secretsmanager:DescribeSecret\)\. Fix: .*Permissions for the CLI/);
  });

  test('a stack that does not exist is named with the region and the fix', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Nope' }).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    expect(await specProblems('submit', writeSpec('x-sweep'), '--stack', 'Nope', '--region', REGION)).toEqual([
      `--stack Nope: no such stack in ${REGION}. Fix: deploy it (npx cdk deploy, see "Deploy to AWS" in README.md), or pass the name and --region it was deployed with`,
    ]);
  });
});

describe('uplift status / results / cancel --stack', () => {
  beforeAll(async () => {
    // The execution's PlanSweep step (the same handler the Lambda runs) has created the sweep's items.
    await planSweep(stores, { sweepId: submitted });
  });

  test('status shows the execution, the runs by status and the budget', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: `arn:aws:states:${REGION}:123456789012:execution:UpliftPipeline:${submitted}`, stateMachineArn: STATE_MACHINE, status: 'RUNNING', startDate: new Date('2025-01-02T03:04:05Z') });
    const r = await uplift('status', submitted, ...stackArgs);
    expect(r.code).toBe(0);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: `arn:aws:states:${REGION}:123456789012:execution:UpliftPipeline:${submitted}` }]);
    expect(r.out).toContain(`Sweep ${submitted} (cloud-demo): execution RUNNING, started 2025-01-02T03:04:05.000Z`);
    expect(r.out).toContain('Runs: 2 of 2: 2 pending');
    expect(r.out).toContain('Budget: $0.0000 spent, $0.0000 reserved, of $7.00');
    const j = JSON.parse((await uplift('status', submitted, ...stackArgs, '--json')).out);
    expect(j).toMatchObject({ sweepId: submitted, execution: { status: 'RUNNING' }, runs: { pending: 2 }, budget: { limitUsd: 7 } });
  });

  test('status of a failed execution shows its error and exits 1; an unknown sweep is bad input', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: 'arn', stateMachineArn: STATE_MACHINE, status: 'FAILED', startDate: new Date(), error: 'States.Runtime', cause: 'boom' });
    const r = await uplift('status', submitted, ...stackArgs);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Error: States.Runtime: boom');
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
    expect(await specProblems('status', 'no-such-sweep', ...stackArgs)).toEqual([expect.stringContaining('sweep no-such-sweep: stack Uplift has no execution of that name. Fix: ')]);
  });

  test('results prints the scores table and the report in S3, downloads it on request, and without --stack stays local', async () => {
    // GIVEN the runs finished and FinalizeSweep wrote the report
    for (const run of await stores.scores.listRuns(submitted))
      await stores.scores.putRun({ ...run, status: 'succeeded', baseline: 0.5, mra: 0.6, uplift: 0.1, ci: [0.02, 0.18], tasks: 180, costUsd: 0, tokens: { tla: 10, baseline: 20, mra: 30 } });
    await finalizeSweep(stores, { sweepId: submitted });
    const dir = join(tmp, 'reports');
    const r = await uplift('results', submitted, ...stackArgs, '--download', dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fewshot-search/);
    expect(r.out).toContain(`Report: ${join(dir, submitted, 'index.html')}`);
    expect(readFileSync(join(dir, submitted, 'index.html'), 'utf8')).toContain('<html');
    const j = JSON.parse((await uplift('results', submitted, ...stackArgs, '--json')).out);
    expect(j).toMatchObject({ sweepId: submitted, report: `s3://uplift-artifacts/sweeps/${submitted}/report/index.html` });
    expect(j.runs).toHaveLength(2);
    // WHEN --stack is left out THEN it is the local command (a data dir that holds nothing)
    const local = await specProblems('results', submitted, '--data-dir', join(tmp, 'empty-data'));
    expect(local).toEqual([expect.stringMatching(/data dir .*empty-data: does not exist\. Fix: pass the --data-dir the sweep ran with/)]);
    expect(cfn.commandCalls(DescribeStacksCommand).length).toBe(2);
  });

  test('leaderboard --stack ranks the stack\'s sweeps and downloads each finished sweep\'s report beside the page, linked relatively', async () => {
    // GIVEN the finished sweep of the test above (FinalizeSweep wrote its report to the bucket)
    const out = join(tmp, 'lb', 'index.html');
    const r = await uplift('leaderboard', ...stackArgs, '--out', out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(new RegExp(`Leaderboard of \\d+ sweep\\(s\\) of stack Uplift, \\d+ cell\\(s\\), \\d+ report\\(s\\) downloaded: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('Uplift leaderboard — stack Uplift');
    // both cells of the finished sweep link to its downloaded report, which is the one in S3
    expect(page.match(new RegExp(`<a href="${submitted}/index.html">cloud-demo</a>`, 'g'))).toHaveLength(2);
    const meta = await stores.scores.getSweep(submitted);
    expect(readFileSync(join(tmp, 'lb', submitted, 'index.html'), 'utf8')).toBe(await stores.artifacts.getText(meta?.reportKey as string));
  });

  test('cancel stops the execution, terminates only this sweep\'s Batch jobs in both queues, and marks the sweep interrupted', async () => {
    const planUri = `s3://uplift-artifacts/sweeps/${submitted}/plan.json`;
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: `arn:exec:${submitted}`, stateMachineArn: STATE_MACHINE, status: 'RUNNING', startDate: new Date() });
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    batch.on(ListJobsCommand).resolves({ jobSummaryList: [] });
    batch.on(ListJobsCommand, { jobQueue: CPU_QUEUE, jobStatus: 'RUNNING' }).resolvesOnce({ jobSummaryList: [{ jobId: 'a', jobName: 'uplift-mra' }, { jobId: 'b', jobName: 'uplift-mra' }], nextToken: 't' }).resolves({ jobSummaryList: [{ jobId: 'd', jobName: 'uplift-tla' }] });
    batch.on(ListJobsCommand, { jobQueue: GPU_QUEUE, jobStatus: 'RUNNABLE' }).resolves({ jobSummaryList: [{ jobId: 'c', jobName: 'uplift-baseline' }] });
    const env = (uri: string) => ({ container: { environment: [{ name: 'UPLIFT_ROLE', value: 'mra' }, { name: 'UPLIFT_PLAN_URI', value: uri }] } });
    batch.on(DescribeJobsCommand).resolves({
      jobs: [
        { jobId: 'a', jobName: 'uplift-mra', jobQueue: CPU_QUEUE, status: 'RUNNING', jobDefinition: 'x', startedAt: 1, ...env(planUri) },
        { jobId: 'b', jobName: 'uplift-mra', jobQueue: CPU_QUEUE, status: 'RUNNING', jobDefinition: 'x', startedAt: 1, ...env('s3://uplift-artifacts/sweeps/another-sweep/plan.json') },
        { jobId: 'c', jobName: 'uplift-baseline', jobQueue: GPU_QUEUE, status: 'RUNNABLE', jobDefinition: 'x', startedAt: 1, ...env(planUri) },
        { jobId: 'd', jobName: 'uplift-tla', jobQueue: CPU_QUEUE, status: 'RUNNING', jobDefinition: 'x', startedAt: 1, ...env(planUri) },
      ],
    });
    batch.on(TerminateJobCommand).resolves({});
    await stores.scores.updateSweep(submitted, { status: 'running' });
    const r = await uplift('cancel', submitted, ...stackArgs);
    expect(r.code).toBe(0);
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: `arn:exec:${submitted}`, error: 'Cancelled', cause: `uplift cancel ${submitted}` }]);
    const listed = batch.commandCalls(ListJobsCommand).map((c) => `${c.args[0].input.jobQueue === CPU_QUEUE ? 'cpu' : 'gpu'}:${c.args[0].input.jobStatus}`);
    for (const q of ['cpu', 'gpu']) for (const s of ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING']) expect(listed).toContain(`${q}:${s}`);
    expect(batch.commandCalls(DescribeJobsCommand).map((c) => [...(c.args[0].input.jobs ?? [])].sort())).toEqual([['a', 'b', 'c', 'd']]);
    expect(batch.commandCalls(TerminateJobCommand).map((c) => c.args[0].input).sort((x, y) => String(x.jobId).localeCompare(String(y.jobId)))).toEqual(
      ['a', 'c', 'd'].map((jobId) => ({ jobId, reason: `uplift cancel ${submitted}` })),
    );
    expect((await stores.scores.getSweep(submitted))?.status).toBe('interrupted');
    expect(r.out).toContain(`Cancelled sweep ${submitted}: execution stopped, 3 Batch job(s) terminated.`);
  });
});

describe('uplift subscribe / unsubscribe --stack', () => {
  test('stages a template for a models/ prefix and records the subscription the model-upload Lambda reads', async () => {
    const r = await uplift('subscribe', writeSpec('llama-watch'), '--prefix', 'models/llama', ...stackArgs);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Template llama-watch subscribed to s3://uplift-artifacts/models/llama/');
    const triggers = new DynamoTriggerStore(dynamoClient(StorageEnv.parse(svc.env)), svc.env.UPLIFT_TABLE);
    expect(await triggers.listSubscriptions()).toEqual([{ template: 'llama-watch', prefix: 'models/llama/', createdAt: expect.any(String) }]);
    const template = StagedSweep.parse(JSON.parse((await stores.artifacts.getText(templateKey('llama-watch'))) as string));
    expect(template.ras[0].model).toMatchObject({ provider: 'vllm', weightsUri: 's3://uplift-artifacts/models/llama/uploaded-model/' });
    expect(existsSync(join(tmp, 'llama-watch.yaml'))).toBe(true);
    expect(await stores.artifacts.list('sweeps/template-')).toEqual([]);
    expect((await uplift('unsubscribe', 'llama-watch', '--prefix', 'models/llama/', ...stackArgs)).code).toBe(0);
    expect(await triggers.listSubscriptions()).toEqual([]);
    expect(await specProblems('unsubscribe', 'llama-watch', '--prefix', 'models/llama/', ...stackArgs)).toEqual([expect.stringContaining('template llama-watch is not subscribed to models/llama/')]);
    expect(await specProblems('subscribe', writeSpec('bad-prefix'), '--prefix', 'datasets/', ...stackArgs)).toEqual([expect.stringContaining('--prefix: uploads can start sweeps only under models/ (received "datasets/")')]);
  });
});

describe('uplift submit --stack: tasks in container images', () => {
  /** mini-swe with an image in every task.json, and a spec of it. */
  function imageSpec(name: string): string {
    const family = join(mkdtempSync(join(tmpdir(), 'uplift-img-fam-')), 'mini-swe-images');
    cpSync(join(EXAMPLES, 'datasets/mini-swe'), family, { recursive: true });
    for (const id of readdirSync(join(family, 'tasks'))) {
      const f = join(family, 'tasks', id, 'task.json');
      writeFileSync(f, JSON.stringify({ ...(JSON.parse(readFileSync(f, 'utf8')) as object), image: `example.org/env/${id}:1` }));
    }
    const file = join(mkdtempSync(join(tmpdir(), 'uplift-img-spec-')), `${name}.yaml`);
    writeFileSync(
      file,
      `name: ${name}
cbms: [{ id: mini-swe-img, kind: workspace, dataset: ${family} }]
ras: [{ name: basic-agent, bundle: ${join(EXAMPLES, 'agents/basic-agent')}, model: { provider: openai, name: gpt-4o-mini } }]
tlas: [{ kind: noop }]
budgets: { tlaTokens: 1000, shardTokens: 100000, tlaWallSeconds: 600, shardWallSeconds: 600, maxUsd: 50 }
`,
    );
    return file;
  }

  test('a stack without the images queue refuses them before staging or starting anything, naming the CBM and the fix', async () => {
    stackOutputs({ [OUTPUT.imagesQueue]: undefined });
    const p = await specProblems('submit', imageSpec('cloud-img-none'), ...stackArgs);
    expect(p).toEqual([expect.stringMatching(/cbms mini-swe-img: its tasks run in their own container images, and stack Uplift has no images queue\. Fix: set images\.enabled to true in the stack config and redeploy/)]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(await stores.artifacts.list('sweeps/cloud-img-none')).toEqual([]);
  });

  test('a stack with it takes them: one shard per test task, each run pricing its shard jobs on the images queue', async () => {
    stackOutputs({ [OUTPUT.imagesQueue]: 'arn:aws:batch:eu-west-1:123456789012:job-queue/UpliftImages' });
    const r = await uplift('submit', imageSpec('cloud-img'), ...stackArgs, '--json');
    expect(r.code).toBe(0);
    const { sweepId } = JSON.parse(r.out) as { sweepId: string };
    const staged = StagedSweep.parse(JSON.parse((await stores.artifacts.getText(`sweeps/${sweepId}/spec.json`)) as string));
    expect(staged.cbms[0].testImages).toHaveLength(11);
    expect(staged.cbms[0].testImages?.[0]).toMatch(/^example\.org\/env\/.+:1$/);
  });
});
