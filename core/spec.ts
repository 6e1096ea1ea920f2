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

/** Levenshtein distance between two strings (insertions, deletions and substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known key closest to `key` (edit distance at most 2, and less than its length; case ignored; the first of a tie), if any. */
export function closestKey(key: string, known: string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= 2 && d < key.length && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

/** The parts of a zod 4 schema definition the key lookup below reads. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
  transform?: (v: unknown, ctx: unknown) => unknown;
  getter?: () => z.ZodType;
}
const defOf = (s: z.ZodType): SchemaDef => (s as unknown as { _zod: { def: SchemaDef } })._zod.def;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What an object in the input may hold: its keys, and (in a discriminated union) the keys of the other variants, by discriminator value. */
interface KnownKeys {
  keys: string[];
  variants?: { discriminator: string; value: unknown; others: { value: unknown; keys: string[] }[] };
}

/**
 * The object schema that validates `value` under `schema`: wrappers unwrapped, preprocessing
 * applied, and a discriminated union's variant chosen by the value's discriminator.
 */
function objectFor(schema: z.ZodType, value: unknown): { shape: Record<string, z.ZodType>; value: unknown; variants?: KnownKeys['variants'] } | undefined {
  let s = schema;
  let v = value;
  let variants: KnownKeys['variants'];
  for (let depth = 0; depth < 50; depth++) {
    const d = defOf(s);
    if (d.type === 'object' && d.shape) return { shape: d.shape, value: v, variants };
    if (d.innerType) s = d.innerType;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else if (d.type === 'pipe' && d.in && d.out) {
      const first = defOf(d.in);
      if (first.type === 'transform' && first.transform) {
        try {
          v = first.transform(v, { value: v, issues: [] });
        } catch {
          // A preprocess that throws: look up keys on the value as given.
        }
        s = d.out;
      } else {
        // A schema piped into another (z.custom(…).pipe(Fields), Fields.transform(…)): the first object of the two.
        const inner = objectFor(d.in, v);
        if (inner) return { ...inner, variants: inner.variants ?? variants };
        s = d.out;
      }
    } else if (d.type === 'union' && d.options) {
      const disc = d.discriminator;
      const valueOf = (o: z.ZodType) => {
        const obj = objectFor(o, undefined);
        return disc && obj ? defOf(obj.shape[disc] ?? z.never()).values?.[0] : undefined;
      };
      if (!disc || !isRecord(v)) return undefined;
      const value = v[disc];
      const match = d.options.find((o) => valueOf(o) === value);
      if (!match) return undefined;
      variants = { discriminator: disc, value, others: d.options.filter((o) => o !== match).map((o) => ({ value: valueOf(o), keys: Object.keys(objectFor(o, undefined)?.shape ?? {}) })) };
      s = match;
    } else return undefined;
  }
  return undefined;
}

/** The keys the object at `path` of `input` may hold under `schema`, or undefined when the path leads to no object schema. */
export function knownKeysAt(schema: z.ZodType, path: PropertyKey[], input: unknown): KnownKeys | undefined {
  let s = schema;
  let v = input;
  for (const p of path) {
    // Step through objects, arrays and records along the path, choosing union variants by the input.
    const obj = objectFor(s, v);
    if (obj) {
      const next = obj.shape[String(p)];
      if (!next) return undefined;
      s = next;
      v = isRecord(obj.value) ? obj.value[String(p)] : undefined;
      continue;
    }
    let d = defOf(s);
    while (d.innerType) {
      s = d.innerType;
      d = defOf(s);
    }
    if (d.type === 'array' && d.element) s = d.element;
    else if (d.type === 'record' && d.valueType) s = d.valueType;
    else return undefined;
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  }
  const obj = objectFor(s, v);
  return obj ? { keys: Object.keys(obj.shape), ...(obj.variants ? { variants: obj.variants } : {}) } : undefined;
}

/** The problem of one unknown key: the closest known key when there is one, else the keys allowed there. */
function unknownKeyProblem(file: string, path: string, key: string, known: KnownKeys | undefined, present: unknown): string {
  const at = path === '(top level)' ? key : `${path}.${key}`;
  if (!known) return `${file}: ${at}: unknown field. Fix: remove or rename it`;
  const candidates = known.keys.filter((k) => !(isRecord(present) && k in present));
  const near = closestKey(key, candidates);
  if (near) return `${file}: ${at}: unknown field. Did you mean ${near}? Fix: rename it to ${near}`;
  const v = known.variants;
  const elsewhere = v?.others.flatMap((o) => {
    const theirs = o.keys.filter((k) => !known.keys.includes(k));
    const k = theirs.includes(key) ? key : closestKey(key, theirs);
    return k ? [{ value: String(o.value), key: k }] : [];
  });
  if (v && elsewhere?.length) {
    const d = v.discriminator;
    const change = elsewhere.length === 1 ? `set ${d}: ${elsewhere[0].value}` : `change ${d}`;
    return `${file}: ${at}: unknown field for ${d} ${String(v.value)} (${elsewhere.map((e) => `${d} ${e.value} has ${e.key}`).join('; ')}). Fix: remove it, or ${change}; ${d} ${String(v.value)} has ${known.keys.join(', ')}`;
  }
  return `${file}: ${at}: unknown field. Fix: remove it; the fields here are ${known.keys.join(', ')}`;
}

/**
 * Turns zod issues into one line per problem: `file: field.path: message (received …)`. With the
 * `schema` that was parsed, an unknown key is one line each, with the closest known key (`Did you
 * mean …?`) or the keys allowed there; without it, one line per object.
 */
export function formatIssues(file: string, error: z.ZodError, input: unknown, schema?: z.ZodType): string[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    let received: unknown = input;
    for (const p of issue.path) received = received && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
    if (issue.code === 'unrecognized_keys' && schema) {
      const known = knownKeysAt(schema, issue.path, input);
      return issue.keys.map((k) => unknownKeyProblem(file, path, k, known, received));
    }
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') msg = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or rename them`;
    if (issue.code === 'invalid_type') msg = received === undefined ? `is required (${issue.expected})` : `expected ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    const rec = issue.code === 'unrecognized_keys' || received === undefined ? '' : ` (received ${describeReceived(received)})`;
    return [`${file}: ${path}: ${msg}${rec}`];
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
  if (!parsed.success) throw new SpecError(formatIssues(file, parsed.error, raw, SweepSpec));
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
