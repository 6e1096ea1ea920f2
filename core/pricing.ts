import { SpecError } from './errors';
import { z } from 'zod';
import type { PriceTable } from './spec';

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/**
 * Built-in USD prices per million tokens. A sweep spec's `prices.models` overrides or extends
 * them; a model with no price is refused before anything starts.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  offline: { inputPerMTok: 0, outputPerMTok: 0 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
};

/**
 * Models served by vLLM on the job's GPU (`vllm:<name>`) have no per-token price unless the spec
 * sets one: their cost is the GPU instance time, which the Batch compute environment bounds.
 */
export const SELF_HOSTED_PRICE: ModelPrice = { inputPerMTok: 0, outputPerMTok: 0 };

/**
 * Built-in USD per hour of what jobs run on (us-east-1 on-demand list prices). `local` is your
 * own machine: free. Fargate is priced per vCPU-hour and per GiB-hour. A sweep spec's
 * `prices.instances` overrides or extends them.
 */
export const DEFAULT_INSTANCE_PRICES: Record<string, number> = {
  local: 0,
  'fargate-vcpu': 0.04048,
  'fargate-gib': 0.004445,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'c6i.xlarge': 0.17,
  'c6i.2xlarge': 0.34,
  'g4dn.xlarge': 0.526,
  'g4dn.2xlarge': 0.752,
  'g5.xlarge': 1.006,
  'g5.2xlarge': 1.212,
  'g5.4xlarge': 1.624,
  'g6.xlarge': 0.8048,
  'g6.2xlarge': 0.9776,
  'g6.4xlarge': 1.3232,
};

/** What one job of a queue runs on: this machine, a Fargate task of a size, or one of some EC2 instance types. */
export const JobCompute = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }),
  z.object({ kind: z.literal('fargate'), vcpus: z.number().positive(), memoryMiB: z.number().int().positive() }),
  z.object({ kind: z.literal('ec2'), instanceTypes: z.array(z.string().min(1)).min(1) }),
]);
export type JobCompute = z.infer<typeof JobCompute>;

/** Where each queue's jobs run. The local runner is `local` for both; a deployed stack publishes its own. */
export const ComputeTargets = z.object({
  cpu: JobCompute,
  gpu: JobCompute,
  /** Shard jobs of tasks that run in their own container image (EC2); priced as `cpu` where a target has none (locally). */
  images: JobCompute.optional(),
});
export type ComputeTargets = z.infer<typeof ComputeTargets>;
export const LOCAL_COMPUTE: ComputeTargets = { cpu: { kind: 'local' }, gpu: { kind: 'local' } };

function instancePrice(type: string, overrides?: PriceTable): number {
  const p = overrides?.instances[type] ?? DEFAULT_INSTANCE_PRICES[type];
  if (p === undefined)
    throw new SpecError([
      `prices.instances.${type}: no hourly price for instance type "${type}" (known: ${Object.keys(DEFAULT_INSTANCE_PRICES).join(', ')}). Fix: add \`prices: { instances: { ${type}: <USD per hour> } }\` to the spec`,
    ]);
  return p;
}

/** USD per hour of one job of a queue: `images` falls back to `cpu` where the targets have no images queue (locally). */
export function queueUsdPerHour(targets: ComputeTargets, queue: 'cpu' | 'gpu' | 'images', overrides?: PriceTable): number {
  return jobUsdPerHour(queue === 'images' ? (targets.images ?? targets.cpu) : targets[queue], overrides);
}

/** USD per hour of one job on `compute`: for EC2, the dearest instance type the job may land on. */
export function jobUsdPerHour(compute: JobCompute, overrides?: PriceTable): number {
  if (compute.kind === 'local') return instancePrice('local', overrides);
  if (compute.kind === 'fargate') return compute.vcpus * instancePrice('fargate-vcpu', overrides) + (compute.memoryMiB / 1024) * instancePrice('fargate-gib', overrides);
  return Math.max(...compute.instanceTypes.map((t) => instancePrice(t, overrides)));
}

export function priceOf(model: string, overrides?: PriceTable, field = 'prices.models'): ModelPrice {
  const p = overrides?.models[model] ?? DEFAULT_PRICES[model] ?? (model.startsWith('vllm:') ? SELF_HOSTED_PRICE : undefined);
  if (!p)
    throw new SpecError([
      `${field}.${model}: no price for model "${model}" (known: ${Object.keys(DEFAULT_PRICES).join(', ')}). Fix: add \`prices: { models: { ${model}: { inputPerMTok: …, outputPerMTok: … } } }\` to the spec`,
    ]);
  return p;
}

/** Worst case of a token budget: every token at the dearer of the two prices. */
export function worstCaseUsd(tokens: number, price: ModelPrice): number {
  return (tokens * Math.max(price.inputPerMTok, price.outputPerMTok)) / 1e6;
}

/** Metered cost of a job. */
export function meteredUsd(usage: { promptTokens: number; completionTokens: number }, price: ModelPrice): number {
  return (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1e6;
}
