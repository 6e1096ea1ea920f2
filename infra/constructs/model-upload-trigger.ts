import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MODEL_MANIFEST, MODELS_PREFIX, TEMPLATES_PREFIX } from '../../core/models/upload';
import { upliftFunction } from './functions';

export interface ModelUploadTriggerProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly stateMachine: sfn.IStateMachine;
  readonly logRetention: logs.RetentionDays;
}

/** The EventBridge pattern of a finished model upload: the manifest object created under `models/`. */
export const MODEL_UPLOAD_KEY_PATTERN = `${MODELS_PREFIX}*/${MODEL_MANIFEST}`;

/**
 * Model uploads start sweeps: an EventBridge rule on `Object Created` events for
 * `models/<…>/uplift-model.json` in the artifacts bucket invokes the ModelUpload Lambda, which
 * starts one execution per subscribed template (idempotent per upload).
 *
 * EventBridge invokes the Lambda asynchronously, so two things can fail, and both end in the one
 * dead-letter queue (which the ModelUploadFailures alarm watches): EventBridge cannot deliver the
 * event (throttled, denied; retried by the rule target, then its DLQ), or the Lambda itself fails
 * (an error or a timeout; retried by Lambda's asynchronous invocation, then its on-failure
 * destination, a record with the event and the error).
 */
export class ModelUploadTrigger extends Construct {
  readonly function: NodejsFunction;
  readonly rule: events.Rule;
  /** The EventBridge target's dead-letter queue and the Lambda's on-failure destination. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ModelUploadTriggerProps) {
    super(scope, id);
    this.function = upliftFunction(this, 'Function', {
      entry: 'lambdas/model-upload.ts',
      description: 'Uplift: a model upload starts the sweeps of the templates subscribed to its prefix',
      environment: { UPLIFT_BUCKET: props.bucket.bucketName, UPLIFT_TABLE: props.table.tableName, UPLIFT_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn },
      logRetention: props.logRetention,
      timeout: Duration.minutes(2),
      memorySize: 512,
    });
    props.bucket.grantRead(this.function, `${MODELS_PREFIX}*`);
    props.bucket.grantRead(this.function, `${TEMPLATES_PREFIX}*`);
    props.bucket.grantPut(this.function, 'sweeps/*');
    props.table.grantReadWriteData(this.function);
    props.stateMachine.grantStartExecution(this.function);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', { enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED, retentionPeriod: Duration.days(14) });
    // A failed invocation (the handler threw, or timed out): two more tries, then a record on the queue.
    this.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new destinations.SqsDestination(this.deadLetterQueue) });
    this.rule = new events.Rule(this, 'ModelUploaded', {
      description: 'Uplift: a model manifest was uploaded under models/',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: events.Match.wildcard(MODEL_UPLOAD_KEY_PATTERN) } },
      },
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 8, maxEventAge: Duration.hours(6), deadLetterQueue: this.deadLetterQueue })],
    });
  }
}
