import { z } from 'zod';

/** The environment variable an `openai` model's key is read from when its spec names none. */
export const DEFAULT_API_KEY_ENV = 'OPENAI_API_KEY';

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
      /**
       * Environment variable that holds the real API key (handed to the gateway only). Left at the
       * default, an endpoint on this machine or a private network (see isPrivateEndpoint) needs no
       * key: with $OPENAI_API_KEY unset its calls carry no Authorization header. @default OPENAI_API_KEY
       */
      apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name, e.g. "OPENAI_API_KEY"' }).default(DEFAULT_API_KEY_ENV),
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


/** IPv4 ranges that are this machine or a private network: loopback, RFC 1918, link-local, and 0.0.0.0 (this host). */
const PRIVATE_V4: [number, number][] = [
  [0x7f000000, 8], // 127.0.0.0/8
  [0x0a000000, 8], // 10.0.0.0/8
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
  [0xa9fe0000, 16], // 169.254.0.0/16
  [0x00000000, 32], // 0.0.0.0
];

function privateV4(host: string): boolean {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const ip = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
  return PRIVATE_V4.some(([net, bits]) => ip >>> (32 - bits) === net >>> (32 - bits));
}

/**
 * Whether a base URL points at this machine or a private network, where a server (Ollama, vLLM,
 * llama.cpp) may take calls without a key: localhost and *.localhost, a name no public DNS holds
 * (no dot, or ending in .local or .internal), 127/8, 10/8, 172.16/12, 192.168/16, 169.254/16,
 * 0.0.0.0, ::1, fc00::/7, fe80::/10 and IPv4-mapped forms of those. An unparsable URL is not.
 */
export function isPrivateEndpoint(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host.startsWith('[') && host.endsWith(']')) {
    const v6 = host.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
    if (mapped) {
      const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
      return privateV4(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return v6 === '::1' || /^f[cd][0-9a-f]{0,2}:/.test(v6) || /^fe[89ab][0-9a-f]?:/.test(v6);
  }
  if (/^[0-9.]+$/.test(host)) return privateV4(host);
  return host === 'localhost' || !host.includes('.') || /\.(localhost|local|internal)$/.test(host);
}

/**
 * Where an `openai` model's key comes from: `env` names the variable, `key` is its value (undefined
 * when unset), and `required` says whether calls need it — always, except for a model whose
 * apiKeyEnv is left at the default and whose endpoint (resolved as jobs resolve it) is private.
 */
export function modelKey(m: Extract<ModelSpec, { provider: 'openai' }>, env: Record<string, string | undefined>): { env: string; key: string | undefined; required: boolean; endpoint: string } {
  const endpoint = m.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL;
  const key = env[m.apiKeyEnv] || undefined;
  return { env: m.apiKeyEnv, key, required: m.apiKeyEnv !== DEFAULT_API_KEY_ENV || !isPrivateEndpoint(endpoint), endpoint };
}

/**
 * What is wrong with an `openai` model's key in `env`, as `environment variable X is not set. Fix: …`
 * (`field` is the model's path in the spec, for the hints; `holder` says who holds the key), or
 * undefined when the key is set or not needed.
 */
export function missingKeyProblem(m: Extract<ModelSpec, { provider: 'openai' }>, env: Record<string, string | undefined>, holder: string, field = 'model'): string | undefined {
  const k = modelKey(m, env);
  if (k.key !== undefined || !k.required) return undefined;
  const hint =
    k.env === DEFAULT_API_KEY_ENV
      ? `; a server on this machine or a private network (Ollama, vLLM) needs no key: for one, set ${field}.baseUrl to it, e.g. http://localhost:11434/v1 (${k.endpoint} is public)`
      : isPrivateEndpoint(k.endpoint)
        ? `; or, if ${k.endpoint} takes calls without a key, remove ${field}.apiKeyEnv`
        : '';
  return `environment variable ${k.env} is not set. Fix: export ${k.env}=<key> (${holder})${hint}`;
}
