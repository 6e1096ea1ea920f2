/**
 * Whether the model API key secrets a sweep needs hold a real key. No CDK import: the CLI loads
 * this file (and PlanSweep could, see README "Store the API keys").
 *
 * The stack creates each secret of `modelEndpoints` (without `secretName`) with a value that
 * CloudFormation generates: a random placeholder, not a key. A sweep started before someone
 * replaced it would fail every run that calls the model, after paying for the rest. The check
 * reads metadata only (DescribeSecret): the value itself is readable by the jobs' execution roles
 * alone. A secret still holds the generated value while it has a single version: `put-secret-value`
 * (or `update-secret`) adds a version and labels the generated one AWSPREVIOUS.
 */
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface ApiKeySecret {
  /** The environment variable jobs get the key as, e.g. OPENAI_API_KEY. */
  readonly apiKeyEnv: string;
  readonly secretArn: string;
}

export interface UnusableApiKey extends ApiKeySecret {
  readonly reason: 'placeholder' | 'no-value' | 'scheduled-for-deletion';
}

/** What the secret holds, from its versions' staging labels. */
export function secretState(d: { VersionIdsToStages?: Record<string, string[]>; DeletedDate?: Date }): 'set' | UnusableApiKey['reason'] {
  if (d.DeletedDate) return 'scheduled-for-deletion';
  const stages = Object.values(d.VersionIdsToStages ?? {});
  if (!stages.some((s) => s.includes('AWSCURRENT'))) return 'no-value';
  // A value was put over the generated one: it is now (or was once) AWSPREVIOUS.
  if (stages.length > 1 || stages.some((s) => s.includes('AWSPREVIOUS'))) return 'set';
  return 'placeholder';
}

/** The secrets among `secrets` that do not hold a key a job could use. */
export async function unusableApiKeys(client: SecretsManagerClient, secrets: readonly ApiKeySecret[]): Promise<UnusableApiKey[]> {
  const out: UnusableApiKey[] = [];
  for (const s of secrets) {
    const d = await client.send(new DescribeSecretCommand({ SecretId: s.secretArn }));
    const state = secretState(d ?? {});
    if (state !== 'set') out.push({ ...s, reason: state });
  }
  return out;
}

/** One line per unusable key: what is wrong and the command that fixes it. */
export function unusableApiKeyProblem(k: UnusableApiKey, opts: { stack: string; region: string; usedBy: string }): string {
  const what =
    k.reason === 'placeholder' ? `still holds the placeholder value stack ${opts.stack} generated when it was deployed, not an API key` : k.reason === 'no-value' ? 'holds no value' : 'is scheduled for deletion';
  const put = `aws secretsmanager put-secret-value --region ${opts.region} --secret-id ${k.secretArn} --secret-string "$${k.apiKeyEnv}"`;
  const fix = k.reason === 'scheduled-for-deletion' ? `aws secretsmanager restore-secret --region ${opts.region} --secret-id ${k.secretArn}, then ${put}` : put;
  return `${k.apiKeyEnv} (${opts.usedBy}): secret ${k.secretArn} ${what}; every job calling the model would fail. Fix: ${fix}, then submit again`;
}
