import type { AslDefinition } from '../../step-functions/synth';

type Cfn = string | number | boolean | null | Cfn[] | { [k: string]: Cfn };

/** Renders a CloudFormation value as text, each reference as a `${LogicalId}` / `${LogicalId.Attr}` placeholder. */
export function renderCfn(value: Cfn): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Cfn[]];
      return parts.map(renderCfn).join(sep);
    }
    // The partition is the only pseudo parameter a definition uses; the local synth renders it as "aws" too.
    if ('Ref' in value) return value.Ref === 'AWS::Partition' ? 'aws' : `\${${String(value.Ref)}}`;
    if ('Fn::GetAtt' in value) return `\${${(value['Fn::GetAtt'] as string[]).join('.')}}`;
  }
  throw new Error(`unexpected CloudFormation value ${JSON.stringify(value).slice(0, 200)}`);
}

/** The ASL of the one state machine in a deployed-stack template, references as placeholders. */
export function cloudDefinition(template: { Resources: Record<string, { Type: string; Properties: Record<string, Cfn> }> }): AslDefinition {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return JSON.parse(renderCfn(machines[0].Properties.DefinitionString)) as AslDefinition;
}
