/**
 * Entrypoint of a local job process (cli/local/batch-pool.ts). The pool starts it ahead of time,
 * so that it loads the job code while earlier jobs still run, then writes a request on its stdin,
 * one JSON line: which job, the job's whole environment, and the job's end marker. The process
 * takes that environment as its own (replacing the one it had) and runs the job like the image
 * entrypoints (ra-shard.ts, tla-sandbox.ts): summary as the last stdout line, status 0/1/2.
 *
 * Then it writes `<marker> <status> next|exit` on stdout and on stderr — where the job's output
 * ends — and either waits for another request (`next`) or exits with the job's status (`exit`). It
 * takes another job only when this one succeeded; left nothing behind (no more open sockets,
 * files, timers, child processes or pending operations than the process had before the job,
 * counted by active resource and by file descriptor: see left-behind.ts); ran its agents where
 * nothing they start outlives them (containedLevel); and it has run fewer than
 * MAX_JOBS_PER_PROCESS. So a job never meets what an earlier job left, and a failed job's process
 * is gone as a Batch container would be. One job at a time.
 * Stdin closed without a request (the pool shut down, or its process died): exit 0.
 *
 * While it waits for its first request it also probes the sandbox levels (core/sandbox.ts), which
 * every job does first: the result is kept per requested level (UPLIFT_SANDBOX), so a job reuses it
 * when its own environment asks for the same level, and probes again otherwise.
 */
import { runJobOnce } from './run-job';
import { runRaShard } from '../../core/jobs/ra-shard';
import { runTlaSandbox } from '../../core/jobs/tla-sandbox';
import { detectIsolation, type IsolationLevel } from '../../core/sandbox';
import { leftBehind, resources } from './left-behind';

const JOBS = { 'ra-shard': runRaShard, 'tla-sandbox': runTlaSandbox } as const;

export type LocalJobName = keyof typeof JOBS;

/** Jobs one process runs at most: it then exits, and the pool starts a fresh one (what a long series of jobs leaves in memory is bounded). */
export const MAX_JOBS_PER_PROCESS = 32;

/** What the pool writes on the worker's stdin for each job (one JSON line). */
export interface LocalJobRequest {
  job: LocalJobName;
  env: Record<string, string>;
  /** Written, then ` <status> next|exit`, on stdout and on stderr when the job ended: a random string no output of the job can contain by chance. */
  marker: string;
}

/**
 * The job's agents ran where nothing they started outlives them: in a PID namespace (the bwrap
 * levels) or under a uid of their own that is killed whole (`uid-rlimits`). At the `process`
 * levels an agent runs as this process's user and what it leaves running could reach into this
 * process (its standard streams, its next job's request and end marker), so the process takes
 * no other job there.
 */
function containedLevel(): boolean {
  try {
    return REUSABLE_LEVELS.has(detectIsolation(process.env).level);
  } catch {
    return false;
  }
}
const REUSABLE_LEVELS: ReadonlySet<IsolationLevel> = new Set(['bwrap', 'bwrap-userns', 'uid-rlimits']);

let jobsRun = 0;
let busy = false;
let pending = '';
let stdinEnded = false;

async function run(line: string): Promise<void> {
  let req: LocalJobRequest;
  try {
    req = JSON.parse(line) as LocalJobRequest;
  } catch (e) {
    process.stderr.write(`local job worker: unreadable request: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const job = Object.hasOwn(JOBS, req.job) ? JOBS[req.job] : undefined;
  if (!job || typeof req.env !== 'object' || req.env === null || typeof req.marker !== 'string' || !req.marker) {
    process.stderr.write(`local job worker: bad request (job ${JSON.stringify(req.job)})\n`);
    process.exit(2);
  }
  const before = resources();
  // The job's environment, exactly: nothing of the one this process started with, or of an earlier job's, stays.
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  jobsRun++;
  const status = await runJobOnce(req.job, job);
  // Closed sockets and finished child processes leave their handles until the next turn of the loop.
  await new Promise((r) => setImmediate(r));
  const left = leftBehind(before, resources());
  const contained = containedLevel();
  const next = status === 0 && left.length === 0 && contained && jobsRun < MAX_JOBS_PER_PROCESS;
  if (status === 0 && left.length) process.stderr.write(`local job worker: the job left ${left.join(', ')} behind; this process takes no other job\n`);
  const end = `${req.marker} ${status} ${next ? 'next' : 'exit'}\n`;
  process.stdout.write(end);
  process.stderr.write(end, () => {
    if (!next) process.exit(status);
    busy = false;
    take();
    if (!busy && stdinEnded) process.exit(0);
  });
}

/** Starts the next request read, if any and none runs. */
function take(): void {
  if (busy) return;
  const nl = pending.indexOf('\n');
  if (nl < 0) return;
  const line = pending.slice(0, nl);
  pending = pending.slice(nl + 1);
  busy = true;
  void run(line);
}

// Node opens its stdout and stderr on first use: opened now, they are not taken for a job's leftovers.
void process.stdout.writable;
void process.stderr.writable;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c: string) => {
  pending += c;
  take();
});
process.stdin.on('end', () => {
  stdinEnded = true;
  // A last request without its newline is still one; none at all: the pool let this process go.
  if (pending.trim() && !pending.endsWith('\n')) pending += '\n';
  take();
  if (!busy) process.exit(0);
});
setImmediate(() => {
  if (jobsRun > 0 || busy) return;
  try {
    detectIsolation(process.env);
  } catch {
    // A bad UPLIFT_SANDBOX / UPLIFT_SANDBOX_MIN: the job reports it, with its own environment.
  }
});
