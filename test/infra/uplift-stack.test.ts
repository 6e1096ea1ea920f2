import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { LEADERBOARD_INDEX } from '../../lambdas/aws/dynamo-score-store';
import { assetKey, datasetPrefix } from '../../core/cbm/dataset';
import { curvePrefix, roleOutputPrefix, runTasksKey, shardOutputKey, shardTranscriptKey, shardUsageKey, tlaKey } from '../../core/sweep/outputs';
import { STEP_HANDLERS } from '../../infra/constructs/functions';
import { IMAGE_JOB_COMMAND, JOB_COMMANDS, TLA_DENIED_KEYS, TLA_WRITE_KEYS, WEIGHTS_KEYS } from '../../infra/constructs/jobs';
import { weightsKey, weightsMarkerKey } from '../../core/models/bundle-weights';
import { MODEL_UPLOAD_KEY_PATTERN } from '../../infra/constructs/model-upload-trigger';
import { OUTPUT } from '../../infra/outputs';
import type { UpliftStack } from '../../infra/uplift-stack';
import type { App } from 'aws-cdk-lib';
import { cloudDefinition } from './cloud-definition';
import { synthUpliftStack } from './synth-stack';

let app: App;
let stack: UpliftStack;
let template: Template;
beforeAll(() => {
  ({ app, stack, template } = synthUpliftStack());
});

const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown };
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
/** Every statement of the IAM policies attached to a role. */
function statementsOf(roleId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }[];
  return policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId)).flatMap((p) => p.Properties.PolicyDocument.Statement);
}
/** S3 object-key patterns a role may (or, with `effect: 'Deny'`, may never) touch, as `<prefix>` strings (bucket ARN placeholders stripped). */
function s3Prefixes(roleId: string, effect: 'Allow' | 'Deny' = 'Allow'): string[] {
  const bucket = id(stack.storage.bucket);
  return statementsOf(roleId)
    .filter((s) => s.Effect === effect && actions(s).some((a) => a.startsWith('s3:')))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map((r) => JSON.stringify(r))
    .filter((r) => r.includes('/'))
    .map((r) => {
      expect(r).toContain(bucket);
      return /"\/([^"]*)"/.exec(r)?.[1] ?? r;
    });
}

describe('storage', () => {
  test('the artifacts bucket is encrypted, versioned, private, TLS-only, logged, and sends EventBridge notifications', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: id(stack.storage.accessLogs) }, LogFilePrefix: 'artifacts/' },
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: { Ref: id(stack.storage.bucket) }, NotificationConfiguration: { EventBridgeConfiguration: {} } });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id(stack.storage.bucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('lifecycle rules move large sweep outputs (shards, transcripts) to Standard-IA and expire old versions and map results', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'sweep-outputs', Prefix: 'sweeps/', ObjectSizeGreaterThan: 131072, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], Status: 'Enabled' }),
          Match.objectLike({ Id: 'map-results', Prefix: 'map-results/', ExpirationInDays: 30 }),
          Match.objectLike({ Id: 'noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
        ]),
      },
    });
  });

  test('the table is on demand with point-in-time recovery, encrypted, keyed pk/sk with the byCbm GSI (README, Architecture)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEADERBOARD_INDEX,
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });
});

describe('AWS Batch', () => {
  test('the GPU compute environment launches pinned NVIDIA instance types from 0 vCPUs, on the GPU AMI, with an encrypted root volume and IMDSv2', () => {
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({
        Type: 'EC2',
        MinvCpus: 0,
        MaxvCpus: 32,
        // The smallest size of each configured class that runs one job (4 vCPU, 14 GiB, 1 GPU): never a bare family.
        InstanceTypes: ['g5.xlarge', 'g6.xlarge'],
        Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }],
        LaunchTemplate: { LaunchTemplateId: { Ref: Match.stringLikeRegexp('GpuLaunchTemplate') } },
      }),
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 200, VolumeType: 'gp3' } }],
        MetadataOptions: { HttpPutResponseHopLimit: 1, HttpTokens: 'required' },
      }),
    });
  });

  test('the CPU compute environment is Fargate; each environment has its own queue that cancels jobs it can never run', () => {
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', { Type: 'managed', ComputeResources: Match.objectLike({ Type: 'FARGATE', MaxvCpus: 64 }) });
    template.resourceCountIs('AWS::Batch::ComputeEnvironment', 3);
    template.resourceCountIs('AWS::Batch::JobQueue', 3);
    for (const env of [stack.jobs.cpu, stack.jobs.gpu!]) {
      template.hasResourceProperties('AWS::Batch::JobQueue', {
        ComputeEnvironmentOrder: [{ ComputeEnvironment: { 'Fn::GetAtt': [Match.stringLikeRegexp(env === stack.jobs.cpu ? 'CpuCompute' : 'GpuCompute'), 'ComputeEnvironmentArn'] }, Order: 1 }],
        JobStateTimeLimitActions: Match.arrayWith([Match.objectLike({ Reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', Action: 'CANCEL' })]),
      });
    }
  });

  test('ra-shard and tla-sandbox exist in a GPU flavour (requests one GPU, runs the vLLM launcher) and a CPU flavour (Fargate), both with the API keys; TLA jobs have their own roles', () => {
    template.resourceCountIs('AWS::Batch::JobDefinition', 4);
    const spot = { Attempts: 3, EvaluateOnExit: [{ Action: 'RETRY', OnStatusReason: 'Host EC2*' }, { Action: 'RETRY', OnStatusReason: 'Your Spot Task was interrupted*' }, { Action: 'EXIT', OnReason: '*' }] };
    const secrets = [{ Name: 'OPENAI_API_KEY', ValueFrom: { Ref: id(stack.jobs.apiKeys[0].secret) } }];
    for (const [job, timeout] of [
      ['raShard', 3600],
      ['tlaSandbox', 14400],
    ] as const) {
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        PlatformCapabilities: ['EC2'],
        ContainerProperties: Match.objectLike({
          Command: [...JOB_COMMANDS.gpu[job]],
          // One GPU per job: ECS hands the job its own device (NVIDIA_VISIBLE_DEVICES).
          ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
          JobRoleArn: { 'Fn::GetAtt': [id(job === 'tlaSandbox' ? stack.jobs.gpuTlaJobRole : stack.jobs.gpuJobRole), 'Arn'] },
          ExecutionRoleArn: { 'Fn::GetAtt': [id(stack.jobs.gpuExecutionRole), 'Arn'] },
          MountPoints: [{ ContainerPath: '/models-cache', SourceVolume: 'model-cache' }],
          Secrets: secrets,
        }),
        RetryStrategy: spot,
        Timeout: { AttemptDurationSeconds: timeout + 1800 },
      });
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        PlatformCapabilities: ['FARGATE'],
        ContainerProperties: Match.objectLike({
          Command: [...JOB_COMMANDS.cpu[job]],
          ResourceRequirements: [
            { Type: 'MEMORY', Value: '4096' },
            { Type: 'VCPU', Value: '1' },
          ],
          Secrets: secrets,
          JobRoleArn: { 'Fn::GetAtt': [id(job === 'tlaSandbox' ? stack.jobs.cpuTlaJobRole : stack.jobs.cpuJobRole), 'Arn'] },
          NetworkConfiguration: { AssignPublicIp: 'ENABLED' },
        }),
        RetryStrategy: spot,
        Timeout: { AttemptDurationSeconds: timeout },
      });
    }
  });

  test('tasks that name a container image: an EC2 images queue from 0 vCPUs, PlanRun registers a job definition per image from a template (one harness container that pulls the image itself and runs ra-shard in bwrap; the image never runs), and the state machine submits them', () => {
    const images = stack.jobs.images!;
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({ Type: 'EC2', MinvCpus: 0, MaxvCpus: 64, InstanceTypes: ['m6i.xlarge'], Ec2Configuration: [{ ImageType: 'ECS_AL2023' }] }),
    });
    // AWS Batch cannot override a job's image at submit time: no static definition for it; PlanRun registers one per image.
    template.resourceCountIs('AWS::Batch::JobDefinition', 4);
    const planRun = template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler', Description: Match.stringLikeRegexp('PlanRun') } });
    const env = (Object.values(planRun)[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    // The template is a JSON string with the stack's ARNs joined in; resolved, it is the one the construct holds.
    expect(JSON.stringify(env.UPLIFT_IMAGE_JOB_TEMPLATE)).toContain('{{image}}');
    const t = images.template.request as unknown as { ecsProperties: { taskProperties: { containers: Record<string, unknown>[]; volumes?: unknown[]; taskRoleArn: unknown }[] }; platformCapabilities: string[] };
    expect(t.platformCapabilities).toEqual(['EC2']);
    const task = t.ecsProperties.taskProperties[0];
    // One container, the harness: the task's image is never a container of the job (its code would run with the job's role).
    expect(task.containers).toHaveLength(1);
    expect(task.volumes).toBeUndefined();
    const [harness] = task.containers;
    expect(harness).toEqual(
      expect.objectContaining({
        name: 'harness',
        essential: true,
        command: [...IMAGE_JOB_COMMAND],
        privileged: true,
        user: '0',
        environment: expect.arrayContaining([{ name: 'UPLIFT_SANDBOX_MIN', value: 'bwrap' }, { name: 'UPLIFT_TASK_IMAGE', value: '{{image}}' }]),
      }),
    );
    expect(JSON.stringify(harness.image)).not.toContain('{{image}}');
    expect(JSON.stringify(harness.environment)).not.toContain('UPLIFT_TASK_ROOT');
    expect(harness).not.toHaveProperty('mountPoints');
    expect(harness).not.toHaveProperty('dependsOn');
    // The placeholder appears once: the harness's UPLIFT_TASK_IMAGE.
    expect(JSON.stringify(images.template).split('{{image}}')).toHaveLength(2);
    // The harness's own role pulls from this account's ECR; the execution role only starts the harness.
    expect(task.taskRoleArn).toEqual(stack.jobs.imagesJobRole!.roleArn);
    const jobSt = statementsOf(id(stack.jobs.imagesJobRole!));
    expect(jobSt.find((x) => x.Sid === 'TaskImagesEcrToken')).toMatchObject({ Action: 'ecr:GetAuthorizationToken', Resource: '*' });
    expect(jobSt.find((x) => x.Sid === 'TaskImagesEcrPull')).toMatchObject({ Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] });
    expect(JSON.stringify(jobSt.find((x) => x.Sid === 'TaskImagesEcrPull')?.Resource)).toContain(':repository/*');
    expect(statementsOf(id(stack.jobs.imagesExecutionRole!)).filter((x) => JSON.stringify(x.Resource).includes('repository/*'))).toEqual([]);
    // Its S3 access is a shard job's: inputs, and writes under sweeps/ only.
    expect(s3Prefixes(id(stack.jobs.imagesJobRole!))).toEqual(s3Prefixes(id(stack.jobs.cpuJobRole)));
    expect(JSON.stringify(harness.secrets)).toContain('OPENAI_API_KEY');
    // PlanRun may describe, register and tag <stack>-img-* definitions and pass exactly the two roles they name.
    const planRunRole = (Object.values(planRun)[0] as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } }).Properties.Role['Fn::GetAtt'][0];
    const st = statementsOf(planRunRole);
    expect(st.find((x) => x.Sid === 'RegisterImageJobDefinitions')?.Resource).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':batch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':job-definition/Uplift-img-*']] });
    const passed = st.find((x) => x.Sid === 'PassImageJobRoles')?.Resource as { 'Fn::GetAtt': [string, string] }[];
    expect(passed.map((r) => r['Fn::GetAtt'][0]).sort()).toEqual([id(stack.jobs.imagesJobRole!), id(stack.jobs.imagesExecutionRole!)].sort());
    expect(images.passRoles.map((r) => id(r)).sort()).toEqual([id(stack.jobs.imagesJobRole!), id(stack.jobs.imagesExecutionRole!)].sort());
    // The state machine submits image jobs to the images queue with the job definition PlanRun chose.
    const def = JSON.stringify(cloudDefinition(template.toJSON() as never));
    expect(def).toContain('"JobDefinition.$":"$.job.jobDefinition"');
    expect(def).toContain('"ItemsPath":"$.run.mraImageJobs"');
    expect(template.toJSON().Outputs[OUTPUT.imagesQueue].Value).toEqual({ 'Fn::GetAtt': [id(images.queue), 'JobQueueArn'] });
  });

  test('the GPU job definitions request the job\'s GPUs and require the bwrap sandbox, which passes exactly those devices to each agent (core/sandbox/devices.ts)', () => {
    for (const job of ['raShard', 'tlaSandbox'] as const)
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        ContainerProperties: Match.objectLike({
          Command: [...JOB_COMMANDS.gpu[job]],
          ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
          Privileged: true,
          Environment: Match.arrayWith([{ Name: 'UPLIFT_SANDBOX_MIN', Value: 'bwrap' }]),
        }),
      });
    // NVIDIA_VISIBLE_DEVICES is ECS's to set (the job's own GPUs): no job definition overrides it.
    expect(JSON.stringify(template.findResources('AWS::Batch::JobDefinition'))).not.toContain('NVIDIA_VISIBLE_DEVICES');
  });

  test('both images are built from batch-images/ Dockerfiles as image assets (no Docker needed to synthesize)', () => {
    const images = Object.values(template.findResources('AWS::Batch::JobDefinition')).map((r) => JSON.stringify((r as { Properties: { ContainerProperties: { Image: unknown } } }).Properties.ContainerProperties.Image));
    expect(new Set(images).size).toBe(2);
    for (const i of images) expect(i).toContain('container-assets');
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { dockerFile: string; platform: string } }> };
    expect(Object.values(manifest.dockerImages).map((d) => d.source).sort((a, b) => a.dockerFile.localeCompare(b.dockerFile))).toEqual([
      { directory: expect.any(String), dockerFile: 'batch-images/Dockerfile.cpu', platform: 'linux/amd64' },
      { directory: expect.any(String), dockerFile: 'batch-images/Dockerfile.gpu', platform: 'linux/amd64' },
    ]);
  });
});

describe('Lambdas and the state machine', () => {
  test('the six step Lambdas run lambdas/*.ts on Node.js 22 with UPLIFT_BUCKET and UPLIFT_TABLE', () => {
    const env = { UPLIFT_BUCKET: { Ref: id(stack.storage.bucket) }, UPLIFT_TABLE: { Ref: id(stack.storage.table) } };
    const resources = template.toJSON().Resources as Record<string, { Properties: unknown }>;
    expect(Object.keys(STEP_HANDLERS).sort()).toEqual(Object.keys(stack.steps).sort());
    for (const fn of Object.values(stack.steps))
      expect(resources[id(fn)].Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Environment: { Variables: env }, TracingConfig: { Mode: 'Active' } });
  });

  test('the state machine uses a Distributed Map over sweeps/<id>/runs.json with results in S3, Batch array jobs for shards, and logs everything', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
      TracingConfiguration: { Enabled: true },
    });
    const def = cloudDefinition(template.toJSON() as never) as unknown as { States: Record<string, Record<string, unknown>> };
    const runs = def.States.Runs as { ItemReader: unknown; ResultWriter: unknown; ItemProcessor: { ProcessorConfig: unknown; States: Record<string, { Resource?: string; Parameters?: Record<string, unknown> }> } };
    const bucket = `\${${id(stack.storage.bucket)}}`;
    expect(runs.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: bucket, 'Key.$': '$.sweep.itemsKey' } });
    expect(runs.ResultWriter).toEqual({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: bucket, Prefix: 'map-results' } });
    expect(runs.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    for (const s of ['BaselineShards', 'MraShards', 'BaselineShardsGpu', 'MraShardsGpu']) {
      expect(runs.ItemProcessor.States[s].Resource).toBe('arn:aws:states:::batch:submitJob.sync');
      // Baseline: one child per shard; MRA: also the budget-curve children (PlanRun's mraJobs).
      expect(runs.ItemProcessor.States[s].Parameters?.ArrayProperties).toEqual({ 'Size.$': s.startsWith('Mra') ? '$.run.mraJobs' : '$.run.shards' });
    }
    expect(runs.ItemProcessor.States.MraShardsGpu.Parameters?.JobQueue).toBe(`\${${id(stack.jobs.gpu!.queue)}.JobQueueArn}`);
    expect(runs.ItemProcessor.States.MraShards.Parameters?.JobQueue).toBe(`\${${id(stack.jobs.cpu.queue)}.JobQueueArn}`);
  });
});

describe('model uploads', () => {
  test('an EventBridge rule sends Object Created events of models/<…>/uplift-model.json in the artifacts bucket to the ModelUpload Lambda, with retries and a dead-letter queue', () => {
    expect(MODEL_UPLOAD_KEY_PATTERN).toBe('models/*/uplift-model.json');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ Ref: id(stack.storage.bucket) }] }, object: { key: [{ wildcard: 'models/*/uplift-model.json' }] } } },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [id(stack.modelUploads.function), 'Arn'] },
          Id: Match.anyValue(),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(stack.modelUploads.deadLetterQueue), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Environment: { Variables: Match.objectLike({ UPLIFT_BUCKET: { Ref: id(stack.storage.bucket) }, UPLIFT_TABLE: { Ref: id(stack.storage.table) }, UPLIFT_STATE_MACHINE_ARN: { Ref: id(stack.pipeline.stateMachine) } }) },
    });
  });

  test('a failed ModelUpload invocation (EventBridge invokes it asynchronously) is retried, then lands in the same dead-letter queue, which an alarm watches', () => {
    const dlq = stack.modelUploads.deadLetterQueue;
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(stack.modelUploads.function) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [id(dlq), 'Arn'] } } },
    });
    // The function's role may send the failure record there.
    expect(statementsOf(id(stack.modelUploads.function.role!)).some((s) => actions(s).includes('sqs:SendMessage') && JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [id(dlq), 'Arn'] }))).toBe(true);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(dlq), 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: id(stack.monitoring.topic) }],
    });
  });

  test('the ModelUpload Lambda may start executions of the Uplift state machine and nothing else in Step Functions', () => {
    const sfnStatements = statementsOf(id(stack.modelUploads.function.role!)).filter((s) => actions(s).some((a) => a.startsWith('states:')));
    expect(sfnStatements).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: id(stack.pipeline.stateMachine) } }]);
    expect([...new Set(s3Prefixes(id(stack.modelUploads.function.role!)))].sort()).toEqual(['models/*', 'sweeps/*', 'templates/*']);
  });
});

describe('secrets and IAM scoping', () => {
  test('model API keys are in Secrets Manager and readable only by the jobs\' execution roles, CPU, GPU and images', () => {
    const secretId = id(stack.jobs.apiKeys[0].secret);
    const execRoles = [stack.jobs.cpuExecutionRole, stack.jobs.gpuExecutionRole, stack.jobs.imagesExecutionRole!];
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('OPENAI_API_KEY') });
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: secretId },
      ResourcePolicy: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'secretsmanager:GetSecretValue', Condition: { StringNotEquals: { 'aws:PrincipalArn': execRoles.map((r) => ({ 'Fn::GetAtt': [id(r), 'Arn'] })) } } }),
        ],
      },
    });
    const readers = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p).includes('secretsmanager:GetSecretValue'))
      .flatMap((p) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.map((r) => r.Ref));
    expect(readers.sort()).toEqual(execRoles.map(id).sort());
    for (const role of execRoles)
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: id(role) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: Match.arrayWith(['secretsmanager:GetSecretValue']), Resource: { Ref: secretId } })]) },
      });
  });

  test('TLA jobs have roles of their own that can never read a test split, nor what runs learnt on it: an explicit Deny on test splits, test shard outputs, per-task views and reports', () => {
    const bucketArn = { 'Fn::GetAtt': [id(stack.storage.bucket), 'Arn'] };
    for (const role of [stack.jobs.cpuTlaJobRole, stack.jobs.gpuTlaJobRole]) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: id(role) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'TlaJobsNeverReadTestSplits', Effect: 'Deny', Action: 's3:GetObject*', Resource: Match.arrayWith([{ 'Fn::Join': ['', [bucketArn, '/datasets/*/assets/test/*']] }, { 'Fn::Join': ['', [bucketArn, '/datasets/*/test.jsonl']] }]) }),
          ]),
        },
      });
      // denied for reads and for writes
      expect(s3Prefixes(id(role), 'Deny').sort()).toEqual([...TLA_DENIED_KEYS, ...TLA_DENIED_KEYS].sort());
      const denyWrites = statementsOf(id(role)).find((st) => st.Effect === 'Deny' && actions(st).includes('s3:PutObject*'));
      expect(actions(denyWrites as never).sort()).toEqual(['s3:DeleteObject*', 's3:PutObject*']);
      // …nor list the bucket (a listing names hidden test assets and their sizes), but for staged model weights.
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: id(role) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'TlaJobsListOnlyModelWeights', Effect: 'Deny', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: bucketArn, Condition: { StringNotLike: { 's3:prefix': ['models/*', 'weights/*'] } } }),
          ]),
        },
      });
    }
    // The ra-shard roles list shard outputs to settle a failed run: no such Deny there.
    for (const role of [stack.jobs.cpuJobRole, stack.jobs.gpuJobRole]) expect(statementsOf(id(role)).some((st) => st.Effect === 'Deny')).toBe(false);
    // The ra-shard roles score MRAs on the test split: no Deny there.
    for (const role of [stack.jobs.cpuJobRole, stack.jobs.gpuJobRole]) expect(s3Prefixes(id(role), 'Deny')).toEqual([]);
    // IAM's `*` matches any characters, `/` included: the Deny covers every test split of the S3 layout and nothing else.
    const iamMatches = (pattern: string, key: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.?+^$()[\]{}|\\]/g, '\\$&')).join('.*')}$`).test(key);
    const denied = (key: string) => TLA_DENIED_KEYS.some((p) => iamMatches(p, key));
    expect(denied('datasets/tai-safety/0123456789abcdef/test.jsonl')).toBe(true);
    expect(denied('datasets/a/b/c/test.jsonl')).toBe(true);
    // The keys staging writes test tasks' hidden assets to (core/cbm/dataset.ts), e.g. CIFAR-10's test labels.
    expect(denied(assetKey(datasetPrefix('cifar10', '0123456789abcdef'), 'test', 'a'.repeat(64)))).toBe(true);
    // What runs learnt on the test split: shard outputs of the baseline, the MRA and the budget curve, the per-task view, the reports.
    const [sw, run] = ['tai-demo-20260101-000000-abcd', 'baseline-search-classifier-tai-safety-simple-s1'];
    for (const key of [
      shardOutputKey(roleOutputPrefix(sw, run, 'baseline'), 0),
      shardUsageKey(roleOutputPrefix(sw, run, 'mra'), 3),
      shardTranscriptKey(curvePrefix(sw, run, 2), 0),
      runTasksKey(sw, run),
      `sweeps/${sw}/report/index.html`,
      `sweeps/${sw}/report/results.json`,
    ])
      expect({ key, denied: denied(key) }).toEqual({ key, denied: true });
    // …but not what the TLA job reads or writes itself (its run's plan, its checkpoints, its MRA and curve plan), even for a TLA named "baseline-search"
    for (const key of [
      'datasets/tai-safety/0123456789abcdef/dev.jsonl',
      'datasets/tai-safety/0123456789abcdef/labels.json',
      'agents/0123456789abcdef.tar.gz',
      assetKey(datasetPrefix('cifar10', '0123456789abcdef'), 'dev', 'a'.repeat(64)),
      `sweeps/${sw}/plan.json`,
      tlaKey(sw, run, 'mra.tar.gz'),
      tlaKey(sw, run, 'curve.json'),
      tlaKey(sw, run, 'transcript.jsonl'),
      `sweeps/${sw}/runs/${run}/tla/checkpoints/3.tar.gz`,
    ])
      expect({ key, denied: denied(key) }).toEqual({ key, denied: false });
  });

  test('job roles reach only their prefixes of the artifacts bucket; only GPU jobs read models/; TLA jobs stage MRA weights that GPU shard jobs read', () => {
    const prefixes = (role: IConstruct) => [...new Set(s3Prefixes(id(role)))].filter((p) => p !== TLA_WRITE_KEYS).sort();
    expect(prefixes(stack.jobs.cpuJobRole)).toEqual(['agents/*', 'datasets/*', 'sweeps/*']);
    expect(prefixes(stack.jobs.cpuTlaJobRole)).toEqual(['agents/*', 'datasets/*', 'sweeps/*', 'weights/*']);
    for (const role of [stack.jobs.gpuJobRole, stack.jobs.gpuTlaJobRole]) expect(prefixes(role)).toEqual(['agents/*', 'datasets/*', 'models/*', 'sweeps/*', 'weights/*']);
    // Where core/models/bundle-weights.ts stages them (files and marker).
    for (const key of [weightsKey('a'.repeat(64)) + 'model.safetensors', weightsMarkerKey('a'.repeat(64))]) expect(key.startsWith(WEIGHTS_KEYS.slice(0, -1))).toBe(true);
    for (const role of [stack.jobs.cpuTlaJobRole, stack.jobs.gpuTlaJobRole]) {
      const puts = statementsOf(id(role)).filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject'));
      expect(puts.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map((r) => /"\/([^"]*)"/.exec(JSON.stringify(r))?.[1]).sort()).toEqual([TLA_WRITE_KEYS, WEIGHTS_KEYS].sort());
    }
    // Shard jobs write their outputs anywhere under sweeps/; TLA jobs only under their run's tla/.
    for (const [role, where] of [[stack.jobs.cpuJobRole, '/sweeps/*'], [stack.jobs.gpuJobRole, '/sweeps/*'], [stack.jobs.cpuTlaJobRole, `/${TLA_WRITE_KEYS}`], [stack.jobs.gpuTlaJobRole, `/${TLA_WRITE_KEYS}`]] as const) {
      const writes = statementsOf(id(role)).filter((s) => actions(s).includes('s3:PutObject'));
      expect(writes.filter((s) => s.Effect === 'Allow').map((s) => /"\/([^"]*)"/.exec(JSON.stringify(s.Resource))?.[1])).toEqual([where.slice(1)]);
      expect(statementsOf(id(role)).some((s) => actions(s).some((a) => a.startsWith('dynamodb:') || a.startsWith('secretsmanager:')))).toBe(false);
    }
  });

  test('the step Lambdas read datasets/ and sweeps/, write sweeps/, and use the table; no policy in the stack grants a service-wide wildcard action', () => {
    for (const fn of Object.values(stack.steps)) {
      expect([...new Set(s3Prefixes(id(fn.role!)))].sort()).toEqual(['datasets/*', 'sweeps/*']);
      expect(statementsOf(id(fn.role!)).some((s) => actions(s).includes('dynamodb:UpdateItem'))).toBe(true);
    }
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    for (const s of all) for (const a of actions(s)) expect(a).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
  });
});

describe('alarms and outputs', () => {
  test('alarms fire on failed or timed-out executions, on a budget ledger overrun and on model uploads that could not start, to one SNS topic', () => {
    const topic = { Ref: id(stack.monitoring.topic) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut' }), Match.objectLike({ Id: 'failed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed' }) }) })]),
      Threshold: 1,
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Uplift', MetricName: 'BudgetOverrunUsd', Dimensions: [{ Name: 'Stack', Value: stack.stackName }], Statistic: 'Maximum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, AlarmActions: [topic] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', AlarmActions: [topic] });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(stack.storage.table), 'StreamArn'] },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { sk: { S: ['BUDGET'] } } } }) }] },
    });
  });

  test('the stack outputs everything the CLI reads, including which API key secrets it generated (the ones submit checks)', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.values(OUTPUT).sort());
    expect(outputs[OUTPUT.generatedApiKeys].Value).toBe('OPENAI_API_KEY');
    expect(JSON.stringify(outputs[OUTPUT.apiKeySecrets].Value)).toContain(id(stack.jobs.apiKeys[0].secret));
  });
});

describe('cdk-nag', () => {
  test('AwsSolutions checks pass, and every acknowledged finding carries a written reason', () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    const acks: { id: string; reason: string }[] = [];
    const walk = (c: IConstruct) => {
      for (const m of c.node.metadata) if (m.type === 'aws:cdk:acknowledged-rules') for (const [ruleId, reason] of Object.entries(m.data as Record<string, string>)) acks.push({ id: ruleId, reason });
      c.node.children.forEach(walk);
    };
    walk(stack);
    expect(acks.length).toBeGreaterThan(10);
    for (const a of acks) expect({ id: a.id, reasonLength: a.reason.length >= 40 }).toEqual({ id: a.id, reasonLength: true });
  });
});
