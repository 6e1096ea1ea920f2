import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { UpliftStateMachine, type UpliftFunctions } from '../step-functions/uplift-state-machine';
import type { UpliftConfig } from './config';
import { STEP_HANDLERS, upliftFunction } from './constructs/functions';
import { jobCompute } from './compute';
import { UpliftJobs } from './constructs/jobs';
import { ModelUploadTrigger } from './constructs/model-upload-trigger';
import { UpliftMonitoring } from './constructs/monitoring';
import { UpliftStorage } from './constructs/storage';
import { addNagSuppressions } from './nag-suppressions';
import { NO_GENERATED_KEYS, NO_GPU_QUEUE, OUTPUT } from './outputs';

export interface UpliftStackProps extends StackProps {
  readonly config: UpliftConfig;
}

const STEP_DESCRIPTIONS: Record<keyof UpliftFunctions, string> = {
  planSweep: 'Uplift PlanSweep: expand the staged spec into plan.json, create META, BUDGET and RUN items',
  planRun: 'Uplift PlanRun: skip finished runs, reserve the worst case, claim or find the baseline, pick the queue',
  recordBaseline: 'Uplift RecordBaseline: score the baseline shards and publish them in the baseline cache',
  scoreRun: 'Uplift ScoreRun: scores, paired bootstrap CI, budget settlement',
  markRunFailed: 'Uplift MarkRunFailed: record a run error; a failed run never fails the sweep',
  finalizeSweep: 'Uplift FinalizeSweep: counts, HTML report, final status',
};

/**
 * The whole Uplift pipeline in one account: storage, Batch, the six step Lambdas, the state
 * machine from step-functions/ (the definition the local runner executes), model-upload
 * triggers, alarms, and the outputs `uplift submit/status/results/cancel` read.
 */
export class UpliftStack extends Stack {
  readonly storage: UpliftStorage;
  readonly jobs: UpliftJobs;
  readonly steps: Record<keyof UpliftFunctions, NodejsFunction>;
  readonly pipeline: UpliftStateMachine;
  readonly modelUploads: ModelUploadTrigger;
  readonly monitoring: UpliftMonitoring;

  constructor(scope: Construct, id: string, props: UpliftStackProps) {
    super(scope, id, { description: 'Uplift: measures how well one LLM agent improves another (Step Functions, Lambda, AWS Batch, S3, DynamoDB)', ...props });
    const { config } = props;
    const retention = config.data.logRetentionDays as logs.RetentionDays;
    this.storage = new UpliftStorage(this, 'Storage', {
      removalPolicy: config.data.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      infrequentAccessAfterDays: config.data.infrequentAccessAfterDays,
      expireSweepOutputsAfterDays: config.data.expireSweepOutputsAfterDays,
      noncurrentVersionDays: config.data.noncurrentVersionDays,
    });
    const { bucket, table } = this.storage;
    this.jobs = new UpliftJobs(this, 'Jobs', { config, bucket, logRetention: retention });

    const storageEnv = { UPLIFT_BUCKET: bucket.bucketName, UPLIFT_TABLE: table.tableName };
    const step = (name: keyof UpliftFunctions, id: string) => {
      const fn = upliftFunction(this, id, { entry: STEP_HANDLERS[name], description: STEP_DESCRIPTIONS[name], environment: storageEnv, logRetention: retention, timeout: name === 'planSweep' ? Duration.minutes(15) : Duration.minutes(5) });
      table.grantReadWriteData(fn);
      bucket.grantRead(fn, 'datasets/*');
      bucket.grantRead(fn, 'sweeps/*');
      bucket.grantPut(fn, 'sweeps/*');
      return fn;
    };
    const planRun = step('planRun', 'PlanRun');
    const images = this.jobs.images;
    if (images) {
      // PlanRun registers (or finds) the job definition of each task image, from the stack's template.
      planRun.addEnvironment('UPLIFT_IMAGE_JOB_TEMPLATE', Stack.of(this).toJsonString(images.template));
      planRun.addToRolePolicy(new iam.PolicyStatement({ sid: 'FindImageJobDefinitions', actions: ['batch:DescribeJobDefinitions'], resources: ['*'] }));
      planRun.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'RegisterImageJobDefinitions',
          actions: ['batch:RegisterJobDefinition', 'batch:TagResource'],
          resources: [Stack.of(this).formatArn({ service: 'batch', resource: 'job-definition', resourceName: `${this.stackName}-img-*` })],
        }),
      );
      planRun.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'PassImageJobRoles', actions: ['iam:PassRole'], resources: images.passRoles.map((r) => r.roleArn), conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } }),
      );
    }
    this.steps = {
      planSweep: step('planSweep', 'PlanSweep'),
      planRun,
      recordBaseline: step('recordBaseline', 'RecordBaseline'),
      scoreRun: step('scoreRun', 'ScoreRun'),
      markRunFailed: step('markRunFailed', 'MarkRunFailed'),
      finalizeSweep: step('finalizeSweep', 'FinalizeSweep'),
    };

    const executionLogs = new logs.LogGroup(this, 'ExecutionLogs', { logGroupName: `/aws/vendedlogs/states/${this.stackName}-pipeline`, retention, removalPolicy: RemovalPolicy.DESTROY });
    this.pipeline = new UpliftStateMachine(this, 'Pipeline', {
      functions: this.steps,
      artifactsBucket: bucket,
      cpu: this.jobs.cpu,
      gpu: this.jobs.gpu,
      ...(images ? { images: { jobQueueArn: images.jobQueueArn, jobDefinitionArnPattern: Stack.of(this).formatArn({ service: 'batch', resource: 'job-definition', resourceName: `${this.stackName}-img-*` }) } } : {}),
      logGroup: executionLogs,
      timeout: Duration.days(config.sweepTimeoutDays),
    });
    const stateMachine = this.pipeline.stateMachine;

    this.modelUploads = new ModelUploadTrigger(this, 'ModelUploads', { bucket, table, stateMachine, logRetention: retention });
    this.monitoring = new UpliftMonitoring(this, 'Monitoring', { stackName: this.stackName, stateMachine, table, modelUploadDeadLetters: this.modelUploads.deadLetterQueue, logRetention: retention, alarmEmail: config.alarmEmail });

    const out = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    out(OUTPUT.bucket, bucket.bucketName, 'Artifacts bucket (datasets, agents, models, sweeps, templates)');
    out(OUTPUT.table, table.tableName, 'Scores, statuses, budgets, baseline cache, subscriptions');
    out(OUTPUT.stateMachine, stateMachine.stateMachineArn, 'The Uplift state machine: one execution per sweep, named after the sweep id');
    out(OUTPUT.cpuQueue, this.jobs.cpu.jobQueueArn, 'Batch queue of CPU jobs (API and offline models)');
    out(OUTPUT.gpuQueue, this.jobs.gpu?.jobQueueArn ?? NO_GPU_QUEUE, 'Batch queue of GPU jobs (vllm models)');
    if (images) out(OUTPUT.imagesQueue, images.jobQueueArn, 'Batch queue of shard jobs whose tasks run in their own container image (a job definition per image, registered by PlanRun)');
    out(OUTPUT.apiKeyEnvs, this.jobs.apiKeys.map((k) => k.apiKeyEnv).join(',') || '', 'Environment variables jobs get from Secrets Manager (a spec model.apiKeyEnv must be one of them)');
    out(OUTPUT.apiKeySecrets, Stack.of(this).toJsonString(Object.fromEntries(this.jobs.apiKeys.map((k) => [k.apiKeyEnv, k.secret.secretArn]))), 'Secret of each API key: set the value with aws secretsmanager put-secret-value');
    out(
      OUTPUT.generatedApiKeys,
      this.jobs.apiKeys.filter((k) => k.created).map((k) => k.apiKeyEnv).join(',') || NO_GENERATED_KEYS,
      'API keys whose secret this stack created with a generated placeholder: uplift submit refuses a sweep that needs one until put-secret-value replaced it',
    );
    out(OUTPUT.defaultBudget, String(config.defaultSweepBudgetUsd), 'USD budget of a sweep whose spec sets no budgets.maxUsd');
    out(OUTPUT.tlaTimeout, String(config.jobTimeouts.tlaSeconds), 'Batch timeout of TLA jobs: budgets.tlaWallSeconds must fit in it');
    out(OUTPUT.shardTimeout, String(config.jobTimeouts.shardSeconds), 'Batch timeout of shard jobs: budgets.shardWallSeconds must fit in it');
    out(OUTPUT.alarmTopic, this.monitoring.topic.topicArn, 'SNS topic of the alarms (subscribe to it)');
    out(OUTPUT.jobCompute, JSON.stringify(jobCompute(config)), 'What CPU and GPU jobs run on, for pricing job time into a sweep\'s worst case');

    addNagSuppressions(this);
  }
}
