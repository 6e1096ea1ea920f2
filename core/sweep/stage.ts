import { randomBytes } from 'node:crypto';
import { stageDataset, datasetVersion, datasetPrefix } from '../cbm/dataset';
import { cbmKind } from '../cbm/registry';
import { kindCompute, type KindDataset } from '../cbm/types';
import { TLAS } from '../tla/registry';
import { judgeAllowanceFloor } from '../cbm/judge';
import { upstreamFor } from '../gateway/upstream';
import { SpecError } from '../errors';
import type { ArtifactStore } from '../ports';
import { LOCAL_COMPUTE, type ComputeTargets } from '../pricing';
import { bundleHash, readManifest, stageBundle } from '../ra/bundle';
import { resolveModel, tlaLabel, type LoadedSpec } from '../spec';
import { missingKeyProblem } from '../model-spec';
import { expandPlan, stagedSpecKey, type StagedSweep, type SweepPlan } from './plan';
import { splitImages } from './image-jobs';

/** A validated sweep, ready to stage: every check that can fail has run, nothing was written. */
export interface PreparedSweep {
  loaded: LoadedSpec;
  datasets: Map<string, KindDataset>;
  /** The CBM kind each RA speaks (its agent.yaml), by RA name. */
  manifests: Map<string, string>;
  /** The plan as PlanSweep will compute it (with a placeholder id), for `plan` output and checks. */
  preview: SweepPlan;
  /** Where the jobs will run (priced into the worst case). */
  compute: ComputeTargets;
  /** $OPENAI_BASE_URL when the sweep was prepared: an `openai` model without `baseUrl` is served there. */
  openaiBaseUrl?: string;
  /** With `missingKeys: 'warn'`: the API keys missing from the environment, which `run`/`submit` refuse (one problem line each). */
  warnings: string[];
}

/** What prepareSweep does about API keys missing from the environment. */
export interface PrepareOptions {
  /**
   * `refuse` (run, submit: jobs would call the model): each is a problem; `warn` (plan, which
   * starts nothing): each is returned in `warnings` instead. @default refuse
   */
  missingKeys?: 'refuse' | 'warn';
}

/** New sweep id: `<name>-<yyyymmdd-hhmmss>-<4 hex>`. */
export function newSweepId(name: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${ts}-${randomBytes(2).toString('hex')}`;
}

function stagedFrom(loaded: LoadedSpec, datasets: Map<string, KindDataset>, manifests: Map<string, string>, sweepId: string, createdAt: string, compute: ComputeTargets, openaiBaseUrl: string | undefined): StagedSweep {
  const { spec } = loaded;
  return {
    sweepId,
    createdAt,
    specFile: loaded.file,
    spec,
    cbms: spec.cbms.map((c) => {
      const ds = datasets.get(c.id) as KindDataset;
      const kind = cbmKind(c.kind);
      const version = datasetVersion(c.kind, ds);
      const guardCount = ds.test.filter((t) => kind.setOf(t) === 'guard').length;
      const testImages = kind.taskImage ? splitImages(`cbms ${c.id}`, ds.test, (t) => kind.taskImage?.(t)) : undefined;
      return { id: c.id, kind: c.kind, datasetPrefix: datasetPrefix(c.id, version), datasetVersion: version, devCount: ds.dev.length, testCount: ds.test.length, guardCount, ...(testImages ? { testImages } : {}) };
    }),
    ras: spec.ras.map((r) => ({ name: r.name, bundleHash: bundleHash(r.bundle), model: resolveModel(r.model, { OPENAI_BASE_URL: openaiBaseUrl }), speaks: manifests.get(r.name) as string })),
    compute,
    fixedBundles: Object.fromEntries(spec.tlas.flatMap((t) => (t.kind === 'fixed' ? [[tlaLabel(t), bundleHash(t.bundle)]] : []))),
  };
}

/**
 * Validates everything a sweep needs before anything is started or written: data sets, bundle
 * manifests, model keys, prices and the worst case against `maxUsd`. Throws SpecError listing
 * every problem found.
 */
export function prepareSweep(loaded: LoadedSpec, env: Record<string, string | undefined>, compute: ComputeTargets = LOCAL_COMPUTE, opts: PrepareOptions = {}): PreparedSweep {
  const problems: string[] = [];
  const keyProblems: string[] = [];
  const datasets = new Map<string, KindDataset>();
  const manifests = new Map<string, string>();
  const collect = (f: () => void) => {
    try {
      f();
    } catch (e) {
      if (e instanceof SpecError) problems.push(...e.problems);
      else throw e;
    }
  };
  const { file, spec } = loaded;
  spec.cbms.forEach((c, i) =>
    collect(() => {
      const kind = cbmKind(c.kind);
      const ds = kind.load(c.dataset, c);
      datasets.set(c.id, ds);
      problems.push(...(kind.checkSpec?.(c, ds, `${file}: cbms.${i}`) ?? []));
      problems.push(...(kind.checkBudgets?.(c, spec.budgets, `${file}: cbms.${i}`) ?? []));
      const guard = ds.test.some((t) => kind.setOf(t) === 'guard');
      if (c.maxGuardDrop !== undefined && !guard) problems.push(`${file}: cbms.${i}.maxGuardDrop: the data set ${c.dataset} has no guard tasks, so there is no guard to keep. Fix: remove maxGuardDrop, or add guard tasks to the data set`);
      if (guard && !ds.test.some((t) => kind.setOf(t) === 'objective')) problems.push(`${file}: cbms.${i}.dataset: ${c.dataset}/test.jsonl has guard tasks only. Fix: add the objective's tasks`);
      const images = kind.taskImage ? splitImages(`${file}: cbms.${i}.dataset: ${c.dataset}`, ds.test, (t) => kind.taskImage?.(t)) : undefined;
      if (images && kindCompute(kind, c).queue === 'gpu')
        problems.push(`${file}: cbms.${i}.dataset: its tasks name container images and ask for a GPU; image tasks run on the images queue, which has no GPUs. Fix: drop "image" from the tasks (the GPU runner image has PyTorch and CUDA), or run them on CPU`);
    }),
  );
  spec.ras.forEach((r) => collect(() => manifests.set(r.name, readManifest(r.bundle).cbm)));
  spec.tlas.forEach((t) => t.kind === 'fixed' && collect(() => readManifest(t.bundle)));
  // The matrix pairs each RA with the CBMs of the kind it speaks: each must have a partner.
  spec.cbms.forEach((c, i) => {
    if (manifests.size === spec.ras.length && ![...manifests.values()].includes(c.kind))
      problems.push(`${file}: cbms.${i}: no RA speaks kind ${c.kind} (the RAs speak ${[...new Set(manifests.values())].join(', ')}). Fix: add an RA whose agent.yaml says cbm: ${c.kind}, or remove this CBM`);
  });
  spec.ras.forEach((r, i) => {
    const speaks = manifests.get(r.name);
    if (speaks && !spec.cbms.some((c) => c.kind === speaks))
      problems.push(`${file}: ras.${i}.bundle: ${r.name} speaks CBM kind ${speaks} (agent.yaml cbm), but no CBM of the spec is of that kind. Fix: add a CBM of kind ${speaks}, or use an RA for ${[...new Set(spec.cbms.map((c) => c.kind))].join(', ')}`);
  });
  spec.tlas.forEach((t, i) => {
    const kinds = TLAS[t.kind].kinds;
    const bad = kinds ? [...new Set(spec.cbms.map((c) => c.kind))].filter((k) => !kinds.includes(k)) : [];
    if (bad.length) problems.push(`${file}: tlas.${i}: ${t.kind} works on CBM kind(s) ${kinds?.join(', ')} only, and this spec has ${bad.join(', ')}. Fix: run it in a sweep of ${kinds?.join(', ')} CBMs, or pick another TLA (noop, fixed and react work on every kind)`);
  });
  spec.cbms.forEach((c, i) => {
    const kind = cbmKind(c.kind);
    const judge = kind.judge?.(c);
    if (!judge) return;
    const missing = judge.model.provider === 'openai' ? missingKeyProblem(judge.model, env, 'only the scoring harness holds it; agents never see it', `cbms.${i}.judge.model`) : undefined;
    if (missing) keyProblems.push(`${file}: cbms.${i}.judge.model.apiKeyEnv: ${missing}`);
    const ds = datasets.get(c.id);
    if (!ds || !kind.judgeMessages || judge.model.provider === 'vllm') return;
    // An allowance that cannot hold the judge prompt of an empty response would score every task an agent error.
    // (The floor needs no key: with one missing, it is computed as if it were set.)
    const judgeEnv = missing && judge.model.provider === 'openai' ? { ...env, [judge.model.apiKeyEnv]: 'not-set' } : env;
    const floor = judgeAllowanceFloor(upstreamFor(judge.model, judgeEnv), [...ds.dev, ...ds.test].map((t) => kind.judgeMessages?.(t, '') ?? []));
    if (judge.tokensPerTask < floor)
      problems.push(
        `${file}: cbms.${i}.judge.tokensPerTask: ${judge.tokensPerTask} cannot judge even an empty response with this judge (its calls are reserved at up to ${floor} tokens: ${judge.model.provider === 'offline' ? 'the prompt' : 'a byte bound of the prompt'} plus the verdict${judge.model.provider === 'offline' ? '' : ' and the tolerated overrun'}). Fix: set tokensPerTask to at least ${floor} plus room for the responses, e.g. ${Math.max(2000, Math.ceil((floor + 1000) / 500) * 500)}`,
      );
  });
  loaded.spec.ras.forEach((r, i) => {
    const missing = r.model.provider === 'openai' ? missingKeyProblem(r.model, env, 'the gateway holds it; agents only get a per-job token', `ras.${i}.model`) : undefined;
    if (missing) keyProblems.push(`${file}: ras.${i}.model.apiKeyEnv: ${missing}`);
  });
  loaded.spec.tlas.forEach((t, i) => {
    const missing = t.kind === 'react' && t.model.provider === 'openai' ? missingKeyProblem(t.model, env, "the TLA's gateway holds it; the TLA only gets a per-job token", `tlas.${i}.model`) : undefined;
    if (missing) keyProblems.push(`${file}: tlas.${i}.model.apiKeyEnv: ${missing}`);
  });
  // Keys are needed by jobs only: `plan` (opts.missingKeys 'warn') starts none, so it reports them without refusing.
  const warn = opts.missingKeys === 'warn';
  if (!warn) problems.push(...keyProblems);
  if (problems.length) throw new SpecError(problems);
  const openaiBaseUrl = env.OPENAI_BASE_URL || undefined;
  const preview = expandPlan(stagedFrom(loaded, datasets, manifests, 'preview', new Date().toISOString(), compute, openaiBaseUrl));
  return { loaded, datasets, manifests, preview, compute, openaiBaseUrl, warnings: warn ? keyProblems : [] };
}

/** Uploads data sets and bundles (content-addressed, idempotent) and writes `sweeps/<id>/spec.json`. */
export async function stageSweep(store: ArtifactStore, prepared: PreparedSweep, sweepId: string): Promise<StagedSweep> {
  const { spec } = prepared.loaded;
  for (const c of spec.cbms) await stageDataset(store, c.id, c.kind, prepared.datasets.get(c.id) as KindDataset);
  for (const r of spec.ras) await stageBundle(store, r.bundle);
  for (const t of spec.tlas) if (t.kind === 'fixed') await stageBundle(store, t.bundle);
  const staged = stagedFrom(prepared.loaded, prepared.datasets, prepared.manifests, sweepId, new Date().toISOString(), prepared.compute, prepared.openaiBaseUrl);
  await store.putText(stagedSpecKey(sweepId), JSON.stringify(staged, null, 2), 'application/json');
  return staged;
}
