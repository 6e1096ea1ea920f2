/**
 * The failure paths of the Uplift state machine, executed: the ASL the local runner runs
 * (synthesized from step-functions/, Distributed Map inlined) on aws-local-stepfunctions, with
 * stand-in handlers for its Task states that fail the way AWS does (by error name). What is
 * checked is the definition's Retry/Catch wiring, not the handlers.
 */
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { READ_ITEMS_SUFFIX, synthLocalDefinition, type AslDefinition } from '../../step-functions/synth';
import { BATCH_API_ERRORS, LAMBDA_SERVICE_ERRORS, STATE, STORAGE_THROTTLING_ERRORS } from '../../step-functions/uplift-state-machine';

const SWEEP = 'sweep-failing-0001';
const RUNS = ['run-a', 'run-b', 'run-c'];

type Handler = (input: unknown) => Promise<unknown>;
type Event = { type: string; state?: { name: string }; retry?: { retrier: { ErrorEquals: string[]; JitterStrategy?: string } }; index?: number };

/** An error as a Lambda or an integration reports it: Step Functions matches Retry and Catch on its name. */
const failure = (name: string, message = `${name} (stand-in)`) => Object.assign(new Error(message), { name });
const runOf = (input: unknown): string => {
  const i = input as { runId?: string; ContainerOverrides?: { Environment?: { Name: string; Value: string }[] } };
  return i.runId ?? (i.ContainerOverrides?.Environment ?? []).find((e) => e.Name === 'UPLIFT_RUN_ID')?.Value ?? '?';
};

let definition: AslDefinition;
beforeAll(() => {
  definition = synthLocalDefinition();
});

/** Stand-ins of every Task state: a sweep of RUNS, each run computing nothing and succeeding, unless `over` says otherwise. */
function handlers(calls: Record<string, unknown[]>, over: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  const ok: Record<string, Handler> = {
    [STATE.planSweep]: async () => ({ sweepId: SWEEP, planUri: `s3://uplift-artifacts/sweeps/${SWEEP}/plan.json`, itemsKey: `sweeps/${SWEEP}/runs.json`, maxConcurrency: 2, runCount: RUNS.length }),
    [`${STATE.runs}.${READ_ITEMS_SUFFIX}`]: async () => RUNS,
    [STATE.planRun]: async () => ({ action: 'proceed', queue: 'cpu', shards: 2, mraJobs: 2, tlaTimeoutSeconds: 600, shardTimeoutSeconds: 600 }),
    [STATE.baselineShards]: async () => ({}),
    [STATE.recordBaseline]: async () => ({ baseline: 0.5 }),
    [STATE.tlaSandbox]: async () => ({}),
    [STATE.mraShards]: async () => ({}),
    [STATE.scoreRun]: async () => ({ uplift: 0.1, costUsd: 0, tokens: 0 }),
    [STATE.markRunFailed]: async () => ({ status: 'failed' }),
    [STATE.finalizeSweep]: async (input) => ({ sweepId: (input as { sweepId: string }).sweepId, reportKey: `sweeps/${SWEEP}/report/index.html`, counts: {} }),
  };
  return Object.fromEntries(
    Object.entries({ ...ok, ...over }).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        (calls[name] ??= []).push(input);
        return (fn as Handler)(input);
      },
    ]),
  );
}

/** Runs the definition; `instantRetries` lists states whose retries wait 0 ms (the others wait their real, jittered interval). */
async function execute(h: Record<string, Handler>, instantRetries: string[] = []) {
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execution = machine.run({ sweepId: SWEEP }, { overrides: { taskResourceLocalHandlers: h as never, retryIntervalOverrides: Object.fromEntries(instantRetries.map((s) => [s, 0])) } });
  const events: Event[] = [];
  const logging = (async () => {
    for await (const e of execution.eventLogs) events.push(e as Event);
  })();
  let output: unknown;
  let error: unknown;
  try {
    output = await execution.result;
  } catch (e) {
    error = e;
  }
  await logging;
  return { output, error, events };
}

const entered = (events: Event[], state: string) => events.filter((e) => e.type === 'StateEntered' && e.state?.name === state).length;
const retriedBy = (events: Event[], state: string) => events.filter((e) => e.type === 'StateRetried' && e.state?.name === state).map((e) => e.retry?.retrier);

describe('the state machine, executed on its failure paths', () => {
  test('every run fails, each at a different step: each failure is recorded by MarkRunFailed, the Map goes on, and the execution reaches FinalizeSweep and succeeds', async () => {
    const calls: Record<string, unknown[]> = {};
    const { output, error, events } = await execute(
      handlers(calls, {
        // run-a: PlanRun's own bug; run-b: the TLA job fails (twice: it has one retry); run-c: ScoreRun cannot score.
        [STATE.planRun]: async (i) => {
          if (runOf(i) === 'run-a') throw failure('CorruptRecordError', 'plan.json has no run run-a');
          return { action: 'proceed', queue: 'cpu', shards: 2, mraJobs: 2, tlaTimeoutSeconds: 600, shardTimeoutSeconds: 600 };
        },
        [STATE.tlaSandbox]: async (i) => {
          if (runOf(i) === 'run-b') throw failure('States.TaskFailed', 'Essential container in task exited');
          return {};
        },
        [STATE.scoreRun]: async () => {
          throw failure('CorruptRecordError', 'result.json is missing');
        },
      }),
      [STATE.tlaSandbox],
    );
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ sweepId: SWEEP, result: { sweepId: SWEEP } });
    // Each run's failure reached MarkRunFailed once, with the error that caused it.
    const marked = (calls[STATE.markRunFailed] as { runId: string; error: { Error: string } }[]).map((c) => [c.runId, c.error.Error]).sort();
    expect(marked).toEqual([
      ['run-a', 'CorruptRecordError'],
      ['run-b', 'States.TaskFailed'],
      ['run-c', 'CorruptRecordError'],
    ]);
    expect(calls[STATE.tlaSandbox]?.filter((i) => runOf(i) === 'run-b')).toHaveLength(2);
    expect(calls[STATE.finalizeSweep]).toEqual([{ sweepId: SWEEP }]);
    expect(events.filter((e) => e.type === 'MapIterationFailed')).toEqual([]);
    expect(entered(events, STATE.runFailureUnrecorded)).toBe(0);
  });

  test('MarkRunFailed throttled once (by Lambda, by DynamoDB) is retried with full jitter, and records each failure once', async () => {
    const calls: Record<string, unknown[]> = {};
    const throttledOnce = new Map<string, string>([
      ['run-a', 'Lambda.TooManyRequestsException'],
      ['run-b', 'ProvisionedThroughputExceededException'],
    ]);
    const recorded: string[] = [];
    const { output, error, events } = await execute(
      handlers(calls, {
        [STATE.tlaSandbox]: async (i) => {
          if (runOf(i) !== 'run-c') throw failure('States.TaskFailed');
          return {};
        },
        [STATE.markRunFailed]: async (i) => {
          const run = runOf(i);
          const throttle = throttledOnce.get(run);
          if (throttle) {
            throttledOnce.delete(run);
            throw failure(throttle);
          }
          recorded.push(run);
          return { status: 'failed' };
        },
      }),
      // MarkRunFailed waits its real retry interval: 0-2 s (Lambda) and 0-1 s (DynamoDB), jittered.
      [STATE.tlaSandbox],
    );
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ result: { sweepId: SWEEP } });
    expect(recorded.sort()).toEqual(['run-a', 'run-b']);
    expect(calls[STATE.markRunFailed]).toHaveLength(4);
    const retriers = retriedBy(events, STATE.markRunFailed);
    expect(retriers).toHaveLength(2);
    expect(retriers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ErrorEquals: LAMBDA_SERVICE_ERRORS, JitterStrategy: 'FULL' }),
        expect.objectContaining({ ErrorEquals: STORAGE_THROTTLING_ERRORS, JitterStrategy: 'FULL' }),
      ]),
    );
    expect(entered(events, STATE.runFailureUnrecorded)).toBe(0);
    expect(calls[STATE.scoreRun]?.map(runOf)).toEqual(['run-c']);
    expect(calls[STATE.finalizeSweep]).toHaveLength(1);
  });

  test('MarkRunFailed that keeps failing ends its run in RunFailureUnrecorded: the other runs go on and the sweep is finalized', async () => {
    const calls: Record<string, unknown[]> = {};
    const { output, error, events } = await execute(
      handlers(calls, {
        [STATE.tlaSandbox]: async (i) => {
          if (runOf(i) === 'run-a') throw failure('States.TaskFailed');
          return {};
        },
        [STATE.markRunFailed]: async () => {
          throw failure('Error', 'the table is gone');
        },
      }),
      [STATE.tlaSandbox, STATE.markRunFailed],
    );
    expect(error).toBeUndefined();
    expect(output).toMatchObject({ result: { sweepId: SWEEP } });
    // One try and two retries (the catch-all retrier), then caught.
    expect(calls[STATE.markRunFailed]).toHaveLength(3);
    expect(retriedBy(events, STATE.markRunFailed)).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] }), expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
    expect(entered(events, STATE.runFailureUnrecorded)).toBe(1);
    expect(calls[STATE.scoreRun]?.map(runOf).sort()).toEqual(['run-b', 'run-c']);
    expect(events.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(3);
    expect(calls[STATE.finalizeSweep]).toHaveLength(1);
  });

  test('SubmitJob throttled is retried apart from job failures: the job keeps its one retry', async () => {
    const calls: Record<string, unknown[]> = {};
    let throttles = 2;
    const { error, events } = await execute(
      handlers(calls, {
        [`${STATE.runs}.${READ_ITEMS_SUFFIX}`]: async () => ['run-a'],
        [STATE.tlaSandbox]: async () => {
          if (throttles-- > 0) throw failure('Batch.AWSBatchException', 'Too Many Requests (Service: AWSBatch; Status Code: 429; Error Code: TooManyRequestsException)');
          throw failure('States.TaskFailed', 'Essential container in task exited');
        },
      }),
      [STATE.tlaSandbox],
    );
    expect(error).toBeUndefined();
    // Two throttled submissions, then the job's own failure and its one retry.
    expect(calls[STATE.tlaSandbox]).toHaveLength(4);
    expect(retriedBy(events, STATE.tlaSandbox).map((r) => r?.ErrorEquals)).toEqual([BATCH_API_ERRORS, BATCH_API_ERRORS, ['States.TaskFailed']]);
    expect((calls[STATE.markRunFailed] as { error: { Error: string } }[]).map((c) => c.error.Error)).toEqual(['States.TaskFailed']);
    expect(calls[STATE.finalizeSweep]).toHaveLength(1);
  });

  test('the Map itself fails (its items cannot be read): caught, and the sweep is still finalized', async () => {
    const calls: Record<string, unknown[]> = {};
    const { output, error } = await execute(
      handlers(calls, {
        [`${STATE.runs}.${READ_ITEMS_SUFFIX}`]: async () => {
          throw failure('States.ItemReaderFailed', `s3://uplift-artifacts/sweeps/${SWEEP}/runs.json is missing`);
        },
      }),
    );
    expect(error).toBeUndefined();
    expect(calls[STATE.planRun]).toBeUndefined();
    expect(calls[STATE.finalizeSweep]).toEqual([{ sweepId: SWEEP }]);
    expect(output).toMatchObject({ runsError: { Error: 'States.ItemReaderFailed' }, result: { sweepId: SWEEP } });
  });

  test('without the Map\'s Catch, the same failure fails the execution (the test above depends on it)', async () => {
    const bare = JSON.parse(JSON.stringify(definition)) as AslDefinition & { States: Record<string, { Catch?: unknown }> };
    delete bare.States[STATE.runs].Catch;
    delete bare.States[`${STATE.runs}.${READ_ITEMS_SUFFIX}`].Catch;
    const machine = new StateMachine(bare as never, { validationOptions: { checkArn: false } });
    const calls: Record<string, unknown[]> = {};
    const execution = machine.run(
      { sweepId: SWEEP },
      {
        overrides: {
          taskResourceLocalHandlers: handlers(calls, {
            [`${STATE.runs}.${READ_ITEMS_SUFFIX}`]: async () => {
              throw failure('States.ItemReaderFailed');
            },
          }) as never,
        },
      },
    );
    await expect(execution.result).rejects.toBeInstanceOf(ExecutionError);
    expect(calls[STATE.finalizeSweep]).toBeUndefined();
  });
});
