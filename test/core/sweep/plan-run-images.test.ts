import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedServices } from '../../../cli/local/embedded';
import { loadSpec } from '../../../core/spec';
import type { JobDefinitions } from '../../../core/sweep/image-jobs';
import { prepareSweep, stageSweep } from '../../../core/sweep/stage';
import { planRun, planSweep } from '../../../core/sweep/steps';
import type { Stores } from '../../../lambdas/aws/clients';
import { embeddedForTest } from '../../support/embedded';
import { EXAMPLES } from '../../support/specs';

let svc: EmbeddedServices;
let stores: Stores;
beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
});
afterAll(() => svc.stop());

/** A staged, planned sweep of mini-swe whose tasks each name an image (two test tasks share one). */
async function imageSweep(sweepId: string): Promise<{ runId: string; images: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-plan-img-'));
  const family = join(dir, 'family');
  cpSync(join(EXAMPLES, 'datasets/mini-swe'), family, { recursive: true });
  for (const id of readdirSync(join(family, 'tasks'))) {
    const f = join(family, 'tasks', id, 'task.json');
    writeFileSync(f, JSON.stringify({ ...(JSON.parse(readFileSync(f, 'utf8')) as object), image: id === 'roman-1' || id === 'intervals-1' ? 'example.org/env/shared:1' : `example.org/env/${id}:1` }));
  }
  const file = join(dir, 'spec.yaml');
  writeFileSync(
    file,
    `name: plan-run-images
cbms: [{ id: img, kind: workspace, dataset: ${family} }]
ras: [{ name: basic-agent, bundle: ${join(EXAMPLES, 'agents/basic-agent')}, model: { provider: openai, name: gpt-4o-mini, baseUrl: "http://127.0.0.1:9/v1" } }]
tlas: [{ kind: noop }]
budgets: { tlaTokens: 1000, shardTokens: 100000, tlaWallSeconds: 600, shardWallSeconds: 600, maxUsd: 50 }
`,
  );
  await stageSweep(stores.artifacts, prepareSweep(loadSpec(file), { OPENAI_API_KEY: 'k' }), sweepId);
  const plan = await planSweep(stores, { sweepId });
  const runId = JSON.parse((await stores.artifacts.getText(plan.itemsKey)) as string)[0] as string;
  const splits = JSON.parse(readFileSync(join(family, 'splits.json'), 'utf8')) as { test: string[] };
  return { runId, images: splits.test.map((id) => (id === 'roman-1' || id === 'intervals-1' ? 'example.org/env/shared:1' : `example.org/env/${id}:1`)) };
}

describe('PlanRun of a run whose tasks run in container images', () => {
  test('answers queue images with one job per test task, each with its image\'s definition; each distinct image is registered once', async () => {
    const { runId, images } = await imageSweep('img-ok');
    const asked: string[] = [];
    const jobDefinitions: JobDefinitions = { ensure: async (image) => (asked.push(image), `def:${image}`) };
    const out = await planRun({ ...stores, jobDefinitions }, { sweepId: 'img-ok', runId });
    expect(out).toMatchObject({ action: 'compute_baseline', queue: 'images', shards: 11 });
    expect(out.baselineImageJobs).toEqual(images.map((image, index) => ({ index, jobDefinition: `def:${image}` })));
    expect(out.mraImageJobs).toEqual(out.baselineImageJobs);
    expect(asked).toEqual([...new Set(images)]);
  });

  test('a Batch failure while registering fails PlanRun before the run holds any budget or claims the baseline', async () => {
    const { runId } = await imageSweep('img-fail');
    const jobDefinitions: JobDefinitions = { ensure: () => Promise.reject(new Error('Batch: AccessDeniedException on RegisterJobDefinition')) };
    await expect(planRun({ ...stores, jobDefinitions }, { sweepId: 'img-fail', runId })).rejects.toThrow(/AccessDeniedException/);
    expect((await stores.scores.getBudget('img-fail'))?.reservedUsd ?? 0).toBe(0);
    // Nothing was held: once Batch works, the same run plans normally and then holds its worst case.
    const ok = await planRun({ ...stores, jobDefinitions: { ensure: async (i) => `def:${i}` } }, { sweepId: 'img-fail', runId });
    expect(ok.baselineImageJobs).toHaveLength(11);
    expect((await stores.scores.getBudget('img-fail'))?.holds[runId]).toBeGreaterThan(0);
  });

  test('without a registry (a stack deployed without the images queue) PlanRun fails naming the fix', async () => {
    const { runId } = await imageSweep('img-none');
    await expect(planRun(stores, { sweepId: 'img-none', runId })).rejects.toThrow(/run in container images .* no job definitions registry .*images\.enabled/);
  });
});
