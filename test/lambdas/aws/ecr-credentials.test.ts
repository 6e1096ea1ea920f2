import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { ecrRegistryAuth } from '../../../lambdas/aws/ecr-credentials';

describe('ecrRegistryAuth', () => {
  const ecr = mockClient(ECRClient);
  beforeEach(() => ecr.reset());

  test('an ECR registry gets AWS and the token of its region, cached until shortly before it expires; other registries are anonymous', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const regions: string[] = [];
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: Buffer.from('AWS:secret:with:colons').toString('base64'), expiresAt: new Date(now + 12 * 3600_000) }] });
    const auth = ecrRegistryAuth((region) => (regions.push(region), new ECRClient({ region })), () => now);
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    await expect(auth(host)).resolves.toEqual({ username: 'AWS', password: 'secret:with:colons' });
    await expect(auth(host)).resolves.toEqual({ username: 'AWS', password: 'secret:with:colons' });
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
    expect(regions).toEqual(['eu-west-1']);
    now += 12 * 3600_000 - 60_000; // a minute before it expires: asked again
    await auth(host);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
    await expect(auth('registry-1.docker.io')).resolves.toBeUndefined();
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  test('a refused call names the registry and the permission the job role needs', async () => {
    ecr.on(GetAuthorizationTokenCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const auth = ecrRegistryAuth((region) => new ECRClient({ region }));
    await expect(auth('123456789012.dkr.ecr.us-east-1.amazonaws.com')).rejects.toThrow(
      'ECR registry 123456789012.dkr.ecr.us-east-1.amazonaws.com: GetAuthorizationToken in us-east-1 failed (AccessDeniedException: not authorized). The image job\'s role needs ecr:GetAuthorizationToken',
    );
  });
});
