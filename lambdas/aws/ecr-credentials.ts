import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ecrRegistry } from '../../core/images/reference';
import type { RegistryAuth, RegistryCredentials } from '../../core/images/registry';

/** A cached token is used until this long before ECR says it expires (tokens last 12 hours). */
const REFRESH_BEFORE_MS = 15 * 60 * 1000;

/**
 * Credentials for pulling task images from ECR (core/images/pull.ts): for an
 * `<account>.dkr.ecr.<region>.amazonaws.com` registry, `AWS` and the token GetAuthorizationToken
 * answers the job's role in that region (Basic auth, as ECR asks), cached until shortly before it
 * expires; any other registry (Docker Hub) is pulled anonymously. The job role needs
 * `ecr:GetAuthorizationToken` and, on the repositories, `ecr:BatchGetImage` and
 * `ecr:GetDownloadUrlForLayer` (infra/constructs/jobs.ts grants them to image jobs).
 */
export function ecrRegistryAuth(clientFor: (region: string) => Pick<ECRClient, 'send'> = (region) => new ECRClient({ region }), now: () => number = Date.now): RegistryAuth {
  const cache = new Map<string, { creds: RegistryCredentials; expiresAt: number }>();
  return async (registry) => {
    const ecr = ecrRegistry(registry);
    if (!ecr) return undefined;
    const hit = cache.get(registry);
    if (hit && hit.expiresAt - REFRESH_BEFORE_MS > now()) return hit.creds;
    let token: string | undefined;
    let expiresAt: Date | undefined;
    try {
      const out = await clientFor(ecr.region).send(new GetAuthorizationTokenCommand({}));
      token = out.authorizationData?.[0]?.authorizationToken;
      expiresAt = out.authorizationData?.[0]?.expiresAt;
    } catch (e) {
      throw new Error(`ECR registry ${registry}: GetAuthorizationToken in ${ecr.region} failed (${(e as Error).name}: ${(e as Error).message}). The image job's role needs ecr:GetAuthorizationToken`);
    }
    const decoded = token ? Buffer.from(token, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error(`ECR registry ${registry}: GetAuthorizationToken answered no usable token`);
    const creds = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    cache.set(registry, { creds, expiresAt: expiresAt?.getTime() ?? now() + REFRESH_BEFORE_MS * 2 });
    return creds;
  };
}
