import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext, deepMerge, parseConfig, REPO_ROOT } from '../../infra/config';
import { gpuInstanceTypes } from '../../infra/gpu-instances';
import { NO_GENERATED_KEYS, NO_GPU_QUEUE, OUTPUT } from '../../infra/outputs';
import { jobCompute } from '../../infra/compute';
import { cloudDefinition } from './cloud-definition';
import { synthUpliftStack } from './synth-stack';
import { specProblems as problems } from '../support/spec-problems';


describe('stack configuration', () => {
  test('the shipped config file is valid and spells out the defaults: GPU from 0 vCPUs, Fargate CPU, no NAT, data retained', () => {
    const raw: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/uplift.config.json'), 'utf8'));
    const c = parseConfig(raw, 'infra/uplift.config.json');
    expect(c).toMatchObject({
      stackName: 'Uplift',
      vpc: { mode: 'create', natGateways: 0 },
      gpu: { enabled: true, instanceClasses: ['g5', 'g6'], spot: false, gpusPerJob: 1 },
      cpu: { vcpusPerJob: 1, memoryMiBPerJob: 4096 },
      defaultSweepBudgetUsd: 25,
      modelEndpoints: [{ apiKeyEnv: 'OPENAI_API_KEY' }],
      data: { removalPolicy: 'retain' },
    });
    expect(parseConfig({}, 'empty')).toEqual(c);
  });

  test('a bad config names each field, the value received and what is allowed', () => {
    const p = problems(() =>
      parseConfig({ gpu: { instanceClasses: ['g5g'] }, cpu: { vcpusPerJob: 3 }, vpc: { mode: 'import', vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], subnetIds: ['subnet-0123456789abcdef0'] }, extra: 1 }, 'cfg.json'),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^cfg\.json: gpu\.instanceClasses\.0: must be one of g4dn, g5, .*\(received "g5g"\)$/),
        expect.stringMatching(/^cfg\.json: cpu\.vcpusPerJob: must be a Fargate size: .*\(received 3\)$/),
        expect.stringMatching(/^cfg\.json: vpc\.vpcId: must be a VPC id, e\.g\. "vpc-0123456789abcdef0" \(received "vpc-1"\)$/),
        expect.stringMatching(/^cfg\.json: \(top level\): unknown field\(s\) "extra"; remove or rename them$/),
      ]),
    );
    expect(problems(() => parseConfig({ cpu: { vcpusPerJob: 1, memoryMiBPerJob: 1024 } }, 'c'))).toEqual([expect.stringMatching(/cpu\.memoryMiBPerJob: Fargate does not offer 1024 MiB with 1 vCPU \(received 1024\)\. Fix: /)]);
    expect(problems(() => parseConfig({ modelEndpoints: [{ apiKeyEnv: 'A_KEY' }, { apiKeyEnv: 'A_KEY' }] }, 'c'))).toEqual([expect.stringContaining('modelEndpoints.1.apiKeyEnv: "A_KEY" is listed twice')]);
  });

  test('context overrides merge over the file, key by key, from an object or a JSON string', () => {
    expect(deepMerge({ gpu: { spot: false, maxvCpus: 8 }, a: [1] }, { gpu: { spot: true }, a: [2] })).toEqual({ gpu: { spot: true, maxvCpus: 8 }, a: [2] });
    expect(deepMerge({ vpc: { mode: 'create', maxAzs: 2 } }, { vpc: { mode: 'import', vpcId: 'v' } })).toEqual({ vpc: { mode: 'import', vpcId: 'v' } });
    const ctx = (over: unknown) => (k: string) => ({ 'uplift:config': 'infra/uplift.config.json', uplift: over })[k];
    expect(configFromContext(ctx('{"gpu":{"spot":true}}')).config.gpu).toMatchObject({ spot: true, instanceClasses: ['g5', 'g6'] });
    expect(configFromContext(ctx({ defaultSweepBudgetUsd: 5 })).config.defaultSweepBudgetUsd).toBe(5);
    expect(problems(() => configFromContext(ctx('{gpu')))).toEqual([expect.stringMatching(/context uplift: not valid JSON .*Fix: -c uplift='\{"gpu":\{"spot":true\}\}'/)]);
    expect(problems(() => configFromContext((k) => (k === 'uplift:config' ? 'nope.json' : undefined)))).toEqual([expect.stringMatching(/nope\.json does not exist\. Fix: /)]);
  });
});

describe('GPU instance types', () => {
  test('the GPU compute environment pins, per class, the smallest size that runs one job (vCPUs, memory, GPUs), and prices GPU jobs at the dearest of them', () => {
    const job = (vcpusPerJob: number, memoryMiBPerJob: number, gpusPerJob: number, instanceClasses: ('g4dn' | 'g5' | 'g6' | 'g6e' | 'p4d' | 'p5')[]) => gpuInstanceTypes({ instanceClasses, vcpusPerJob, memoryMiBPerJob, gpusPerJob });
    expect(job(4, 14336, 1, ['g5', 'g6'])).toEqual(['g5.xlarge', 'g6.xlarge']);
    // 30000 MiB no longer fits a 16 GiB xlarge; a g6e.xlarge has 32 GiB but 4 vCPUs.
    expect(job(8, 30000, 1, ['g5', 'g6e', 'p4d'])).toEqual(['g5.2xlarge', 'g6e.2xlarge', 'p4d.24xlarge']);
    // Four GPUs: the 4-GPU sizes, not the larger single-GPU ones.
    expect(job(16, 60000, 4, ['g4dn', 'g5'])).toEqual(['g4dn.12xlarge', 'g5.12xlarge']);
    const c = parseConfig({}, 'defaults');
    expect(jobCompute(c).gpu).toEqual({ kind: 'ec2', instanceTypes: ['g5.xlarge', 'g6.xlarge'] });
    expect(jobCompute(parseConfig({ gpu: { enabled: false } }, 'no-gpu')).gpu).toEqual(jobCompute(c).cpu);
  });

  test('a GPU class with no size that runs one job is refused, naming the class and the fix', () => {
    expect(problems(() => parseConfig({ gpu: { instanceClasses: ['g5', 'p5'], vcpusPerJob: 192, memoryMiBPerJob: 1_000_000 } }, 'c'))).toEqual([
      'c: gpu.instanceClasses: no g5 instance runs a job of 192 vCPU, 1000000 MiB and 1 GPU(s) (received "g5"). Fix: remove it, pick a larger class, or lower gpu.vcpusPerJob / memoryMiBPerJob / gpusPerJob',
    ]);
    expect(() => parseConfig({ gpu: { enabled: false, instanceClasses: ['g5'], vcpusPerJob: 192, memoryMiBPerJob: 1_000_000 } }, 'c')).not.toThrow();
  });
});

describe('a stack with an imported VPC, no GPU or images queue, Fargate Spot and an existing secret', () => {
  const overrides = {
    vpc: { mode: 'import', vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] },
    gpu: { enabled: false },
    images: { enabled: false },
    cpu: { spot: true },
    modelEndpoints: [{ apiKeyEnv: 'OPENAI_API_KEY', secretName: 'team/openai' }],
  };
  let synth: ReturnType<typeof synthUpliftStack>;
  beforeAll(() => {
    synth = synthUpliftStack(overrides, { region: 'eu-west-1', account: '123456789012' });
  });

  test('runs jobs in the given subnets on Fargate Spot, with no GPU resources and no GPU branch', () => {
    const { template } = synth;
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::Batch::ComputeEnvironment', 1);
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ Type: 'FARGATE_SPOT', Subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] }) });
    template.resourceCountIs('AWS::Batch::JobDefinition', 2);
    template.hasResourceProperties('AWS::Batch::JobDefinition', { ContainerProperties: Match.objectLike({ NetworkConfiguration: { AssignPublicIp: 'DISABLED' } }) });
    expect(template.toJSON().Outputs[OUTPUT.gpuQueue].Value).toBe(NO_GPU_QUEUE);
    // The stack generated no secret value: submit has no placeholder to check.
    expect(template.toJSON().Outputs[OUTPUT.generatedApiKeys].Value).toBe(NO_GENERATED_KEYS);
    expect(template.toJSON().Outputs[OUTPUT.imagesQueue]).toBeUndefined();
    const states = JSON.stringify(cloudDefinition(template.toJSON() as never));
    expect(states).not.toContain('Gpu');
    expect(states).not.toContain('Image');
  });

  test('uses the existing secret, readable by the CPU execution role only (no GPU queue), and passes cdk-nag', () => {
    const { template, stack, app } = synth;
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const readers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p).includes('secretsmanager:GetSecretValue'));
    expect(readers.map(([, p]) => JSON.stringify(p))).toEqual([expect.stringContaining('secret:team/openai')]);
    expect(JSON.stringify(readers[0][1])).toContain(stack.getLogicalId(stack.jobs.cpuExecutionRole.node.defaultChild as never));
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
