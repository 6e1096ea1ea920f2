import '../../core/polyfills';
import { join } from 'node:path';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { JobSummary } from '../../core/jobs/env';
import { handler as finalizeSweep } from '../../lambdas/finalize-sweep';
import { handler as markRunFailed } from '../../lambdas/mark-run-failed';
import { handler as planRun } from '../../lambdas/plan-run';
import { handler as planSweep } from '../../lambdas/plan-sweep';
import { handler as recordBaseline } from '../../lambdas/record-baseline';
import { handler as scoreRun } from '../../lambdas/score-run';
import { STATE } from '../../step-functions/uplift-state-machine';
import { READ_ITEMS_SUFFIX, synthLocalDefinition, type AslDefinition } from '../../step-functions/synth';
import { storesFromEnv } from '../../lambdas/aws/clients';
import { parseJson } from '../../core/jsonl';
import { z } from 'zod';
import { LocalBatch, type JobEvent } from './batch-pool';

/** Live counters for the progress display. */
export interface Progress {
  runsTotal: number;
  runsDone: number;
  runsFailed: number;
  jobsRunning: number;
  jobsDone: number;
  shardsDone: number;
  tokens: number;
  costUsd: number;
}

export interface ExecuteOptions {
  sweepId: string;
  /** Storage env of the embedded services (UPLIFT_BUCKET, UPLIFT_TABLE, endpoints). */
  storageEnv: Record<string, string>;
  /** Where job logs and `jobs.jsonl` go. */
  logDir: string;
  /** Concurrent job processes. */
  poolSize: number;
  /** Extra environment for jobs (model API keys); defaults to this process's environment. */
  jobEnv?: Record<string, string | undefined>;
  onProgress?: (p: Progress) => void;
  onJobEvent?: (e: JobEvent) => void;
  signal?: AbortSignal;
  /** A pre-synthesized definition (tests reuse one); synthesized from step-functions/ otherwise. */
  definition?: AslDefinition;
}

/** How the execution ended, and the states it entered (Step Functions bills a Standard workflow per state transition). */
export type ExecutionOutcome = ({ status: 'succeeded'; output: unknown } | { status: 'aborted' } | { status: 'failed'; error: string }) & { stateTransitions: number };

/**
 * Executes the synthesized state machine in-process: Lambda Task states call the same handler
 * functions the Lambdas run, `batch:submitJob.sync` states run the job entrypoints in a local
 * pool. Wait times of retries are shortened; nothing else about the definition changes.
 */
export async function executeSweep(opts: ExecuteOptions): Promise<ExecutionOutcome> {
  const definition = opts.definition ?? synthLocalDefinition();
  // The Lambda handlers' composition root reads the storage env, as in the cloud.
  // The Lambda handlers run in this process; image runs get the local job-definition stand-in.
  Object.assign(process.env, opts.storageEnv, { UPLIFT_LOCAL_IMAGE_JOBS: '1' });
  const progress: Progress = { runsTotal: 0, runsDone: 0, runsFailed: 0, jobsRunning: 0, jobsDone: 0, shardsDone: 0, tokens: 0, costUsd: 0 };
  const tick = () => opts.onProgress?.({ ...progress });
  const batch = new LocalBatch({
    size: opts.poolSize,
    env: { ...(opts.jobEnv ?? process.env), ...opts.storageEnv, UPLIFT_SCRATCH: process.env.UPLIFT_SCRATCH },
    logDir: opts.logDir,
    onEvent: (e) => {
      if (e.event === 'start') progress.jobsRunning++;
      else {
        progress.jobsRunning--;
        progress.jobsDone++;
        const s: JobSummary | undefined = e.summary;
        if (s && s.role !== 'tla') progress.shardsDone++;
        if (s) progress.tokens += s.tokens;
      }
      opts.onJobEvent?.(e);
      tick();
    },
  });
  // Handler calls in flight: after an abort the storage must outlive them, so they are awaited.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const lambda =
    <I, O>(fn: (input: I) => Promise<O>, after?: (out: O) => void) =>
    (input: unknown) =>
      track(
        (async () => {
          // Once aborted, no step starts work: the interpreter may still be finishing a branch.
          if (opts.signal?.aborted) throw new Error('the sweep was interrupted');
          const out = await fn(input as I);
          after?.(out);
          tick();
          return out as never;
        })(),
      );
  const artifacts = storesFromEnv(opts.storageEnv).artifacts;
  /** The inserted `Runs.ReadItems` state: S3 GetObject of the Map's items, as the ItemReader does in the cloud. */
  const readItems = async (input: unknown) => {
    const { Bucket, Key } = z.object({ Bucket: z.string(), Key: z.string() }).parse(input);
    if (Bucket !== artifacts.bucket) throw new Error(`ItemReader bucket ${Bucket} is not the artifacts bucket ${artifacts.bucket}`);
    const text = await artifacts.getText(Key);
    if (text === undefined) throw new Error(`ItemReader: ${artifacts.uri(Key)} is missing`);
    return parseJson(text, z.array(z.string()), artifacts.uri(Key)) as never;
  };
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execution = machine.run(
    { sweepId: opts.sweepId },
    {
      overrides: {
        taskResourceLocalHandlers: {
          [`${STATE.runs}.${READ_ITEMS_SUFFIX}`]: (input) => track(readItems(input)),
          [STATE.planSweep]: lambda(planSweep, (o) => (progress.runsTotal = o.runCount)),
          [STATE.planRun]: lambda(planRun, (o) => o.action === 'skip' && progress.runsDone++),
          [STATE.recordBaseline]: lambda(recordBaseline),
          [STATE.scoreRun]: lambda(scoreRun, (o) => {
            progress.runsDone++;
            progress.costUsd += o.costUsd;
          }),
          [STATE.markRunFailed]: lambda(markRunFailed, () => {
            progress.runsDone++;
            progress.runsFailed++;
          }),
          [STATE.finalizeSweep]: lambda(finalizeSweep),
          [STATE.baselineShards]: (input) => track(batch.submitJobSync(input)) as never,
          [STATE.tlaSandbox]: (input) => track(batch.submitJobSync(input)) as never,
          [STATE.mraShards]: (input) => track(batch.submitJobSync(input)) as never,
          [STATE.recordBaselineImages]: lambda(recordBaseline),
          [STATE.tlaSandboxImages]: (input) => track(batch.submitJobSync(input)) as never,
          [STATE.baselineImageShard]: (input) => track(batch.submitJobSync(input)) as never,
          [STATE.mraImageShard]: (input) => track(batch.submitJobSync(input)) as never,
        },
        retryIntervalOverrides: {
          [STATE.scoreRun]: 250,
          [STATE.baselineShards]: 0,
          [STATE.tlaSandbox]: 0,
          [STATE.mraShards]: 0,
          [STATE.recordBaselineImages]: 0,
          [STATE.tlaSandboxImages]: 0,
          [STATE.baselineImageShard]: 0,
          [STATE.mraImageShard]: 0,
          [STATE.planSweep]: 0,
          [STATE.planRun]: 0,
          [STATE.recordBaseline]: 0,
          [STATE.markRunFailed]: 0,
          [STATE.finalizeSweep]: 0,
        },
      },
    },
  );
  const onAbort = () => {
    execution.abort();
    batch.killAll();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let stateTransitions = 0;
  const counting = (async () => {
    for await (const event of execution.eventLogs) if (event.type === 'StateEntered') stateTransitions++;
  })().catch(() => undefined);
  try {
    const output = await execution.result;
    await counting;
    return { status: 'succeeded', output, stateTransitions };
  } catch (e) {
    if (e instanceof ExecutionAbortedError || opts.signal?.aborted) return { status: 'aborted', stateTransitions };
    if (e instanceof ExecutionError) return { status: 'failed', error: `${e.message}${(e as { cause?: unknown }).cause ? `: ${String((e as { cause?: unknown }).cause)}` : ''}`, stateTransitions };
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    batch.killAll();
    await Promise.allSettled([...inFlight]);
  }
}

export function defaultLogDir(dataDir: string, sweepId: string): string {
  return join(dataDir, 'logs', sweepId);
}
