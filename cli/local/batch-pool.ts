import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { JobFailedError } from '../../core/errors';
import { JobSummary } from '../../core/jobs/env';
import { LOCAL_JOB_DEFINITION_ARN } from '../../step-functions/synth';
import { LOCAL_IMAGE_JOB_DEFINITION_PREFIX } from '../../lambdas/aws/batch-job-definitions';
import { HARNESS_ROOT } from '../../core/assets';
import type { LocalJobName, LocalJobRequest } from '../../batch-images/jobs/local-worker';
import { ensureBundle, JOBS_BUNDLE } from './job-bundle';

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

/** Job definition → job: the same job functions the Batch images' entrypoints run. */
const JOBS: Record<string, LocalJobName> = {
  [LOCAL_JOB_DEFINITION_ARN.raShard]: 'ra-shard',
  [LOCAL_JOB_DEFINITION_ARN.tlaSandbox]: 'tla-sandbox',
};

/** Job processes started ahead of their job, per pool (at most): each costs a Node process's memory while it waits. */
const MAX_SPARES = 4;

let workerCommand: Promise<string[]> | undefined;

/**
 * Node's arguments for a job process: the bundled worker (cli/local/job-bundle.ts; built once per
 * change of its sources) started by cli/local/job-boot.cjs, or batch-images/jobs/local-worker.ts
 * through tsx when UPLIFT_JOB_BUNDLE=0 or bundling fails. Resolved once per process, again if the
 * bundle was removed meanwhile (the cache drops builds unused for a day).
 */
export async function localWorkerCommand(): Promise<string[]> {
  if (workerCommand && !existsSync((await workerCommand).slice(-1)[0])) workerCommand = undefined;
  workerCommand ??= (async () => {
    if (process.env.UPLIFT_JOB_BUNDLE !== '0') {
      try {
        // Through job-boot.cjs: V8's code cache for the bundle, and stack traces mapped to the sources.
        return [join(HARNESS_ROOT, 'cli', 'local', 'job-boot.cjs'), (await ensureBundle(JOBS_BUNDLE)).files.worker];
      } catch (e) {
        process.stderr.write(`uplift: could not bundle the job entrypoints, jobs run from sources through tsx: ${(e as Error).message.split('\n')[0]}\n`);
      }
    }
    // tsx's CommonJS hook only (no ESM loader thread), by absolute path: preloads resolve from the
    // working directory, which need not be this repository.
    return ['--require', require.resolve('tsx/cjs'), join(HARNESS_ROOT, 'batch-images', 'jobs', 'local-worker.ts')];
  })();
  return workerCommand;
}

type Worker = ChildProcessByStdio<Writable, Readable, Readable>;

/** Lets the process exit while `w` waits for a job (or not). */
function setRef(w: Worker, ref: boolean): void {
  for (const h of [w, w.stdin, w.stdout, w.stderr] as { ref?: () => void; unref?: () => void }[]) (ref ? h.ref : h.unref)?.call(h);
}

export type JobEvent =
  | { event: 'start'; jobName: string; runId: string; role: string; index: number | null; pid?: number }
  | { event: 'end'; jobName: string; runId: string; role: string; index: number | null; exitCode: number | null; signal: string | null; summary?: JobSummary; log: string };

/**
 * A counting semaphore whose waiters go by priority (lower first), then in arrival order. The pool
 * gives TLA jobs priority 0 and shard jobs 1: a TLA job gates its run's MRA shards, so while slots
 * are short it goes first (the longest-path-first rule), and shards of runs whose TLA finished fill
 * the other slots.
 */
export class PrioritySemaphore {
  private waiters: { priority: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  constructor(private free: number) {}
  async acquire(priority = 0): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((wake) => {
      this.waiters.push({ priority, seq: this.seq++, wake });
      this.waiters.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    });
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next.wake();
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
  private readonly sem: PrioritySemaphore;
  private readonly children = new Set<Worker>();
  /** Job processes started ahead, loading the job code while earlier jobs run. */
  private readonly spares: Worker[] = [];
  private readonly maxSpares: number;
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
    this.sem = new PrioritySemaphore(Math.max(1, opts.size));
    this.maxSpares = Math.min(MAX_SPARES, Math.max(1, opts.size));
    mkdirSync(opts.logDir, { recursive: true });
    this.prestart();
  }

  /** Kills every running job and refuses new ones (SIGINT, abort); the processes waiting for a job go too. */
  killAll(): void {
    this.closed = true;
    for (const c of this.children) c.kill('SIGKILL');
    for (const c of this.spares.splice(0)) c.kill('SIGKILL');
  }

  /**
   * Starts job processes ahead of their jobs (up to one per slot, at most MAX_SPARES), so that a
   * job's process has loaded the job code when the job starts: from the pool's creation on, and
   * again whenever a job takes one.
   */
  private prestart(): void {
    this.warm().catch(() => undefined);
  }

  private async warm(): Promise<void> {
    const command = await localWorkerCommand();
    while (!this.closed && this.spares.length < this.maxSpares) {
      const w = this.spawnWorker(command);
      setRef(w, false);
      this.spares.push(w);
      // One that dies waiting (killed from outside) is not handed a job.
      w.once('exit', () => {
        const i = this.spares.indexOf(w);
        if (i >= 0) this.spares.splice(i, 1);
      });
    }
  }

  private spawnWorker(command: string[]): Worker {
    const w = spawn(process.execPath, command, { env: this.opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // A process that died before its request was written: the job fails with its exit status, not the pool.
    w.stdin.on('error', () => undefined);
    return w;
  }

  /** A started job process: a spare when one is ready (then another spare is started), else a new one. */
  private async takeWorker(): Promise<Worker> {
    const command = await localWorkerCommand();
    const spare = this.spares.shift();
    this.prestart();
    if (spare) {
      setRef(spare, true);
      return spare;
    }
    return this.spawnWorker(command);
  }

  async submitJobSync(input: unknown): Promise<Record<string, unknown>> {
    const params = SubmitJobParams.parse(input);
    // Image jobs (one definition per task image) run `ra-shard` here: no container engine, the task runs on this machine.
    const entry = JOBS[params.JobDefinition] ?? (params.JobDefinition.startsWith(LOCAL_IMAGE_JOB_DEFINITION_PREFIX) ? JOBS[LOCAL_JOB_DEFINITION_ARN.raShard] : undefined);
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

  private async runChild(jobName: string, entry: LocalJobName, jobEnv: Record<string, string>, index: number | null, timeoutMs?: number) {
    // TLA jobs first: each gates its run's MRA shards.
    await this.sem.acquire(jobEnv.UPLIFT_ROLE === 'tla' ? 0 : 1);
    const role = jobEnv.UPLIFT_ROLE ?? '?';
    const runId = jobEnv.UPLIFT_RUN_ID ?? '?';
    // An image run's shard jobs are lone jobs with UPLIFT_JOB_INDEX: each gets its own log, as an array child does.
    const logIndex = index ?? (jobEnv.UPLIFT_JOB_INDEX === undefined ? null : Number(jobEnv.UPLIFT_JOB_INDEX));
    const log = join(this.opts.logDir, `${runId}.${role}${logIndex === null ? '' : `.${logIndex}`}.log`);
    try {
      const killed = { index, exitCode: null, signal: 'SIGKILL', log, timedOut: false };
      if (this.closed) return killed;
      const child = await this.takeWorker();
      if (this.closed) {
        child.kill('SIGKILL');
        return killed;
      }
      this.children.add(child);
      // The job's whole environment (the process takes it as its own, see local-worker.ts).
      const env = { ...this.opts.env, ...jobEnv, UPLIFT_JOB_LOG: log, ...(index === null ? {} : { AWS_BATCH_JOB_ARRAY_INDEX: String(index) }) };
      child.stdin.end(JSON.stringify({ job: entry, env } satisfies LocalJobRequest));
      this.emit({ event: 'start', jobName, runId, role, index: logIndex, pid: child.pid });
      const logStream = createWriteStream(log, { flags: 'a' });
      let lastLine = '';
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        logStream.write(c);
        buf += c;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) lastLine = l;
      });
      child.stderr.pipe(logStream, { end: false });
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
