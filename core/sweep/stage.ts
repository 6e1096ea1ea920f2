import { randomBytes } from 'node:crypto';
import { loadDatasetDir, stageDataset, datasetVersion, datasetPrefix, type Dataset } from '../cbm/dataset';
import { SpecError } from '../errors';
import type { ArtifactStore } from '../ports';
import { LOCAL_COMPUTE, type ComputeTargets } from '../pricing';
import { bundleHash, readManifest, stageBundle } from '../ra/bundle';
import { resolveModel, tlaLabel, type LoadedSpec } from '../spec';
import { expandPlan, stagedSpecKey, type StagedSweep, type SweepPlan } from './plan';

/** A validated sweep, ready to stage: every check that can fail has run, nothing was written. */
export interface PreparedSweep {
  loaded: LoadedSpec;
  datasets: Map<string, Dataset>;
  /** The plan as PlanSweep will compute it (with a placeholder id), for `plan` output and checks. */
  preview: SweepPlan;
  /** Where the jobs will run (priced into the worst case). */
  compute: ComputeTargets;
  /** $OPENAI_BASE_URL when the sweep was prepared: an `openai` model without `baseUrl` is served there. */
  openaiBaseUrl?: string;
}

/** New sweep id: `<name>-<yyyymmdd-hhmmss>-<4 hex>`. */
export function newSweepId(name: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${ts}-${randomBytes(2).toString('hex')}`;
}

function stagedFrom(loaded: LoadedSpec, datasets: Map<string, Dataset>, sweepId: string, createdAt: string, compute: ComputeTargets, openaiBaseUrl: string | undefined): StagedSweep {
  const { spec } = loaded;
  return {
    sweepId,
    createdAt,
    specFile: loaded.file,
    spec,
    cbms: spec.cbms.map((c) => {
      const ds = datasets.get(c.id) as Dataset;
      const version = datasetVersion(ds);
      return { id: c.id, datasetPrefix: datasetPrefix(c.id, version), datasetVersion: version, labels: ds.labels.labels, devCount: ds.dev.length, testCount: ds.test.length };
    }),
    ras: spec.ras.map((r) => ({ name: r.name, bundleHash: bundleHash(r.bundle), model: resolveModel(r.model, { OPENAI_BASE_URL: openaiBaseUrl }) })),
    compute,
    fixedBundles: Object.fromEntries(spec.tlas.flatMap((t) => (t.kind === 'fixed' ? [[tlaLabel(t), bundleHash(t.bundle)]] : []))),
  };
}

/**
 * Validates everything a sweep needs before anything is started or written: data sets, bundle
 * manifests, model keys, prices and the worst case against `maxUsd`. Throws SpecError listing
 * every problem found.
 */
export function prepareSweep(loaded: LoadedSpec, env: Record<string, string | undefined>, compute: ComputeTargets = LOCAL_COMPUTE): PreparedSweep {
  const problems: string[] = [];
  const datasets = new Map<string, Dataset>();
  const collect = (f: () => void) => {
    try {
      f();
    } catch (e) {
      if (e instanceof SpecError) problems.push(...e.problems);
      else throw e;
    }
  };
  loaded.spec.cbms.forEach((c) => collect(() => datasets.set(c.id, loadDatasetDir(c.dataset))));
  loaded.spec.ras.forEach((r) => collect(() => readManifest(r.bundle)));
  loaded.spec.tlas.forEach((t) => t.kind === 'fixed' && collect(() => readManifest(t.bundle)));
  loaded.spec.ras.forEach((r, i) => {
    if (r.model.provider === 'openai' && !env[r.model.apiKeyEnv])
      problems.push(`${loaded.file}: ras.${i}.model.apiKeyEnv: environment variable ${r.model.apiKeyEnv} is not set. Fix: export ${r.model.apiKeyEnv}=<key> (the gateway holds it; agents only get a per-job token)`);
  });
  loaded.spec.tlas.forEach((t, i) => {
    if (t.kind === 'react' && t.model.provider === 'openai' && !env[t.model.apiKeyEnv])
      problems.push(`${loaded.file}: tlas.${i}.model.apiKeyEnv: environment variable ${t.model.apiKeyEnv} is not set. Fix: export ${t.model.apiKeyEnv}=<key> (the TLA's gateway holds it; the TLA only gets a per-job token)`);
  });
  if (problems.length) throw new SpecError(problems);
  const openaiBaseUrl = env.OPENAI_BASE_URL || undefined;
  const preview = expandPlan(stagedFrom(loaded, datasets, 'preview', new Date().toISOString(), compute, openaiBaseUrl));
  return { loaded, datasets, preview, compute, openaiBaseUrl };
}

/** Uploads data sets and bundles (content-addressed, idempotent) and writes `sweeps/<id>/spec.json`. */
export async function stageSweep(store: ArtifactStore, prepared: PreparedSweep, sweepId: string): Promise<StagedSweep> {
  const { spec } = prepared.loaded;
  for (const c of spec.cbms) await stageDataset(store, c.id, prepared.datasets.get(c.id) as Dataset);
  for (const r of spec.ras) await stageBundle(store, r.bundle);
  for (const t of spec.tlas) if (t.kind === 'fixed') await stageBundle(store, t.bundle);
  const staged = stagedFrom(prepared.loaded, prepared.datasets, sweepId, new Date().toISOString(), prepared.compute, prepared.openaiBaseUrl);
  await store.putText(stagedSpecKey(sweepId), JSON.stringify(staged, null, 2), 'application/json');
  return staged;
}
