import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { z } from 'zod';
import { STATE, UpliftStateMachine, type UpliftFunctions } from './uplift-state-machine';

/** Account and region of the local synth: placeholders that never reach AWS. */
export const LOCAL_ENV = { account: '000000000000', region: 'local-1' };
export const LOCAL_JOB_QUEUE_ARN = `arn:aws:batch:${LOCAL_ENV.region}:${LOCAL_ENV.account}:job-queue/uplift-local`;
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
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
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
    jobQueueArn: LOCAL_JOB_QUEUE_ARN,
    raShardJobDefinitionArn: LOCAL_JOB_DEFINITION_ARN.raShard,
    tlaSandboxJobDefinitionArn: LOCAL_JOB_DEFINITION_ARN.tlaSandbox,
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

/** The ASL the local runner executes: synthesized from the same construct the cloud stack deploys. */
export function synthLocalDefinition(): AslDefinition {
  return definitionFromTemplate(synthLocalTemplate());
}
