import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJobs, runCli, startCli, waitFor, type JobLine } from '../support/cli';
import { writeSmallSpec } from '../support/specs';

interface JsonResults {
  sweepId: string;
  runs: { runId: string; tla: string; status: string; uplift: number | null; costUsd: number }[];
  budget: { limitUsd: number; spentUsd: number; reservedUsd: number };
}

const key = (j: JobLine) => `${j.runId}/${j.role}/${j.index}`;

describe('interrupting and resuming uplift run', () => {
  test('SIGINT mid-sweep then --resume loses nothing and recomputes no finished run or shard', async () => {
    // GIVEN a sweep of 4 runs executed one run at a time, whose job time costs money ($36/h here)
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-resume-'));
    const spec = writeSmallSpec({ seeds: 2, runs: 1, maxUsd: 100, extra: 'prices: { instances: { local: 36 } }' });
    const first = startCli(['run', spec, '--data-dir', dataDir, '--jobs', '2']);
    const sweepId = await waitFor('the sweep id', () => /Sweep (\S+): 4 runs/.exec(first.stderr())?.[1]);
    // WHEN it is interrupted once the second run has started (so the first one finished)
    await waitFor('a second run to start', () => {
      const starts = readJobs(dataDir, sweepId).filter((j) => j.event === 'start');
      return starts.length > 0 && starts.some((j) => j.runId !== starts[0].runId);
    });
    first.child.kill('SIGINT');
    // THEN it stops with 130 and says how to resume
    expect(await first.exit).toBe(130);
    expect(first.stderr()).toContain(`npx uplift run --resume ${sweepId}`);
    const before = JSON.parse((await runCli(['results', sweepId, '--json', '--data-dir', dataDir])).stdout) as JsonResults;
    const finishedBefore = before.runs.filter((r) => r.status === 'succeeded').map((r) => r.runId);
    expect(finishedBefore.length).toBeGreaterThanOrEqual(1);
    expect(before.runs.some((r) => r.status !== 'succeeded')).toBe(true);
    const jobsBefore = readJobs(dataDir, sweepId);
    const doneShards = new Set(jobsBefore.filter((j) => j.event === 'end' && j.summary && !j.summary.skipped).map(key));

    // WHEN the sweep is resumed
    const resumed = await runCli(['run', '--resume', sweepId, '--json', '--data-dir', dataDir, '--jobs', '2']);
    // THEN every run succeeds, with the deterministic results a clean run gives
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`Resuming ${sweepId}: ${finishedBefore.length} of 4 runs already succeeded`);
    const after = JSON.parse(resumed.stdout) as JsonResults;
    expect(after.runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    for (const r of after.runs) {
      if (r.tla === 'noop') expect(r.uplift).toBe(0);
      else expect(r.uplift).toBeGreaterThan(0);
    }
    // AND no finished run got any job, and no finished shard was computed again
    const newJobs = readJobs(dataDir, sweepId).slice(jobsBefore.length);
    expect(newJobs.filter((j) => finishedBefore.includes(j.runId))).toEqual([]);
    for (const j of newJobs.filter((j) => j.event === 'end' && doneShards.has(key(j)))) expect(j.summary?.skipped).toBe(true);
    // AND results before the interrupt are unchanged
    for (const id of finishedBefore) expect(after.runs.find((r) => r.runId === id)).toEqual(before.runs.find((r) => r.runId === id));
    // AND the ledger holds nothing and spent what the runs metered, each once: the resume reserved nothing twice
    expect(after.budget.reservedUsd).toBe(0);
    const metered = after.runs.reduce((s, r) => s + r.costUsd, 0);
    expect(metered).toBeGreaterThan(0);
    expect(after.budget.spentUsd).toBeCloseTo(metered, 5);
  });

  test('an interrupt while a baseline is being computed frees its claim, so the next sweep computes it at once', async () => {
    // GIVEN a sweep interrupted while its baseline shards run
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-claim-'));
    const spec = writeSmallSpec({ tlas: '[{kind: noop}]' });
    const first = startCli(['run', spec, '--data-dir', dataDir]);
    const sweepId = await waitFor('the sweep id', () => /Sweep (\S+): /.exec(first.stderr())?.[1]);
    await waitFor('a baseline shard to start', () => readJobs(dataDir, sweepId).find((j) => j.event === 'start' && j.role === 'baseline'));
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(130);
    // THEN no baseline claim is left behind
    const cache = await runCli(['cache', 'list', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(cache.stdout)).toEqual([]);
    // AND a new sweep on the same data dir computes the baseline and succeeds
    const second = await runCli(['run', spec, '--json', '--data-dir', dataDir]);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { runs: { baselineCached: boolean }[] }).runs[0].baselineCached).toBe(false);
  });

  test('a killed job process is retried and its run still succeeds', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-kill-'));
    const run = startCli(['run', writeSmallSpec({ tlas: '[{kind: fewshot-search, evalTasks: 40}]' }), '--data-dir', dataDir, '--json']);
    const sweepId = await waitFor('the sweep id', () => /Sweep (\S+): /.exec(run.stderr())?.[1]);
    // WHEN the TLA job process is killed with SIGKILL while it works
    const tla = await waitFor('the TLA job to start', () => readJobs(dataDir, sweepId).find((j) => j.event === 'start' && j.role === 'tla'));
    process.kill(tla.pid as number, 'SIGKILL');
    // THEN the state machine's retry runs it again and the run succeeds
    expect(await run.exit).toBe(0);
    const results = JSON.parse(run.stdout()) as JsonResults;
    expect(results.runs).toHaveLength(1);
    expect(results.runs[0].status).toBe('succeeded');
    const tlaJobs = readJobs(dataDir, sweepId).filter((j) => j.role === 'tla');
    expect(tlaJobs.filter((j) => j.event === 'start')).toHaveLength(2);
    expect(tlaJobs.find((j) => j.event === 'end')).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });
});
