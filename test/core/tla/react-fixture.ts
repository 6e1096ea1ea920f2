import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadClassificationDir, type ClassificationDataset, type Example } from '../../../core/cbm/classification';
import { stageDataset } from '../../../core/cbm/dataset';
import type { JobSummary } from '../../../core/jobs/env';
import { runTlaSandbox } from '../../../core/jobs/tla-sandbox';
import { stageBundle, unpackBundle } from '../../../core/ra/bundle';
import type { SandboxLimits } from '../../../core/sandbox';
import { SweepSpec, type TlaSpec } from '../../../core/spec';
import { expandPlan, planKey, type SweepPlan } from '../../../core/sweep/plan';
import { tlaKey, type TlaResult } from '../../../core/sweep/outputs';
import { MemoryArtifactStore } from '../../support/memory-store';
import { startScriptedModel, type RecordedRequest, type ScriptStep } from '../../support/scripted-model';
import { LOCAL_COMPUTE } from '../../../core/pricing';

export const EXAMPLES = resolve(__dirname, '../../../examples');
export const CLASSIFIER = join(EXAMPLES, 'agents/classifier');
export const DATASET = loadClassificationDir(join(EXAMPLES, 'datasets/tai-safety'));
/** The real key of the scripted endpoint: only the gateway holds it. */
export const REAL_KEY = 'sk-scripted-real-key-never-in-a-sandbox';

/** Labelled dev examples as prompt.txt lines, for an edit that helps the offline model. */
export function examplesBlock(examples: readonly Example[]): string {
  return examples.map((e) => `Abstract: ${e.text.replace(/\s+/g, ' ')}\nLabel: ${e.label}\n`).join('\n');
}

/** An edit_file call that adds `n` dev examples of each label to prompt.txt's examples block. */
export function helpfulEdit(n = 4): { name: string; arguments: Record<string, unknown> } {
  const picks = DATASET.meta.labels.flatMap((l) => DATASET.dev.filter((e) => e.label === l).slice(0, n));
  return { name: 'edit_file', arguments: { path: 'prompt.txt', old_str: 'Examples:\n', new_str: `Examples:\n\n${examplesBlock(picks)}` } };
}

export interface ReactJobRun {
  result: TlaResult & { usageByModel?: { gateway: string; model: string; totalTokens: number }[] };
  summary: JobSummary;
  transcript: (Record<string, unknown> & { kind: string })[];
  requests: RecordedRequest[];
  mraFile(name: string): string;
  diff: string;
  store: MemoryArtifactStore;
  plan: SweepPlan;
}

let seq = 0;

/**
 * Stages the tai-safety sample (first `devCount` dev and 20 test examples), the classifier RA on
 * the offline model and a one-run plan with `tla` into a store, as PlanSweep would.
 */
export async function stageTestPlan(
  store: MemoryArtifactStore,
  opts: { tla: Record<string, unknown>; variant?: 'simple' | 'hard'; devCount?: number; tlaTokens?: number; tlaWallSeconds?: number },
): Promise<{ plan: SweepPlan; sweepId: string; dataset: ClassificationDataset }> {
  const ds: ClassificationDataset = { meta: DATASET.meta, dev: DATASET.dev.slice(0, opts.devCount ?? 24), test: DATASET.test.slice(0, 20) };
  const { prefix, version } = await stageDataset(store, 'tai-safety', 'classification', ds);
  const { hash } = await stageBundle(store, CLASSIFIER);
  const sweepId = `react-test-${process.pid}-${++seq}`;
  const spec = SweepSpec.parse({
    name: 'react-test',
    cbms: [{ id: 'tai-safety', dataset: 'unused' }],
    ras: [{ name: 'classifier', bundle: CLASSIFIER, model: { provider: 'offline' } }],
    tlas: [opts.tla],
    variants: [opts.variant ?? 'simple'],
    shardSize: 10,
    budgets: { tlaTokens: opts.tlaTokens ?? 400_000, shardTokens: 100_000, tlaWallSeconds: opts.tlaWallSeconds ?? 120, maxUsd: 1 },
    prices: { models: { scripted: { inputPerMTok: 0, outputPerMTok: 0 } } },
  });
  const plan = expandPlan({
    sweepId,
    createdAt: new Date().toISOString(),
    specFile: 'react-test.yaml',
    compute: LOCAL_COMPUTE,
    spec,
    cbms: [{ id: 'tai-safety', kind: 'classification', datasetPrefix: prefix, datasetVersion: version, devCount: ds.dev.length, testCount: ds.test.length, guardCount: 0 }],
    ras: [{ name: 'classifier', bundleHash: hash, model: { provider: 'offline', latencyMs: 0 }, speaks: 'classification' }],
    fixedBundles: {},
  });
  await store.putText(planKey(sweepId), JSON.stringify(plan));
  return { plan, sweepId, dataset: ds };
}

/**
 * Runs the real `tla-sandbox` job for one `react` run against a scripted model over HTTP, with
 * an in-memory artifact store: the RA is examples/agents/classifier on the offline model, the
 * dev split is the first `devCount` dev examples of the tai-safety sample.
 */
export async function runReactJob(opts: {
  steps: ScriptStep[];
  tlaTokens?: number;
  variant?: 'simple' | 'hard';
  react?: Partial<Omit<Extract<TlaSpec, { kind: 'react' }>, 'kind' | 'model'>>;
  devCount?: number;
  sandboxLimits?: Partial<SandboxLimits>;
  processEnv?: Record<string, string>;
  tlaWallSeconds?: number;
}): Promise<ReactJobRun> {
  const model = await startScriptedModel(opts.steps, { apiKey: REAL_KEY });
  try {
    const store = new MemoryArtifactStore();
    const { plan, sweepId } = await stageTestPlan(store, {
      tla: { kind: 'react', model: { provider: 'openai', name: 'scripted', baseUrl: model.baseUrl, apiKeyEnv: 'SCRIPTED_KEY' }, evalTasks: 16, ...opts.react },
      variant: opts.variant,
      devCount: opts.devCount,
      tlaTokens: opts.tlaTokens,
      tlaWallSeconds: opts.tlaWallSeconds,
    });
    const run = plan.runs[0];
    const summary = await runTlaSandbox(
      store,
      { UPLIFT_RUN_ID: run.runId, UPLIFT_ROLE: 'tla', UPLIFT_PLAN_URI: `s3://test-bucket/sweeps/${sweepId}/plan.json` },
      { SCRIPTED_KEY: REAL_KEY, ...opts.processEnv },
      { sandboxLimits: opts.sandboxLimits },
    );
    const text = async (file: 'result.json' | 'transcript.jsonl' | 'mra.diff') => (await store.getText(tlaKey(sweepId, run.runId, file))) ?? '';
    const mraDir = mkdtempSync(join(tmpdir(), 'react-mra-'));
    unpackBundle((await store.getBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'))) as Uint8Array, mraDir);
    return {
      result: JSON.parse(await text('result.json')) as ReactJobRun['result'],
      summary,
      transcript: (await text('transcript.jsonl'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown> & { kind: string }),
      requests: model.requests,
      mraFile: (name) => readFileSync(join(mraDir, name), 'utf8'),
      diff: await text('mra.diff'),
      store,
      plan,
    };
  } finally {
    await model.close();
  }
}

/** The RA's prompt file as given. */
export const RA_PROMPT = readFileSync(join(CLASSIFIER, 'prompt.txt'), 'utf8');
