import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/** State names: stable, because the local runner maps Task states to handlers by name. */
export const STATE = {
  planSweep: 'PlanSweep',
  runs: 'Runs',
  planRun: 'PlanRun',
  nextStep: 'NextStep',
  baselineShards: 'BaselineShards',
  recordBaseline: 'RecordBaseline',
  tlaSandbox: 'TlaSandbox',
  mraShards: 'MraShards',
  baselineShardsGpu: 'BaselineShardsGpu',
  recordBaselineGpu: 'RecordBaselineGpu',
  tlaSandboxGpu: 'TlaSandboxGpu',
  mraShardsGpu: 'MraShardsGpu',
  baselineImageShards: 'BaselineImageShards',
  baselineImageShard: 'BaselineImageShard',
  recordBaselineImages: 'RecordBaselineImages',
  tlaSandboxImages: 'TlaSandboxImages',
  mraImageShards: 'MraImageShards',
  mraImageShard: 'MraImageShard',
  scoreRun: 'ScoreRun',
  markRunFailed: 'MarkRunFailed',
  runFailureUnrecorded: 'RunFailureUnrecorded',
  runSkipped: 'RunSkipped',
  finalizeSweep: 'FinalizeSweep',
} as const;

/** The Lambda functions of the pipeline, one per step. */
export interface UpliftFunctions {
  readonly planSweep: lambda.IFunction;
  readonly planRun: lambda.IFunction;
  readonly recordBaseline: lambda.IFunction;
  readonly scoreRun: lambda.IFunction;
  readonly markRunFailed: lambda.IFunction;
  readonly finalizeSweep: lambda.IFunction;
}

/** Where a run's Batch jobs go: a job queue and the two job definitions for it. */
export interface JobTarget {
  readonly jobQueueArn: string;
  readonly raShardJobDefinitionArn: string;
  readonly tlaSandboxJobDefinitionArn: string;
  /**
   * Seconds added to the attempt timeouts PlanRun computes (`$.run.tlaTimeoutSeconds`,
   * `$.run.shardTimeoutSeconds`) for this queue's jobs: on the GPU queue, the time a job may
   * spend syncing model weights from S3 before vLLM starts (PlanRun already counts vLLM's own
   * `startupTimeoutSeconds`).
   * @default 0
   */
  readonly attemptAllowanceSeconds?: number;
}

/**
 * Errors of the Lambda service itself, raised by the `lambda:invoke` integration (throttled,
 * unavailable, SDK failures), not by the handler's code.
 */
export const LAMBDA_SERVICE_ERRORS = ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ClientExecutionTimeoutException'];
/**
 * Throttling and transient service errors a handler surfaces from DynamoDB and S3 after the
 * SDK's own retries, by the SDK's error name (the Lambda error type Step Functions matches).
 */
export const STORAGE_THROTTLING_ERRORS = ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'SlowDown', 'InternalServerError', 'InternalError', 'ServiceUnavailable'];
/**
 * Errors of the Batch API behind `batch:submitJob.sync` (SubmitJob is throttled at 50 calls per
 * second per account: `Batch.AWSBatchException` with "Status Code: 429" in its cause; service
 * errors). None of them is a job failure: the job was never submitted, so it is retried apart
 * from `States.TaskFailed` (the job itself failed), which keeps its one retry.
 */
export const BATCH_API_ERRORS = ['Batch.AWSBatchException', 'Batch.BatchException', 'Batch.TooManyRequestsException', 'Batch.ServerException'];

/** Exponential backoff with full jitter: concurrent runs that were throttled together do not retry together. */
const backoff = (errors: string[], interval: Duration, maxAttempts: number, maxDelay: Duration): sfn.RetryProps => ({
  errors,
  interval,
  backoffRate: 2,
  maxAttempts,
  maxDelay,
  jitterStrategy: sfn.JitterType.FULL,
});
/** The retriers of every Lambda step: the Lambda service's errors, then storage throttling surfaced by the handler. */
export const LAMBDA_RETRIES: readonly sfn.RetryProps[] = [
  backoff(LAMBDA_SERVICE_ERRORS, Duration.seconds(2), 6, Duration.minutes(1)),
  backoff(STORAGE_THROTTLING_ERRORS, Duration.seconds(1), 5, Duration.seconds(30)),
];
/** The retrier of every Batch step for the Batch API's errors, ahead of the job-failure retry. */
export const BATCH_API_RETRY: sfn.RetryProps = backoff(BATCH_API_ERRORS, Duration.seconds(5), 8, Duration.minutes(2));

export interface UpliftStateMachineProps {
  readonly functions: UpliftFunctions;
  /** Artifacts bucket: the runs Map reads its items (`sweeps/<id>/runs.json`) from it and writes its results there. */
  readonly artifactsBucket: s3.IBucket;
  /** Jobs of runs whose models are API models (CPU queue). */
  readonly cpu: JobTarget;
  /**
   * Jobs of runs whose models are served on the job's GPU (PlanRun answers `queue: gpu`).
   * @default - no GPU branch: every run uses `cpu`
   */
  readonly gpu?: JobTarget;
  /**
   * The queue of shard jobs whose tasks run in their own container images (PlanRun answers
   * `queue: images` with a job definition per task: core/sweep/image-jobs.ts). Their TLA job runs
   * on `cpu`.
   * @default - no image branch: such runs fail at PlanRun, which has no job definitions registry
   */
  readonly images?: {
    readonly jobQueueArn: string;
    /** ARN pattern of the image job definitions PlanRun registers: the state machine may submit jobs of them. @default - no extra grant (local) */
    readonly jobDefinitionArnPattern?: string;
  };
  /**
   * Log group for execution history; none when undefined.
   * @default - no logging
   */
  readonly logGroup?: logs.ILogGroup;
  /**
   * Upper bound of a whole sweep.
   * @default Duration.days(7)
   */
  readonly timeout?: Duration;
}

/**
 * The Uplift flow of the README (Architecture), defined once:
 * PlanSweep → DistributedMap(runs from S3){ PlanRun → NextStep → [BaselineShards → RecordBaseline]
 * → TlaSandbox → MraShards → ScoreRun; any error → MarkRunFailed [→ RunFailureUnrecorded] } → FinalizeSweep.
 * The same chain exists per queue: `cpu`, `gpu`, and `images` (shard jobs one per task, each with
 * its task's container image, in a Map; the TLA job on `cpu`).
 * Failing well: every Lambda step retries the Lambda service's errors and storage throttling
 * with backoff and full jitter, every Batch step retries the Batch API's errors apart from job
 * failures, no run can fail the Map (Catch → MarkRunFailed, MarkRunFailed caught, 100 % tolerated
 * failures), and a failed Map is caught too: every execution that planned its sweep reaches FinalizeSweep.
 * The cloud stack deploys it; the local runner executes its synthesized ASL (see synth.ts).
 */
export class UpliftStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: UpliftStateMachineProps) {
    super(scope, id);
    // ResultWriterV2 renders only under this feature flag; set here so every app that uses the construct gets it.
    this.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const f = props.functions;
    const runRef = { sweepId: sfn.JsonPath.stringAt('$.sweepId'), runId: sfn.JsonPath.stringAt('$.runId') };
    const invoke = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) => {
      // The CDK's default retry (Lambda service errors, no jitter) is replaced by LAMBDA_RETRIES.
      const task = new tasks.LambdaInvoke(this, name, { stateName: name, lambdaFunction: fn, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, resultPath, retryOnServiceExceptions: false });
      for (const r of LAMBDA_RETRIES) task.addRetry(r);
      return task;
    };

    // The last resort of a run: retried like every step, then once more on any error; if it still
    // fails, the run ends without its failure recorded (FinalizeSweep counts it as unfinished)
    // rather than failing the Map.
    const markFailed = invoke(STATE.markRunFailed, f.markRunFailed, { ...runRef, error: sfn.JsonPath.objectAt('$.error') }, sfn.JsonPath.DISCARD);
    markFailed.addRetry(backoff([sfn.Errors.ALL], Duration.seconds(5), 2, Duration.minutes(1)));
    markFailed.addCatch(new sfn.Succeed(this, STATE.runFailureUnrecorded, { stateName: STATE.runFailureUnrecorded, comment: 'MarkRunFailed failed after its retries: the run stays unfinished in the table; the iteration succeeds so the Map goes on' }), {
      errors: [sfn.Errors.ALL],
      resultPath: '$.markRunFailedError',
    });
    const catchAll = <T extends sfn.TaskStateBase | sfn.Map>(state: T): T => state.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' }) as T;

    /** A Batch job of a run: an array job (its shards), a lone job, or (`imageJob`) one image-run shard inside a Map iteration. */
    const submitJob = (name: string, role: 'baseline' | 'tla' | 'mra', jobQueueArn: string, jobDefinitionArn: string, o: { array?: boolean; imageJob?: boolean; allowance?: number }) => {
      const path = o.imageJob ? '$.shardTimeoutSeconds' : role === 'tla' ? '$.run.tlaTimeoutSeconds' : '$.run.shardTimeoutSeconds';
      const allowance = o.allowance ?? 0;
      const job = new tasks.BatchSubmitJob(this, name, {
        stateName: name,
        jobName: `uplift-${role}`,
        jobQueueArn,
        jobDefinitionArn,
        ...(o.array ? { arraySize: sfn.JsonPath.numberAt(role === 'mra' ? '$.run.mraJobs' : '$.run.shards') } : {}),
        // The run's own wall-clock budget (plus start-up), as PlanRun computed it, plus the queue's allowance.
        taskTimeout: sfn.Timeout.at(allowance > 0 ? `States.MathAdd(${path}, ${allowance})` : path),
        containerOverrides: {
          environment: {
            UPLIFT_RUN_ID: sfn.JsonPath.stringAt('$.runId'),
            UPLIFT_ROLE: role,
            UPLIFT_PLAN_URI: sfn.JsonPath.stringAt('$.planUri'),
            // An image run's shard jobs are single jobs: the index an array child would have.
            ...(o.imageJob ? { UPLIFT_JOB_INDEX: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.job.index')) } : {}),
          },
        },
        resultPath: sfn.JsonPath.DISCARD,
      });
      // SubmitJob throttled or Batch unavailable: the job never started. Matched first, so it never uses up the job's retry.
      job.addRetry(BATCH_API_RETRY);
      // A retried job skips the shards that already wrote their outputs (deterministic keys).
      job.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 1, interval: Duration.seconds(10) });
      return job;
    };
    const batchJob = (name: string, role: 'baseline' | 'tla' | 'mra', t: JobTarget, jobDefinitionArn: string, array: boolean) =>
      catchAll(submitJob(name, role, t.jobQueueArn, jobDefinitionArn, { array, allowance: t.attemptAllowanceSeconds }));

    const scoreRun = invoke(STATE.scoreRun, f.scoreRun, runRef, sfn.JsonPath.DISCARD);
    // Another run is computing the shared baseline: wait for it.
    scoreRun.addRetry({ errors: ['BaselinePendingError'], interval: Duration.seconds(30), backoffRate: 1.5, maxDelay: Duration.minutes(5), maxAttempts: 40 });
    catchAll(scoreRun);

    /** The per-run job chain on one target: [baseline shards → record] → TLA → MRA shards → ScoreRun. */
    const branch = (t: JobTarget, names: { baseline: string; record: string; tla: string; mra: string }) => {
      const tla = batchJob(names.tla, 'tla', t, t.tlaSandboxJobDefinitionArn, false);
      tla.next(batchJob(names.mra, 'mra', t, t.raShardJobDefinitionArn, true)).next(scoreRun);
      const baseline = batchJob(names.baseline, 'baseline', t, t.raShardJobDefinitionArn, true);
      baseline.next(catchAll(invoke(names.record, f.recordBaseline, runRef, sfn.JsonPath.DISCARD))).next(tla);
      return { baseline, tla };
    };
    const cpu = branch(props.cpu, { baseline: STATE.baselineShards, record: STATE.recordBaseline, tla: STATE.tlaSandbox, mra: STATE.mraShards });
    /**
     * Image runs: AWS Batch cannot override a job's image at submit time, so each shard job is
     * submitted alone with its task's job definition (`$.run.*ImageJobs`, from PlanRun); a Map
     * runs them, and any job's failure (after its retry) fails the Map and so the run.
     */
    const imageShards = (mapName: string, jobName: string, role: 'baseline' | 'mra', jobQueueArn: string) => {
      const map = new sfn.Map(this, mapName, {
        stateName: mapName,
        itemsPath: role === 'mra' ? '$.run.mraImageJobs' : '$.run.baselineImageJobs',
        itemSelector: {
          runId: sfn.JsonPath.stringAt('$.runId'),
          planUri: sfn.JsonPath.stringAt('$.planUri'),
          shardTimeoutSeconds: sfn.JsonPath.numberAt('$.run.shardTimeoutSeconds'),
          job: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
        },
        resultPath: sfn.JsonPath.DISCARD,
      });
      map.itemProcessor(submitJob(jobName, role, jobQueueArn, sfn.JsonPath.stringAt('$.job.jobDefinition'), { imageJob: true }));
      return catchAll(map);
    };
    const planRun = catchAll(invoke(STATE.planRun, f.planRun, runRef, '$.run'));
    const action = (a: string) => sfn.Condition.stringEquals('$.run.action', a);
    const onGpu = sfn.Condition.stringEquals('$.run.queue', 'gpu');
    const nextStep = new sfn.Choice(this, STATE.nextStep, { stateName: STATE.nextStep });
    if (props.gpu) {
      const gpu = branch(props.gpu, { baseline: STATE.baselineShardsGpu, record: STATE.recordBaselineGpu, tla: STATE.tlaSandboxGpu, mra: STATE.mraShardsGpu });
      nextStep.when(sfn.Condition.and(action('compute_baseline'), onGpu), gpu.baseline).when(sfn.Condition.and(action('proceed'), onGpu), gpu.tla);
    }
    if (props.images) {
      const tla = batchJob(STATE.tlaSandboxImages, 'tla', props.cpu, props.cpu.tlaSandboxJobDefinitionArn, false);
      tla.next(imageShards(STATE.mraImageShards, STATE.mraImageShard, 'mra', props.images.jobQueueArn)).next(scoreRun);
      const baseline = imageShards(STATE.baselineImageShards, STATE.baselineImageShard, 'baseline', props.images.jobQueueArn);
      baseline.next(catchAll(invoke(STATE.recordBaselineImages, f.recordBaseline, runRef, sfn.JsonPath.DISCARD))).next(tla);
      const onImages = sfn.Condition.stringEquals('$.run.queue', 'images');
      nextStep.when(sfn.Condition.and(action('compute_baseline'), onImages), baseline).when(sfn.Condition.and(action('proceed'), onImages), tla);
    }
    nextStep
      .when(action('compute_baseline'), cpu.baseline)
      .when(action('proceed'), cpu.tla)
      .otherwise(new sfn.Succeed(this, STATE.runSkipped, { stateName: STATE.runSkipped }));

    // Items come from `sweeps/<id>/runs.json` in S3, not from the payload: a sweep of thousands
    // of runs stays far from the 256 KiB state payload limit. Results go to S3 for the same reason.
    const runs = new sfn.DistributedMap(this, STATE.runs, {
      stateName: STATE.runs,
      itemReader: new sfn.S3JsonItemReader({ bucket: props.artifactsBucket, key: sfn.JsonPath.stringAt('$.sweep.itemsKey') }),
      resultWriterV2: new sfn.ResultWriterV2({ bucket: props.artifactsBucket, prefix: 'map-results' }),
      maxConcurrencyPath: '$.sweep.maxConcurrency',
      itemSelector: { sweepId: sfn.JsonPath.stringAt('$.sweep.sweepId'), planUri: sfn.JsonPath.stringAt('$.sweep.planUri'), runId: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
      resultPath: sfn.JsonPath.DISCARD,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      // A run that fails anyway (a States.Runtime error no Catch can match, a child execution
      // that timed out or was stopped) does not fail the Map: the other runs go on.
      toleratedFailurePercentage: 100,
    });
    runs.itemProcessor(planRun.next(nextStep));

    const planSweep = invoke(STATE.planSweep, f.planSweep, { sweepId: sfn.JsonPath.stringAt('$.sweepId') }, '$.sweep');
    const finalize = invoke(STATE.finalizeSweep, f.finalizeSweep, { sweepId: sfn.JsonPath.stringAt('$.sweep.sweepId') }, '$.result');
    // If the Map fails all the same (its items or results cannot be read or written), the sweep is
    // still finalized: FinalizeSweep reports the runs that did not finish.
    runs.addCatch(finalize, { errors: [sfn.Errors.ALL], resultPath: '$.runsError' });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(planSweep.next(runs).next(finalize)),
      timeout: props.timeout ?? Duration.days(7),
      ...(props.logGroup ? { logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false } } : {}),
      tracingEnabled: true,
    });
    if (props.images?.jobDefinitionArnPattern)
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'SubmitImageJobs', actions: ['batch:SubmitJob'], resources: [props.images.jobDefinitionArnPattern, props.images.jobQueueArn] }),
      );
    // Stopping an execution terminates the Batch jobs it started (the .sync integration calls
    // TerminateJob); job ids are only known at run time.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['batch:TerminateJob'], resources: [Stack.of(this).formatArn({ service: 'batch', resource: 'job', resourceName: '*' })] }),
    );
  }
}
