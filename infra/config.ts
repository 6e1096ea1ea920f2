import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { SpecError } from '../core/errors';
import { formatIssues } from '../core/spec';
import { GPU_INSTANCE_CLASSES, smallestFit } from './gpu-instances';

/** The repository root: asset paths (lambdas/, batch-images/) and the default config file resolve against it. */
export const REPO_ROOT = join(__dirname, '..');

/** Context key naming the config file (cdk.json sets it; `-c uplift:config=<file>` overrides). */
export const CONFIG_FILE_CONTEXT = 'uplift:config';
/** Context key of inline overrides: an object in cdk.json, or a JSON string on the command line (`-c uplift='{"gpu":{"spot":true}}'`). */
export const CONFIG_OVERRIDES_CONTEXT = 'uplift';

/** NVIDIA x86 GPU families the GPU compute environment may launch (defined with their sizes in gpu-instances.ts). */
export { GPU_INSTANCE_CLASSES };
/** CloudWatch Logs retention values. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const Vpc = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.literal('create'),
      /** @default 2 */
      maxAzs: z.number().int().min(1).max(6).default(2),
      /**
       * NAT gateways. 0 (the default) puts jobs in public subnets with public IPs and no inbound
       * rules: an idle stack then costs nothing for networking (a NAT gateway costs ~$32/month).
       * @default 0
       */
      natGateways: z.number().int().min(0).max(6).default(0),
      /** @default 10.80.0.0/16 */
      cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, { error: 'must be an IPv4 CIDR between /16 and /24, e.g. "10.80.0.0/16"' }).default('10.80.0.0/16'),
    }),
    z.strictObject({
      mode: z.literal('import'),
      vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: 'must be a VPC id, e.g. "vpc-0123456789abcdef0"' }),
      availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, { error: 'must be an availability zone, e.g. "eu-west-1a"' })).min(1),
      /** Subnets the jobs run in; they need a route to the internet (NAT or internet gateway) for ECR, S3 and model APIs. */
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: 'must be a subnet id, e.g. "subnet-0123456789abcdef0"' })).min(1),
      /** True when `subnetIds` are public subnets (jobs then get public IPs). @default false */
      publicSubnets: z.boolean().default(false),
    }),
  ],
  { error: 'vpc.mode must be "create" or "import"' },
);

/** The typed configuration of the Uplift stack (`infra/uplift.config.json` by default). */
export const UpliftConfig = z.strictObject({
  /** CloudFormation stack name; the CLI's `--stack`. @default Uplift */
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, { error: 'must start with a letter and hold only letters, digits and "-"' }).default('Uplift'),
  /** Region to deploy to. @default the CLI's region (AWS_REGION / profile); environment-agnostic synth when unset */
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region, e.g. "eu-west-1"' }).optional(),
  /** Account to deploy to. @default the CLI's account */
  account: z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' }).optional(),
  vpc: Vpc.default({ mode: 'create', maxAzs: 2, natGateways: 0, cidr: '10.80.0.0/16' }),
  /** GPU jobs: runs of `vllm` models. */
  gpu: z
    .strictObject({
      /** Without it, specs with `vllm` models are refused at submit. @default true */
      enabled: z.boolean().default(true),
      instanceClasses: z.array(z.enum(GPU_INSTANCE_CLASSES, { error: `must be one of ${GPU_INSTANCE_CLASSES.join(', ')}` })).min(1).default(['g5', 'g6']),
      /** Upper bound of the GPU compute environment (the minimum is always 0: idle costs nothing). @default 32 */
      maxvCpus: z.number().int().min(1).max(10000).default(32),
      /** Spot instances (interrupted jobs are retried). @default false */
      spot: z.boolean().default(false),
      /** Per job. The defaults fit one job on a g5.xlarge / g6.xlarge (4 vCPU, 16 GiB, 1 GPU). */
      vcpusPerJob: z.number().int().min(1).max(192).default(4),
      memoryMiBPerJob: z.number().int().min(1024).default(14336),
      gpusPerJob: z.number().int().min(1).max(8).default(1),
      /** Root volume of GPU instances; holds the weights cache shared by jobs on one instance. @default 200 */
      rootVolumeGiB: z.number().int().min(50).max(16384).default(200),
      /**
       * Seconds a GPU job may spend syncing model weights from S3 to the instance: added to the
       * Batch attempt timeout of every GPU job (PlanRun's timeout already counts the model's
       * `startupTimeoutSeconds` for vLLM), and to the GPU job definitions' default timeouts. @default 1800
       */
      startupAllowanceSeconds: z.number().int().min(60).max(14400).default(1800),
    })
    .default({ enabled: true, instanceClasses: ['g5', 'g6'], maxvCpus: 32, spot: false, vcpusPerJob: 4, memoryMiBPerJob: 14336, gpusPerJob: 1, rootVolumeGiB: 200, startupAllowanceSeconds: 1800 }),
  /** CPU jobs on Fargate: runs of API and offline models. */
  cpu: z
    .strictObject({
      /** @default 64 */
      maxvCpus: z.number().int().min(1).max(10000).default(64),
      /** Fargate Spot. @default false */
      spot: z.boolean().default(false),
      /** A Fargate size: 0.25, 0.5, 1, 2, 4, 8 or 16 vCPU with a memory it allows. @default 1 vCPU, 4096 MiB */
      vcpusPerJob: z.union([z.literal(0.25), z.literal(0.5), z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16)], { error: 'must be a Fargate size: 0.25, 0.5, 1, 2, 4, 8 or 16' }).default(1),
      memoryMiBPerJob: z.number().int().min(512).max(122880).default(4096),
      /** @default 30 */
      ephemeralStorageGiB: z.number().int().min(21).max(200).default(30),
    })
    .default({ maxvCpus: 64, spot: false, vcpusPerJob: 1, memoryMiBPerJob: 4096, ephemeralStorageGiB: 30 }),
  /**
   * Shard jobs of tasks that run in their own container image (a SWE-bench instance's
   * environment): a managed EC2 compute environment (0 vCPUs when idle) and queue, and a job
   * definition per image that PlanRun registers on first use (core/sweep/image-jobs.ts).
   */
  images: z
    .strictObject({
      /** Without it, sweeps of tasks that name images fail at PlanRun. @default true */
      enabled: z.boolean().default(true),
      /** Pinned instance types (priced at the dearest). @default ["m6i.xlarge"] */
      instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type, e.g. "m6i.xlarge"' })).min(1).default(['m6i.xlarge']),
      /** @default 64 */
      maxvCpus: z.number().int().min(1).max(10000).default(64),
      /** Spot instances (interrupted jobs are retried). @default false */
      spot: z.boolean().default(false),
      /** The harness container of a job (it downloads and unpacks the task's image itself). The defaults fit one job on an m6i.xlarge. */
      vcpusPerJob: z.number().int().min(1).max(192).default(2),
      memoryMiBPerJob: z.number().int().min(1024).default(12288),
      /** Root volume of the instances: holds the pulled images (SWE-bench's are 1–3 GB each) and the jobs' copies of them. @default 300 */
      rootVolumeGiB: z.number().int().min(50).max(16384).default(300),
    })
    .default({ enabled: true, instanceTypes: ['m6i.xlarge'], maxvCpus: 64, spot: false, vcpusPerJob: 2, memoryMiBPerJob: 12288, rootVolumeGiB: 300 }),
  /**
   * Batch job timeouts: the longest wall-clock budget (`budgets.tlaWallSeconds`,
   * `budgets.shardWallSeconds`) a sweep may ask for, plus a margin. `uplift submit` refuses a spec
   * whose budgets do not fit.
   */
  jobTimeouts: z
    .strictObject({
      /** @default 14400 (4 h) */
      tlaSeconds: z.number().int().min(600).max(604800).default(14400),
      /** @default 3600 */
      shardSeconds: z.number().int().min(600).max(604800).default(3600),
    })
    .default({ tlaSeconds: 14400, shardSeconds: 3600 }),
  /** Budget of a sweep whose spec sets no `budgets.maxUsd` (USD). @default 25 */
  defaultSweepBudgetUsd: z.number().positive().max(1_000_000).default(25),
  /** Upper bound of one sweep execution. @default 7 */
  sweepTimeoutDays: z.number().int().min(1).max(365).default(7),
  /**
   * API keys of model endpoints, one Secrets Manager secret each, injected into CPU jobs as the
   * environment variable `apiKeyEnv` (what a spec's `model.apiKeyEnv` names). The gateway reads
   * it; agents never see it. Give `secretName` to use an existing secret.
   */
  modelEndpoints: z
    .array(
      z.strictObject({
        apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name, e.g. "OPENAI_API_KEY"' }),
        secretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/).optional(),
      }),
    )
    .default([{ apiKeyEnv: 'OPENAI_API_KEY' }]),
  /** Where alarm notifications go (an SNS email subscription). @default none: the topic only */
  alarmEmail: z.email({ error: 'must be an email address' }).optional(),
  data: z
    .strictObject({
      /** What `cdk destroy` does with the bucket and the table. @default retain */
      removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
      /** Sweep outputs (shard outputs, transcripts, reports) larger than 128 KiB move to Infrequent Access after this many days. @default 30 */
      infrequentAccessAfterDays: z.number().int().min(30).max(3650).default(30),
      /** Delete sweep outputs after this many days. @default never */
      expireSweepOutputsAfterDays: z.number().int().min(31).max(36500).optional(),
      /** Old versions (a retried job overwrites its own outputs) are deleted after this many days. @default 30 */
      noncurrentVersionDays: z.number().int().min(1).max(3650).default(30),
      /** @default 90 */
      logRetentionDays: z.union(RETENTION_DAYS.map((d) => z.literal(d)) as unknown as [z.ZodLiteral<number>, z.ZodLiteral<number>], { error: `must be one of ${RETENTION_DAYS.join(', ')}` }).default(90),
    })
    .default({ removalPolicy: 'retain', infrequentAccessAfterDays: 30, noncurrentVersionDays: 30, logRetentionDays: 90 }),
});
export type UpliftConfig = z.infer<typeof UpliftConfig>;

/** Fargate's allowed memory (MiB) for each vCPU size. */
function fargateMemoryProblem(c: UpliftConfig['cpu']): string | undefined {
  const v = c.vcpusPerJob;
  const m = c.memoryMiBPerJob;
  const ok =
    v === 0.25 ? [512, 1024, 2048].includes(m)
    : v === 0.5 ? m >= 1024 && m <= 4096 && m % 1024 === 0
    : v === 1 ? m >= 2048 && m <= 8192 && m % 1024 === 0
    : v === 2 ? m >= 4096 && m <= 16384 && m % 1024 === 0
    : v === 4 ? m >= 8192 && m <= 30720 && m % 1024 === 0
    : v === 8 ? m >= 16384 && m <= 61440 && m % 4096 === 0
    : m >= 32768 && m <= 122880 && m % 8192 === 0;
  return ok ? undefined : `cpu.memoryMiBPerJob: Fargate does not offer ${m} MiB with ${v} vCPU (received ${m}). Fix: pick a combination from https://docs.aws.amazon.com/batch/latest/userguide/fargate.html, e.g. 1 vCPU with 2048-8192 MiB in steps of 1024`;
}

/** A GPU class with no size that runs one job could never start one: the compute environment pins the smallest size that does. */
function gpuSizeProblems(g: UpliftConfig['gpu']): string[] {
  if (!g.enabled) return [];
  return g.instanceClasses
    .filter((c) => !smallestFit(c, g))
    .map(
      (c) =>
        `gpu.instanceClasses: no ${c} instance runs a job of ${g.vcpusPerJob} vCPU, ${g.memoryMiBPerJob} MiB and ${g.gpusPerJob} GPU(s) (received "${c}"). Fix: remove it, pick a larger class, or lower gpu.vcpusPerJob / memoryMiBPerJob / gpusPerJob`,
    );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Objects merge key by key; anything else in `over` replaces `base`, and so does an object whose
 * `mode` differs (e.g. `vpc: { mode: "import", … }` over a created VPC's settings).
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  if ('mode' in over && over.mode !== base.mode) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Validates a config document; throws SpecError naming each bad field, the value received and the fix. */
export function parseConfig(raw: unknown, source: string): UpliftConfig {
  const parsed = UpliftConfig.safeParse(raw);
  if (!parsed.success) throw new SpecError(formatIssues(source, parsed.error, raw));
  const problems = [fargateMemoryProblem(parsed.data.cpu), ...gpuSizeProblems(parsed.data.gpu)].filter((p): p is string => Boolean(p)).map((p) => `${source}: ${p}`);
  const keys = parsed.data.modelEndpoints.map((e) => e.apiKeyEnv);
  keys.forEach((k, i) => keys.indexOf(k) !== i && problems.push(`${source}: modelEndpoints.${i}.apiKeyEnv: "${k}" is listed twice. Fix: one entry per environment variable`));
  if (problems.length) throw new SpecError(problems);
  return parsed.data;
}

/**
 * The config from CDK context: the file named by `uplift:config` (relative to the repository
 * root), with the `uplift` context object (or JSON string) merged over it.
 */
export function configFromContext(tryGetContext: (key: string) => unknown): { config: UpliftConfig; source: string } {
  const fileCtx = tryGetContext(CONFIG_FILE_CONTEXT);
  let raw: unknown = {};
  let source = 'defaults';
  if (fileCtx !== undefined) {
    if (typeof fileCtx !== 'string') throw new SpecError([`context ${CONFIG_FILE_CONTEXT}: must be a file path (received ${JSON.stringify(fileCtx)})`]);
    const file = isAbsolute(fileCtx) ? fileCtx : join(REPO_ROOT, fileCtx);
    if (!existsSync(file)) throw new SpecError([`context ${CONFIG_FILE_CONTEXT}: ${file} does not exist. Fix: point it at a config file, e.g. -c ${CONFIG_FILE_CONTEXT}=infra/uplift.config.json`]);
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new SpecError([`${file}: not valid JSON (${(cause as Error).message})`], { cause });
    }
    source = file;
  }
  let over = tryGetContext(CONFIG_OVERRIDES_CONTEXT);
  if (typeof over === 'string') {
    const text = over;
    try {
      over = JSON.parse(text);
    } catch (cause) {
      throw new SpecError([`context ${CONFIG_OVERRIDES_CONTEXT}: not valid JSON (received ${text.slice(0, 80)}). Fix: -c ${CONFIG_OVERRIDES_CONTEXT}='{"gpu":{"spot":true}}'`], { cause });
    }
  }
  if (over !== undefined) {
    raw = deepMerge(raw, over);
    source = `${source} + context ${CONFIG_OVERRIDES_CONTEXT}`;
  }
  return { config: parseConfig(raw, source), source };
}
