import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/**
 * Idle job processes a pool keeps beyond one per slot: started ahead (loading the job code while
 * earlier jobs run) or back from a job they ran. Each costs a Node process's memory while it waits.
 */
const EXTRA_IDLE = 1;

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

/** How a job's run in a worker ended: by its end marker (the worker may take another job) or by the process's exit. */
interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The worker takes another job: it said so, and the pool trusts it with one. */
  next: boolean;
  /** The worker said it waits for another job (whether or not the pool gives it one). */
  waits?: boolean;
  /** Why the job failed though its process did not say so. */
  problem?: string;
  /** Its last complete stdout line (JobStream.lastLine): the summary of a job that succeeded. */
  lastLine?: string;
}

/** A partial line held back longer than this is written as it is (a line without end must not grow without bound). */
const MAX_HELD_LINE = 64 * 1024;

/**
 * One output stream of a worker during one job: everything before the job's end marker goes to the
 * job's log, line by line (a marker split across chunks is still found: a line is written once
 * complete, or once longer than MAX_HELD_LINE but for a tail that could start a marker); `onEnd`
 * gets the status and next|exit that follow the marker, and whether anything followed them.
 */
export class JobStream {
  private carry = '';
  private done = false;
  /** The last write ended inside a line (one longer than MAX_HELD_LINE, or unfinished). */
  private midLine = false;
  /** The last non-blank complete line written, when it was no longer than MAX_HELD_LINE (a job's summary is its last stdout line); else ''. */
  lastLine = '';
  constructor(
    private readonly marker: string,
    private readonly sink: (text: string) => void,
    private readonly onEnd: (status: number, next: boolean, trailing: boolean) => void,
  ) {}
  private write(text: string): void {
    if (!text) return;
    this.sink(text);
    const lines = text.split('\n');
    const complete = lines.length - 1;
    for (let i = complete - 1; i >= 0; i--) {
      // The first line continues what the last write left unfinished: a line too long to keep.
      if (i === 0 && this.midLine) {
        this.lastLine = '';
        break;
      }
      if (lines[i].length > MAX_HELD_LINE) {
        this.lastLine = '';
        break;
      }
      if (lines[i].trim()) {
        this.lastLine = lines[i];
        break;
      }
    }
    this.midLine = complete === 0 ? this.midLine || text.length > 0 : lines[complete] !== '';
  }
  data(chunk: string): void {
    if (this.done) return;
    const text = this.carry + chunk;
    const at = text.indexOf(this.marker);
    if (at < 0) {
      // Whole lines only (the job's stdout and stderr share its log); the start of a marker, which holds no newline, is never among them.
      let cut = text.lastIndexOf('\n') + 1;
      if (text.length - cut > MAX_HELD_LINE) cut = text.length - (this.marker.length - 1);
      this.write(text.slice(0, cut));
      this.carry = text.slice(cut);
      return;
    }
    const after = text.slice(at + this.marker.length);
    const m = /^ (\d+) (next|exit)\n/.exec(after);
    if (!m) {
      // The marker's line is not complete yet (a few characters; anything else is not a marker's line).
      if (after.length < 32 && /^( \d*( (n(e(xt?)?)?|e(x(it?)?)?)?)?)?$/.test(after)) this.carry = text;
      else {
        this.done = true;
        this.write(text);
        this.onEnd(NaN, false, true);
      }
      return;
    }
    this.done = true;
    this.write(text.slice(0, at));
    this.carry = '';
    this.onEnd(Number(m[1]), m[2] === 'next', after.length > m[0].length);
  }
  /** The process closed its output: what was held back is the job's. */
  flush(): void {
    if (!this.done && this.carry) this.write(this.carry);
    this.carry = '';
  }
}

/**
 * Local AWS Batch: runs `submitJob.sync` requests in child processes of the job entrypoints, at
 * most `size` at once, with the Batch env contract (`AWS_BATCH_JOB_ARRAY_INDEX` for array
 * children). Resolves like a SUCCEEDED DescribeJobs result; throws `States.TaskFailed` when any
 * child fails, as Step Functions does. Every start and end goes to `<logDir>/jobs.jsonl`.
 *
 * A job process runs one job at a time with the job's environment only; after a job that
 * succeeded and left nothing running it may take another (batch-images/jobs/local-worker.ts), which
 * spares the next job a Node start-up. A job that failed, timed out or was killed takes its process
 * with it.
 */
export class LocalBatch {
  private readonly sem: PrioritySemaphore;
  /** Processes running a job. */
  private readonly children = new Set<Worker>();
  /** Processes waiting for a job: back from one (first), or started ahead; with how to stop watching them (see addSpare). */
  private readonly spares: { worker: Worker; unwatch: () => void }[] = [];
  /** Processes kept alive at most when all slots are busy: one per slot, plus EXTRA_IDLE waiting. */
  private readonly maxLive: number;
  private closed = false;
  private seq = 0;

  constructor(
    private readonly opts: {
      size: number;
      /** Environment every job gets (storage endpoints, model keys). */
      env: Record<string, string | undefined>;
      logDir: string;
      onEvent?: (e: JobEvent) => void;
      /** Node's arguments for a job process, instead of the job worker's (tests that script a worker). */
      workerCommand?: string[];
    },
  ) {
    this.sem = new PrioritySemaphore(Math.max(1, opts.size));
    this.maxLive = Math.max(1, opts.size) + EXTRA_IDLE;
    mkdirSync(opts.logDir, { recursive: true });
    this.prestart();
  }

  /** Kills every running job and refuses new ones (SIGINT, abort); the processes waiting for a job go too. */
  killAll(): void {
    this.closed = true;
    for (const c of this.children) c.kill('SIGKILL');
    for (const { worker } of this.spares.splice(0)) worker.kill('SIGKILL');
  }

  /**
   * Starts job processes ahead of their jobs, so that a job's process has loaded the job code when
   * the job starts: from the pool's creation on, and again whenever a job takes one, until there is
   * one per slot plus EXTRA_IDLE, counting those running a job (most come back when it ends).
   */
  private prestart(): void {
    this.warm().catch(() => undefined);
  }

  private async warm(): Promise<void> {
    const command = this.opts.workerCommand ?? (await localWorkerCommand());
    while (!this.closed && this.spares.length + this.children.size < this.maxLive) this.addSpare(this.spawnWorker(command), false);
  }

  /**
   * `w` waits for a job: first in line when it is back from one (it has probed the sandbox
   * already). One that dies waiting (killed from outside) is not handed a job; one back from a job
   * that prints anything while it waits still runs something of that job, and is killed.
   */
  private addSpare(w: Worker, back: boolean): void {
    setRef(w, false);
    const drop = () => {
      const i = this.spares.findIndex((s) => s.worker === w);
      if (i >= 0) this.spares.splice(i, 1);
    };
    const printed = () => {
      drop();
      w.kill('SIGKILL');
    };
    w.once('exit', drop);
    if (back) {
      w.stdout.on('data', printed);
      w.stderr.on('data', printed);
    }
    const spare = {
      worker: w,
      unwatch: () => {
        w.off('exit', drop);
        w.stdout.off('data', printed);
        w.stderr.off('data', printed);
      },
    };
    if (back) this.spares.unshift(spare);
    else this.spares.push(spare);
  }

  private spawnWorker(command: string[]): Worker {
    const w = spawn(process.execPath, command, { env: this.opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // A process that died before its request was written: the job fails with its exit status, not the pool.
    w.stdin.on('error', () => undefined);
    w.stdout.setEncoding('utf8');
    w.stderr.setEncoding('utf8');
    return w;
  }

  /** A started job process, counted as running: a spare when one is ready (then another spare is started), else a new one. */
  private async takeWorker(): Promise<Worker> {
    const command = this.opts.workerCommand ?? (await localWorkerCommand());
    const spare = this.spares.shift();
    if (spare) {
      spare.unwatch();
      setRef(spare.worker, true);
    }
    const w = spare?.worker ?? this.spawnWorker(command);
    this.children.add(w);
    this.prestart();
    return w;
  }

  /** A job ended in `w`: it waits for the next when it said it would take one and is trusted with it; else it is let go. */
  private release(w: Worker, end: ChildEnd): void {
    this.children.delete(w);
    const alive = w.exitCode === null && w.signalCode === null;
    if (end.next && !this.closed && alive) this.addSpare(w, true);
    // Told to wait, it would wait for a job: let go when the pool is closing, killed when it is not trusted with one.
    else if (end.waits && alive) {
      if (end.next) w.stdin.end();
      else w.kill('SIGKILL');
    }
    this.prestart();
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
          failed.map((f) => `${f.index === null ? 'job' : `child ${f.index}`} ${f.timedOut ? `exceeded its attempt timeout of ${params.Timeout?.AttemptDurationSeconds} s` : f.problem ? `failed: ${f.problem}` : `exited ${f.exitCode ?? f.signal}`} (log: ${f.log})`).join('; '),
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
      const killed = { index, exitCode: null, signal: 'SIGKILL', log, timedOut: false, problem: undefined };
      if (this.closed) return killed;
      const child = await this.takeWorker();
      if (this.closed) {
        this.children.delete(child);
        child.kill('SIGKILL');
        return killed;
      }
      // The job's whole environment (the process takes it as its own, see local-worker.ts), and where its output ends.
      const env = { ...this.opts.env, ...jobEnv, UPLIFT_JOB_LOG: log, ...(index === null ? {} : { AWS_BATCH_JOB_ARRAY_INDEX: String(index) }) };
      const marker = `\u001euplift-job-end-${randomBytes(12).toString('hex')}`;
      child.stdin.write(`${JSON.stringify({ job: entry, env, marker } satisfies LocalJobRequest)}\n`);
      this.emit({ event: 'start', jobName, runId, role, index: logIndex, pid: child.pid });
      const logStream = createWriteStream(log, { flags: 'a' });
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      const end = await new Promise<ChildEnd>((resolve) => {
        const ended: { status: number; next: boolean; trailing: boolean }[] = [];
        const onEnd = (status: number, next: boolean, trailing: boolean) => {
          ended.push({ status, next, trailing });
          if (ended.length < 2) return;
          // Both streams ended the job the same way, and nothing came after: else the process is not trusted with another job.
          const [a, b] = ended;
          const agreed = a.status === b.status && Number.isInteger(a.status);
          finish({ code: agreed ? a.status : null, signal: null, next: agreed && a.next && b.next && !a.trailing && !b.trailing, waits: a.next || b.next, ...(agreed ? {} : { problem: 'its end markers disagree' }) });
        };
        const out = new JobStream(marker, (text) => logStream.write(text), onEnd);
        const err = new JobStream(marker, (text) => logStream.write(text), onEnd);
        const onOut = (c: string) => out.data(c);
        const onErr = (c: string) => err.data(c);
        const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
          out.flush();
          err.flush();
          // A worker ends each job with its markers: one that exited 0 without them did not finish the job.
          finish(code === 0 ? { code: null, signal, next: false, problem: 'it exited 0 without ending its job' } : { code, signal, next: false });
        };
        let settled = false;
        function finish(e: ChildEnd): void {
          if (settled) return;
          settled = true;
          child.stdout.off('data', onOut);
          child.stderr.off('data', onErr);
          child.off('close', onClose);
          resolve({ ...e, lastLine: out.lastLine });
        }
        child.stdout.on('data', onOut);
        child.stderr.on('data', onErr);
        child.on('close', onClose);
        timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs);
      });
      clearTimeout(timer);
      this.release(child, end);
      if (end.problem) logStream.write(`local pool: the job failed: ${end.problem}\n`);
      await new Promise<void>((r) => logStream.end(() => r()));
      // The summary of a job that succeeded: its last complete stdout line.
      let summary: JobSummary | undefined;
      if (end.code === 0) {
        try {
          const parsed = JobSummary.safeParse(JSON.parse(end.lastLine ?? ''));
          if (parsed.success) summary = parsed.data;
        } catch {
          /* no summary line */
        }
      }
      this.emit({ event: 'end', jobName, runId, role, index: logIndex, exitCode: end.code, signal: end.signal, summary, log });
      return { index, exitCode: end.code, signal: end.signal, log, timedOut, problem: end.problem };
    } finally {
      this.sem.release();
    }
  }

  private emit(e: JobEvent): void {
    appendFileSync(join(this.opts.logDir, 'jobs.jsonl'), JSON.stringify({ ts: new Date().toISOString(), ...e }) + '\n');
    this.opts.onEvent?.(e);
  }
}
