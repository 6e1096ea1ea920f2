/**
 * Entrypoint of a local job process (cli/local/batch-pool.ts): one process runs exactly one job,
 * as a Batch container does. The pool starts it ahead of time, so that it loads the job code while
 * the previous job still runs; then writes the request on its stdin — which job, and the job's
 * whole environment — and closes it. The process takes that environment as its own (replacing the
 * one it was started with) and runs the job like the image entrypoints (ra-shard.ts,
 * tla-sandbox.ts): summary as the last stdout line, exit 0/1/2. Stdin closed without a request
 * (the pool shut down, or its process died): exit 0 without running anything.
 *
 * While it waits it also probes the sandbox levels (core/sandbox.ts), which every job does first:
 * the result is kept per requested level (UPLIFT_SANDBOX), so the job reuses it when its own
 * environment asks for the same level, and probes again otherwise.
 */
import { runJob } from './run-job';
import { runRaShard } from '../../core/jobs/ra-shard';
import { runTlaSandbox } from '../../core/jobs/tla-sandbox';
import { detectIsolation } from '../../core/sandbox';

const JOBS = { 'ra-shard': runRaShard, 'tla-sandbox': runTlaSandbox } as const;

export type LocalJobName = keyof typeof JOBS;

/** What the pool writes on the worker's stdin (one JSON document). */
export interface LocalJobRequest {
  job: LocalJobName;
  env: Record<string, string>;
}

let started = false;

function start(text: string): void {
  started = true;
  if (!text.trim()) process.exit(0);
  let req: LocalJobRequest;
  try {
    req = JSON.parse(text) as LocalJobRequest;
  } catch (e) {
    process.stderr.write(`local job worker: unreadable request: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const job = Object.hasOwn(JOBS, req.job) ? JOBS[req.job] : undefined;
  if (!job || typeof req.env !== 'object' || req.env === null) {
    process.stderr.write(`local job worker: bad request (job ${JSON.stringify(req.job)})\n`);
    process.exit(2);
  }
  // The job's environment, exactly: nothing of the one this process started with stays.
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  void runJob(req.job, job);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c: string) => (input += c));
process.stdin.on('end', () => start(input));
setImmediate(() => {
  if (started) return;
  try {
    detectIsolation(process.env);
  } catch {
    // A bad UPLIFT_SANDBOX / UPLIFT_SANDBOX_MIN: the job reports it, with its own environment.
  }
});
