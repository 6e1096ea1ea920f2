import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobStream, LocalBatch, localWorkerCommand, type JobEvent } from '../../../cli/local/batch-pool';
import { leftBehind } from '../../../batch-images/jobs/left-behind';
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
  const counts = (o: Record<string, number>) => new Map(Object.entries(o));
  test('an idle kept-alive connection counts, though it keeps nothing alive (unreferenced), and so does an open file', () => {
    // In a plain Node process of its own (this one's sockets come and go with the other tests, and tsx opens its own).
    const compiled = join(dir, 'left-behind.cjs');
    writeFileSync(compiled, transformSync(readFileSync(join(__dirname, '../../../batch-images/jobs/left-behind.ts'), 'utf8'), { loader: 'ts', format: 'cjs' }).code);
    const script = `
      const { connect, createServer } = require('node:net');
      const { closeSync, openSync } = require('node:fs');
      const { leftBehind, resources } = require(${JSON.stringify(compiled)});
      const active = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      (async () => {
        let accepted;
        const server = createServer((s) => { s.unref(); accepted(); });
        await new Promise((r) => server.listen(0, '127.0.0.1', r));
        server.unref();
        const [before, activeBefore] = [resources(), active()];
        const acceptedNow = new Promise((r) => (accepted = r));
        const client = connect(server.address().port, '127.0.0.1');
        await Promise.all([acceptedNow, new Promise((r) => client.once('connect', r))]);
        await new Promise((r) => setImmediate(r)); // as the worker does: the finished connect request goes with the loop's turn
        client.unref();
        const file = openSync('/proc/self/stat', 'r');
        console.log(JSON.stringify({ activeNew: active() - activeBefore, left: leftBehind(before, resources()) }));
        client.destroy();
        closeSync(file);
        server.close();
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    // Nothing that keeps the process alive is new, but the descriptors show the client's socket, the server's end of it, and the file.
    expect(JSON.parse(r.stdout)).toEqual({ activeNew: 0, left: ['2 fd:socket', '1 fd:file'] });
  });

  test('a resource type with more instances after the job than before it', () => {
    const before = counts({ PipeWrap: 3, TTYWrap: 1 });
    expect(leftBehind(before, counts({ PipeWrap: 3, TTYWrap: 1 }))).toEqual([]);
    // Fewer is fine (the job closed something the worker had not used since).
    expect(leftBehind(before, counts({ PipeWrap: 2 }))).toEqual([]);
    expect(leftBehind(before, counts({ PipeWrap: 4, TTYWrap: 1, TCPSocketWrap: 2, Timeout: 1 }))).toEqual(['1 PipeWrap', '2 TCPSocketWrap', '1 Timeout']);
  });
});

describe('LocalBatch trusts a job process only as far as its protocol goes (scripted worker)', () => {
  const SCRIPTED = [join(__dirname, 'fixtures', 'scripted-worker.cjs')];
  const scripted = () =>
    execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('scripted-worker'));
  const fake = (runId: string, mode: string) => job({ UPLIFT_RUN_ID: runId, UPLIFT_ROLE: 'baseline', UPLIFT_PLAN_URI: PLAN, FAKE: mode });
  const run = async (modes: [string, string][]) => {
    const events: JobEvent[] = [];
    const pool = new LocalBatch({ size: 1, env, logDir: dir, onEvent: (e) => events.push(e), workerCommand: SCRIPTED });
    const errors: (Error | undefined)[] = [];
    try {
      for (const [runId, mode] of modes) {
        errors.push(await pool.submitJobSync(fake(runId, mode)).then(() => undefined, (e: Error) => e));
        // What a process prints after its job reaches the pool before the next job starts.
        await new Promise((r) => setTimeout(r, 250));
      }
      // No process is left waiting for a job it will not get: the one the pool keeps, and the fresh spares, are all there is.
      expect(scripted().length).toBeLessThanOrEqual(2);
    } finally {
      pool.killAll();
    }
    for (let i = 0; i < 100 && scripted().length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(scripted()).toEqual([]);
    const ends = events.filter((e) => e.event === 'end') as Extract<JobEvent, { event: 'end' }>[];
    const pids = events.filter((e) => e.event === 'start').map((e) => (e.event === 'start' ? e.pid : 0));
    const log = (runId: string) => readFileSync(join(dir, `${runId}.baseline.log`), 'utf8');
    return { errors, ends, pids, log };
  };

  test('jobs that end by the protocol share a process, each with its own log and summary', async () => {
    const r = await run([['a', 'ok'], ['b', 'ok'], ['c', 'ok']]);
    expect(r.errors).toEqual([undefined, undefined, undefined]);
    expect(new Set(r.pids).size).toBe(1);
    expect(r.ends.map((e) => e.summary?.runId)).toEqual(['a', 'b', 'c']);
    expect(r.log('b')).toBe(`job b in ${r.pids[0]}\n${JSON.stringify({ uplift: 'job-summary', role: 'baseline', runId: 'b', index: null, skipped: false, tokens: 1 })}\n`);
  });

  test('a process that exits 0 without ending its job with the markers failed it', async () => {
    const r = await run([['a', 'exit0-no-marker']]);
    expect(r.errors[0]?.message).toMatch(/job failed: it exited 0 without ending its job/);
    expect(r.ends[0]).toMatchObject({ exitCode: null });
    expect(r.ends[0].summary).toBeUndefined();
    expect(r.log('a')).toContain('local pool: the job failed: it exited 0 without ending its job');
  });

  test('a failed job has no summary, whatever it printed', async () => {
    const r = await run([['a', 'failed-with-summary']]);
    expect(r.ends[0]).toMatchObject({ exitCode: 1 });
    expect(r.ends[0].summary).toBeUndefined();
  });

  test('a process that prints after its job ended is not given another: the next job gets a fresh one and a clean log', async () => {
    for (const mode of ['late-output', 'output-after-marker']) {
      const r = await run([[`${mode}-1`, mode], [`${mode}-2`, 'ok']]);
      expect(r.errors).toEqual([undefined, undefined]);
      expect(r.pids[0]).not.toBe(r.pids[1]);
      expect(r.log(`${mode}-2`)).not.toMatch(/LATE|AFTER/);
      expect(r.ends[1].summary?.runId).toBe(`${mode}-2`);
    }
  });
});

describe('JobStream: one output stream of a job', () => {
  test('writes whole lines, finds a marker split across chunks, and holds back a bounded tail of a line that never ends', () => {
    const marker = '\u001euplift-job-end-0123456789abcdef01234567';
    const written: string[] = [];
    const ends: unknown[] = [];
    const s = new JobStream(marker, (t) => written.push(t), (status, next, trailing) => ends.push({ status, next, trailing }));
    s.data('line one\nline t');
    expect(written.join('')).toBe('line one\n');
    s.data('wo\n');
    expect(written.join('')).toBe('line one\nline two\n');
    expect(s.lastLine).toBe('line two');
    // 4 MiB without a newline: written as it comes, but for a tail no longer than one held line.
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 64; i++) s.data(chunk);
    const held = 'line one\nline two\n'.length + 64 * chunk.length - written.join('').length;
    expect(held).toBeLessThanOrEqual(128 * 1024);
    s.data(`\n${marker.slice(0, 10)}`);
    // A line that long is no summary.
    expect(s.lastLine).toBe('');
    s.data(`${marker.slice(10)} 0 ne`);
    expect(ends).toEqual([]);
    s.data('xt\n');
    expect(ends).toEqual([{ status: 0, next: true, trailing: false }]);
    expect(written.join('')).toBe(`line one\nline two\n${'x'.repeat(64 * chunk.length)}\n`);
  });

  test('what follows the marker line is reported; a malformed marker line ends the job as unreadable', () => {
    const marker = '\u001eM';
    const ends: unknown[] = [];
    new JobStream(marker, () => undefined, (status, next, trailing) => ends.push({ status, next, trailing })).data(`${marker} 0 next\nmore`);
    new JobStream(marker, () => undefined, (status, next, trailing) => ends.push({ status, next, trailing })).data(`${marker} zero next\n`);
    expect(ends).toEqual([{ status: 0, next: true, trailing: true }, { status: NaN, next: false, trailing: true }]);
  });
});
