import { BatchClient, DescribeJobDefinitionsCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { mockClient } from 'aws-sdk-client-mock';
import { imageJobDefinitionName, imageJobs } from '../../../core/sweep/image-jobs';
import { BatchJobDefinitions, IMAGE_TAG, type ImageJobTemplate } from '../../../lambdas/aws/batch-job-definitions';

const template: ImageJobTemplate = {
  prefix: 'Uplift',
  request: {
    type: 'container',
    platformCapabilities: ['EC2'],
    ecsProperties: { taskProperties: [{ containers: [{ name: 'environment', image: '{{image}}', essential: false }, { name: 'harness', image: 'acct.dkr.ecr/uplift:1', essential: true }] }] },
  },
};

describe('image job definitions in AWS Batch', () => {
  const batch = mockClient(BatchClient);
  beforeEach(() => batch.reset());

  test('a missing definition is registered from the template with the image in place and tagged; the next ask reuses it without a call', async () => {
    batch.on(DescribeJobDefinitionsCommand).resolves({ jobDefinitions: [] });
    batch.on(RegisterJobDefinitionCommand).resolves({ jobDefinitionArn: 'arn:aws:batch:eu-west-1:1:job-definition/x:1', jobDefinitionName: 'x', revision: 1 });
    const defs = new BatchJobDefinitions(new BatchClient({ region: 'eu-west-1' }), template);
    const image = 'swebench/sweb.eval.x86_64.django_1776_django-11099:latest';
    expect(await defs.ensure(image)).toBe('arn:aws:batch:eu-west-1:1:job-definition/x:1');
    expect(await defs.ensure(image)).toBe('arn:aws:batch:eu-west-1:1:job-definition/x:1');
    const reg = batch.commandCalls(RegisterJobDefinitionCommand);
    expect(reg).toHaveLength(1);
    const input = reg[0].args[0].input;
    expect(input.jobDefinitionName).toMatch(/^Uplift-img-[0-9a-f]{24}$/);
    expect(input.tags).toEqual({ [IMAGE_TAG]: image });
    const containers = input.ecsProperties?.taskProperties?.[0].containers ?? [];
    expect(containers.map((c) => c.image)).toEqual([image, 'acct.dkr.ecr/uplift:1']);
    expect(batch.commandCalls(DescribeJobDefinitionsCommand)).toHaveLength(1);
  });

  test('an ACTIVE definition of the same name and image is reused (latest revision); nothing is registered', async () => {
    const image = 'example.org/env/a:1';
    batch.on(DescribeJobDefinitionsCommand).resolves({
      jobDefinitions: [
        { jobDefinitionName: 'n', jobDefinitionArn: 'arn:…/n:1', revision: 1, type: 'container', tags: { [IMAGE_TAG]: image } },
        { jobDefinitionName: 'n', jobDefinitionArn: 'arn:…/n:3', revision: 3, type: 'container', tags: { [IMAGE_TAG]: image } },
        { jobDefinitionName: 'n', jobDefinitionArn: 'arn:…/n:4', revision: 4, type: 'container', tags: { [IMAGE_TAG]: 'example.org/env/other:1' } },
      ],
    });
    const defs = new BatchJobDefinitions(new BatchClient({ region: 'eu-west-1' }), template);
    expect(await defs.ensure(image)).toBe('arn:…/n:3');
    expect(batch.commandCalls(RegisterJobDefinitionCommand)).toHaveLength(0);
  });

  test('an image reference with shell or JSON characters is refused before any Batch call, naming the fix', async () => {
    const defs = new BatchJobDefinitions(new BatchClient({ region: 'eu-west-1' }), template);
    for (const bad of ['a b', 'x"}],"privileged":true,"y":{"', '$(curl evil)', ''])
      await expect(defs.ensure(bad)).rejects.toThrow(/not an image reference Batch can pull .* Fix the task's "image"/);
    expect(batch.calls()).toHaveLength(0);
  });

  test('the name covers the image and the template: a redeployed stack (new harness) registers afresh', () => {
    const a = imageJobDefinitionName('Uplift', 'img:1', 'fp1');
    expect(imageJobDefinitionName('Uplift', 'img:1', 'fp1')).toBe(a);
    expect(imageJobDefinitionName('Uplift', 'img:2', 'fp1')).not.toBe(a);
    expect(imageJobDefinitionName('Uplift', 'img:1', 'fp2')).not.toBe(a);
  });
});

describe('the shard jobs of an image run', () => {
  test('job i runs task i mod shards with that task\'s definition; each distinct image is ensured once', async () => {
    const asked: string[] = [];
    const registry = { ensure: (image: string) => (asked.push(image), Promise.resolve(`def:${image}`)) };
    const jobs = await imageJobs(['a', 'b', 'a'], 6, registry);
    expect(jobs).toEqual([
      { index: 0, jobDefinition: 'def:a' },
      { index: 1, jobDefinition: 'def:b' },
      { index: 2, jobDefinition: 'def:a' },
      { index: 3, jobDefinition: 'def:a' },
      { index: 4, jobDefinition: 'def:b' },
      { index: 5, jobDefinition: 'def:a' },
    ]);
    expect(asked).toEqual(['a', 'b']);
  });
});
