import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DynamoScoreStore, LEADERBOARD_INDEX } from './dynamo-score-store';
import { S3ArtifactStore } from './s3-artifact-store';

/**
 * The storage part of the environment contract shared by Lambdas and Batch jobs. In the cloud the
 * endpoints are unset (SDK defaults); the local runner sets them to its loopback servers.
 */
export const StorageEnv = z.object({
  UPLIFT_BUCKET: z.string().min(3, { error: 'UPLIFT_BUCKET must name the artifacts bucket' }),
  UPLIFT_TABLE: z.string().min(3, { error: 'UPLIFT_TABLE must name the DynamoDB table' }),
  AWS_REGION: z.string().default('us-east-1'),
  UPLIFT_S3_ENDPOINT: z.url().optional(),
  UPLIFT_DYNAMODB_ENDPOINT: z.url().optional(),
  /** The embedded services' per-process key (set by `uplift run`): requests without it are refused, so no sandboxed agent can read the stores. */
  UPLIFT_LOCAL_ACCESS_KEY_ID: z.string().min(16).optional(),
  UPLIFT_LOCAL_SECRET_ACCESS_KEY: z.string().min(16).optional(),
});
export type StorageEnv = z.infer<typeof StorageEnv>;

/** Credentials for S3/DynamoDB stand-ins: the embedded services' per-process key, else s3rver's default pair. */
function localCredentials(env: StorageEnv): { accessKeyId: string; secretAccessKey: string } {
  return env.UPLIFT_LOCAL_ACCESS_KEY_ID && env.UPLIFT_LOCAL_SECRET_ACCESS_KEY
    ? { accessKeyId: env.UPLIFT_LOCAL_ACCESS_KEY_ID, secretAccessKey: env.UPLIFT_LOCAL_SECRET_ACCESS_KEY }
    : { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
}

export function s3Client(env: StorageEnv): S3Client {
  return new S3Client({
    region: env.AWS_REGION,
    ...(env.UPLIFT_S3_ENDPOINT
      ? {
          endpoint: env.UPLIFT_S3_ENDPOINT,
          forcePathStyle: true,
          credentials: localCredentials(env),
          // s3rver stores corrupt bytes for streamed uploads with the default checksum mode.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}

export function dynamoClient(env: StorageEnv): DynamoDBClient {
  return new DynamoDBClient({
    region: env.AWS_REGION,
    ...(env.UPLIFT_DYNAMODB_ENDPOINT ? { endpoint: env.UPLIFT_DYNAMODB_ENDPOINT, credentials: localCredentials(env) } : {}),
  });
}

/** The artifacts store of a Batch job: the bucket comes from UPLIFT_PLAN_URI; jobs never touch the table. */
export function jobArtifactStore(raw: Record<string, string | undefined>, bucket: string): S3ArtifactStore {
  const env = StorageEnv.parse({ UPLIFT_TABLE: 'unused-by-jobs', ...raw, UPLIFT_BUCKET: bucket });
  return new S3ArtifactStore(s3Client(env), bucket);
}

export interface Stores {
  artifacts: S3ArtifactStore;
  scores: DynamoScoreStore;
}

/** Composition of the storage adapters from the environment (Lambda, Batch job and local CLI alike). */
export function storesFromEnv(raw: NodeJS.ProcessEnv | Record<string, string | undefined>): Stores {
  const env = StorageEnv.parse(raw);
  return { artifacts: new S3ArtifactStore(s3Client(env), env.UPLIFT_BUCKET), scores: new DynamoScoreStore(dynamoClient(env), env.UPLIFT_TABLE) };
}

/**
 * Creates the bucket and the table with its leaderboard GSI if they do not exist: what the CDK
 * stack declares in the cloud, done here for the embedded servers.
 */
export async function ensureStorage(raw: Record<string, string | undefined>): Promise<void> {
  const env = StorageEnv.parse(raw);
  const s3 = s3Client(env);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: env.UPLIFT_BUCKET }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  }
  const ddb = dynamoClient(env);
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: env.UPLIFT_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
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
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  try {
    await waitForActiveTable(ddb, env.UPLIFT_TABLE);
  } finally {
    s3.destroy();
    ddb.destroy();
  }
}

/**
 * A new table (and its GSI) is CREATING for a while, in DynamoDB and in dynalite alike, and
 * rejects reads and writes as ResourceNotFound until it is ACTIVE: wait for that, or say so.
 */
async function waitForActiveTable(ddb: DynamoDBClient, table: string, timeoutMs = 60_000, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: table }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() >= deadline) {
      throw new Error(`DynamoDB table ${table} is still ${Table?.TableStatus ?? 'missing'} after ${timeoutMs / 1000} s; check the endpoint (UPLIFT_DYNAMODB_ENDPOINT) and try again`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
