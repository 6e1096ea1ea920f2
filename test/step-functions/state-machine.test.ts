import validator from 'asl-validator';
import { LOCAL_TASK_TIMEOUT_SECONDS, definitionFromTemplate, inlineDistributedMaps, synthLocalDefinition, synthLocalTemplate, withAwsTaskTimeouts, type AslDefinition } from '../../step-functions/synth';
import { BATCH_API_ERRORS, LAMBDA_SERVICE_ERRORS, STATE, STORAGE_THROTTLING_ERRORS } from '../../step-functions/uplift-state-machine';

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

  test('has the flow the README architecture draws: PlanSweep → Map(runs) → FinalizeSweep, runs read from S3', () => {
    expect(synthesized.StartAt).toBe(STATE.planSweep);
    const runs = synthesized.States[STATE.runs] as S;
    expect(runs.Type).toBe('Map');
    expect(runs.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'uplift-artifacts', 'Key.$': '$.sweep.itemsKey' } });
    expect((runs.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(runs.MaxConcurrencyPath).toBe('$.sweep.maxConcurrency');
    expect(runs.Next).toBe(STATE.finalizeSweep);
    const inner = runStates(synthesized);
    expect(Object.keys(inner).sort()).toEqual(
      [
        STATE.planRun,
        STATE.nextStep,
        STATE.baselineShards,
        STATE.recordBaseline,
        STATE.tlaSandbox,
        STATE.mraShards,
        STATE.scoreRun,
        STATE.markRunFailed,
        STATE.runFailureUnrecorded,
        STATE.runSkipped,
        // Image runs: shard jobs one by one, each with its task's job definition (core/sweep/image-jobs.ts).
        STATE.baselineImageShards,
        STATE.recordBaselineImages,
        STATE.tlaSandboxImages,
        STATE.mraImageShards,
      ].sort(),
    );
    for (const [map, job, items] of [
      [STATE.baselineImageShards, STATE.baselineImageShard, '$.run.baselineImageJobs'],
      [STATE.mraImageShards, STATE.mraImageShard, '$.run.mraImageJobs'],
    ] as const) {
      expect(inner[map]).toMatchObject({ Type: 'Map', ItemsPath: items, ResultPath: null, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.markRunFailed }] });
      const p = ((inner[map].ItemProcessor as { States: Record<string, S> }).States[job] as S).Parameters as Record<string, unknown>;
      expect(p).toMatchObject({ 'JobDefinition.$': '$.job.jobDefinition', Timeout: { 'AttemptDurationSeconds.$': '$.shardTimeoutSeconds' } });
      expect((p.ContainerOverrides as { Environment: unknown[] }).Environment).toContainEqual({ Name: 'UPLIFT_JOB_INDEX', 'Value.$': "States.Format('{}', $.job.index)" });
      expect(p.ArrayProperties).toBeUndefined();
    }
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

  test('the runs Map tolerates every failed run and is caught: a failed Map still leads to FinalizeSweep', () => {
    const runs = synthesized.States[STATE.runs] as S;
    expect(runs.ToleratedFailurePercentage).toBe(100);
    expect(runs.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.runsError', Next: STATE.finalizeSweep }]);
    expect(runs.Next).toBe(STATE.finalizeSweep);
    // FinalizeSweep reads the sweep id from $.sweep, which the Catch's ResultPath leaves in place.
    expect((synthesized.States[STATE.finalizeSweep] as S).Parameters).toEqual({ 'sweepId.$': '$.sweep.sweepId' });
  });

  test('MarkRunFailed is retried (Lambda errors, throttling, then anything once more) and caught by a state that ends the run without failing the Map', () => {
    const inner = runStates(synthesized);
    const mark = inner[STATE.markRunFailed] as S & { Retry: { ErrorEquals: string[]; MaxAttempts: number; JitterStrategy?: string }[] };
    expect(mark.Retry.map((r) => r.ErrorEquals)).toEqual([LAMBDA_SERVICE_ERRORS, STORAGE_THROTTLING_ERRORS, ['States.ALL']]);
    expect(mark.Retry.every((r) => r.MaxAttempts >= 2 && r.JitterStrategy === 'FULL')).toBe(true);
    expect(mark.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.markRunFailedError', Next: STATE.runFailureUnrecorded }]);
    expect(inner[STATE.runFailureUnrecorded].Type).toBe('Succeed');
  });

  test('every Lambda step retries the Lambda service\'s errors and storage throttling with exponential backoff and full jitter', () => {
    const lambdaStates = (states: Record<string, S>) => Object.entries(states).filter(([, s]) => s.Type === 'Task' && String(s.Resource).startsWith('arn:aws:lambda:'));
    const all = [...lambdaStates(synthesized.States as Record<string, S>), ...lambdaStates(runStates(synthesized))];
    expect(all.map(([n]) => n).sort()).toEqual([STATE.planSweep, STATE.finalizeSweep, STATE.planRun, STATE.recordBaseline, STATE.recordBaselineImages, STATE.scoreRun, STATE.markRunFailed].sort());
    expect(LAMBDA_SERVICE_ERRORS).toEqual(expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException']));
    expect(STORAGE_THROTTLING_ERRORS).toEqual(expect.arrayContaining(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']));
    for (const [name, s] of all) {
      const retry = s.Retry as { ErrorEquals: string[]; IntervalSeconds: number; BackoffRate: number; MaxAttempts: number; MaxDelaySeconds?: number; JitterStrategy?: string }[];
      for (const errors of [LAMBDA_SERVICE_ERRORS, STORAGE_THROTTLING_ERRORS]) {
        const r = retry.find((x) => JSON.stringify(x.ErrorEquals) === JSON.stringify(errors));
        expect({ name, errors: errors[0], retrier: r }).toEqual({
          name,
          errors: errors[0],
          retrier: { ErrorEquals: errors, IntervalSeconds: expect.any(Number), BackoffRate: 2, MaxAttempts: expect.any(Number), MaxDelaySeconds: expect.any(Number), JitterStrategy: 'FULL' },
        });
        expect(r!.MaxAttempts).toBeGreaterThanOrEqual(5);
      }
    }
  });

  test('every Batch step retries the Batch API\'s errors (SubmitJob throttled) first and apart from job failures, which keep their one retry', () => {
    const inner = runStates(synthesized);
    const nested = Object.values(inner).flatMap((s) => Object.entries((s.ItemProcessor as { States?: Record<string, S> } | undefined)?.States ?? {}));
    const batch = [...Object.entries(inner), ...nested].filter(([, s]) => s.Resource === 'arn:aws:states:::batch:submitJob.sync');
    expect(batch.map(([n]) => n).sort()).toEqual([STATE.baselineShards, STATE.tlaSandbox, STATE.mraShards, STATE.tlaSandboxImages, STATE.baselineImageShard, STATE.mraImageShard].sort());
    expect(BATCH_API_ERRORS).toEqual(expect.arrayContaining(['Batch.AWSBatchException', 'Batch.TooManyRequestsException']));
    for (const [name, s] of batch)
      expect({ name, retry: s.Retry }).toEqual({
        name,
        retry: [
          { ErrorEquals: BATCH_API_ERRORS, IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 8, MaxDelaySeconds: 120, JitterStrategy: 'FULL' },
          { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 10, MaxAttempts: 1 },
        ],
      });
  });

  test('the second local rewrite gives every Task state without a timeout AWS\'s default, so no local job is cut at the interpreter\'s 60 s', () => {
    // GIVEN the synthesized definition, whose Task states carry no state timeout (Batch jobs have their attempt timeouts in Parameters)
    const tasks = (d: AslDefinition) => {
      const out: S[] = [];
      const walk = (states: Record<string, S>) => {
        for (const st of Object.values(states)) {
          if (st.Type === 'Task') out.push(st);
          const inner = st.ItemProcessor as { States?: Record<string, S> } | undefined;
          if (inner?.States) walk(inner.States);
        }
      };
      walk(d.States as Record<string, S>);
      return out;
    };
    expect(tasks(synthesized).every((t) => t.TimeoutSeconds === undefined && t.TimeoutSecondsPath === undefined)).toBe(true);
    // WHEN the runner's definition is built THEN each gets AWS's default, and nothing else changes
    const local = synthLocalDefinition();
    expect(tasks(local).length).toBeGreaterThanOrEqual(9);
    expect(tasks(local).map((t) => t.TimeoutSeconds)).toEqual(tasks(local).map(() => LOCAL_TASK_TIMEOUT_SECONDS));
    // A Node timer past 2^31 − 1 ms fires at once: the timeout must fit one, and outlast the state machine's own 7 days.
    expect(LOCAL_TASK_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(LOCAL_TASK_TIMEOUT_SECONDS).toBeGreaterThan(7 * 24 * 3600);
    const strip = (d: AslDefinition) => JSON.parse(JSON.stringify(d).replace(new RegExp(`,?"TimeoutSeconds":${LOCAL_TASK_TIMEOUT_SECONDS}`, 'g'), '')) as unknown;
    expect(strip(local)).toEqual(strip(inlineDistributedMaps(synthesized)));
  });

  test('the local rewrite only inlines the Distributed Map, fed by a step reading the same S3 object', () => {
    const local = inlineDistributedMaps(synthesized);
    const read = local.States[`${STATE.runs}.ReadItems`] as S;
    // The read is part of the Map in the cloud (a failed ItemReader fails the Map): it has the Map's Catch.
    const mapCatch = (synthesized.States[STATE.runs] as S).Catch;
    expect(mapCatch).toBeDefined();
    expect(read).toEqual({ Type: 'Task', Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'uplift-artifacts', 'Key.$': '$.sweep.itemsKey' }, ResultPath: `$.mapItems.${STATE.runs}`, Catch: mapCatch, Next: STATE.runs });
    expect((local.States[STATE.planSweep] as S).Next).toBe(`${STATE.runs}.ReadItems`);
    const map = local.States[STATE.runs] as S;
    expect(map.ItemReader).toBeUndefined();
    expect(map.ResultWriter).toBeUndefined();
    expect(map.ItemsPath).toBe(`$.mapItems.${STATE.runs}`);
    // An inline Map has no failure tolerance; its Catch stays.
    expect(map.ToleratedFailurePercentage).toBeUndefined();
    expect(map.Catch).toEqual(mapCatch);
    // Same run states, same item selector and concurrency: nothing else changed.
    expect(runStates(local)).toEqual(runStates(synthesized));
    expect(map.ItemSelector).toEqual((synthesized.States[STATE.runs] as S).ItemSelector);
    expect(map.MaxConcurrencyPath).toEqual((synthesized.States[STATE.runs] as S).MaxConcurrencyPath);
    expect(validator(structuredClone(local)).isValid).toBe(true);
    expect(synthLocalDefinition()).toEqual(withAwsTaskTimeouts(local));
  });
});
