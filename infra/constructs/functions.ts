import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { REPO_ROOT } from '../config';

/** Handler files of the pipeline's Lambda steps: the same modules the local runner calls in-process. */
export const STEP_HANDLERS = {
  planSweep: 'lambdas/plan-sweep.ts',
  planRun: 'lambdas/plan-run.ts',
  recordBaseline: 'lambdas/record-baseline.ts',
  scoreRun: 'lambdas/score-run.ts',
  markRunFailed: 'lambdas/mark-run-failed.ts',
  finalizeSweep: 'lambdas/finalize-sweep.ts',
} as const;

/** How every Lambda is bundled: local esbuild, one CommonJS file with its dependencies. */
export const LAMBDA_BUNDLING = {
  forceDockerBundling: false,
  format: OutputFormat.CJS,
  target: 'node22',
  externalModules: [] as string[],
  minify: true,
  // Error class names survive minification: Step Functions Retry/Catch match them (e.g. BaselinePendingError).
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
} as const;

export interface UpliftFunctionProps {
  /** Handler file relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
}

/**
 * A Lambda from `lambdas/`: bundled at synth time with the local esbuild (no Docker), the AWS SDK
 * included (the versions the tests ran, not the runtime's), on Node.js 22 / arm64, with its own
 * log group and X-Ray tracing.
 */
export function upliftFunction(scope: Construct, id: string, props: UpliftFunctionProps): NodejsFunction {
  return new NodejsFunction(scope, id, {
    entry: join(REPO_ROOT, props.entry),
    handler: 'handler',
    description: props.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 1024,
    timeout: props.timeout ?? Duration.minutes(5),
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    tracing: lambda.Tracing.ACTIVE,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
    bundling: LAMBDA_BUNDLING,
  });
}
