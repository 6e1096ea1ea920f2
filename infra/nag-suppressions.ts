import { type CfnElement, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { UpliftStack } from './uplift-stack';

/** The id cdk-nag gives a resource reference inside a finding, e.g. `<StorageArtifacts08431D1F.Arn>`. */
function ref(stack: UpliftStack, c: IConstruct, attr = 'Arn'): string {
  return `<${stack.getLogicalId(c.node.defaultChild as CfnElement)}.${attr}>`;
}

function ack(scope: IConstruct, ids: string[], reason: string): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

const S3_GRANT_ACTIONS = ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*'].map((a) => `AwsSolutions-IAM5[Action::${a}]`);
const S3_GRANT_REASON =
  'Bucket.grantRead/grantPut: the action wildcards are CDK grant sets (GetObject*, List*, …) and each resource wildcard is one key prefix of the artifacts bucket (README, S3 layout) this role needs; no other bucket and no other prefix.';
const XRAY_REASON = 'Resource::* is required by xray:PutTraceSegments/PutTelemetryRecords (tracing is on), which support no resource scoping.';

/**
 * cdk-nag AwsSolutions findings this stack accepts, each with its reason (v3: acknowledged with
 * CDK's Validations API, one finding id at a time, on the construct that holds the resource).
 */
export function addNagSuppressions(stack: UpliftStack): void {
  // cdk-nag renders pseudo parameters as <AWS::…>, or as literals where the CDK rendered them from a
  // known environment; which one depends on the construct, so both forms are acknowledged.
  const pseudo = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);
  const envs = [
    { partition: '<AWS::Partition>', region: '<AWS::Region>', account: '<AWS::AccountId>' },
    { partition: pseudo(stack.partition, 'Partition'), region: pseudo(stack.region, 'Region'), account: pseudo(stack.account, 'AccountId') },
  ];
  const forms = (id: (e: (typeof envs)[number]) => string) => [...new Set(envs.map(id))];
  const bucket = ref(stack, stack.storage.bucket);
  const prefixes = (...p: string[]) => p.map((x) => `AwsSolutions-IAM5[Resource::${bucket}/${x}/*]`);
  const tableIndex = `AwsSolutions-IAM5[Resource::${ref(stack, stack.storage.table)}/index/*]`;
  const functions = [...Object.values(stack.steps), stack.modelUploads.function, stack.monitoring.budgetMonitor];

  for (const fn of functions) {
    const role = fn.role as IConstruct;
    ack(role, forms((e) => `AwsSolutions-IAM4[Policy::arn:${e.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`), 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs (CreateLogGroup/CreateLogStream/PutLogEvents); it is the AWS-maintained minimum for Lambda.');
    ack(role, ['AwsSolutions-IAM5[Resource::*]'], `${XRAY_REASON} For the BudgetMonitor it also covers dynamodb:ListStreams, which has no resource-level scoping.`);
    ack(fn, ['AwsSolutions-L1'], 'Pinned to Node.js 22, the runtime the code, its tests and the Batch images target; moving to a newer runtime is a deliberate upgrade of all three together.');
  }
  for (const fn of Object.values(stack.steps)) {
    ack(fn.role as IConstruct, [...S3_GRANT_ACTIONS, ...prefixes('datasets', 'sweeps')], `${S3_GRANT_REASON} Pipeline steps read datasets/ and sweeps/ and write sweeps/.`);
    ack(fn.role as IConstruct, [tableIndex], 'Table.grantReadWriteData includes the table\'s indexes: the byCbm leaderboard GSI (README, Architecture) is queried through it.');
  }
  const upload = stack.modelUploads.function.role as IConstruct;
  ack(upload, [...S3_GRANT_ACTIONS, ...prefixes('models', 'templates', 'sweeps')], `${S3_GRANT_REASON} The model-upload Lambda reads manifests under models/ and templates under templates/, and stages sweeps/<id>/spec.json.`);
  ack(upload, [tableIndex], 'Table.grantReadWriteData includes the indexes; the Lambda itself only reads subscriptions and writes upload claims by key.');

  const jobs = stack.jobs;
  for (const role of [jobs.cpuJobRole, jobs.cpuTlaJobRole])
    ack(role, [...S3_GRANT_ACTIONS, ...prefixes('datasets', 'agents', 'sweeps')], `${S3_GRANT_REASON} Jobs read data sets, RA bundles and plans, and write their outputs under sweeps/ (TLA jobs: never a test split, explicitly denied).`);
  for (const role of [jobs.gpuJobRole, jobs.gpuTlaJobRole])
    ack(role, [...S3_GRANT_ACTIONS, ...prefixes('datasets', 'agents', 'sweeps', 'models')], `${S3_GRANT_REASON} GPU jobs also read model weights under models/ (TLA jobs: never a test split, explicitly denied).`);
  for (const role of [jobs.cpuTlaJobRole, jobs.gpuTlaJobRole])
    ack(role, prefixes('sweeps/*/tla'), `${S3_GRANT_REASON} TLA jobs write only under their run's tla/ (sweeps/<sweep>/runs/<run>/tla/: transcript, MRA, diff, checkpoints), never a baseline, MRA output or report (explicitly denied too).`);
  for (const role of [jobs.gpuJobRole, jobs.cpuTlaJobRole, jobs.gpuTlaJobRole])
    ack(role, prefixes('weights'), `${S3_GRANT_REASON} MRAs' weights folders are content-addressed under weights/<sha256>/: TLA jobs stage them, GPU shard jobs read them for vLLM (each file checked against its marker's sha256).`);
  for (const role of [jobs.cpuExecutionRole, jobs.gpuExecutionRole])
    ack(role, ['AwsSolutions-IAM5[Resource::*]'], 'ecr:GetAuthorizationToken (pulling the job image) supports no resource scoping; the image pull itself is scoped to the CDK assets repository.');
  if (jobs.gpu) {
    const compute = jobs.gpu.queue.node.scope?.node.tryFindChild('GpuCompute');
    if (compute)
      ack(compute, forms((e) => `AwsSolutions-IAM4[Policy::arn:${e.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]`), 'The instance role of Batch GPU instances: the ECS agent needs AmazonEC2ContainerServiceforEC2Role to register the instance and run jobs; the jobs themselves use their own job role (IMDS hop limit 1 keeps containers off the instance role).');
  }
  if (jobs.images && jobs.imagesExecutionRole) {
    const compute = jobs.images.queue.node.scope?.node.tryFindChild('ImagesCompute');
    if (compute)
      ack(compute, forms((e) => `AwsSolutions-IAM4[Policy::arn:${e.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]`), 'The instance role of Batch images-queue instances: the ECS agent needs AmazonEC2ContainerServiceforEC2Role to register the instance and run jobs; the jobs use their own job role (IMDS hop limit 1 keeps containers off the instance role).');
    // (The image jobs' own role, which pulls task images from ECR, is acknowledged where it is made: infra/constructs/jobs.ts.)
    ack(jobs.imagesExecutionRole, ['AwsSolutions-IAM5[Resource::*]'], 'ecr:GetAuthorizationToken (pulling the harness image) supports no resource scoping; the image pull itself is scoped to the CDK assets repository.');
  }
  const imageDefs = forms((e) => `AwsSolutions-IAM5[Resource::arn:${e.partition}:batch:${e.region}:${e.account}:job-definition/${stack.stackName}-img-*]`);
  ack(stack.steps.planRun.role as IConstruct, imageDefs, 'PlanRun registers and tags a job definition per task image, named <stack>-img-<hash> (core/sweep/image-jobs.ts): the names exist only once a data set names its images; batch:DescribeJobDefinitions supports no resource scoping.');
  for (const k of jobs.apiKeys)
    if (k.created)
      ack(k.secret, ['AwsSolutions-SMG4'], 'A third-party model API key cannot be rotated by a Lambda: rotate it at the provider and store the new value with put-secret-value.');

  const sm = stack.pipeline.stateMachine;
  const smRef = stack.getLogicalId(sm.node.defaultChild as CfnElement);
  const executions = (e: (typeof envs)[number]) => `arn:${e.partition}:states:${e.region}:${e.account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${smRef}"}]}]}`;
  ack(
    sm,
    [
      ...functions.filter((f) => Object.values(stack.steps).includes(f)).map((f) => `AwsSolutions-IAM5[Resource::${ref(stack, f)}:*]`),
      ...forms((e) => `AwsSolutions-IAM5[Resource::arn:${e.partition}:s3:::<${stack.getLogicalId(stack.storage.bucket.node.defaultChild as CfnElement)}>/*]`),
      ...forms((e) => `AwsSolutions-IAM5[Resource::arn:${e.partition}:batch:${e.region}:${e.account}:job-definition/*]`),
      ...forms((e) => `AwsSolutions-IAM5[Resource::arn:${e.partition}:batch:${e.region}:${e.account}:job/*]`),
      ...imageDefs,
      'AwsSolutions-IAM5[Resource::*]',
      ...forms((e) => `AwsSolutions-IAM5[Resource::${executions(e)}:*]`),
      ...forms((e) => `AwsSolutions-IAM5[Resource::${executions(e)}/*:*]`),
    ],
    'Generated by the step-functions/ constructs: LambdaInvoke grants each step function and its versions (ARN:*); the Distributed Map reads sweeps/<id>/runs.json and writes its results with keys from the state input (bucket objects); BatchSubmitJob grants job definitions by name for every revision (queues are scoped), and the image branch submits the job definitions PlanRun registered per task image (<stack>-img-*); stopping an execution terminates its Batch jobs, whose ids exist only at run time (batch:TerminateJob on job/* of this account and region); log delivery and X-Ray need Resource::*; the Distributed Map starts and stops its own child executions.',
  );
  // The singleton Lambda the CDK uses to turn on the bucket's EventBridge notifications.
  for (const c of stack.node.children.filter((c) => c.node.id.startsWith('BucketNotificationsHandler')))
    ack(c, forms((e) => `AwsSolutions-IAM4[Policy::arn:${e.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`), 'CDK-provided handler that sets the artifacts bucket\'s notification configuration at deploy time; the managed policy only lets it write its own logs.');
  ack(stack.modelUploads.deadLetterQueue, ['AwsSolutions-SQS3'], 'This queue is the dead-letter queue of the model-upload rule target; it has no dead-letter queue of its own.');
  ack(stack.storage.bucket, ['CloudFormation-Validate::W9003'], 'ObjectSizeGreaterThan is rendered by the CDK as a number; CloudFormation accepts it (the validator coerces it to a string).');
}
