import validator from 'asl-validator';
import { definitionFromTemplate, inlineDistributedMaps, synthLocalDefinition, synthLocalTemplate, type AslDefinition } from '../../step-functions/synth';
import { STATE } from '../../step-functions/uplift-state-machine';

type S = Record<string, unknown> & { Type: string };
let template: Record<string, unknown>;
let synthesized: AslDefinition;
beforeAll(() => {
  template = synthLocalTemplate();
  synthesized = definitionFromTemplate(template);
});

const runStates = (d: AslDefinition) => (d.States[STATE.runs] as unknown as { ItemProcessor: { States: Record<string, S> } }).ItemProcessor.States;

describe('the Uplift state machine', () => {
  test('synthesizes to ASL that passes the validator and has no unresolved CDK token', () => {
    const text = JSON.stringify(synthesized);
    expect(text).not.toMatch(/\$\{Token\[/);
    const result = validator(structuredClone(synthesized));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  test('has the flow of DESIGN.md: PlanSweep → Map(runs) → FinalizeSweep, runs read from S3', () => {
    expect(synthesized.StartAt).toBe(STATE.planSweep);
    const runs = synthesized.States[STATE.runs] as S;
    expect(runs.Type).toBe('Map');
    expect(runs.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'uplift-artifacts', 'Key.$': '$.sweep.itemsKey' } });
    expect((runs.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(runs.MaxConcurrencyPath).toBe('$.sweep.maxConcurrency');
    expect(runs.Next).toBe(STATE.finalizeSweep);
    const inner = runStates(synthesized);
    expect(Object.keys(inner).sort()).toEqual(
      [STATE.planRun, STATE.nextStep, STATE.baselineShards, STATE.recordBaseline, STATE.tlaSandbox, STATE.mraShards, STATE.scoreRun, STATE.markRunFailed, STATE.runSkipped].sort(),
    );
    expect(inner[STATE.baselineShards].Resource).toBe('arn:aws:states:::batch:submitJob.sync');
    expect((inner[STATE.baselineShards].Parameters as { ArrayProperties: unknown }).ArrayProperties).toEqual({ 'Size.$': '$.run.shards' });
    // The MRA array job also evaluates budget-curve bundles: shards × (1 + curve points) children.
    expect((inner[STATE.mraShards].Parameters as { ArrayProperties: unknown }).ArrayProperties).toEqual({ 'Size.$': '$.run.mraJobs' });
    // Batch attempt timeouts come from the run's wall-clock budgets, as PlanRun computed them.
    expect((inner[STATE.tlaSandbox].Parameters as { Timeout: unknown }).Timeout).toEqual({ 'AttemptDurationSeconds.$': '$.run.tlaTimeoutSeconds' });
    expect((inner[STATE.baselineShards].Parameters as { Timeout: unknown }).Timeout).toEqual({ 'AttemptDurationSeconds.$': '$.run.shardTimeoutSeconds' });
  });

  test('every Task in a run is caught by MarkRunFailed, so a failed run never fails the sweep', () => {
    const inner = runStates(synthesized);
    for (const [name, s] of Object.entries(inner)) {
      if (s.Type !== 'Task' || name === STATE.markRunFailed) continue;
      expect({ name, catch: s.Catch }).toEqual({ name, catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.markRunFailed }] });
    }
    const retries = inner[STATE.scoreRun].Retry as { ErrorEquals: string[] }[];
    expect(retries.some((r) => r.ErrorEquals.includes('BaselinePendingError'))).toBe(true);
  });

  test('the local rewrite only inlines the Distributed Map, fed by a step reading the same S3 object', () => {
    const local = inlineDistributedMaps(synthesized);
    const read = local.States[`${STATE.runs}.ReadItems`] as S;
    expect(read).toEqual({ Type: 'Task', Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'uplift-artifacts', 'Key.$': '$.sweep.itemsKey' }, ResultPath: `$.mapItems.${STATE.runs}`, Next: STATE.runs });
    expect((local.States[STATE.planSweep] as S).Next).toBe(`${STATE.runs}.ReadItems`);
    const map = local.States[STATE.runs] as S;
    expect(map.ItemReader).toBeUndefined();
    expect(map.ResultWriter).toBeUndefined();
    expect(map.ItemsPath).toBe(`$.mapItems.${STATE.runs}`);
    // Same run states, same item selector and concurrency: nothing else changed.
    expect(runStates(local)).toEqual(runStates(synthesized));
    expect(map.ItemSelector).toEqual((synthesized.States[STATE.runs] as S).ItemSelector);
    expect(map.MaxConcurrencyPath).toEqual((synthesized.States[STATE.runs] as S).MaxConcurrencyPath);
    expect(validator(structuredClone(local)).isValid).toBe(true);
    expect(synthLocalDefinition()).toEqual(local);
  });
});
