import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { CBM_KINDS } from './cbm/registry';
import { SpecError } from './errors';

const kebab = /^[a-z0-9][a-z0-9-]{0,47}$/;
const Name = z.string().regex(kebab, { error: 'must be kebab-case: lowercase letters, digits and "-", at most 48 characters, e.g. "tai-demo"' });

export { ModelSpec, modelName, DEFAULT_OPENAI_BASE_URL, resolveModel } from './model-spec';
import { ModelSpec } from './model-spec';

/** Largest fall of a CBM's guard score (MRA − RA, as a fraction) a run may show before it is `guard_violated`, when the spec sets none. */
export const DEFAULT_MAX_GUARD_DROP = 0.05;

const cbmBase = {
  id: Name,
  /** Data set directory (relative to the spec file); what it holds depends on the kind. */
  dataset: z.string().min(1),
  /**
   * For kinds with a guard (utility that must be kept): the largest fall of the guard score a run
   * may show. A run whose guard CI lies wholly below −maxGuardDrop is `guard_violated`. @default 0.05
   */
  maxGuardDrop: z.number().min(0, { error: 'must be between 0 and 1, e.g. 0.05' }).max(1, { error: 'must be between 0 and 1, e.g. 0.05' }).optional(),
};

/**
 * A CBM entry: `id`, `kind` (a kind registered in core/cbm/registry.ts; @default classification),
 * `dataset`, `maxGuardDrop`, plus the kind's own fields.
 */
export const CbmSpec = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'classification' } : v),
  z.discriminatedUnion(
    'kind',
    Object.values(CBM_KINDS).map((k) => z.strictObject({ ...cbmBase, kind: z.literal(k.kind), ...k.specShape })) as unknown as [z.ZodObject<typeof cbmBase & { kind: z.ZodString }>],
    { error: `kind must be one of: ${Object.keys(CBM_KINDS).join(', ')}` },
  ),
);
export type CbmSpec = { id: string; kind: string; dataset: string; maxGuardDrop?: number } & Record<string, unknown>;

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
    /** Non-LLM baseline for prompt-injection: searches a library of known defences on dev (core/tla/defense-search.ts). */
    z.strictObject({
      kind: z.literal('defense-search'),
      /** Dev tasks (attacks and benign guard tasks) each candidate is evaluated on (a fixed sample; all when larger than dev). @default 80 */
      evalTasks: z.number().int().min(2).max(100000).default(80),
      /** Largest fall of the guard score on dev a kept defence may cause. @default 0.05 */
      maxGuardDrop: z.number().min(0).max(1).default(0.05),
    }),
    /** Non-LLM baseline for multiple-choice `unlearn`: searches forget-topic keywords for the prompt's directive on dev (core/tla/unlearn-search.ts). */
    z.strictObject({
      kind: z.literal('unlearn-search'),
      /** Dev tasks (forget and retain) each candidate is evaluated on (a fixed sample; all when larger than dev). @default 80 */
      evalTasks: z.number().int().min(2).max(100000).default(80),
      /** Largest fall of the guard (retain accuracy) on dev a kept change may cause. @default 0.05 */
      maxGuardDrop: z.number().min(0).max(1).default(0.05),
      /** Most topic keywords it may place in the directive. @default 12 */
      maxKeywords: z.number().int().min(1).max(200).default(12),
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
  { error: 'kind must be one of: noop, fixed, fewshot-search, defense-search, unlearn-search, react' },
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
    if (!isDir(c.dataset)) problems.push(`${file}: cbms.${i}.dataset: directory not found (received "${c.dataset}"). Fix: ${CBM_KINDS[c.kind].datasetHelp}`);
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
