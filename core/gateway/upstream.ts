import { SpecError } from '../errors';
import { type ModelSpec } from '../spec';
import { missingKeyProblem, modelKey } from '../model-spec';
import { HttpUpstream, ModelGateway, OfflineUpstream, type GatewayOptions, type Upstream } from './gateway';
import { upstreamRetryFromEnv } from '../jobs/env';

/** Environment the vLLM launcher hands the job: the loopback server's URL and its per-job key (the gateway's, never an agent's). */
export const VLLM_ENV = { baseUrl: 'UPLIFT_VLLM_BASE_URL', apiKey: 'UPLIFT_VLLM_API_KEY' } as const;

/** The gateway's upstream for a model spec. Real keys come from the job's environment, never from an agent. */
export function upstreamFor(model: ModelSpec, env: Record<string, string | undefined>): Upstream {
  if (model.provider === 'offline') return new OfflineUpstream(model.latencyMs);
  if (model.provider === 'vllm') {
    // The GPU job's launcher (batch-images/vllm/launcher.ts) serves the weights on loopback and sets these.
    const baseUrl = env[VLLM_ENV.baseUrl];
    if (!baseUrl)
      throw new SpecError([
        `model vllm:${model.name}: ${VLLM_ENV.baseUrl} is not set, so there is no vLLM server to forward to. Fix: run the job through batch-images/vllm/launcher.ts (the GPU job definitions do), or start vLLM yourself and export ${VLLM_ENV.baseUrl}=http://127.0.0.1:8000/v1`,
      ]);
    return new HttpUpstream(baseUrl, env[VLLM_ENV.apiKey] ?? 'EMPTY', model.name);
  }
  // A keyless server on this machine or a private network (apiKeyEnv left at its default, unset) gets no Authorization header.
  const key = modelKey(model, env);
  const missing = missingKeyProblem(model, env, 'the gateway holds it; agents only get a per-job token');
  if (missing) throw new SpecError([`model ${model.name}: ${missing}`]);
  return new HttpUpstream(key.endpoint, key.key, model.name);
}

/**
 * A job's gateway to `model`: its own upstream (closed when the gateway stops, so a job leaves no
 * connection behind) with the job's real key and retry settings (UPLIFT_UPSTREAM_RETRY).
 */
export function jobGateway(model: ModelSpec, env: Record<string, string | undefined>, opts: Omit<GatewayOptions, 'upstream' | 'ownsUpstream' | 'retry'>): ModelGateway {
  return new ModelGateway({ ...opts, upstream: upstreamFor(model, env), ownsUpstream: true, retry: upstreamRetryFromEnv(env) });
}
