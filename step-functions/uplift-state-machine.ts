import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
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
  scoreRun: 'ScoreRun',
  markRunFailed: 'MarkRunFailed',
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

export interface UpliftStateMachineProps {
  readonly functions: UpliftFunctions;
  /** Queue the shard and TLA jobs go to. */
  readonly jobQueueArn: string;
  readonly raShardJobDefinitionArn: string;
  readonly tlaSandboxJobDefinitionArn: string;
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
 * The Uplift flow of DESIGN.md, defined once:
 * PlanSweep → Map(runs){ PlanRun → NextStep → [BaselineShards → RecordBaseline] → TlaSandbox →
 * MraShards → ScoreRun; any error → MarkRunFailed } → FinalizeSweep.
 * The cloud stack deploys it; the local runner executes its synthesized ASL.
 */
export class UpliftStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: UpliftStateMachineProps) {
    super(scope, id);
    const f = props.functions;
    const runRef = { sweepId: sfn.JsonPath.stringAt('$.sweepId'), runId: sfn.JsonPath.stringAt('$.runId') };
    const invoke = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(this, name, { stateName: name, lambdaFunction: fn, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, resultPath });

    const markFailed = invoke(STATE.markRunFailed, f.markRunFailed, { ...runRef, error: sfn.JsonPath.objectAt('$.error') }, sfn.JsonPath.DISCARD);
    const catchAll = <T extends sfn.TaskStateBase>(state: T): T => state.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' }) as T;

    const batchJob = (name: string, role: 'baseline' | 'tla' | 'mra', jobDefinitionArn: string, array: boolean) => {
      const job = new tasks.BatchSubmitJob(this, name, {
        stateName: name,
        jobName: `uplift-${role}`,
        jobQueueArn: props.jobQueueArn,
        jobDefinitionArn,
        ...(array ? { arraySize: sfn.JsonPath.numberAt('$.run.shards') } : {}),
        containerOverrides: {
          environment: { UPLIFT_RUN_ID: sfn.JsonPath.stringAt('$.runId'), UPLIFT_ROLE: role, UPLIFT_PLAN_URI: sfn.JsonPath.stringAt('$.planUri') },
        },
        resultPath: sfn.JsonPath.DISCARD,
      });
      // A retried job skips the shards that already wrote their outputs (deterministic keys).
      job.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 1, interval: Duration.seconds(10) });
      return catchAll(job);
    };

    const planRun = catchAll(invoke(STATE.planRun, f.planRun, runRef, '$.run'));
    const baselineShards = batchJob(STATE.baselineShards, 'baseline', props.raShardJobDefinitionArn, true);
    const recordBaseline = catchAll(invoke(STATE.recordBaseline, f.recordBaseline, runRef, sfn.JsonPath.DISCARD));
    const tlaSandbox = batchJob(STATE.tlaSandbox, 'tla', props.tlaSandboxJobDefinitionArn, false);
    const mraShards = batchJob(STATE.mraShards, 'mra', props.raShardJobDefinitionArn, true);
    const scoreRun = invoke(STATE.scoreRun, f.scoreRun, runRef, sfn.JsonPath.DISCARD);
    // Another run is computing the shared baseline: wait for it.
    scoreRun.addRetry({ errors: ['BaselinePendingError'], interval: Duration.seconds(30), backoffRate: 1.5, maxDelay: Duration.minutes(5), maxAttempts: 40 });
    catchAll(scoreRun);

    const afterTla = tlaSandbox.next(mraShards).next(scoreRun);
    const nextStep = new sfn.Choice(this, STATE.nextStep, { stateName: STATE.nextStep })
      .when(sfn.Condition.stringEquals('$.run.action', 'compute_baseline'), baselineShards.next(recordBaseline).next(afterTla))
      .when(sfn.Condition.stringEquals('$.run.action', 'proceed'), afterTla)
      .otherwise(new sfn.Succeed(this, STATE.runSkipped, { stateName: STATE.runSkipped }));

    const runs = new sfn.Map(this, STATE.runs, {
      stateName: STATE.runs,
      itemsPath: '$.sweep.runIds',
      maxConcurrencyPath: '$.sweep.maxConcurrency',
      itemSelector: { sweepId: sfn.JsonPath.stringAt('$.sweep.sweepId'), planUri: sfn.JsonPath.stringAt('$.sweep.planUri'), runId: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
      resultPath: sfn.JsonPath.DISCARD,
    });
    runs.itemProcessor(planRun.next(nextStep));

    const planSweep = invoke(STATE.planSweep, f.planSweep, { sweepId: sfn.JsonPath.stringAt('$.sweepId') }, '$.sweep');
    const finalize = invoke(STATE.finalizeSweep, f.finalizeSweep, { sweepId: sfn.JsonPath.stringAt('$.sweep.sweepId') }, '$.result');

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(planSweep.next(runs).next(finalize)),
      timeout: props.timeout ?? Duration.days(7),
      ...(props.logGroup ? { logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false } } : {}),
      tracingEnabled: true,
    });
  }
}
