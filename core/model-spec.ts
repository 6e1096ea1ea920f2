import { z } from 'zod';

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

