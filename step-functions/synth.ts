import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { z } from 'zod';
import { STATE, UpliftStateMachine, type UpliftFunctions } from './uplift-state-machine';

/** Account and region of the local synth: placeholders that never reach AWS. */
export const LOCAL_ENV = { account: '000000000000', region: 'local-1' };
/** The embedded S3 bucket (cli/local/embedded.ts creates it). */
export const LOCAL_BUCKET = 'uplift-artifacts';
export const LOCAL_JOB_QUEUE_ARN = `arn:aws:batch:${LOCAL_ENV.region}:${LOCAL_ENV.account}:job-queue/uplift-local`;
/** The images queue of the local synth (the local pool runs every job alike; the ARN only tells the branches apart). */
export const LOCAL_IMAGES_JOB_QUEUE_ARN = `arn:aws:batch:${LOCAL_ENV.region}:${LOCAL_ENV.account}:job-queue/uplift-local-images`;
export const LOCAL_JOB_DEFINITION_ARN = {
  raShard: `arn:aws:batch:${LOCAL_ENV.region}:${LOCAL_ENV.account}:job-definition/uplift-ra-shard`,
  tlaSandbox: `arn:aws:batch:${LOCAL_ENV.region}:${LOCAL_ENV.account}:job-definition/uplift-tla-sandbox`,
};


/** An ASL document (the part the runner reads; the interpreter validates the rest). */
export const AslDefinition = z.looseObject({ StartAt: z.string(), States: z.record(z.string(), z.looseObject({ Type: z.string() })) });
export type AslDefinition = z.infer<typeof AslDefinition>;

type Cfn = string | number | boolean | null | Cfn[] | { [k: string]: Cfn };
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': LOCAL_ENV.region, 'AWS::AccountId': LOCAL_ENV.account, 'AWS::URLSuffix': 'amazonaws.com' };

/** Evaluates the CloudFormation intrinsics a synthesized definition string uses (Fn::Join, pseudo-parameter Refs). */
export function resolveIntrinsics(value: Cfn): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Cfn[]];
      return parts.map(resolveIntrinsics).join(sep);
    }
    if ('Ref' in value && typeof value.Ref === 'string' && PSEUDO[value.Ref]) return PSEUDO[value.Ref];
  }
  throw new Error(`cannot resolve ${JSON.stringify(value).slice(0, 200)} in the local state machine definition`);
}

/** The CloudFormation template of a stack that holds only the state machine, with imported placeholder resources. */
export function synthLocalTemplate(): Record<string, unknown> {
  // No CloudFormation schema check (~3 s of CPU per synth, every local sweep): this throwaway template
  // only carries the state machine's ASL, which the tests validate (asl-validator); the deployed stack's synth still checks it.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'UpliftLocal', { env: LOCAL_ENV });
  const fn = (name: string) => lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:${LOCAL_ENV.region}:${LOCAL_ENV.account}:function:uplift-${name}`);
  const functions: UpliftFunctions = {
    planSweep: fn(STATE.planSweep),
    planRun: fn(STATE.planRun),
    recordBaseline: fn(STATE.recordBaseline),
    scoreRun: fn(STATE.scoreRun),
    markRunFailed: fn(STATE.markRunFailed),
    finalizeSweep: fn(STATE.finalizeSweep),
  };
  new UpliftStateMachine(stack, 'Uplift', {
    functions,
    artifactsBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', LOCAL_BUCKET),
    cpu: { jobQueueArn: LOCAL_JOB_QUEUE_ARN, raShardJobDefinitionArn: LOCAL_JOB_DEFINITION_ARN.raShard, tlaSandboxJobDefinitionArn: LOCAL_JOB_DEFINITION_ARN.tlaSandbox },
    images: { jobQueueArn: LOCAL_IMAGES_JOB_QUEUE_ARN },
  });
  return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
}

/** Finds the state machine in a template and returns its definition as ASL. */
export function definitionFromTemplate(template: Record<string, unknown>): AslDefinition {
  const resources = Object.values((template.Resources ?? {}) as Record<string, { Type: string; Properties: { DefinitionString: Cfn } }>);
  const machines = resources.filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  return AslDefinition.parse(JSON.parse(resolveIntrinsics(machines[0].Properties.DefinitionString)));
}

/** Suffix of the state the local rewrite inserts before a Distributed Map to read its items. */
export const READ_ITEMS_SUFFIX = 'ReadItems';

type State = Record<string, unknown> & { Type: string };

/**
 * The one rewrite the local runner applies (aws-local-stepfunctions ignores a Distributed Map's
 * `ItemReader`): each Distributed Map `X` that reads its items from S3 becomes a Task state
 * `X.ReadItems` (Resource `arn:aws:states:::s3:getObject`, same Bucket/Key parameters, result in
 * `$.mapItems.X`) followed by an inline Map `X` over `$.mapItems.X`, with the same ItemSelector,
 * MaxConcurrency, item processor and Catch. `X.ReadItems` gets the Map's Catch too: in the cloud a
 * failed ItemReader is a failure of the Map state, which its Catch handles. `ResultWriter` and
 * the other distributed-only fields (`ToleratedFailurePercentage`/`Count`, `ItemBatcher`,
 * `Label`) are dropped: an inline Map has none, and the definition never lets a run fail its
 * iteration with a catchable error (every run state is caught by MarkRunFailed, which is caught
 * itself), so the tolerance changes nothing locally. Everything else is left as synthesized
 * (Retry with JitterStrategy and MaxDelaySeconds included: the interpreter implements both).
 */
export function inlineDistributedMaps(def: AslDefinition): AslDefinition {
  // A JSON round trip, not structuredClone: under jest, structuredClone returns objects of another realm that
  // the interpreter does not treat as plain objects.
  const out = JSON.parse(JSON.stringify(def)) as AslDefinition & { States: Record<string, State> };
  const renames = new Map<string, string>();
  for (const [name, state] of Object.entries(out.States)) {
    const reader = state.ItemReader as { Parameters?: Record<string, unknown> } | undefined;
    if (state.Type !== 'Map' || !reader) continue;
    const readName = `${name}.${READ_ITEMS_SUFFIX}`;
    const { ItemReader: _r, ResultWriter: _w, ItemBatcher: _b, Label: _l, ToleratedFailurePercentage: _p, ToleratedFailureCount: _c, ...rest } = state;
    const processor = { ...(rest.ItemProcessor as Record<string, unknown>), ProcessorConfig: { Mode: 'INLINE' } };
    out.States[readName] = {
      Type: 'Task',
      Resource: 'arn:aws:states:::s3:getObject',
      Parameters: reader.Parameters ?? {},
      ResultPath: `$.mapItems.${name}`,
      ...(rest.Catch ? { Catch: JSON.parse(JSON.stringify(rest.Catch)) as unknown } : {}),
      Next: name,
    };
    out.States[name] = { ...rest, ItemsPath: `$.mapItems.${name}`, ItemProcessor: processor };
    renames.set(name, readName);
  }
  const inserted = new Set(renames.values());
  const retarget = (states: Record<string, State>) => {
    for (const [name, s] of Object.entries(states)) {
      if (inserted.has(name)) continue;
      if (typeof s.Next === 'string' && renames.has(s.Next)) s.Next = renames.get(s.Next);
      for (const c of (s.Choices as { Next: string }[] | undefined) ?? []) if (renames.has(c.Next)) c.Next = renames.get(c.Next) as string;
      for (const c of (s.Catch as { Next: string }[] | undefined) ?? []) if (renames.has(c.Next)) c.Next = renames.get(c.Next) as string;
      if (typeof s.Default === 'string' && renames.has(s.Default)) s.Default = renames.get(s.Default);
    }
  };
  retarget(out.States);
  if (renames.has(out.StartAt)) out.StartAt = renames.get(out.StartAt) as string;
  return out;
}

/**
 * AWS Step Functions gives a Task state without `TimeoutSeconds` no timeout to speak of (99,999,999 s).
 * Locally the longest a Node timer can wait is 2^31 − 1 ms (a larger one fires at once), so the
 * runner uses 2,000,000 s (23 days): longer than the state machine's own timeout (7 days).
 */
export const LOCAL_TASK_TIMEOUT_SECONDS = 2_000_000;

/**
 * The second rewrite for the local interpreter: aws-local-stepfunctions gives a Task state without
 * `TimeoutSeconds`/`TimeoutSecondsPath` a 60 s timeout, where AWS gives it none, so every local job
 * longer than a minute (a react TLA, a long shard) failed with States.Timeout. Such states get
 * LOCAL_TASK_TIMEOUT_SECONDS explicitly; the jobs' own limits stay the Batch attempt timeouts
 * (`Parameters.Timeout.AttemptDurationSeconds`), which the local pool enforces as Batch does.
 */
export function withAwsTaskTimeouts(def: AslDefinition): AslDefinition {
  const out = JSON.parse(JSON.stringify(def)) as AslDefinition & { States: Record<string, State> };
  const walk = (states: Record<string, State>) => {
    for (const s of Object.values(states)) {
      if (s.Type === 'Task' && s.TimeoutSeconds === undefined && s.TimeoutSecondsPath === undefined) s.TimeoutSeconds = LOCAL_TASK_TIMEOUT_SECONDS;
      const inner = (s.ItemProcessor ?? s.Iterator) as { States?: Record<string, State> } | undefined;
      if (inner?.States) walk(inner.States);
      for (const b of (s.Branches as { States: Record<string, State> }[] | undefined) ?? []) walk(b.States);
    }
  };
  walk(out.States);
  return out;
}

/** The ASL the local runner executes: synthesized from the same construct the cloud stack deploys, Distributed Maps inlined, AWS's task timeouts made explicit. */
export function synthLocalDefinition(): AslDefinition {
  return withAwsTaskTimeouts(inlineDistributedMaps(definitionFromTemplate(synthLocalTemplate())));
}
