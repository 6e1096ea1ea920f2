import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { JobFailedError } from '../../core/errors';
import { JobSummary } from '../../core/jobs/env';
import { LOCAL_JOB_DEFINITION_ARN } from '../../step-functions/synth';
import { LOCAL_IMAGE_JOB_DEFINITION_PREFIX } from '../../lambdas/aws/batch-job-definitions';

/** The Parameters of a `batch:submitJob.sync` Task state, as the state machine renders them. */
export const SubmitJobParams = z.object({
  JobName: z.string(),
  JobQueue: z.string(),
  JobDefinition: z.string(),
  ArrayProperties: z.object({ Size: z.number().int().min(2).max(10000) }).optional(),
  ContainerOverrides: z.object({ Environment: z.array(z.object({ Name: z.string(), Value: z.string() })) }),
  /** Batch kills an attempt that runs longer; so does the local pool. */
  Timeout: z.object({ AttemptDurationSeconds: z.number().int().min(1) }).optional(),
});
export type SubmitJobParams = z.infer<typeof SubmitJobParams>;

const ROOT = join(__dirname, '..', '..');
const TSX_CJS = require.resolve('tsx/cjs');
/** Job definition → entrypoint: the same files the Batch images run. */
const ENTRYPOINTS: Record<string, string> = {
  [LOCAL_JOB_DEFINITION_ARN.raShard]: join(ROOT, 'batch-images', 'jobs', 'ra-shard.ts'),
  [LOCAL_JOB_DEFINITION_ARN.tlaSandbox]: join(ROOT, 'batch-images', 'jobs', 'tla-sandbox.ts'),
};

export type JobEvent =
  | { event: 'start'; jobName: string; runId: string; role: string; index: number | null; pid?: number }
  | { event: 'end'; jobName: string; runId: string; role: string; index: number | null; exitCode: number | null; signal: string | null; summary?: JobSummary; log: string };

/** A counting semaphore. */
class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Local AWS Batch: runs `submitJob.sync` requests as child processes of the job entrypoints, at
 * most `size` at once, with the Batch env contract (`AWS_BATCH_JOB_ARRAY_INDEX` for array
 * children). Resolves like a SUCCEEDED DescribeJobs result; throws `States.TaskFailed` when any
 * child fails, as Step Functions does. Every start and end goes to `<logDir>/jobs.jsonl`.
 */
export class LocalBatch {
  private readonly sem: Semaphore;
  private readonly children = new Set<ChildProcess>();
  private closed = false;
  private seq = 0;

  constructor(
    private readonly opts: {
      size: number;
      /** Environment every job gets (storage endpoints, model keys). */
      env: Record<string, string | undefined>;
      logDir: string;
      onEvent?: (e: JobEvent) => void;
    },
  ) {
    this.sem = new Semaphore(Math.max(1, opts.size));
    mkdirSync(opts.logDir, { recursive: true });
  }

  /** Kills every running job and refuses new ones (SIGINT, abort). */
  killAll(): void {
    this.closed = true;
    for (const c of this.children) c.kill('SIGKILL');
  }

  async submitJobSync(input: unknown): Promise<Record<string, unknown>> {
    const params = SubmitJobParams.parse(input);
    // Image jobs (one definition per task image) run `ra-shard` here: no container engine, the task runs on this machine.
    const entry = ENTRYPOINTS[params.JobDefinition] ?? (params.JobDefinition.startsWith(LOCAL_IMAGE_JOB_DEFINITION_PREFIX) ? ENTRYPOINTS[LOCAL_JOB_DEFINITION_ARN.raShard] : undefined);
    if (!entry) throw new JobFailedError(`no local entrypoint for job definition ${params.JobDefinition}`);
    const env = Object.fromEntries(params.ContainerOverrides.Environment.map((e) => [e.Name, e.Value]));
    const size = params.ArrayProperties?.Size;
    const indexes = size === undefined ? [null] : Array.from({ length: size }, (_, i) => i);
    const jobId = `local-${process.pid}-${++this.seq}`;
    const timeoutMs = params.Timeout ? params.Timeout.AttemptDurationSeconds * 1000 : undefined;
    const results = await Promise.all(indexes.map((i) => this.runChild(params.JobName, entry, env, i, timeoutMs)));
    const failed = results.filter((r) => r.exitCode !== 0);
    if (failed.length) {
      const err = new JobFailedError(
        `${params.JobName} for run ${env.UPLIFT_RUN_ID}: ${failed.length} of ${results.length} job(s) failed: ` +
          failed.map((f) => `${f.index === null ? 'job' : `child ${f.index}`} ${f.timedOut ? `exceeded its attempt timeout of ${params.Timeout?.AttemptDurationSeconds} s` : `exited ${f.exitCode ?? f.signal}`} (log: ${f.log})`).join('; '),
      );
      err.name = 'States.TaskFailed';
      throw err;
    }
    return { JobId: jobId, JobName: params.JobName, Status: 'SUCCEEDED', ...(size ? { ArrayProperties: { Size: size, StatusSummary: { SUCCEEDED: size } } } : {}) };
  }

  private async runChild(jobName: string, entry: string, jobEnv: Record<string, string>, index: number | null, timeoutMs?: number) {
    await this.sem.acquire();
    const role = jobEnv.UPLIFT_ROLE ?? '?';
    const runId = jobEnv.UPLIFT_RUN_ID ?? '?';
    // An image run's shard jobs are lone jobs with UPLIFT_JOB_INDEX: each gets its own log, as an array child does.
    const logIndex = index ?? (jobEnv.UPLIFT_JOB_INDEX === undefined ? null : Number(jobEnv.UPLIFT_JOB_INDEX));
    const log = join(this.opts.logDir, `${runId}.${role}${logIndex === null ? '' : `.${logIndex}`}.log`);
    try {
      if (this.closed) return { index, exitCode: null, signal: 'SIGKILL', log, timedOut: false };
      // tsx's CommonJS hook only (no ESM loader thread, ~0.1 s less per job process), by absolute
      // path: preloads resolve from the working directory, which need not be this repository.
      const child = spawn(process.execPath, ['--require', TSX_CJS, entry], {
        env: { ...this.opts.env, ...jobEnv, UPLIFT_JOB_LOG: log, ...(index === null ? {} : { AWS_BATCH_JOB_ARRAY_INDEX: String(index) }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.children.add(child);
      this.emit({ event: 'start', jobName, runId, role, index: logIndex, pid: child.pid });
      const logStream = createWriteStream(log, { flags: 'a' });
      let lastLine = '';
      let buf = '';
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (c: string) => {
        logStream.write(c);
        buf += c;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) lastLine = l;
      });
      child.stderr?.pipe(logStream, { end: false });
      let timedOut = false;
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs);
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      clearTimeout(timer);
      this.children.delete(child);
      await new Promise<void>((r) => logStream.end(() => r()));
      if (buf.trim()) lastLine = buf;
      let summary: JobSummary | undefined;
      try {
        const parsed = JobSummary.safeParse(JSON.parse(lastLine));
        if (parsed.success) summary = parsed.data;
      } catch {
        /* no summary: the job failed before printing it */
      }
      this.emit({ event: 'end', jobName, runId, role, index: logIndex, exitCode: code, signal, summary, log });
      return { index, exitCode: code, signal, log, timedOut };
    } finally {
      this.sem.release();
    }
  }

  private emit(e: JobEvent): void {
    appendFileSync(join(this.opts.logDir, 'jobs.jsonl'), JSON.stringify({ ts: new Date().toISOString(), ...e }) + '\n');
    this.opts.onEvent?.(e);
  }
}
