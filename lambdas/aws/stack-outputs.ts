import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SpecError } from '../../core/errors';
import { StackOutputs } from '../../infra/outputs';

/**
 * The outputs of a deployed Uplift stack (DescribeStacks). Errors say which stack and region were
 * asked, and how to fix it: deploy it, pass the right --stack/--region, or redeploy an old stack.
 */
export async function readStackOutputs(cfn: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  const region = await cfn.config.region();
  let outputs: Record<string, string>;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new SpecError([`--stack ${stackName}: not found in ${region}`]);
    outputs = Object.fromEntries((stack.Outputs ?? []).filter((o) => o.OutputKey).map((o) => [o.OutputKey as string, o.OutputValue ?? '']));
  } catch (e) {
    const err = e as { name?: string; message?: string };
    if (err.name === 'ValidationError' && /does not exist/.test(err.message ?? ''))
      throw new SpecError([`--stack ${stackName}: no such stack in ${region}. Fix: deploy it (npx cdk deploy, see "Deploy to AWS" in README.md), or pass the name and --region it was deployed with`], { cause: e });
    throw e;
  }
  const parsed = StackOutputs.safeParse(outputs);
  if (!parsed.success) {
    const missing = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
    throw new SpecError([`--stack ${stackName}: the stack in ${region} lacks the outputs ${missing.join(', ')}: it is not an Uplift stack, or an older one. Fix: redeploy it with this version (npx cdk deploy)`]);
  }
  return parsed.data;
}
