import { readFileSync } from 'node:fs';
import validator from 'asl-validator';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { REPO_ROOT } from '../../infra/config';
import { STEP_HANDLERS } from '../../infra/constructs/functions';
import { JOB_COMMANDS } from '../../infra/constructs/jobs';
import type { UpliftStack } from '../../infra/uplift-stack';
import { definitionFromTemplate, inlineDistributedMaps, withAwsTaskTimeouts, LOCAL_BUCKET, LOCAL_IMAGES_JOB_QUEUE_ARN, LOCAL_JOB_DEFINITION_ARN, LOCAL_JOB_QUEUE_ARN, synthLocalDefinition, synthLocalTemplate, type AslDefinition } from '../../step-functions/synth';
import { STATE, UpliftStateMachine } from '../../step-functions/uplift-state-machine';
import { cloudDefinition } from './cloud-definition';
import { synthUpliftStack } from './synth-stack';

type State = Record<string, unknown> & { Type: string };
type Def = { StartAt: string; States: Record<string, State> };

let stack: UpliftStack;
let cloud: Def;
let localTemplateDef: Def;
let localExecuted: Def;
beforeAll(() => {
  const synth = synthUpliftStack();
  stack = synth.stack;
  cloud = cloudDefinition(synth.template.toJSON() as never) as unknown as Def;
  localTemplateDef = definitionFromTemplate(synthLocalTemplate()) as unknown as Def;
  localExecuted = synthLocalDefinition() as unknown as Def;
});

const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
const LAMBDA_STATES: Record<string, keyof typeof STEP_HANDLERS> = {
  [STATE.planSweep]: 'planSweep',
  [STATE.planRun]: 'planRun',
  [STATE.recordBaseline]: 'recordBaseline',
  [STATE.recordBaselineGpu]: 'recordBaseline',
  [STATE.recordBaselineImages]: 'recordBaseline',
  [STATE.scoreRun]: 'scoreRun',
  [STATE.markRunFailed]: 'markRunFailed',
  [STATE.finalizeSweep]: 'finalizeSweep',
};
const GPU_TWINS: Record<string, string> = {
  [STATE.baselineShardsGpu]: STATE.baselineShards,
  [STATE.recordBaselineGpu]: STATE.recordBaseline,
  [STATE.tlaSandboxGpu]: STATE.tlaSandbox,
  [STATE.mraShardsGpu]: STATE.mraShards,
};

/**
 * Replaces what legitimately differs between the deployed and the local synth (the ARNs of the
 * resources the states point at, the bucket name) by symbolic names, checking on the way that
 * each state points at the right resource: the function of its step, the queue and job
 * definition of its flavour.
 */
function normalize(def: Def, where: 'cloud' | 'local'): Def {
  const out = structuredClone(def);
  const bucket = where === 'cloud' ? `\${${id(stack.storage.bucket)}}` : LOCAL_BUCKET;
  const jobs = stack.jobs;
  const queues: Record<string, string> =
    where === 'cloud'
      ? { [`\${${id(jobs.cpu.queue)}.JobQueueArn}`]: '<cpu-queue>', [`\${${id(jobs.gpu!.queue)}.JobQueueArn}`]: '<gpu-queue>', [`\${${id(jobs.images!.queue)}.JobQueueArn}`]: '<images-queue>' }
      : { [LOCAL_JOB_QUEUE_ARN]: '<cpu-queue>', [LOCAL_IMAGES_JOB_QUEUE_ARN]: '<images-queue>' };
  const jobDefs: Record<string, string> =
    where === 'cloud'
      ? { [`\${${id(jobs.cpu.raShard)}}`]: '<cpu-ra-shard>', [`\${${id(jobs.cpu.tlaSandbox)}}`]: '<cpu-tla-sandbox>', [`\${${id(jobs.gpu!.raShard)}}`]: '<gpu-ra-shard>', [`\${${id(jobs.gpu!.tlaSandbox)}}`]: '<gpu-tla-sandbox>' }
      : { [LOCAL_JOB_DEFINITION_ARN.raShard]: '<cpu-ra-shard>', [LOCAL_JOB_DEFINITION_ARN.tlaSandbox]: '<cpu-tla-sandbox>' };
  const visit = (states: Record<string, State>) => {
    for (const [name, s] of Object.entries(states)) {
      const p = s.Parameters as Record<string, unknown> | undefined;
      const step = LAMBDA_STATES[name];
      if (step) {
        // Lambda steps invoke the function directly (payloadResponseOnly): Resource is its ARN.
        const expected = where === 'cloud' ? `\${${id(stack.steps[step])}.Arn}` : `arn:aws:lambda:local-1:000000000000:function:uplift-${name.replace(/(Gpu|Images)$/, '')}`;
        expect({ state: name, Resource: s.Resource }).toEqual({ state: name, Resource: expected });
        s.Resource = `<function ${step}>`;
      }
      if (s.Resource === 'arn:aws:states:::batch:submitJob.sync' && p) {
        // An image shard job's definition is its task's, from PlanRun (the Map item); every other job's is the stack's.
        const imageJob = name === STATE.baselineImageShard || name === STATE.mraImageShard;
        const definition = imageJob ? p['JobDefinition.$'] === '$.job.jobDefinition' : (p.JobDefinition as string) in jobDefs;
        expect({ state: name, queue: queues[p.JobQueue as string], definition }).toEqual({ state: name, queue: imageJob ? '<images-queue>' : expect.stringMatching(/^<(cpu|gpu)-queue>$/), definition: true });
        p.JobQueue = queues[p.JobQueue as string];
        if (!imageJob) p.JobDefinition = jobDefs[p.JobDefinition as string];
      }
      for (const f of ['ItemReader', 'ResultWriter'] as const) {
        const x = s[f] as { Parameters?: { Bucket?: string } } | undefined;
        if (x?.Parameters?.Bucket !== undefined) {
          expect(x.Parameters.Bucket).toBe(bucket);
          x.Parameters.Bucket = '<artifacts-bucket>';
        }
      }
      if (s.Type === 'Task' && s.Resource === 'arn:aws:states:::s3:getObject' && p?.Bucket !== undefined) {
        expect(p.Bucket).toBe(bucket);
        p.Bucket = '<artifacts-bucket>';
      }
      const inner = (s.ItemProcessor as { States?: Record<string, State> } | undefined)?.States;
      if (inner) visit(inner);
    }
  };
  visit(out.States);
  return out;
}

const runStates = (d: Def) => (d.States[STATE.runs].ItemProcessor as { States: Record<string, State> }).States;
const onGpu = (c: unknown) => JSON.stringify(c).includes('"gpu"');

/** The deployed definition without its GPU branch: the GPU states and the Choice rules that lead to them. */
function withoutGpuBranch(def: Def): Def {
  const out = structuredClone(def);
  const inner = runStates(out);
  for (const gpuState of Object.keys(GPU_TWINS)) delete inner[gpuState];
  const choice = inner[STATE.nextStep] as unknown as { Choices: unknown[] };
  choice.Choices = choice.Choices.filter((c) => !onGpu(c));
  return out;
}

describe('the deployed state machine is the one the local runner executes', () => {
  test('the stack deploys the UpliftStateMachine construct of step-functions/, and its Lambdas and jobs run the modules the local runner calls', () => {
    expect(stack.pipeline).toBeInstanceOf(UpliftStateMachine);
    const runner = readFileSync(join(REPO_ROOT, 'cli/local/runner.ts'), 'utf8');
    for (const file of Object.values(STEP_HANDLERS)) {
      expect(runner).toContain(`from '../../${file.replace(/\.ts$/, '')}'`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      expect(typeof (require(join(REPO_ROOT, file)) as { handler: unknown }).handler).toBe('function');
    }
    // The images run batch-images/jobs/<job>.ts, which runs a job function of core/jobs/ through runJob; the local pool's
    // worker (batch-images/jobs/local-worker.ts) runs the same function, imported from the same module, under the same name.
    const pool = readFileSync(join(REPO_ROOT, 'cli/local/batch-pool.ts'), 'utf8');
    const worker = readFileSync(join(REPO_ROOT, 'batch-images/jobs/local-worker.ts'), 'utf8');
    for (const cmd of [...Object.values(JOB_COMMANDS.cpu), ...Object.values(JOB_COMMANDS.gpu)]) {
      const entry = cmd[cmd.length - 1];
      const job = /^batch-images\/jobs\/(ra-shard|tla-sandbox)\.ts$/.exec(entry)?.[1];
      expect(job).toBeDefined();
      const image = readFileSync(join(REPO_ROOT, entry), 'utf8');
      const [, fn, module] = /import \{ (\w+) \} from '(\.\.\/\.\.\/core\/jobs\/[\w-]+)';/.exec(image) ?? [];
      expect(image).toContain(`runJob('${job}', ${fn})`);
      expect(worker).toContain(`import { ${fn} } from '${module}';`);
      expect(worker).toContain(`'${job}': ${fn}`);
      expect(pool).toContain(`: '${job}',`);
    }
  });

  test('same states: the deployed definition equals the local one plus the GPU twin of each job step', () => {
    const c = normalize(cloud, 'cloud');
    const l = normalize(localTemplateDef, 'local');
    // Everything outside the GPU branch is identical, state by state.
    expect(withoutGpuBranch(c)).toEqual(l);
    // The GPU branch: each GPU state is its CPU twin on the GPU queue and job definitions.
    const inner = runStates(c);
    expect(Object.keys(inner).filter((n) => !(n in runStates(l))).sort()).toEqual(Object.keys(GPU_TWINS).sort());
    // The one other difference: a GPU job's attempt timeout adds the stack's weights-sync allowance to PlanRun's.
    const allowance = stack.jobs.gpu!.attemptAllowanceSeconds;
    expect(allowance).toBe(1800);
    const withoutAllowance = (text: string) => text.replace(new RegExp(`"States\\.MathAdd\\((\\$\\.run\\.\\w+TimeoutSeconds), ${allowance}\\)"`, 'g'), '"$1"');
    const flavourless = (s: State) => JSON.parse(withoutAllowance(JSON.stringify(s).replace(/<gpu-/g, '<cpu-').replace(/"(\w+)Gpu"/g, '"$1"'))) as State;
    for (const [gpu, cpu] of Object.entries(GPU_TWINS)) {
      expect({ gpu, state: flavourless(inner[gpu]) }).toEqual({ gpu, state: inner[cpu] });
      const timeout = (inner[gpu].Parameters as { Timeout?: Record<string, string> } | undefined)?.Timeout;
      if (timeout) expect({ gpu, timeout }).toEqual({ gpu, timeout: { 'AttemptDurationSeconds.$': `States.MathAdd(${(inner[cpu].Parameters as { Timeout: Record<string, string> }).Timeout['AttemptDurationSeconds.$']}, ${allowance})` } });
      const p = inner[gpu].Parameters as { JobQueue?: string; JobDefinition?: string } | undefined;
      if (inner[gpu].Resource === 'arn:aws:states:::batch:submitJob.sync') expect([p?.JobQueue, p?.JobDefinition?.slice(0, 5)]).toEqual(['<gpu-queue>', '<gpu-']);
    }
    // Runs on the GPU queue are routed by PlanRun's `queue` answer.
    const choices = (inner[STATE.nextStep] as unknown as { Choices: { Next: string }[] }).Choices.filter(onGpu);
    expect(choices.map((x) => x.Next).sort()).toEqual([STATE.baselineShardsGpu, STATE.tlaSandboxGpu].sort());
  });

  test('the deployed definition, GPU branch and its timeout intrinsic included, passes the ASL validator', () => {
    const result = validator(JSON.parse(JSON.stringify(cloud)));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  test('the runner executes the deployed definition with only the documented rewrites: its Distributed Map inlined, AWS\'s task timeouts explicit', () => {
    expect((cloud.States[STATE.runs].ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    const deployedAsRun = withoutGpuBranch(normalize(withAwsTaskTimeouts(inlineDistributedMaps(cloud as unknown as AslDefinition)) as unknown as Def, 'cloud'));
    expect(deployedAsRun).toEqual(normalize(localExecuted, 'local'));
  });
});
