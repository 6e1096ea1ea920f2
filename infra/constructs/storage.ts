import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LEADERBOARD_INDEX } from '../../lambdas/aws/dynamo-score-store';

export interface UpliftStorageProps {
  /**
   * What `cdk destroy` does with the data.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Sweep outputs above 128 KiB (shard outputs, transcripts, MRA tarballs) move to S3 Standard-IA after this many days.
   * @default 30
   */
  readonly infrequentAccessAfterDays?: number;
  /**
   * Sweep outputs are deleted after this many days.
   * @default - never
   */
  readonly expireSweepOutputsAfterDays?: number;
  /**
   * Noncurrent object versions are deleted after this many days.
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
}

/**
 * The artifacts bucket and the table of the README's Architecture: S3-managed encryption, versioning, public
 * access blocked, TLS enforced, access logs, lifecycle rules for sweep outputs, EventBridge
 * notifications (model uploads); DynamoDB on demand with point-in-time recovery, the `byCbm`
 * leaderboard index, and a stream of new images (the budget monitor reads ledger changes).
 */
export class UpliftStorage extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: UpliftStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    const ia = props.infrequentAccessAfterDays ?? 30;
    if (ia < 30) throw new Error(`infrequentAccessAfterDays must be at least 30 (S3 refuses earlier transitions to Standard-IA); received ${ia}`);

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy,
      autoDeleteObjects: destroy,
    });

    this.bucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      removalPolicy,
      autoDeleteObjects: destroy,
      lifecycleRules: [
        {
          // Shard outputs, transcripts and MRA tarballs live under sweeps/<id>/runs/; small JSON stays in Standard.
          id: 'sweep-outputs',
          prefix: 'sweeps/',
          objectSizeGreaterThan: 128 * 1024,
          transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(ia) }],
        },
        ...(props.expireSweepOutputsAfterDays
          ? [{ id: 'expire-sweep-outputs', prefix: 'sweeps/', expiration: Duration.days(props.expireSweepOutputsAfterDays) }]
          : []),
        // Distributed Map result manifests: only useful while debugging an execution.
        { id: 'map-results', prefix: 'map-results/', expiration: Duration.days(30) },
        {
          // Retried jobs overwrite their own deterministic keys: old versions are garbage after a while.
          id: 'noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      deletionProtection: !destroy,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEADERBOARD_INDEX,
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}
