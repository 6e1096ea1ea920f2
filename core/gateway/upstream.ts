import { SpecError } from '../errors';
import type { ModelSpec } from '../spec';
import { HttpUpstream, OfflineUpstream, type Upstream } from './gateway';

/** The gateway's upstream for a model spec. Real keys come from the job's environment, never from an agent. */
export function upstreamFor(model: ModelSpec, env: Record<string, string | undefined>): Upstream {
  if (model.provider === 'offline') return new OfflineUpstream(model.latencyMs);
  const key = env[model.apiKeyEnv];
  if (!key) throw new SpecError([`model ${model.name}: environment variable ${model.apiKeyEnv} is not set. Fix: export ${model.apiKeyEnv}=<key> (the gateway holds it; agents only get a per-job token)`]);
  return new HttpUpstream(model.baseUrl ?? env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', key, model.name);
}
