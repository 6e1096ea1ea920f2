/**
 * A large local sweep with the offline model: how much the harness costs per run.
 *
 *   npx tsx bench/sweep-scale.ts [--runs 200] [--jobs 2]
 *
 * Runs `--runs` runs (TLA `noop`, `--runs` seeds) of the classifier RA on tai-safety through the
 * real pipeline on the embedded services, then prints:
 *  - state transitions per run (Step Functions bills a Standard workflow per transition),
 *  - shard jobs per run (the baseline is shared, so this tends to the MRA's shard count),
 *  - harness wall time ÷ ideal, where ideal = Σ agent wall time (RA processes and TLAs, as the jobs
 *    measured them) ÷ the number of job slots: what a perfectly packed pool with free
 *    orchestration, storage and process start-up would take,
 *  - where the CPU went (Linux): this process (state machine, Lambda handlers, embedded S3 and
 *    DynamoDB) and the job processes with their agents, against wall × cores.
 */
import '../core/polyfills';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbedded } from '../cli/local/embedded';
import { procCpuSeconds } from './proc-cpu';
import { executeSweep } from '../cli/local/runner';
import { loadSpec } from '../core/spec';
import { readPlan, ShardUsage, TlaResult } from '../core/sweep/outputs';
import { newSweepId, prepareSweep, stageSweep } from '../core/sweep/stage';
import { parseJson } from '../core/jsonl';
import { storesFromEnv } from '../lambdas/aws/clients';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, jobs: { type: 'string', default: '2' } } });
  const runs = Number(values.runs);
  const jobs = Number(values.jobs);
  const root = join(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'uplift-bench-'));
  const specFile = join(dir, 'scale.yaml');
  writeFileSync(
    specFile,
    `name: scale
cbms: [{ id: tai-safety, dataset: ${join(root, 'examples/datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(root, 'examples/agents/classifier')}, model: { provider: offline } }]
tlas: [{ kind: noop }]
seeds: ${runs}
shardSize: 90
budgets: { tlaTokens: 100000, shardTokens: 200000, tlaWallSeconds: 300, shardWallSeconds: 300, maxUsd: 1 }
concurrency: { runs: ${Math.max(2, jobs * 2)}, requests: 8 }
`,
  );
  const svc = await startEmbedded(join(dir, 'data'));
  try {
    const stores = storesFromEnv(svc.env);
    const planStart = Date.now();
    const prepared = prepareSweep(loadSpec(specFile), process.env);
    const planMs = Date.now() - planStart;
    const sweepId = newSweepId('scale');
    await stageSweep(stores.artifacts, prepared, sweepId);
    const started = Date.now();
    const cpuBefore = procCpuSeconds();
    let lastPrint = 0;
    const outcome = await executeSweep({
      sweepId,
      storageEnv: svc.env,
      logDir: join(dir, 'logs'),
      poolSize: jobs,
      onProgress: (p) => {
        if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          process.stderr.write(`  ${p.runsDone}/${p.runsTotal} runs, ${p.jobsDone} jobs\n`);
        }
      },
    });
    const wallMs = Date.now() - started;
    const cpuAfter = procCpuSeconds();
    if (outcome.status !== 'succeeded') throw new Error(`sweep ${outcome.status}: ${'error' in outcome ? outcome.error : ''}`);
    const events = readFileSync(join(dir, 'logs', 'jobs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; role: string });
    const shardJobs = events.filter((e) => e.event === 'start' && e.role !== 'tla').length;
    const plan = await readPlan(stores.artifacts, sweepId);
    let agentMs = 0;
    for (const key of await stores.artifacts.list(`sweeps/${sweepId}/runs/`)) {
      if (key.endsWith('.usage.json')) agentMs += parseJson((await stores.artifacts.getText(key)) as string, ShardUsage, key).wallMs;
      if (key.endsWith('/tla/result.json')) agentMs += parseJson((await stores.artifacts.getText(key)) as string, TlaResult, key).wallMs;
    }
    const ideal = agentMs / jobs;
    const n = plan.runs.length;
    console.log(`runs:                      ${n} (${(await stores.scores.listRuns(sweepId)).filter((r) => r.status === 'succeeded').length} succeeded), ${jobs} job slots`);
    console.log(`plan + validation:         ${planMs} ms`);
    console.log(`state transitions per run: ${(outcome.stateTransitions / n).toFixed(2)} (${outcome.stateTransitions} in all)`);
    console.log(`shard jobs per run:        ${(shardJobs / n).toFixed(2)} (MRA shards per run: ${plan.runs[0].shards}; one shared baseline)`);
    console.log(`wall:                      ${(wallMs / 1000).toFixed(1)} s`);
    console.log(`ideal:                     ${(ideal / 1000).toFixed(1)} s (Σ agent time ${(agentMs / 1000).toFixed(1)} s ÷ ${jobs})`);
    console.log(`wall/ideal:                ${(wallMs / ideal).toFixed(2)}`);
    if (cpuBefore && cpuAfter)
      console.log(
        `CPU:                       ${(cpuAfter.self - cpuBefore.self).toFixed(1)} s harness process, ${(cpuAfter.children - cpuBefore.children).toFixed(1)} s job processes and agents; wall × ${cpus().length} cores = ${((wallMs / 1000) * cpus().length).toFixed(1)} s`,
      );
  } finally {
    await svc.stop();
  }
}

void main();
