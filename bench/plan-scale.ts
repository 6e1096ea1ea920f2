/**
 * Planning a large sweep: `uplift plan` (validation + expansion + pricing) and the PlanSweep step
 * (plan.json, runs.json and one RUN item per run on the embedded services) for N runs.
 *
 *   npx tsx bench/plan-scale.ts [--runs 2000]
 */
import '../core/polyfills';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbedded } from '../cli/local/embedded';
import { loadSpec } from '../core/spec';
import { planSweep } from '../core/sweep/steps';
import { newSweepId, prepareSweep, stageSweep } from '../core/sweep/stage';
import { storesFromEnv } from '../lambdas/aws/clients';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' } } });
  const runs = Number(values.runs);
  const root = join(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'uplift-plan-bench-'));
  const specFile = join(dir, 'big.yaml');
  // 4 TLAs × 2 variants × seeds = runs
  const seeds = Math.ceil(runs / 8);
  writeFileSync(
    specFile,
    `name: big
cbms: [{ id: tai-safety, dataset: ${join(root, 'examples/datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(root, 'examples/agents/classifier')}, model: { provider: openai, name: gpt-4o-mini } }]
tlas: [{ kind: noop }, { kind: fewshot-search }, { kind: fixed, name: v2, bundle: ${join(root, 'examples/agents/classifier')} }, { kind: fixed, name: v3, bundle: ${join(root, 'examples/agents/classifier')} }]
variants: [simple, hard]
seeds: ${seeds}
budgets: { tlaTokens: 500000, shardTokens: 200000, tlaWallSeconds: 3600, maxUsd: 100000 }
`,
  );
  const env = { ...process.env, OPENAI_API_KEY: process.env.OPENAI_API_KEY ?? 'bench-only' };
  let t = Date.now();
  const prepared = prepareSweep(loadSpec(specFile), env);
  const planMs = Date.now() - t;
  const svc = await startEmbedded(join(dir, 'data'));
  try {
    const stores = storesFromEnv(svc.env);
    const sweepId = newSweepId('big');
    await stageSweep(stores.artifacts, prepared, sweepId);
    t = Date.now();
    const out = await planSweep(stores, { sweepId });
    const planSweepMs = Date.now() - t;
    const planBytes = ((await stores.artifacts.getBytes(`sweeps/${sweepId}/plan.json`)) as Uint8Array).length;
    console.log(`runs:                   ${prepared.preview.runs.length}`);
    console.log(`uplift plan (validate, expand, price): ${planMs} ms`);
    console.log(`PlanSweep step (plan.json + runs.json + ${out.runCount} RUN items, embedded S3/DynamoDB): ${planSweepMs} ms`);
    console.log(`plan.json: ${(planBytes / 1024).toFixed(0)} KiB in S3; PlanSweep's output in the state payload: ${JSON.stringify(out).length} bytes (limit 262,144)`);
  } finally {
    await svc.stop();
  }
}

void main();
