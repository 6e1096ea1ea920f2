import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { SpecError } from './errors';

const kebab = /^[a-z0-9][a-z0-9-]{0,47}$/;
const Name = z.string().regex(kebab, { error: 'must be kebab-case: lowercase letters, digits and "-", at most 48 characters, e.g. "tai-demo"' });

/** A model endpoint. `offline` is the built-in deterministic stand-in (see core/gateway/offline-model.ts). */
export const ModelSpec = z.discriminatedUnion(
  'provider',
  [
    z.strictObject({
      provider: z.literal('offline'),
      /** Added latency per call in ms (benchmarks). @default 0 */
      latencyMs: z.number().int().min(0).max(60000).default(0),
    }),
    z.strictObject({
      provider: z.literal('openai'),
      name: z.string().min(1, { error: 'is the model name the endpoint expects, e.g. "gpt-4o-mini"' }),
      /** OpenAI-compatible base URL. @default $OPENAI_BASE_URL, else https://api.openai.com/v1 */
      baseUrl: z.url().optional(),
      /** Environment variable that holds the real API key (handed to the gateway only). @default OPENAI_API_KEY */
      apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('OPENAI_API_KEY'),
    }),
    /** Weights in S3, served by vLLM on the job's GPU (batch-images/vllm/launcher.ts); runs of it go to the GPU queue. */
    z.strictObject({
      provider: z.literal('vllm'),
      /** Served model name: what agents see as UPLIFT_MODEL. */
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, { error: 'is the served model name: letters, digits and "._/-", e.g. "llama-3.1-8b-instruct"' }),
      /** S3 prefix holding the weights directory (config.json, tokenizer, *.safetensors), e.g. s3://<artifacts-bucket>/models/llama-3.1-8b/ */
      weightsUri: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, { error: 'must be an S3 prefix, s3://<bucket>/<prefix>/, e.g. s3://my-uplift-artifacts/models/llama-3.1-8b/' }),
      /** vLLM --max-model-len. @default the model's own context length */
      maxModelLen: z.number().int().min(256).max(1048576).optional(),
      /** How long the launcher waits for vLLM to answer /health before failing the job. @default 900 */
      startupTimeoutSeconds: z.number().int().min(10).max(7200).default(900),
      /** Further `vllm serve` arguments, e.g. ["--dtype", "bfloat16"]. @default [] */
      extraArgs: z.array(z.string().regex(/^[A-Za-z0-9._=:,/+-]+$/, { error: 'vLLM arguments are plain words such as "--dtype" or "bfloat16"' })).max(40).default([]),
    }),
  ],
  { error: 'provider must be one of: offline, openai, vllm' },
);
export type ModelSpec = z.infer<typeof ModelSpec>;

/**
 * Model name as the baseline cache, the price table and results key it. Agents see the
 * upstream's name in UPLIFT_MODEL (the same, except `vllm:<name>` is served as `<name>`).
 */
export function modelName(m: ModelSpec): string {
  if (m.provider === 'offline') return 'offline';
  return m.provider === 'vllm' ? `vllm:${m.name}` : m.name;
}

/** Where an `openai` model without `baseUrl` and without $OPENAI_BASE_URL is served. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * The model spec as jobs will use it: an `openai` model's base URL fixed at staging (its own, else
 * $OPENAI_BASE_URL, else OpenAI's), so the jobs, the baseline key and the results name one endpoint.
 */
export function resolveModel(m: ModelSpec, env: Record<string, string | undefined>): ModelSpec {
  return m.provider === 'openai' ? { ...m, baseUrl: m.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL } : m;
}

export const CbmSpec = z.strictObject({
  id: Name,
  /** The adapter. Only `classification` exists so far; `tai-safety` is its first instance. @default classification */
  kind: z.literal('classification', { error: 'kind must be "classification"' }).default('classification'),
  /** Directory with dev.jsonl, test.jsonl and labels.json (relative to the spec file). */
  dataset: z.string().min(1),
});
export type CbmSpec = z.infer<typeof CbmSpec>;

export const RaSpec = z.strictObject({
  name: Name,
  /** RA bundle directory with agent.yaml (relative to the spec file). */
  bundle: z.string().min(1),
  model: ModelSpec,
});
export type RaSpec = z.infer<typeof RaSpec>;

export const TlaSpec = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('noop') }),
    /** The MRA is a bundle the user supplies: compare hand-made scaffold versions on one model. */
    z.strictObject({ kind: z.literal('fixed'), name: Name.optional(), bundle: z.string().min(1) }),
    /** Non-LLM optimiser: adds/removes labelled dev examples in the prompt file, keeps what helps on dev. */
    z.strictObject({
      kind: z.literal('fewshot-search'),
      /** Most examples it may place in the prompt. @default 16 */
      maxExamples: z.number().int().min(1).max(200).default(16),
      /** Dev tasks each candidate is evaluated on (a fixed sample; all when larger than dev). @default 60 */
      evalTasks: z.number().int().min(2).max(100000).default(60),
    }),
    /** An LLM ReAct agent with bash/python/file tools (core/tla/react.ts); its model's calls count toward budgets.tlaTokens. */
    z.strictObject({
      kind: z.literal('react'),
      /** Label in run ids and tables, to compare several react TLAs (e.g. models) in one sweep. @default react */
      name: Name.optional(),
      /** The TLA's own model (an endpoint that supports tool calls). */
      model: ModelSpec.refine((m) => m.provider !== 'offline', { error: 'the offline stand-in cannot call tools, so it cannot drive the react TLA. Fix: use { provider: openai, name: <model> } (any OpenAI-compatible endpoint with tool calls)' }),
      /** Most model turns before it must stop. @default 50 */
      maxTurns: z.number().int().min(1).max(10000).default(50),
      /** Dev tasks `evaluate` runs the bundle on (a fixed sample; all when larger than dev). @default 60 */
      evalTasks: z.number().int().min(2).max(100000).default(60),
      /** The TLA model's context window in tokens; older turns are summarised to stay under it. @default 128000 */
      contextTokens: z.number().int().min(4000).max(10_000_000).default(128000),
      /** Completion tokens asked per model call. @default 4096 */
      maxOutputTokens: z.number().int().min(64).max(200000).default(4096),
      /** Longest tool output shown to the model, in characters (longer ones are cut in the middle, with a note). @default 8000 */
      toolOutputChars: z.number().int().min(500).max(1_000_000).default(8000),
      /** Wall-clock limit of one bash/python command. @default 120 */
      commandTimeoutSeconds: z.number().int().min(1).max(86400).default(120),
    }),
  ],
  { error: 'kind must be one of: noop, fixed, fewshot-search, react' },
);
export type TlaSpec = z.infer<typeof TlaSpec>;

/** Label used in run ids and tables. */
export function tlaLabel(t: TlaSpec): string {
  return t.kind === 'fixed' || t.kind === 'react' ? (t.name ?? t.kind) : t.kind;
}

export const Budgets = z.strictObject({
  /** Tokens one TLA run may spend through its gateway. */
  tlaTokens: z.number().int().positive(),
  /** Tokens one RA/MRA shard job may spend. */
  shardTokens: z.number().int().positive(),
  /** Wall-clock limit of a TLA job. */
  tlaWallSeconds: z.number().int().positive().max(86400),
  /** Wall-clock limit of a shard job. @default 900 */
  shardWallSeconds: z.number().int().positive().max(86400).default(900),
  /** Hard dollar cap of the whole sweep. */
  maxUsd: z.number().nonnegative(),
});
export type Budgets = z.infer<typeof Budgets>;

export const Concurrency = z.strictObject({
  /** Runs in flight at once (Map MaxConcurrency). @default 4 */
  runs: z.number().int().positive().max(10000).default(4),
  /** Shard jobs at once on the local pool. @default number of cores */
  shards: z.number().int().positive().max(10000).optional(),
  /** Model calls in flight inside one shard (handed to the RA as UPLIFT_CONCURRENCY). @default 8 */
  requests: z.number().int().positive().max(1024).default(8),
});

export const PriceTable = z.strictObject({
  /** USD per million tokens, by model name. */
  models: z.record(z.string(), z.strictObject({ inputPerMTok: z.number().nonnegative(), outputPerMTok: z.number().nonnegative() })).default({}),
  /** USD per hour, by instance type (`g5.xlarge`, `fargate-vcpu`, `fargate-gib`, `local`, …). */
  instances: z.record(z.string(), z.number().nonnegative()).default({}),
});
export type PriceTable = z.infer<typeof PriceTable>;

export const SweepSpec = z.strictObject({
  name: Name,
  cbms: z.array(CbmSpec).min(1, { error: 'needs at least one CBM' }),
  ras: z.array(RaSpec).min(1, { error: 'needs at least one RA' }),
  tlas: z.array(TlaSpec).min(1, { error: 'needs at least one TLA' }),
  variants: z.array(z.enum(['simple', 'hard'], { error: 'must be "simple" or "hard"' })).min(1).default(['simple']),
  seeds: z.number().int().min(1).max(1000).default(1),
  /** Test tasks per shard job. @default 40 */
  shardSize: z.number().int().min(1).max(100000).default(40),
  budgets: Budgets,
  concurrency: Concurrency.default({ runs: 4, requests: 8 }),
  /** Overrides of the built-in price table. */
  prices: PriceTable.optional(),
  /**
   * What `run`/`submit` do when the worst case exceeds budgets.maxUsd: `refuse` the sweep, or
   * `trim` whole cells (TLA × RA × CBM × variant, all seeds) in reverse matrix order until it fits.
   * @default refuse
   */
  onOverBudget: z.enum(['refuse', 'trim'], { error: 'must be "refuse" or "trim"' }).default('refuse'),
  /**
   * Token budgets (e.g. [10000, 30000, 100000, 300000, 500000]) at which to score each run's TLA
   * on the test split, from its checkpoints: the bundle it had at each budget. Optional: each
   * distinct bundle costs one more MRA evaluation.
   */
  budgetCurve: z.array(z.number().int().positive()).min(1).max(20).optional(),
  /**
   * Share of the test tasks a baseline RA may end in agent errors (no or malformed output, crash,
   * its own limit) before its run fails: above it, the user's agent is broken, not scored. @default 0.1
   */
  maxAgentErrorRate: z.number().min(0, { error: 'must be between 0 and 1, e.g. 0.1' }).max(1, { error: 'must be between 0 and 1, e.g. 0.1' }).default(0.1),
});
export type SweepSpec = z.infer<typeof SweepSpec>;

function describeReceived(input: unknown): string {
  if (input === undefined) return 'nothing';
  const s = JSON.stringify(input);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** Turns zod issues into one line per problem: `file: field.path: message (received …)`. */
export function formatIssues(file: string, error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    let received: unknown = input;
    for (const p of issue.path) received = received && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') msg = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or rename them`;
    if (issue.code === 'invalid_type') msg = received === undefined ? `is required (${issue.expected})` : `expected ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    const rec = issue.code === 'unrecognized_keys' || received === undefined ? '' : ` (received ${describeReceived(received)})`;
    return `${file}: ${path}: ${msg}${rec}`;
  });
}

/** A spec whose paths were resolved against the spec file's directory and checked. */
export interface LoadedSpec {
  file: string;
  spec: SweepSpec;
}

/**
 * Reads, parses and validates a sweep spec: schema first, then what the schema cannot see
 * (paths exist, names unique). Throws SpecError listing every problem; nothing is written.
 */
export function loadSpec(file: string): LoadedSpec {
  return parseSpec(readSpecDocument(file), file);
}

/** The YAML document of a spec file, unvalidated; a missing file or bad YAML is a SpecError naming the line. */
export function readSpecDocument(file: string): unknown {
  if (!existsSync(file)) throw new SpecError([`${file}: no such file. Fix: pass the path of a sweep spec YAML, e.g. examples/sweeps/tai-demo.yaml`]);
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    const where = cause instanceof YAMLParseError && cause.linePos ? `:${cause.linePos[0].line}` : '';
    throw new SpecError([`${file}${where}: not valid YAML: ${(cause as Error).message.split('\n')[0]}`], { cause });
  }
}

/** Validates an already parsed spec document; relative paths resolve against `dirname(file)`. */
export function parseSpec(raw: unknown, file: string): LoadedSpec {
  const parsed = SweepSpec.safeParse(raw);
  if (!parsed.success) throw new SpecError(formatIssues(file, parsed.error, raw));
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const spec = parsed.data;
  const problems: string[] = [];
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  const checkBundle = (field: string, p: string) => {
    if (!isDir(p)) problems.push(`${file}: ${field}: directory not found (received "${p}"). Fix: point it at an RA bundle directory that holds agent.yaml`);
    else if (!existsSync(join(p, 'agent.yaml'))) problems.push(`${file}: ${field}: "${p}" has no agent.yaml. Fix: an RA bundle is a directory with agent.yaml (name, entrypoint, cbm)`);
  };
  const unique = (field: string, names: string[]) => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) problems.push(`${file}: ${field}.${i}: duplicate name "${n}". Fix: give each entry its own name`);
      seen.add(n);
    });
  };
  spec.cbms.forEach((c, i) => {
    c.dataset = abs(c.dataset);
    if (!isDir(c.dataset)) problems.push(`${file}: cbms.${i}.dataset: directory not found (received "${c.dataset}"). Fix: a directory with dev.jsonl, test.jsonl and labels.json`);
  });
  spec.ras.forEach((r, i) => {
    r.bundle = abs(r.bundle);
    checkBundle(`ras.${i}.bundle`, r.bundle);
  });
  spec.tlas.forEach((t, i) => {
    if (t.kind === 'fixed') {
      t.bundle = abs(t.bundle);
      checkBundle(`tlas.${i}.bundle`, t.bundle);
    }
  });
  unique('cbms', spec.cbms.map((c) => c.id));
  unique('ras', spec.ras.map((r) => r.name));
  unique('tlas', spec.tlas.map(tlaLabel));
  unique('variants', spec.variants);
  if (problems.length) throw new SpecError(problems);
  return { file, spec };
}
