import '../core/polyfills';
import type { StepDeps } from '../core/sweep/steps';
import { storesFromEnv } from './aws/clients';

let cached: { key: string; deps: StepDeps } | undefined;

/** The composition root of the Lambda runtime: stores from the environment, reused across warm invocations. */
function depsFromEnv(): StepDeps {
  const e = process.env;
  const key = [e.UPLIFT_BUCKET, e.UPLIFT_TABLE, e.UPLIFT_S3_ENDPOINT, e.UPLIFT_DYNAMODB_ENDPOINT, e.AWS_REGION, e.UPLIFT_LOCAL_ACCESS_KEY_ID].join('|');
  if (!cached || cached.key !== key) cached = { key, deps: storesFromEnv(e) };
  return cached.deps;
}

/** A thin Lambda handler around a pipeline step: the step parses its input with zod and does the work in core/. */
export function stepHandler<I, O>(step: (deps: StepDeps, input: I) => Promise<O>): (event: I) => Promise<O> {
  return (event: I) => step(depsFromEnv(), event);
}
