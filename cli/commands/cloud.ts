/**
 * `uplift submit | status | results | cancel | subscribe | unsubscribe --stack <name>`: the CLI
 * against a deployed Uplift stack (infra/). It finds the bucket, table, state machine and queues
 * in the stack's outputs, stages with the same code as `uplift run`, and talks to AWS through the
 * SDK v3 clients. `results` without --stack stays the local command.
 */
import { hasScores, type SweepMeta } from '../../core/records';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BatchClient } from '@aws-sdk/client-batch';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StopExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { Command, Option } from 'commander';
import { SpecError, UpliftError } from '../../core/errors';
import { MODELS_PREFIX, TemplateStagingStore } from '../../core/models/upload';
import { vllmArgProblems } from '../../core/models/vllm';
import { buildResults, renderTable, type SweepResults } from '../../core/report';
import { modelName, parseSpec, readSpecDocument, type LoadedSpec, type ModelSpec } from '../../core/spec';
import { planKey } from '../../core/sweep/plan';
import { newSweepId, prepareSweep, stageSweep, type PreparedSweep } from '../../core/sweep/stage';
import { unusableApiKeyProblem, unusableApiKeys } from '../../infra/api-key-placeholders';
import { JOB_TIMEOUT_MARGIN_SECONDS, NO_GPU_QUEUE, OUTPUT, type StackOutputs } from '../../infra/outputs';
import { dynamoClient, StorageEnv, storesFromEnv, type Stores } from '../../lambdas/aws/clients';
import { DynamoTriggerStore } from '../../lambdas/aws/dynamo-trigger-store';
import { SfnSweepStarter, executionArnFor } from '../../lambdas/aws/sfn-sweep-starter';
import { readStackOutputs } from '../../lambdas/aws/stack-outputs';
import { terminateSweepJobs } from '../../lambdas/aws/sweep-jobs';
import { LOCAL_COMPUTE, type ComputeTargets } from '../../core/pricing';
import { EXIT, type Io } from '../io';


/** The CLI's exit codes (cli/main.ts): 0 fine, 1 runs or the execution failed, 2 bad input. */

/** An AWS call failed for a reason the user can fix (credentials, permissions, throttling). */
export class CloudError extends UpliftError {}

interface CloudOptions {
  stack: string;
  region?: string;
  json?: boolean;
}

/** What a command needs of a deployed stack. */
export interface CloudStack {
  name: string;
  region: string;
  outputs: StackOutputs;
  stores: Stores;
  triggers: DynamoTriggerStore;
  sfn: SFNClient;
  batch: BatchClient;
  secrets: SecretsManagerClient;
}

const stackOption = () => new Option('--stack <name>', 'name of the deployed Uplift stack (its outputs name the bucket, table and state machine)');
const regionOption = () => new Option('--region <region>', 'AWS region of the stack (default: AWS_REGION or your profile\'s region)');

/** Rewraps SDK failures a user can act on; everything else (bugs) passes through. */
export function cloudError(e: unknown, stack: string): never {
  if (e instanceof UpliftError) throw e;
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = err.name ?? 'Error';
  if (/Credential|ExpiredToken|UnrecognizedClient|InvalidClientTokenId|SignatureDoesNotMatch/.test(name) || /credential/i.test(err.message ?? ''))
    throw new CloudError(`AWS credentials: ${err.message}. Fix: configure credentials for the account of stack ${stack} (aws configure, aws sso login, or AWS_PROFILE)`, { cause: e });
  if (/AccessDenied|Unauthorized|Forbidden/.test(name) || err.$metadata?.httpStatusCode === 403)
    throw new CloudError(`AWS denied the request (${name}: ${err.message}). Fix: use credentials allowed to operate stack ${stack} (see "Permissions for the CLI" in README.md)`, { cause: e });
  if (/Region is missing/i.test(err.message ?? '')) throw new SpecError([`no AWS region: pass --region <region> or set AWS_REGION (the region stack ${stack} was deployed to)`], { cause: e });
  // Any other answer of an AWS service (throttling, a limit, a conflict): say which, without a stack trace.
  if (err.$metadata) throw new CloudError(`AWS ${name}: ${err.message}`, { cause: e });
  throw e;
}

/** Connects to a deployed stack: its outputs, then clients and stores in its region. */
export async function connectStack(opts: { stack: string; region?: string }): Promise<CloudStack> {
  const cfn = new CloudFormationClient(opts.region ? { region: opts.region } : {});
  try {
    const region = await cfn.config.region();
    const outputs = await readStackOutputs(cfn, opts.stack);
    // Storage clients follow the shared env contract (UPLIFT_S3_ENDPOINT / UPLIFT_DYNAMODB_ENDPOINT stay honoured for S3-compatible stand-ins).
    const env = StorageEnv.parse({ ...process.env, UPLIFT_BUCKET: outputs[OUTPUT.bucket], UPLIFT_TABLE: outputs[OUTPUT.table], AWS_REGION: region });
    return {
      name: opts.stack,
      region,
      outputs,
      stores: storesFromEnv(env),
      triggers: new DynamoTriggerStore(dynamoClient(env), env.UPLIFT_TABLE),
      sfn: new SFNClient({ region }),
      batch: new BatchClient({ region }),
      secrets: new SecretsManagerClient({ region }),
    };
  } catch (e) {
    cloudError(e, opts.stack);
  } finally {
    cfn.destroy();
  }
}

/** Reads a spec file; a spec without `budgets.maxUsd` gets the stack's default sweep budget. */
function readSpec(file: string, outputs: StackOutputs, io: Io): LoadedSpec {
  const raw = readSpecDocument(file);
  const budgets = (raw as { budgets?: unknown } | null)?.budgets;
  if (budgets && typeof budgets === 'object' && !Array.isArray(budgets) && (budgets as { maxUsd?: unknown }).maxUsd === undefined) {
    (budgets as { maxUsd?: number }).maxUsd = outputs[OUTPUT.defaultBudget];
    io.err(`${file}: budgets.maxUsd is not set: using the stack's default sweep budget of $${outputs[OUTPUT.defaultBudget].toFixed(2)}\n`);
  }
  return parseSpec(raw, file);
}

/** What a spec needs of this stack that validation against the schema cannot see. */
export function cloudSpecProblems(loaded: LoadedSpec, stack: Pick<CloudStack, 'name' | 'outputs'>): string[] {
  const { spec, file } = loaded;
  const o = stack.outputs;
  const problems: string[] = [];
  const bucket = o[OUTPUT.bucket];
  spec.ras.forEach((r, i) => {
    const field = `${file}: ras.${i}.model`;
    const m = r.model;
    if (m.provider === 'openai' && !o[OUTPUT.apiKeyEnvs].includes(m.apiKeyEnv))
      problems.push(
        `${field}.apiKeyEnv: stack ${stack.name} gives jobs no ${m.apiKeyEnv} (it has: ${o[OUTPUT.apiKeyEnvs].join(', ') || 'none'}). Fix: use one of those, or add { "apiKeyEnv": "${m.apiKeyEnv}" } to modelEndpoints in the stack config and redeploy`,
      );
    if (m.provider === 'vllm') {
      if (o[OUTPUT.gpuQueue] === NO_GPU_QUEUE) problems.push(`${field}: vllm models run on the GPU queue, and stack ${stack.name} has none. Fix: set gpu.enabled to true in the stack config and redeploy`);
      if (!m.weightsUri.startsWith(`s3://${bucket}/${MODELS_PREFIX}`))
        problems.push(`${field}.weightsUri: GPU jobs may read weights only under s3://${bucket}/${MODELS_PREFIX} (received "${m.weightsUri}"). Fix: upload them there (aws s3 sync ./weights s3://${bucket}/${MODELS_PREFIX}${m.name}/) and point weightsUri at it`);
      problems.push(...vllmArgProblems(m, field));
    }
  });
  // A TLA with a model of its own (react) calls it from the TLA job: the same rules, and a vllm
  // TLA model must be the runs' RA model, the one model the GPU job's launcher serves.
  spec.tlas.forEach((t, i) => {
    const m = 'model' in t ? (t.model as ModelSpec) : undefined;
    if (!m) return;
    const field = `${file}: tlas.${i}.model`;
    if (m.provider === 'openai' && !o[OUTPUT.apiKeyEnvs].includes(m.apiKeyEnv))
      problems.push(`${field}.apiKeyEnv: stack ${stack.name} gives jobs no ${m.apiKeyEnv} (it has: ${o[OUTPUT.apiKeyEnvs].join(', ') || 'none'}). Fix: use one of those, or add { "apiKeyEnv": "${m.apiKeyEnv}" } to modelEndpoints in the stack config and redeploy`);
    if (m.provider === 'vllm' && !spec.ras.every((r) => modelName(r.model) === modelName(m) && r.model.provider === 'vllm' && r.model.weightsUri === m.weightsUri))
      problems.push(`${field}: a GPU job serves one vLLM model, its RA's, so a vllm TLA model must be the model of every RA (received ${modelName(m)}). Fix: give the TLA an API model, or run one sweep per model`);
  });
  const fit = (field: string, seconds: number, timeout: number, config: string) => {
    if (seconds + JOB_TIMEOUT_MARGIN_SECONDS > timeout)
      problems.push(
        `${file}: budgets.${field}: ${seconds} s does not fit the stack's Batch job timeout of ${timeout} s (${JOB_TIMEOUT_MARGIN_SECONDS} s go to fetching inputs and uploading outputs) (received ${seconds}). Fix: lower it to at most ${timeout - JOB_TIMEOUT_MARGIN_SECONDS}, or raise jobTimeouts.${config} in the stack config and redeploy`,
      );
  };
  fit('tlaWallSeconds', spec.budgets.tlaWallSeconds, o[OUTPUT.tlaTimeout], 'tlaSeconds');
  fit('shardWallSeconds', spec.budgets.shardWallSeconds, o[OUTPUT.shardTimeout], 'shardSeconds');
  return problems;
}

/** The API keys a spec's jobs call models with (its `openai` models, of RAs and TLAs), each with the fields that use it. */
export function apiKeysUsed(loaded: LoadedSpec): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (m: ModelSpec | undefined, field: string) => {
    if (m?.provider === 'openai') used.set(m.apiKeyEnv, [...(used.get(m.apiKeyEnv) ?? []), field]);
  };
  loaded.spec.ras.forEach((r, i) => add(r.model, `ras.${i}.model`));
  loaded.spec.tlas.forEach((t, i) => add('model' in t ? (t.model as ModelSpec) : undefined, `tlas.${i}.model`));
  return used;
}

/**
 * Refuses, before anything is staged or started, a spec whose API keys are still the placeholders
 * the stack generated (or have no value): its runs could only fail. Only the secrets the stack
 * created are checked (`secretName` ones are the user's own); a stack deployed before the
 * ModelApiKeysGenerated output cannot be checked, and says so.
 */
export async function apiKeyProblems(loaded: LoadedSpec, stack: Pick<CloudStack, 'name' | 'region' | 'outputs' | 'secrets'>, io: Io): Promise<string[]> {
  const used = apiKeysUsed(loaded);
  if (!used.size) return [];
  const generated = stack.outputs[OUTPUT.generatedApiKeys];
  const arns = stack.outputs[OUTPUT.apiKeySecrets];
  if (!generated || !arns) {
    io.err(`stack output ${OUTPUT.generatedApiKeys} is missing (deployed by an older version): the API keys' secrets are not checked for placeholder values. Fix: cdk deploy again\n`);
    return [];
  }
  const toCheck = [...used.keys()].filter((k) => generated.includes(k) && arns[k]).map((k) => ({ apiKeyEnv: k, secretArn: arns[k] }));
  let unusable;
  try {
    unusable = await unusableApiKeys(stack.secrets, toCheck);
  } catch (e) {
    cloudError(e, stack.name);
  }
  return unusable.map((k) => `${loaded.file}: ${unusableApiKeyProblem(k, { stack: stack.name, region: stack.region, usedBy: (used.get(k.apiKeyEnv) ?? []).join(', ') })}`);
}

/** What a prepared sweep needs of the stack that only its data show: tasks in container images need the images queue. */
export function preparedStackProblems(prepared: PreparedSweep, stack: Pick<CloudStack, 'name' | 'outputs'>): string[] {
  if (stack.outputs[OUTPUT.imagesQueue]) return [];
  const cbms = [...new Set(prepared.preview.runs.filter((r) => r.cbm.images).map((r) => r.cbm.id))];
  return cbms.map((id) => `${prepared.loaded.file}: cbms ${id}: its tasks run in their own container images, and stack ${stack.name} has no images queue. Fix: set images.enabled to true in the stack config and redeploy`);
}

/** prepareSweep checks API keys in the environment; in the cloud they are in Secrets Manager, injected into jobs. */
function envWithStackKeys(outputs: StackOutputs): Record<string, string | undefined> {
  return { ...process.env, ...Object.fromEntries(outputs[OUTPUT.apiKeyEnvs].map((k) => [k, 'in Secrets Manager'])) };
}

function consoleUrl(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** What the stack's jobs run on, for pricing job time; a stack without the output is priced for tokens only (and says so). */
function stackCompute(outputs: StackOutputs, io: Io): ComputeTargets {
  const c = outputs[OUTPUT.jobCompute];
  if (c) return c;
  io.err(`stack output ${OUTPUT.jobCompute} is missing (deployed by an older version): job time is not priced into the worst case. Fix: cdk deploy again\n`);
  return LOCAL_COMPUTE;
}

async function submit(io: Io, file: string, opts: CloudOptions): Promise<number> {
  const stack = await connectStack(opts);
  const loaded = readSpec(file, stack.outputs, io);
  const problems = cloudSpecProblems(loaded, stack);
  if (problems.length) throw new SpecError(problems);
  const keyProblems = await apiKeyProblems(loaded, stack, io);
  if (keyProblems.length) throw new SpecError(keyProblems);
  const prepared = prepareSweep(loaded, envWithStackKeys(stack.outputs), stackCompute(stack.outputs, io));
  const needs = preparedStackProblems(prepared, stack);
  if (needs.length) throw new SpecError(needs);
  const sweepId = newSweepId(loaded.spec.name);
  try {
    await stageSweep(stack.stores.artifacts, prepared, sweepId);
    const { executionArn } = await new SfnSweepStarter(stack.sfn, stack.outputs[OUTPUT.stateMachine]).start(sweepId);
    if (opts.json) io.out(JSON.stringify({ sweepId, executionArn, runs: prepared.preview.runs.length, worstCaseUsd: prepared.preview.worstCaseUsd, maxUsd: prepared.preview.budgets.maxUsd }, null, 2) + '\n');
    else {
      io.out(`${sweepId}\n`);
      io.err(
        `Submitted sweep ${sweepId} to stack ${stack.name}: ${prepared.preview.runs.length} runs, worst case $${prepared.preview.worstCaseUsd.toFixed(2)} of $${prepared.preview.budgets.maxUsd.toFixed(2)}.\n` +
          `  Execution: ${consoleUrl(stack.region, executionArn)}\n  Follow it:  uplift status ${sweepId} --stack ${stack.name}\n`,
      );
    }
  } catch (e) {
    cloudError(e, stack.name);
  }
  return EXIT.ok;
}

async function describeExecution(stack: CloudStack, sweepId: string): Promise<DescribeExecutionCommandOutput> {
  const executionArn = executionArnFor(stack.outputs[OUTPUT.stateMachine], sweepId);
  try {
    return await stack.sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (e) {
    if (e instanceof ExecutionDoesNotExist) throw new SpecError([`sweep ${sweepId}: stack ${stack.name} has no execution of that name. Fix: pass a sweep id printed by \`uplift submit --stack ${stack.name}\``], { cause: e });
    cloudError(e, stack.name);
  }
}

async function status(io: Io, sweepId: string, opts: CloudOptions): Promise<number> {
  const stack = await connectStack(opts);
  const exec = await describeExecution(stack, sweepId);
  try {
    const meta = await stack.stores.scores.getSweep(sweepId);
    const runs = meta ? await stack.stores.scores.listRuns(sweepId) : [];
    const budget = meta ? await stack.stores.scores.getBudget(sweepId) : undefined;
    const counts: Record<string, number> = {};
    for (const r of runs) counts[r.status] = (counts[r.status] ?? 0) + 1;
    const report = meta?.reportKey ? stack.stores.artifacts.uri(meta.reportKey) : undefined;
    const execution = { status: exec.status, executionArn: exec.executionArn, startDate: exec.startDate?.toISOString(), stopDate: exec.stopDate?.toISOString(), error: exec.error, cause: exec.cause };
    if (opts.json) io.out(JSON.stringify({ sweepId, execution, sweep: meta ?? null, runs: counts, budget: budget ?? null, report: report ?? null }, null, 2) + '\n');
    else {
      const lines = [`Sweep ${sweepId}${meta ? ` (${meta.name})` : ''}: execution ${exec.status}${execution.startDate ? `, started ${execution.startDate}` : ''}${execution.stopDate ? `, stopped ${execution.stopDate}` : ''}`];
      if (exec.error || exec.cause) lines.push(`  Error: ${exec.error ?? ''}${exec.cause ? `: ${exec.cause.slice(0, 500)}` : ''}`);
      if (meta) {
        const order = ['succeeded', 'guard_violated', 'failed', 'budget_exhausted', 'running', 'pending'];
        lines.push(`  Runs: ${runs.length} of ${meta.runCount}: ${order.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(', ') || 'none recorded yet'}`);
        if (meta.offlineOnly) lines.push('  Models: the offline stand-in only (not an LLM)');
      } else lines.push('  Runs: not planned yet (PlanSweep has not run)');
      if (budget) lines.push(`  Budget: $${budget.spentUsd.toFixed(4)} spent, $${budget.reservedUsd.toFixed(4)} reserved, of $${budget.limitUsd.toFixed(2)}`);
      if (report) lines.push(`  Report: ${report}`);
      lines.push(`  Console: ${consoleUrl(stack.region, exec.executionArn ?? '')}`);
      io.out(lines.join('\n') + '\n');
    }
  } catch (e) {
    cloudError(e, stack.name);
  }
  return exec.status === 'RUNNING' || exec.status === 'SUCCEEDED' || exec.status === 'PENDING_REDRIVE' ? EXIT.ok : EXIT.runsFailed;
}

/** Saves a sweep's HTML report from the stack's bucket to `<dir>/<sweep-id>/index.html`; its path, or undefined when the sweep has none yet. */
export async function downloadReport(stack: CloudStack, meta: SweepMeta, dir: string): Promise<string | undefined> {
  const html = meta.reportKey ? await stack.stores.artifacts.getText(meta.reportKey) : undefined;
  if (html === undefined) return undefined;
  const path = join(dir, meta.sweepId, 'index.html');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
  return path;
}

async function results(io: Io, sweepId: string, opts: CloudOptions & { download?: string }): Promise<number> {
  const stack = await connectStack(opts);
  let res: SweepResults;
  let report: string | undefined;
  try {
    const meta = await stack.stores.scores.getSweep(sweepId);
    if (!meta) throw new SpecError([`sweep ${sweepId}: not in the table of stack ${stack.name} (yet). Fix: pass a sweep id printed by \`uplift submit --stack ${stack.name}\`; a sweep appears once its PlanSweep step ran (uplift status shows it)`]);
    res = buildResults(meta, await stack.stores.scores.listRuns(sweepId), await stack.stores.scores.getBudget(sweepId));
    if (meta.reportKey) report = (opts.download && (await downloadReport(stack, meta, resolve(opts.download)))) || stack.stores.artifacts.uri(meta.reportKey);
  } catch (e) {
    cloudError(e, stack.name);
  }
  if (opts.json) io.out(JSON.stringify({ ...res, report: report ?? null }, null, 2) + '\n');
  else {
    io.out(renderTable(res) + '\n');
    io.out(report ? `\nReport: ${report}\n` : `\nReport: not written yet (the sweep has not finished: uplift status ${sweepId} --stack ${stack.name})\n`);
  }
  return res.runs.every((r) => hasScores(r.status)) ? EXIT.ok : EXIT.runsFailed;
}

async function cancel(io: Io, sweepId: string, opts: CloudOptions): Promise<number> {
  const stack = await connectStack(opts);
  const exec = await describeExecution(stack, sweepId);
  try {
    let stopped = false;
    if (exec.status === 'RUNNING') {
      await stack.sfn.send(new StopExecutionCommand({ executionArn: exec.executionArn, error: 'Cancelled', cause: `uplift cancel ${sweepId}` }));
      stopped = true;
    }
    // Stopping an execution does not stop the Batch jobs it started: terminate the sweep's own.
    const queues = [stack.outputs[OUTPUT.cpuQueue], stack.outputs[OUTPUT.gpuQueue], stack.outputs[OUTPUT.imagesQueue]].filter((q): q is string => q !== undefined && q !== NO_GPU_QUEUE);
    const planUri = stack.stores.artifacts.uri(planKey(sweepId));
    const terminated = await terminateSweepJobs(stack.batch, queues, planUri, `uplift cancel ${sweepId}`);
    const meta = await stack.stores.scores.getSweep(sweepId);
    if (meta && meta.status === 'running') await stack.stores.scores.updateSweep(sweepId, { status: 'interrupted', updatedAt: new Date().toISOString() });
    if (opts.json) io.out(JSON.stringify({ sweepId, executionStatus: exec.status, stopped, terminatedJobs: terminated }, null, 2) + '\n');
    else
      io.out(
        `${stopped ? `Cancelled sweep ${sweepId}: execution stopped` : `Sweep ${sweepId}: execution already ${exec.status}`}, ${terminated.length} Batch job(s) terminated.\n` +
          `Runs that finished keep their scores: uplift results ${sweepId} --stack ${stack.name}\n`,
      );
  } catch (e) {
    cloudError(e, stack.name);
  }
  return EXIT.ok;
}

/** The model the runs of a template are checked with before any upload: a vllm model under the subscribed prefix. */
function modelUnderPrefix(bucket: string, prefix: string): ModelSpec {
  return { provider: 'vllm', name: 'uploaded-model', weightsUri: `s3://${bucket}/${prefix}uploaded-model/`, startupTimeoutSeconds: 900, extraArgs: [] };
}

function normalizePrefix(prefix: string): string {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (!p.startsWith(MODELS_PREFIX) || p.includes('//') || p.split('/').includes('..'))
    throw new SpecError([`--prefix: uploads can start sweeps only under ${MODELS_PREFIX} (received "${prefix}"). Fix: e.g. --prefix ${MODELS_PREFIX}llama/`]);
  return p;
}

async function subscribe(io: Io, file: string, opts: CloudOptions & { prefix: string }): Promise<number> {
  const prefix = normalizePrefix(opts.prefix);
  const stack = await connectStack(opts);
  const loaded = readSpec(file, stack.outputs, io);
  const model = modelUnderPrefix(stack.outputs[OUTPUT.bucket], prefix);
  for (const r of loaded.spec.ras) r.model = model;
  const problems = cloudSpecProblems(loaded, stack);
  if (problems.length) throw new SpecError(problems);
  // A template's sweeps start unattended on an upload: its keys must be usable now.
  const keyProblems = await apiKeyProblems(loaded, stack, io);
  if (keyProblems.length) throw new SpecError(keyProblems);
  const prepared = prepareSweep(loaded, envWithStackKeys(stack.outputs), stackCompute(stack.outputs, io));
  const needs = preparedStackProblems(prepared, stack);
  if (needs.length) throw new SpecError(needs);
  const template = loaded.spec.name;
  try {
    const staging = `template-${template}`;
    await stageSweep(new TemplateStagingStore(stack.stores.artifacts, staging, template), prepared, staging);
    await stack.triggers.putSubscription({ template, prefix, createdAt: new Date().toISOString() });
  } catch (e) {
    cloudError(e, stack.name);
  }
  const bucket = stack.outputs[OUTPUT.bucket];
  io.out(
    `Template ${template} subscribed to s3://${bucket}/${prefix}: ${prepared.preview.runs.length} runs per uploaded model (checked as ${modelName(model)}), worst case $${prepared.preview.worstCaseUsd.toFixed(2)} of $${prepared.preview.budgets.maxUsd.toFixed(2)}.\n` +
      `Upload a model's weights to s3://${bucket}/${prefix}<model>/, then uplift-model.json next to them: that starts a sweep with every RA on that model.\n`,
  );
  return EXIT.ok;
}

async function unsubscribe(io: Io, template: string, opts: CloudOptions & { prefix: string }): Promise<number> {
  const prefix = normalizePrefix(opts.prefix);
  const stack = await connectStack(opts);
  let removed = false;
  try {
    removed = await stack.triggers.deleteSubscription(template, prefix);
  } catch (e) {
    cloudError(e, stack.name);
  }
  if (!removed) throw new SpecError([`template ${template} is not subscribed to ${prefix} in stack ${stack.name}. Fix: pass the template name and --prefix given to \`uplift subscribe\``]);
  io.out(`Template ${template} no longer starts on uploads under ${prefix}.\n`);
  return EXIT.ok;
}

/** The local `results` command (if any) becomes the same command with --stack: cloud with it, local without. */
function registerResults(program: Command, io: Io, setExit: (code: number) => void): void {
  const local = program.commands.find((c) => c.name() === 'results');
  if (local) (program.commands as Command[]).splice(program.commands.indexOf(local), 1);
  const cmd = program
    .command('results')
    .description(local ? `${local.description()}; with --stack, from a deployed stack` : 'print the results of a sweep from a deployed stack')
    .argument('<sweep-id>')
    .addOption(stackOption())
    .addOption(regionOption())
    .option('--download <dir>', 'with --stack: also save the HTML report under <dir>/<sweep-id>/index.html');
  const localOptions = (local?.options ?? []).filter((o) => !['--stack', '--region', '--download'].includes(o.long ?? ''));
  for (const o of localOptions) if (!cmd.options.some((x) => x.long === o.long)) cmd.addOption(new Option(o.flags, o.description));
  if (!cmd.options.some((x) => x.long === '--json')) cmd.option('--json', 'print results as JSON');
  cmd.action(async (sweepId: string, opts: Record<string, unknown>) => {
    if (typeof opts.stack === 'string') return setExit(await results(io, sweepId, opts as unknown as CloudOptions & { download?: string }));
    if (!local) throw new SpecError(['uplift results: --stack <name> is required (the deployed Uplift stack)']);
    if (opts.download !== undefined || opts.region !== undefined) throw new SpecError(['uplift results: --download and --region apply to a deployed stack: add --stack <name>']);
    // Without --stack: the local command, with the options it knows.
    const args = [sweepId];
    for (const o of localOptions) {
      const v = opts[o.attributeName()];
      if (v === undefined || v === false) continue;
      args.push(o.long as string, ...(o.required || o.optional ? [String(v)] : []));
    }
    await local.parseAsync(args, { from: 'user' });
  });
}

/**
 * Adds the commands that operate a deployed stack to the `uplift` program. `results` keeps its
 * local form and gains `--stack`.
 */
export function registerCloudCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('submit')
    .description('stage a sweep in a deployed stack (bundles, data sets, spec) and start its execution; prints the sweep id')
    .argument('<spec>', 'sweep spec (YAML); budgets.maxUsd defaults to the stack\'s default sweep budget')
    .addOption(stackOption().makeOptionMandatory())
    .addOption(regionOption())
    .option('--json', 'print the sweep id and execution as JSON')
    .action(async (spec: string, opts: CloudOptions) => setExit(await submit(io, spec, opts)));

  program
    .command('status')
    .description('show a submitted sweep: execution state, runs by status, budget, report')
    .argument('<sweep-id>')
    .addOption(stackOption().makeOptionMandatory())
    .addOption(regionOption())
    .option('--json', 'print the status as JSON')
    .action(async (sweepId: string, opts: CloudOptions) => setExit(await status(io, sweepId, opts)));

  registerResults(program, io, setExit);

  program
    .command('cancel')
    .description('stop a submitted sweep: stop its execution and terminate its Batch jobs (finished runs keep their scores)')
    .argument('<sweep-id>')
    .addOption(stackOption().makeOptionMandatory())
    .addOption(regionOption())
    .option('--json', 'print what was stopped as JSON')
    .action(async (sweepId: string, opts: CloudOptions) => setExit(await cancel(io, sweepId, opts)));

  program
    .command('subscribe')
    .description('make uploads of a model under a models/ prefix start a sweep of this spec (a template) with every RA on the uploaded model')
    .argument('<spec>', 'template sweep spec (YAML)')
    .requiredOption('--prefix <prefix>', 'S3 key prefix under models/, e.g. models/llama/')
    .addOption(stackOption().makeOptionMandatory())
    .addOption(regionOption())
    .action(async (spec: string, opts: CloudOptions & { prefix: string }) => setExit(await subscribe(io, spec, opts)));

  program
    .command('unsubscribe')
    .description('stop uploads under a prefix from starting sweeps of a template')
    .argument('<template>', 'template name (the spec\'s name)')
    .requiredOption('--prefix <prefix>', 'the prefix given to uplift subscribe')
    .addOption(stackOption().makeOptionMandatory())
    .addOption(regionOption())
    .action(async (template: string, opts: CloudOptions & { prefix: string }) => setExit(await unsubscribe(io, template, opts)));
}
