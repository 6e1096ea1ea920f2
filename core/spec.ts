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
  ],
  { error: 'provider must be one of: offline, openai' },
);
export type ModelSpec = z.infer<typeof ModelSpec>;

/** Model name as agents see it in UPLIFT_MODEL and as the baseline cache keys it. */
export function modelName(m: ModelSpec): string {
  return m.provider === 'offline' ? 'offline' : m.name;
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
  ],
  { error: 'kind must be one of: noop, fixed, fewshot-search' },
);
export type TlaSpec = z.infer<typeof TlaSpec>;

/** Label used in run ids and tables. */
export function tlaLabel(t: TlaSpec): string {
  return t.kind === 'fixed' ? (t.name ?? 'fixed') : t.kind;
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
  if (!existsSync(file)) throw new SpecError([`${file}: no such file. Fix: pass the path of a sweep spec YAML, e.g. examples/sweeps/tai-demo.yaml`]);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    const where = cause instanceof YAMLParseError && cause.linePos ? `:${cause.linePos[0].line}` : '';
    throw new SpecError([`${file}${where}: not valid YAML: ${(cause as Error).message.split('\n')[0]}`], { cause });
  }
  return parseSpec(raw, file);
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
