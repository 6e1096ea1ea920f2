import { SpecError } from '../errors';
import { type ModelSpec } from '../spec';
import { missingKeyProblem, modelKey } from '../model-spec';
import { HttpUpstream, OfflineUpstream, type Upstream } from './gateway';

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
