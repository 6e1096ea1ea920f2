import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { executeSweep, type Progress } from '../../cli/local/runner';
import { classificationKind, type Example, type LabelSet } from '../../core/cbm/classification';
import { readMeta, readSplit } from '../../core/cbm/dataset';
import type { TaskOutcome } from '../../core/ra/protocol';
import { loadSpec } from '../../core/spec';
import { readShards, roleOutputPrefix } from '../../core/sweep/outputs';
import { newSweepId, prepareSweep, stageSweep } from '../../core/sweep/stage';
import type { Stores } from '../../lambdas/aws/clients';
import { withoutSandboxNote } from '../support/sandbox-note';
import { embeddedForTest } from '../support/embedded';
import { writeSmallSpec } from '../support/specs';

let svc: EmbeddedServices;
let stores: Stores;
let dataDir: string;
let sweepId: string;
const progress: Progress[] = [];
let jobs: { event: string; runId: string; role: string; index: number | null; pid?: number; log?: string; summary?: unknown }[];

/** Each target's score: the classification scorer applied to its stored output (0 without one); the score stored with the outcome must be that. */
async function scoresOf(targets: readonly Example[], meta: LabelSet, outcomes: readonly TaskOutcome[]): Promise<number[]> {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  return Promise.all(
    targets.map(async (t) => {
      const o = byId.get(t.id);
      if (!o || !('output' in o)) return 0;
      const score = await classificationKind.score(t, o.output, {}, {}, meta);
      expect({ id: t.id, stored: o.score }).toEqual({ id: t.id, stored: score });
      return score;
    }),
  );
}

beforeAll(async () => {
  ({ svc, stores, dataDir } = await embeddedForTest());
  // GIVEN a sweep of noop and fewshot-search × 2 seeds on the sample data, staged as `uplift run` does
  const prepared = prepareSweep(loadSpec(writeSmallSpec({ seeds: 2 })), process.env);
  sweepId = newSweepId('it-sweep');
  await stageSweep(stores.artifacts, prepared, sweepId);
  // WHEN the synthesized state machine runs it on the embedded services
  const outcome = await executeSweep({ sweepId, storageEnv: svc.env, logDir: join(dataDir, 'logs'), poolSize: 2, onProgress: (p) => progress.push(p) });
  expect(outcome.status).toBe('succeeded');
  jobs = readFileSync(join(dataDir, 'logs', 'jobs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
});
afterAll(async () => svc.stop());

describe('a full local sweep on the embedded services', () => {
  test('writes the DynamoDB items the README architecture lists: META, BUDGET, RUN per run, the baseline cache', async () => {
    const meta = await stores.scores.getSweep(sweepId);
    expect(meta).toMatchObject({ sweepId, name: 'it-sweep', status: 'succeeded', runCount: 4, offlineOnly: true, models: ['offline'], counts: { succeeded: 4 } });
    expect(meta?.reportKey).toBe(`sweeps/${sweepId}/report/index.html`);
    const runs = await stores.scores.listRuns(sweepId);
    expect(runs.map((r) => r.runId).sort()).toEqual([
      'fewshot-search-classifier-tai-safety-simple-s1',
      'fewshot-search-classifier-tai-safety-simple-s2',
      'noop-classifier-tai-safety-simple-s1',
      'noop-classifier-tai-safety-simple-s2',
    ]);
    for (const r of runs) {
      expect(r.status).toBe('succeeded');
      expect(r.tasks).toBe(180);
      expect(r.ci?.[0]).toBeLessThanOrEqual(r.uplift as number);
      expect(r.ci?.[1]).toBeGreaterThanOrEqual(r.uplift as number);
      expect(r.reservedUsd).toBeUndefined();
    }
    expect(await stores.scores.getBudget(sweepId)).toEqual({ limitUsd: 1, reservedUsd: 0, spentUsd: 0, holds: {} });
    const plan = JSON.parse((await stores.artifacts.getText(`sweeps/${sweepId}/plan.json`)) as string) as { runs: { baselineKey: string }[] };
    const baseline = await stores.scores.getBaseline(plan.runs[0].baselineKey);
    expect(baseline).toMatchObject({ status: 'done', ownerSweep: sweepId });
  });

  test('writes the S3 layout the README architecture lists', async () => {
    const keys = await stores.artifacts.list('');
    const run = 'fewshot-search-classifier-tai-safety-simple-s1';
    for (const k of [`sweeps/${sweepId}/plan.json`, `sweeps/${sweepId}/runs.json`, `sweeps/${sweepId}/spec.json`, `sweeps/${sweepId}/report/index.html`, `sweeps/${sweepId}/report/results.json`])
      expect(keys).toContain(k);
    for (const f of ['transcript.jsonl', 'mra.tar.gz', 'mra.diff', 'result.json']) expect(keys).toContain(`sweeps/${sweepId}/runs/${run}/tla/${f}`);
    for (const i of [0, 1]) expect(keys).toContain(`sweeps/${sweepId}/runs/${run}/mra/shard-${i}.jsonl`);
    expect(keys.filter((k) => /^datasets\/tai-safety\/[0-9a-f]{64}\/(dev|test)\.jsonl$/.test(k))).toHaveLength(2);
    expect(keys.filter((k) => /^datasets\/tai-safety\/[0-9a-f]{64}\/meta\.json$/.test(k))).toHaveLength(1);
    expect(keys.filter((k) => /^agents\/[0-9a-f]{64}\.tar\.gz$/.test(k))).toHaveLength(1);
    const diff = (await stores.artifacts.getText(`sweeps/${sweepId}/runs/${run}/tla/mra.diff`)) as string;
    expect(diff).toMatch(/^\+\+\+ mra\/prompt.txt/m);
    expect(diff).toMatch(/^\+Label: /m);
  });

  test('the stored scores are the scorer applied to the stored outputs and the test targets', async () => {
    const runs = await stores.scores.listRuns(sweepId);
    const plan = JSON.parse((await stores.artifacts.getText(`sweeps/${sweepId}/plan.json`)) as string) as { runs: { runId: string; baselineKey: string; cbm: { datasetPrefix: string } }[] };
    const targets = await readSplit(stores.artifacts, plan.runs[0].cbm.datasetPrefix, 'test', classificationKind);
    const meta = await readMeta(stores.artifacts, plan.runs[0].cbm.datasetPrefix, classificationKind);
    const baseline = await stores.scores.getBaseline(plan.runs[0].baselineKey);
    const base = await scoresOf(targets, meta, (await readShards(stores.artifacts, baseline?.outputsPrefix as string, 2)).outcomes);
    for (const r of runs) {
      const mra = await scoresOf(targets, meta, (await readShards(stores.artifacts, roleOutputPrefix(sweepId, r.runId, 'mra'), 2)).outcomes);
      expect(r.baseline).toBeCloseTo(base.reduce((a, b) => a + b, 0) / base.length, 12);
      expect(r.mra).toBeCloseTo(mra.reduce((a, b) => a + b, 0) / mra.length, 12);
    }
  });

  test('noop changes nothing (uplift 0, CI contains 0); fewshot-search improves the held-out score', async () => {
    const runs = await stores.scores.listRuns(sweepId);
    // Each check carries the run's id and warnings, so a failure says what went wrong in it.
    for (const r of runs.filter((r) => r.tla === 'noop')) {
      expect({ run: r.runId, uplift: r.uplift, warnings: withoutSandboxNote(r.warnings) }).toEqual({ run: r.runId, uplift: 0, warnings: [] });
      expect(r.ci?.[0]).toBeLessThanOrEqual(0);
      expect(r.ci?.[1]).toBeGreaterThanOrEqual(0);
    }
    for (const r of runs.filter((r) => r.tla === 'fewshot-search')) {
      expect({ run: r.runId, improved: (r.uplift ?? 0) > 0, warnings: withoutSandboxNote(r.warnings) }).toEqual({ run: r.runId, improved: true, warnings: [] });
      expect(r.tokens?.tla).toBeGreaterThan(0);
      expect(r.tokens?.tla).toBeLessThanOrEqual(400000);
    }
  });

  test('the shared baseline is computed once: one run ran baseline shard jobs, the others reused it', async () => {
    const baselineStarts = jobs.filter((j) => j.event === 'start' && j.role === 'baseline');
    expect(baselineStarts).toHaveLength(2);
    expect(new Set(baselineStarts.map((j) => j.runId)).size).toBe(1);
    const runs = await stores.scores.listRuns(sweepId);
    expect(runs.filter((r) => !r.baselineCached)).toHaveLength(1);
    expect(runs.filter((r) => r.baselineCached).every((r) => r.tokens?.baseline === 0)).toBe(true);
  });

  test('job processes take another job after one that succeeded; each job\'s log holds its own output only', () => {
    const starts = jobs.filter((j) => j.event === 'start');
    const pids = new Set(starts.map((j) => j.pid));
    // Every job here succeeds: two slots need few processes (a fresh one per job was 14 here).
    expect(starts.length).toBeGreaterThanOrEqual(10);
    expect(pids.size).toBeLessThanOrEqual(4);
    for (const end of jobs.filter((j) => j.event === 'end')) {
      const log = readFileSync(end.log as string, 'utf8');
      expect(log).not.toContain('uplift-job-end');
      const summaries = log.split('\n').filter((l) => l.startsWith('{"uplift":"job-summary"'));
      // The job's own summary, once, as its last line: the run, role and index it was started for.
      expect(summaries).toHaveLength(1);
      expect(JSON.parse(summaries[0])).toMatchObject({ runId: end.runId, role: end.role, ...(end.index === null ? {} : { index: end.index }) });
      expect(end.summary).toEqual(JSON.parse(summaries[0]));
    }
  });

  test('at the process sandbox levels every job has a process of its own: an agent running as the harness user could reach a reused one', async () => {
    const sweep = newSweepId('it-sweep');
    await stageSweep(stores.artifacts, prepareSweep(loadSpec(writeSmallSpec({ tlas: '[{kind: noop}]' })), process.env), sweep);
    const logDir = join(dataDir, 'logs-process-level');
    const outcome = await executeSweep({ sweepId: sweep, storageEnv: svc.env, logDir, poolSize: 2, jobEnv: { ...process.env, UPLIFT_SANDBOX: 'process-rlimits' } });
    expect(outcome.status).toBe('succeeded');
    const starts = readFileSync(join(logDir, 'jobs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; pid?: number }).filter((j) => j.event === 'start');
    expect(starts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(starts.map((j) => j.pid)).size).toBe(starts.length);
  });

  test('progress reached all runs and counted tokens', () => {
    const last = progress[progress.length - 1];
    expect(last).toMatchObject({ runsTotal: 4, runsDone: 4, runsFailed: 0, jobsRunning: 0 });
    expect(last.tokens).toBeGreaterThan(0);
  });

  test('a second sweep of the same RA, data and model reuses the cached baseline', async () => {
    const second = newSweepId('it-sweep');
    await stageSweep(stores.artifacts, prepareSweep(loadSpec(writeSmallSpec({ tlas: '[{kind: noop}]' })), process.env), second);
    const outcome = await executeSweep({ sweepId: second, storageEnv: svc.env, logDir: join(dataDir, 'logs2'), poolSize: 2 });
    expect(outcome.status).toBe('succeeded');
    const started = readFileSync(join(dataDir, 'logs2', 'jobs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; role: string });
    expect(started.filter((j) => j.event === 'start' && j.role === 'baseline')).toHaveLength(0);
    const [run] = await stores.scores.listRuns(second);
    expect(run).toMatchObject({ status: 'succeeded', baselineCached: true, uplift: 0 });
  });
});
