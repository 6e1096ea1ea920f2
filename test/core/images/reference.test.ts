import { ecrRegistry, parseImageReference } from '../../../core/images/reference';

describe('parseImageReference', () => {
  test.each([
    ['ubuntu', { registry: 'registry-1.docker.io', repository: 'library/ubuntu', tag: 'latest', reference: 'latest' }],
    ['docker.io/library/ubuntu:22.04', { registry: 'registry-1.docker.io', repository: 'library/ubuntu', tag: '22.04', reference: '22.04' }],
    ['swebench/sweb.eval.x86_64.django_1776_django-11099:latest', { registry: 'registry-1.docker.io', repository: 'swebench/sweb.eval.x86_64.django_1776_django-11099', tag: 'latest' }],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/cache/swebench/sweb.eval.x86_64.a:v1', { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'cache/swebench/sweb.eval.x86_64.a', tag: 'v1' }],
    ['localhost:5000/team/img', { registry: 'localhost:5000', repository: 'team/img', tag: 'latest' }],
    [`ghcr.io/o/r:t@sha256:${'a'.repeat(64)}`, { registry: 'ghcr.io', repository: 'o/r', tag: 't', digest: `sha256:${'a'.repeat(64)}`, reference: `sha256:${'a'.repeat(64)}` }],
  ])('%s', (ref, expected) => {
    expect(parseImageReference(ref)).toMatchObject({ ...expected, original: ref });
  });

  test.each([
    ['Ubuntu', /repository "Ubuntu" must be lower-case/],
    ['ubuntu@sha256:abc', /digest "sha256:abc" is not sha256:<64 hex digits>/],
    ['a/../b', /repository "a\/..\/b"/],
    ['ubuntu:bad tag', /whitespace/],
    ['ubuntu:-x', /tag "-x" is not a valid tag/],
  ])('refuses %s', (ref, why) => {
    expect(() => parseImageReference(ref)).toThrow(why);
  });

  test('ECR registries name their account and region; others are not ECR', () => {
    expect(ecrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(ecrRegistry('registry-1.docker.io')).toBeUndefined();
    expect(ecrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example')).toBeUndefined();
  });
});
