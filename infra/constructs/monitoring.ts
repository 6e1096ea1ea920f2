import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC } from '../../lambdas/budget-monitor';
import { upliftFunction } from './functions';

export interface UpliftMonitoringProps {
  readonly stackName: string;
  readonly stateMachine: sfn.StateMachine;
  /** Its stream (new images) feeds the budget monitor. */
  readonly table: dynamodb.ITable;
  readonly modelUploadDeadLetters: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  /** @default - no subscription: the topic only */
  readonly alarmEmail?: string;
}

/**
 * Alarms, to an SNS topic: a failed or timed-out sweep execution; a budget ledger whose
 * commitments exceed its limit (the BudgetMonitor Lambda publishes `Uplift/BudgetOverrunUsd`
 * from the table's stream, filtered to ledger items); a model upload that could not start its
 * sweeps (a message in the model-upload dead-letter queue: undeliverable event or failed invocation).
 */
export class UpliftMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly budgetMonitor: NodejsFunction;
  readonly failedExecutions: cloudwatch.Alarm;
  readonly budgetOverrun: cloudwatch.Alarm;
  readonly uploadFailures: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: UpliftMonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: 'Uplift alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new cwActions.SnsAction(this.topic);

    this.budgetMonitor = upliftFunction(this, 'BudgetMonitor', {
      entry: 'lambdas/budget-monitor.ts',
      description: 'Uplift: publishes Uplift/BudgetOverrunUsd for every change of a sweep budget ledger',
      environment: { UPLIFT_STACK: props.stackName },
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    this.budgetMonitor.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        retryAttempts: 3,
        filters: [lambda.FilterCriteria.filter({ dynamodb: { NewImage: { sk: { S: lambda.FilterRule.isEqual('BUDGET') } } } })],
      }),
    );

    const failed = new cloudwatch.MathExpression({
      expression: 'failed + timedOut',
      usingMetrics: { failed: props.stateMachine.metricFailed({ statistic: 'Sum' }), timedOut: props.stateMachine.metricTimedOut({ statistic: 'Sum' }) },
      period: Duration.minutes(5),
      label: 'Sweep executions failed or timed out',
    });
    this.failedExecutions = failed.createAlarm(this, 'FailedExecutions', {
      alarmDescription: 'A sweep execution failed or timed out. Find it with `uplift status <sweep-id>` or in the Step Functions console.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.budgetOverrun = new cloudwatch.Metric({ namespace: METRIC.namespace, metricName: METRIC.name, dimensionsMap: { [METRIC.dimension]: props.stackName }, statistic: 'Maximum', period: Duration.minutes(5) }).createAlarm(
      this,
      'BudgetOverrun',
      {
        alarmDescription: 'A sweep budget ledger holds more reserved + spent dollars than its limit. The BudgetMonitor log line names the sweep.',
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );

    this.uploadFailures = props.modelUploadDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }).createAlarm(this, 'ModelUploadFailures', {
      alarmDescription:
        'A model upload could not start its sweeps: EventBridge could not deliver the event, or the ModelUpload Lambda failed after its retries. The dead-letter queue holds the event (a failed invocation also its error); the ModelUpload Lambda log has the details.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.failedExecutions, this.budgetOverrun, this.uploadFailures]) alarm.addAlarmAction(action);
  }
}
