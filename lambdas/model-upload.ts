/**
 * Lambda ModelUpload: an object was created under `models/` (EventBridge rule on the artifacts
 * bucket). Starts one sweep per subscribed template, idempotently (core/models/upload.ts).
 */
import '../core/polyfills';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { SpecError } from '../core/errors';
import { formatIssues } from '../core/spec';
import { onModelUploaded, type UploadDeps, type UploadOutcome } from '../core/models/upload';
import { dynamoClient, s3Client, StorageEnv } from './aws/clients';
import { DynamoTriggerStore } from './aws/dynamo-trigger-store';
import { S3ArtifactStore } from './aws/s3-artifact-store';
import { objectsCreated, UploadEvent } from './aws/s3-upload-events';
import { SfnSweepStarter } from './aws/sfn-sweep-starter';

export const ModelUploadEnv = StorageEnv.extend({
  UPLIFT_STATE_MACHINE_ARN: z.string().startsWith('arn:', { error: 'UPLIFT_STATE_MACHINE_ARN must be the ARN of the Uplift state machine' }),
});

let cached: { key: string; deps: UploadDeps } | undefined;

/** Composition root: stores and the Step Functions client from the environment, reused across warm invocations. */
export function depsFromEnv(raw: Record<string, string | undefined>): UploadDeps {
  const env = ModelUploadEnv.parse(raw);
  const key = JSON.stringify(env);
  if (!cached || cached.key !== key) {
    cached = {
      key,
      deps: {
        artifacts: new S3ArtifactStore(s3Client(env), env.UPLIFT_BUCKET),
        bucket: env.UPLIFT_BUCKET,
        triggers: new DynamoTriggerStore(dynamoClient(env), env.UPLIFT_TABLE),
        starter: new SfnSweepStarter(new SFNClient({ region: env.AWS_REGION }), env.UPLIFT_STATE_MACHINE_ARN),
      },
    };
  }
  return cached.deps;
}

export async function handler(event: unknown): Promise<{ outcomes: UploadOutcome[] }> {
  const parsed = UploadEvent.safeParse(event);
  if (!parsed.success) throw new SpecError(['model-upload: not an S3 Object Created event', ...formatIssues('event', parsed.error, event).slice(0, 5)]);
  const deps = depsFromEnv(process.env);
  const outcomes: UploadOutcome[] = [];
  for (const upload of objectsCreated(parsed.data)) outcomes.push(...(await onModelUploaded(deps, upload)));
  // One structured line per invocation: what started, what was a duplicate, what was refused and why.
  console.log(JSON.stringify({ uplift: 'model-upload', outcomes }));
  return { outcomes };
}
