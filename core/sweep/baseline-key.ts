import { createHash } from 'node:crypto';
import type { ModelSpec } from '../spec';
import { modelName } from '../spec';

/**
 * Version of everything a baseline depends on that is not in the spec: the RA protocol, the
 * outcome rules, the shard harness and the sandbox's fixed limits. Bump it when they change, so no
 * baseline computed under the old rules is reused.
 */
export const BASELINE_PROTOCOL_VERSION = 5;
// 5: per-task kinds give each task its own token allowance (taskTokens, else an even share of the shard budget).

/** Everything that changes a baseline's scores, as the plan knows it. */
export interface BaselineInputs {
  bundleHash: string;
  /** The CBM: its data, its kind, the kind's spec fields (e.g. a goal) and the judge that scores it (model and allowance). */
  cbm: { id: string; kind: string; datasetVersion: string; fields: Record<string, unknown>; judge: { model: ModelSpec; tokensPerTask: number } | null };
  /** The RA's model spec as the jobs will use it (an `openai` model's base URL resolved). */
  model: ModelSpec;
  shards: number;
  tasksPerShard: number;
  shardTokens: number;
  shardWallSeconds: number;
  /** Model calls in flight per shard (the agent's UPLIFT_CONCURRENCY: it can change what a budget buys). */
  requests: number;
}

/** The model fields that change answers: which endpoint and what it serves (never which variable holds its key). */
function modelIdentity(m: ModelSpec): Record<string, unknown> {
  if (m.provider === 'openai') return { provider: m.provider, name: m.name, baseUrl: m.baseUrl ?? null };
  if (m.provider === 'vllm') return { provider: m.provider, name: m.name, weightsUri: m.weightsUri, maxModelLen: m.maxModelLen ?? null, extraArgs: m.extraArgs };
  return { provider: m.provider, latencyMs: m.latencyMs };
}

/** The canonical description a baseline key hashes (also stored on the baseline record, readable). */
export function baselineDescription(i: BaselineInputs): Record<string, unknown> {
  return {
    protocol: BASELINE_PROTOCOL_VERSION,
    bundle: i.bundleHash,
    cbm: { id: i.cbm.id, kind: i.cbm.kind, dataVersion: i.cbm.datasetVersion, fields: i.cbm.fields, judge: i.cbm.judge ? { model: modelIdentity(i.cbm.judge.model), tokensPerTask: i.cbm.judge.tokensPerTask } : null },
    model: modelIdentity(i.model),
    shards: { count: i.shards, tasksPerShard: i.tasksPerShard, tokens: i.shardTokens, wallSeconds: i.shardWallSeconds, requests: i.requests },
  };
}

/** JSON with object keys sorted at every level: the same description always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The baseline cache key, derived here and nowhere else:
 * `BASELINE#<cbm>@<data-version>#<model>#<sha256 of the description>`. The readable
 * prefix is for people; the hash covers every input, so a baseline computed under other
 * conditions (bundle, data, model endpoint, shard plan, budgets, limits, protocol) is never reused.
 */
export function baselineKey(i: BaselineInputs): string {
  const hash = createHash('sha256').update(canonical(baselineDescription(i))).digest('hex');
  return `BASELINE#${i.cbm.id}@${i.cbm.datasetVersion}#${modelName(i.model)}#${hash}`;
}
