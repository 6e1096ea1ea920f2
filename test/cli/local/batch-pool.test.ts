import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBatch, localWorkerCommand, type JobEvent } from '../../../cli/local/batch-pool';
import { leftBehind, resources } from '../../../batch-images/jobs/left-behind';
import { open } from 'node:fs/promises';
import { LOCAL_JOB_DEFINITION_ARN } from '../../../step-functions/synth';

/** An S3 endpoint that accepts connections and never answers: a job reading its plan waits forever. */
let silent: Server;
const sockets: Socket[] = [];
let dir: string;
let env: Record<string, string | undefined>;
beforeAll(async () => {
  silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', UPLIFT_S3_ENDPOINT: `http://127.0.0.1:${port}`, UPLIFT_LOCAL_ACCESS_KEY_ID: 'k'.repeat(16), UPLIFT_LOCAL_SECRET_ACCESS_KEY: 's'.repeat(16) };
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'uplift-pool-test-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const PLAN = 's3://uplift-artifacts/sweeps/s1/plan.json';
const job = (vars: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  JobName: 'test-job',
  JobQueue: 'q',
  JobDefinition: LOCAL_JOB_DEFINITION_ARN.raShard,
  ContainerOverrides: { Environment: Object.entries(vars).map(([Name, Value]) => ({ Name, Value })) },
  ...extra,
});

/** This process's children that are job workers (bundled or from sources). */
const workers = () =>
  execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /worker\.js|local-worker\.ts/.test(l));

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

describe('LocalBatch runs each job in a process of its own, started ahead', () => {
  test('the job process runs with the job\'s environment (a broken one fails as the image entrypoints do)', async () => {
    const pool = new LocalBatch({ size: 2, env, logDir: dir });
    try {
      const err = (await pool.submitJobSync(job({ UPLIFT_RUN_ID: 'r1', UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: 'no-such-plan-7f3a' })).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('States.TaskFailed');
      expect(err.message).toMatch(/1 of 1 job\(s\) failed: job exited 2/);
      const log = readFileSync(join(dir, 'r1.baseline.log'), 'utf8');
      expect(log).toContain('ra-shard: bad job environment');
      expect(log).toContain('no-such-plan-7f3a');
    } finally {
      pool.killAll();
    }
  });

  test('a failed job takes its process with it: the next job runs in another one', async () => {
    const events: JobEvent[] = [];
    const pool = new LocalBatch({ size: 1, env, logDir: dir, onEvent: (e) => events.push(e) });
    try {
      for (const runId of ['f1', 'f2']) await pool.submitJobSync(job({ UPLIFT_RUN_ID: runId, UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: 'no-such-plan' })).catch(() => undefined);
      const starts = events.filter((e) => e.event === 'start');
      expect(starts.map((e) => e.runId)).toEqual(['f1', 'f2']);
      expect(starts[0].pid).not.toBe(starts[1].pid);
      expect(events.filter((e) => e.event === 'end').map((e) => (e.event === 'end' ? e.exitCode : null))).toEqual([2, 2]);
      // Each log holds its own job's output, without the end marker.
      for (const runId of ['f1', 'f2']) {
        const log = readFileSync(join(dir, `${runId}.baseline.log`), 'utf8');
        expect(log).toContain('ra-shard: bad job environment');
        expect(log).not.toContain('uplift-job-end');
        expect(log.match(/bad job environment/g)).toHaveLength(1);
      }
    } finally {
      pool.killAll();
    }
  });

  test('array children get their index and a process each; the attempt timeout kills them', async () => {
    const events: JobEvent[] = [];
    const pool = new LocalBatch({ size: 2, env, logDir: dir, onEvent: (e) => events.push(e) });
    try {
      const err = (await pool
        .submitJobSync(job({ UPLIFT_RUN_ID: 'r2', UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: PLAN }, { ArrayProperties: { Size: 2 }, Timeout: { AttemptDurationSeconds: 1 } }))
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/2 of 2 job\(s\) failed: child 0 exceeded its attempt timeout of 1 s .*child 1 exceeded its attempt timeout of 1 s/);
      const starts = events.filter((e) => e.event === 'start');
      expect(starts.map((e) => e.index).sort()).toEqual([0, 1]);
      expect(new Set(starts.map((e) => e.pid)).size).toBe(2);
      expect(events.filter((e) => e.event === 'end').map((e) => (e.event === 'end' ? e.signal : null))).toEqual(['SIGKILL', 'SIGKILL']);
    } finally {
      pool.killAll();
    }
  });

  test('killAll kills the running jobs and the processes waiting for one; no job starts after it', async () => {
    const started: JobEvent[] = [];
    const pool = new LocalBatch({ size: 2, env, logDir: dir, onEvent: (e) => e.event === 'start' && started.push(e) });
    const running = pool.submitJobSync(job({ UPLIFT_RUN_ID: 'r3', UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: PLAN })).catch((e: unknown) => e as Error);
    await until(() => started.length === 1);
    // The running job's process and the spares started for the next jobs.
    await until(() => workers().length >= 2);
    pool.killAll();
    expect((await running).message).toMatch(/job exited SIGKILL/);
    await until(() => workers().length === 0);
    const late = (await pool.submitJobSync(job({ UPLIFT_RUN_ID: 'r4', UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: PLAN })).catch((e: unknown) => e)) as Error;
    expect(late.message).toMatch(/job exited SIGKILL/);
    expect(started).toHaveLength(1);
  });

  test('job processes run the bundled worker (not tsx) unless UPLIFT_JOB_BUNDLE=0', async () => {
    const command = await localWorkerCommand();
    expect(command.join(' ')).toMatch(/node_modules\/\.cache\/uplift\/jobs\/[0-9a-f]{32}\/worker\.js$/);
    expect(command.join(' ')).not.toContain('tsx');
    expect(command[0]).toMatch(/cli\/local\/job-boot\.cjs$/);
  });
});

describe('leftBehind: what keeps a job process from taking another job', () => {
  test('an idle kept-alive connection counts, though it keeps nothing alive (unreferenced), and so does an open file', async () => {
    let accepted = (): void => undefined;
    const server = createServer((s) => {
      s.unref();
      s.resume();
      accepted();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    server.unref();
    const before = resources();
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await new Promise<void>((r) => (accepted = r));
    client.unref();
    const file = await open(__filename, 'r');
    try {
      expect(process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap')).toHaveLength(0);
      // The client's socket and the server's end of it; the file.
      expect(leftBehind(before, resources())).toEqual(expect.arrayContaining(['2 fd:socket', '1 fd:file']));
    } finally {
      client.destroy();
      await file.close();
      server.close();
    }
  });

  const counts = (o: Record<string, number>) => new Map(Object.entries(o));
  test('a resource type with more instances after the job than before it', () => {
    const before = counts({ PipeWrap: 3, TTYWrap: 1 });
    expect(leftBehind(before, counts({ PipeWrap: 3, TTYWrap: 1 }))).toEqual([]);
    // Fewer is fine (the job closed something the worker had not used since).
    expect(leftBehind(before, counts({ PipeWrap: 2 }))).toEqual([]);
    expect(leftBehind(before, counts({ PipeWrap: 4, TTYWrap: 1, TCPSocketWrap: 2, Timeout: 1 }))).toEqual(['1 PipeWrap', '2 TCPSocketWrap', '1 Timeout']);
  });
});
