import '../core/polyfills';
import type { StepDeps } from '../core/sweep/steps';
import { BatchClient } from '@aws-sdk/client-batch';
import type { JobDefinitions } from '../core/sweep/image-jobs';
import { BatchJobDefinitions, ImageJobTemplate, LOCAL_IMAGE_JOB_DEFINITION_PREFIX, LocalJobDefinitions } from './aws/batch-job-definitions';
import { storesFromEnv } from './aws/clients';

let cached: { key: string; deps: StepDeps } | undefined;

/** The composition root of the Lambda runtime: stores from the environment, reused across warm invocations. */
function depsFromEnv(): StepDeps {
  const e = process.env;
  const key = [e.UPLIFT_BUCKET, e.UPLIFT_TABLE, e.UPLIFT_S3_ENDPOINT, e.UPLIFT_DYNAMODB_ENDPOINT, e.AWS_REGION, e.UPLIFT_LOCAL_ACCESS_KEY_ID, e.UPLIFT_IMAGE_JOB_TEMPLATE, e.UPLIFT_LOCAL_IMAGE_JOBS].join('|');
  if (!cached || cached.key !== key) cached = { key, deps: { ...storesFromEnv(e), jobDefinitions: jobDefinitionsFromEnv(e) } };
  return cached.deps;
}

/** Image job definitions: the stack's Batch (its template in UPLIFT_IMAGE_JOB_TEMPLATE), the local pool's stand-in, or none. */
function jobDefinitionsFromEnv(e: NodeJS.ProcessEnv): JobDefinitions | undefined {
  if (e.UPLIFT_IMAGE_JOB_TEMPLATE) {
    const template = ImageJobTemplate.parse(JSON.parse(e.UPLIFT_IMAGE_JOB_TEMPLATE));
    return new BatchJobDefinitions(new BatchClient({ region: e.AWS_REGION }), template);
  }
  if (e.UPLIFT_LOCAL_IMAGE_JOBS === '1') return new LocalJobDefinitions(LOCAL_IMAGE_JOB_DEFINITION_PREFIX);
  return undefined;
}

/** A thin Lambda handler around a pipeline step: the step parses its input with zod and does the work in core/. */
export function stepHandler<I, O>(step: (deps: StepDeps, input: I) => Promise<O>): (event: I) => Promise<O> {
  return (event: I) => step(depsFromEnv(), event);
}
