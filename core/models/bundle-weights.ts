/**
 * Weights carried by a bundle (an MRA of weight-level work, e.g. RMU unlearning on WMDP):
 * agent.yaml's `weights: <folder>` names a Hugging Face weights directory in the bundle. Weights
 * never go into the bundle tarball: the folder is staged, content-addressed, to
 * `weights/<sha256>/` of the artifacts store (its marker `weights/<sha256>.json` written last),
 * and the packed bundle carries `.uplift-weights.json` naming that key instead. The GPU launcher
 * serves those weights for the MRA's shards (docs/mra-weights.md).
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CorruptRecordError, SpecError, UpliftError } from '../errors';
import { parseJson } from '../jsonl';
import type { ArtifactStore } from '../ports';
import { listBundleFiles, normalizeBundlePath, u32, u64, packBundle, readManifest, readWeightsRefFile, unpackBundle, UnsafeBundleError, WEIGHTS_REF_FILE, WEIGHTS_REF_FORMAT, type WeightsRef } from '../ra/bundle';
import { CurvePlan, tlaKey } from '../sweep/outputs';
import type { RunPlan, SweepPlan } from '../sweep/plan';
import { WeightsSource, WeightsSyncError, type RemoteObject } from './weights';

/** Version of the {@link hashWeightsFolder} framing; part of the hashed bytes. */
export const WEIGHTS_HASH_FORMAT = 'uplift-weights-hash/v1';
export const WEIGHTS_MARKER_FORMAT = 'uplift-weights/v1';

/** Where a weights folder of content hash `sha256` is staged: `weights/<sha256>/` (its files below). */
export const weightsKey = (sha256: string) => `weights/${sha256}/`;
/** The marker of a complete upload, written after every file: `weights/<sha256>.json` (outside the prefix, so never synced as a weight file). */
export const weightsMarkerKey = (sha256: string) => `weights/${sha256}.json`;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One file of a weights folder: its path below the folder, size and content hash. */
export const WeightsFile = z.strictObject({ path: z.string().min(1), size: z.number().int().min(0), sha256: Sha256 });
export type WeightsFile = z.infer<typeof WeightsFile>;

/** `weights/<sha256>.json`: the complete upload's file list (its arrival means every file is there). */
export const StagedWeights = z.strictObject({
  format: z.literal(WEIGHTS_MARKER_FORMAT),
  sha256: Sha256,
  key: z.string(),
  files: z.array(WeightsFile).min(1),
  bytes: z.number().int().min(0),
});
export type StagedWeights = z.infer<typeof StagedWeights>;

/** What {@link stageBundleWeights} staged. */
export interface StagedWeightsInfo {
  /** `weights/<sha256>/` in the artifacts store. */
  key: string;
  /** The same as a URI, e.g. s3://bucket/weights/<sha256>/ */
  uri: string;
  /** `weights/<sha256>.json`. */
  markerKey: string;
  sha256: string;
  files: number;
  bytes: number;
  /** Files uploaded by this call (0 when the same content was staged before). */
  uploaded: number;
}

/** Weights a bundle names could not be staged (too large for the store's upload path, unreadable). */
export class WeightsStagingError extends UpliftError {}

/** Bounds on a staged weights folder. */
export interface WeightsLimits {
  maxFiles: number;
  maxBytes: number;
}
export const WEIGHTS_LIMITS: WeightsLimits = { maxFiles: 10_000, maxBytes: 2 * 1024 ** 4 };

/** Largest file `ArtifactStore.putBytes` can take from disk (Node reads at most 2 GiB into one buffer). */
const MAX_BUFFERED_FILE = 2 ** 31 - 1;

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The files of the bundle's `weights` folder (paths below it, with `/`) and its content hash:
 * SHA-256 over the format version, then for each file in byte order of its path: the path's
 * UTF-8 length (u32 BE) and bytes, its size (u64 BE) and the SHA-256 of its content. Files are
 * read as streams (weight files exceed what one buffer holds). Links are refused, as in bundles.
 */
export async function hashWeightsFolder(bundleDir: string, folder: string): Promise<{ sha256: string; files: WeightsFile[]; bytes: number }> {
  const prefix = `${normalizeBundlePath(folder)}/`;
  const paths = listBundleFiles(bundleDir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => f.slice(prefix.length))
    .sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const files: WeightsFile[] = [];
  for (const path of paths) {
    const full = join(bundleDir, prefix, path);
    files.push({ path, size: lstatSync(full).size, sha256: await fileSha256(full) });
  }
  const h = createHash('sha256');
  const version = Buffer.from(WEIGHTS_HASH_FORMAT, 'utf8');
  h.update(u32(version.length)).update(version);
  for (const f of files) {
    const p = Buffer.from(f.path, 'utf8');
    h.update(u32(p.length)).update(p).update(u64(f.size)).update(Buffer.from(f.sha256, 'hex'));
  }
  return { sha256: h.digest('hex'), files, bytes: files.reduce((n, f) => n + f.size, 0) };
}

/** The marker of a staged upload, or undefined when there is none (the upload is missing or incomplete). A marker of another shape is corrupt. */
export async function readStagedWeights(store: ArtifactStore, sha256: string): Promise<StagedWeights | undefined> {
  const key = weightsMarkerKey(sha256);
  const text = await store.getText(key);
  if (text === undefined) return undefined;
  const marker = parseJson(text, StagedWeights, store.uri(key));
  if (marker.sha256 !== sha256 || marker.key !== weightsKey(sha256)) throw new CorruptRecordError(`${store.uri(key)} describes ${marker.key}, not ${weightsKey(sha256)}`);
  return marker;
}

export interface StageWeightsOptions {
  /**
   * Uploads one file (`key` in the artifacts store) from disk. @default read it into memory and
   * `store.putBytes` it, which refuses files over 2 GiB: pass a streaming (S3 multipart) upload
   * for larger safetensors shards.
   */
  putFile?: (key: string, path: string, size: number) => Promise<void>;
  limits?: WeightsLimits;
  log?: (line: string) => void;
  /**
   * The bundle is a TLA's workspace: any reference file in it was written by an agent, so it is
   * removed, and the weights must be the folder itself (an agent must never point its MRA at
   * weights someone else staged).
   */
  fromWorkspace?: boolean;
}

/**
 * Stages the `weights` folder a bundle's agent.yaml names (undefined when it names none):
 * content-addressed to `weights/<sha256>/<path>` (sha256 of {@link hashWeightsFolder}), files
 * already there are not uploaded again, and the marker `weights/<sha256>.json` (the file list
 * with sizes and hashes) is written last, so its presence means the upload is complete. Staging
 * the same content again uploads nothing. The manifest's checks apply (inside the bundle, no
 * links, config.json at the folder's top). A packed bundle (the folder replaced by
 * {@link WEIGHTS_REF_FILE}) stages nothing: its staged copy must be complete in `store`.
 */
export async function stageBundleWeights(store: ArtifactStore, bundleDir: string, opts: StageWeightsOptions = {}): Promise<StagedWeightsInfo | undefined> {
  const manifest = readManifest(bundleDir);
  if (manifest.weights === undefined) return undefined;
  const folder = normalizeBundlePath(manifest.weights);
  if (opts.fromWorkspace) rmSync(join(bundleDir, WEIGHTS_REF_FILE), { force: true, recursive: true });
  let st;
  try {
    st = lstatSync(join(bundleDir, folder));
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory() && opts.fromWorkspace)
    throw new UnsafeBundleError([`${join(bundleDir, 'agent.yaml')}: weights: "${manifest.weights}" is not a folder of the workspace. Fix: keep the weights folder in the bundle (an MRA carries its own weights)`]);
  if (!st?.isDirectory()) {
    // A packed (then unpacked) bundle: its weights were staged before; they must still be complete here.
    const { ref } = readWeightsRefFile(bundleDir);
    const marker = ref && ref.folder === folder ? await readStagedWeights(store, ref.sha256) : undefined;
    if (!ref || !marker)
      throw new WeightsStagingError(
        `${join(bundleDir, 'agent.yaml')}: weights: "${manifest.weights}" is not in the bundle, and ${ref ? `the staged copy its ${WEIGHTS_REF_FILE} names has no marker ${store.uri(weightsMarkerKey(ref.sha256))}` : `no ${WEIGHTS_REF_FILE} names a staged copy`}. Fix: stage the weights from the bundle that holds the folder`,
      );
    return { key: marker.key, uri: store.uri(marker.key), markerKey: weightsMarkerKey(marker.sha256), sha256: marker.sha256, files: marker.files.length, bytes: marker.bytes, uploaded: 0 };
  }
  const { sha256, files, bytes } = await hashWeightsFolder(bundleDir, folder);
  const limits = opts.limits ?? WEIGHTS_LIMITS;
  const problems: string[] = [];
  if (files.length > limits.maxFiles) problems.push(`${files.length} files, more than the ${limits.maxFiles} a weights folder may hold`);
  if (bytes > limits.maxBytes) problems.push(`${bytes} bytes, more than the ${limits.maxBytes} a weights folder may hold`);
  if (problems.length) throw new UnsafeBundleError(problems.map((p) => `${join(bundleDir, folder)}: ${p}`));
  const key = weightsKey(sha256);
  const markerKey = weightsMarkerKey(sha256);
  const info = (uploaded: number): StagedWeightsInfo => ({ key, uri: store.uri(key), markerKey, sha256, files: files.length, bytes, uploaded });
  if (await readStagedWeights(store, sha256)) return info(0);
  const putFile =
    opts.putFile ??
    (async (k: string, path: string, size: number) => {
      if (size > MAX_BUFFERED_FILE)
        throw new WeightsStagingError(`${path}: ${size} bytes, more than the 2 GiB ArtifactStore.putBytes can upload from one buffer. Fix: save the weights in smaller shards (save_pretrained(max_shard_size="2GB")) or stage with a streaming putFile`);
      await store.putBytes(k, await readFile(path), 'application/octet-stream');
    });
  let uploaded = 0;
  for (const f of files) {
    const k = key + f.path;
    if (await store.exists(k)) continue;
    await putFile(k, join(bundleDir, folder, f.path), f.size);
    uploaded++;
    opts.log?.(`weights: staged ${f.path} (${f.size} bytes) to ${store.uri(k)}`);
  }
  const marker: StagedWeights = { format: WEIGHTS_MARKER_FORMAT, sha256, key, files, bytes };
  await store.putText(markerKey, JSON.stringify(marker, null, 2), 'application/json');
  return info(uploaded);
}

/**
 * The bundle as a tarball without its weights: stages the `weights` folder
 * ({@link stageBundleWeights}), writes {@link WEIGHTS_REF_FILE} (folder, key, sha256) into the
 * bundle and packs it leaving the folder out. A bundle naming no weights is packed as it is,
 * minus any `.uplift-weights.json` it holds (only the harness writes that file, so an agent
 * cannot point its bundle at weights it did not stage).
 */
export async function packBundleWithWeights(store: ArtifactStore, bundleDir: string, opts: StageWeightsOptions = {}): Promise<{ bytes: Uint8Array; weights?: StagedWeightsInfo }> {
  const weights = await stageBundleWeights(store, bundleDir, opts);
  if (!weights) return { bytes: packBundle(bundleDir, { leaveOut: [WEIGHTS_REF_FILE] }) };
  const folder = normalizeBundlePath(readManifest(bundleDir).weights as string);
  const ref: WeightsRef = { format: WEIGHTS_REF_FORMAT, folder, key: weights.key, sha256: weights.sha256, files: weights.files, bytes: weights.bytes };
  rmSync(join(bundleDir, WEIGHTS_REF_FILE), { force: true, recursive: true });
  writeFileSync(join(bundleDir, WEIGHTS_REF_FILE), JSON.stringify(ref, null, 2) + '\n', { mode: 0o644 });
  return { bytes: packBundle(bundleDir, { leaveOut: [folder] }), weights };
}

/**
 * A {@link WeightsSource} over the artifacts store, for staged weights: lists what the store
 * holds under the prefix (sizes and hashes from the marker) and checks each download against the
 * marker's size and SHA-256. It reads each file into memory (the port has no streaming read), so
 * the launcher streams from S3 instead when the store is a bucket.
 */
export class ArtifactWeightsSource extends WeightsSource {
  private readonly byKey: Map<string, WeightsFile>;
  constructor(
    private readonly store: ArtifactStore,
    private readonly marker: StagedWeights,
  ) {
    super();
    this.byKey = new Map(marker.files.map((f) => [marker.key + f.path, f]));
  }
  uri(key: string): string {
    return this.store.uri(key);
  }
  async list(prefix: string): Promise<RemoteObject[]> {
    return (await this.store.list(prefix)).map((key) => {
      const f = this.byKey.get(key);
      return { key, size: f?.size ?? -1, etag: f?.sha256 ?? '' };
    });
  }
  async download(key: string, path: string): Promise<void> {
    const f = this.byKey.get(key);
    if (!f) throw new WeightsSyncError(`${this.uri(key)} is not a file of the staged weights ${this.uri(weightsMarkerKey(this.marker.sha256))}`);
    const bytes = await this.store.getBytes(key);
    if (!bytes) throw new WeightsSyncError(`${this.uri(key)} is missing, though the marker ${this.uri(weightsMarkerKey(this.marker.sha256))} lists it`);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== f.sha256) throw new WeightsSyncError(`${this.uri(key)}: content hash ${sha} is not the ${f.sha256} its marker lists`);
    await writeFile(path, bytes);
  }
}

/**
 * `inner`, but its listing must be exactly the marker's files with their sizes: a file missing,
 * of another size or not in the marker fails with {@link WeightsSyncError} before anything is
 * downloaded, so vLLM never starts on a partial or altered upload.
 */
export function verifiedWeightsSource(inner: WeightsSource, marker: StagedWeights): WeightsSource {
  return new (class extends WeightsSource {
    uri(key: string) {
      return inner.uri(key);
    }
    async list(prefix: string): Promise<RemoteObject[]> {
      const objects = (await inner.list(prefix)).filter((o) => !o.key.endsWith('/'));
      const found = new Map(objects.map((o) => [o.key, o]));
      const expected = new Set(marker.files.map((f) => marker.key + f.path));
      const problems: string[] = [];
      for (const f of marker.files) {
        const o = found.get(marker.key + f.path);
        if (!o) problems.push(`${f.path} is missing`);
        else if (o.size !== f.size) problems.push(`${f.path} has ${o.size} bytes, not ${f.size}`);
      }
      for (const o of objects) if (!expected.has(o.key)) problems.push(`${o.key.slice(prefix.length)} is not in the marker`);
      if (problems.length)
        throw new WeightsSyncError(
          `the staged weights ${inner.uri(prefix)} do not match their marker ${inner.uri(weightsMarkerKey(marker.sha256))}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}. The job does not serve other weights instead. Fix: stage the weights again (stageBundleWeights)`,
        );
      return objects;
    }
    download(key: string, path: string) {
      return inner.download(key, path);
    }
  })();
}

/** What the launcher serves for a job. */
export type ServedWeights =
  /** The RA model's own weights (baseline and TLA jobs, and MRAs that name no weights). */
  | { source: 'model'; weightsUri: string }
  /** The MRA's staged weights: `key` = `weights/<sha256>/` of the artifacts store, complete per `marker`. */
  | { source: 'mra'; bundleKey: string; key: string; sha256: string; marker: StagedWeights }
  /** Nothing to serve: the run's model is not a vllm one, or the job has no bundle to evaluate (a budget-curve child past the curve's bundles). */
  | { source: 'none'; reason: string };

export interface WeightsForRunInput {
  store: ArtifactStore;
  sweepId: string;
  plan: SweepPlan;
  run: RunPlan;
  role: 'baseline' | 'tla' | 'mra';
  /** AWS_BATCH_JOB_ARRAY_INDEX (0 for a single job). */
  index: number;
  /** Where the MRA bundle is unpacked to read its manifest. @default the OS temp dir */
  scratch?: string;
}

/**
 * The bundle an MRA array child evaluates, as `runRaShard` picks it: `tla/mra.tar.gz` for the
 * first `run.shards` children, then the budget curve's bundles (`curve.json`) shard by shard;
 * undefined when the child has no bundle (the curve has fewer bundles than budgets).
 */
export async function mraBundleKey(store: ArtifactStore, sweepId: string, plan: SweepPlan, run: RunPlan, index: number): Promise<string | undefined> {
  if (index < run.shards) return tlaKey(sweepId, run.runId, 'mra.tar.gz');
  const curveBundle = Math.floor(index / run.shards) - 1;
  if (curveBundle >= (plan.budgetCurve?.length ?? 0)) return undefined;
  const key = tlaKey(sweepId, run.runId, 'curve.json');
  const text = await store.getText(key);
  if (text === undefined) return undefined;
  const curve = parseJson(text, CurvePlan, store.uri(key));
  return curve.bundles[curveBundle]?.key;
}

/**
 * What the vLLM launcher serves for a job of a `vllm` run: the RA model's `weightsUri` for
 * baseline and TLA jobs and for MRAs naming no weights; for an MRA whose agent.yaml names
 * `weights`, its staged weights, under the same served name. An MRA naming weights that are not
 * completely staged fails with {@link WeightsSyncError} naming the missing key: the base weights
 * are never served in their place.
 */
export async function weightsForRun(i: WeightsForRunInput): Promise<ServedWeights> {
  const ra = i.run.ra.model;
  if (ra.provider !== 'vllm') return { source: 'none', reason: `the model of run ${i.run.runId} is not served by vLLM` };
  const model: ServedWeights = { source: 'model', weightsUri: ra.weightsUri };
  if (i.role !== 'mra') return model;
  const bundleKey = await mraBundleKey(i.store, i.sweepId, i.plan, i.run, i.index);
  if (!bundleKey) return { source: 'none', reason: `MRA job ${i.index} of run ${i.run.runId} has no budget-curve bundle to evaluate` };
  const bytes = await i.store.getBytes(bundleKey);
  if (!bytes) throw new CorruptRecordError(`${i.store.uri(bundleKey)} is missing: the TLA job has not produced this bundle`);
  const dir = mkdtempSync(join(i.scratch ?? tmpdir(), 'uplift-mra-weights-'));
  try {
    const bundleDir = join(dir, 'bundle');
    unpackBundle(bytes, bundleDir);
    let manifest;
    try {
      manifest = readManifest(bundleDir);
    } catch (e) {
      // A TLA that broke its bundle: the job scores every task an agent error without calling a model.
      if (e instanceof SpecError) return { source: 'none', reason: `the MRA bundle is not valid (${e.problems.slice(0, 2).join('; ').slice(0, 500)}): its tasks are agent errors` };
      throw e;
    }
    if (manifest.weights === undefined) return model;
    const folder = normalizeBundlePath(manifest.weights);
    const { ref, problem } = readWeightsRefFile(bundleDir);
    const packedIn = (() => {
      try {
        return lstatSync(join(bundleDir, folder)).isDirectory();
      } catch {
        return false;
      }
    })();
    if (packedIn || !ref || ref.folder !== folder)
      throw new WeightsSyncError(
        `${i.store.uri(bundleKey)}: agent.yaml names weights "${manifest.weights}", but ${packedIn ? 'they were packed into the bundle instead of staged' : (problem ?? `${WEIGHTS_REF_FILE} ${ref ? `names the folder "${ref.folder}"` : 'is missing'}`)}, so the job cannot serve them (nor the base weights in their place). Fix: pack the MRA with packBundleWithWeights (core/models/bundle-weights.ts)`,
      );
    const marker = await readStagedWeights(i.store, ref.sha256);
    if (!marker)
      throw new WeightsSyncError(
        `the MRA's weights ${i.store.uri(ref.key)} are not completely uploaded: their marker ${i.store.uri(weightsMarkerKey(ref.sha256))} is missing (the staging did not finish, or the objects were deleted). The job does not serve the base weights instead. Fix: run the TLA job again, or stage the MRA's weights with stageBundleWeights`,
      );
    if (marker.files.length !== ref.files || marker.bytes !== ref.bytes)
      throw new CorruptRecordError(`${i.store.uri(weightsMarkerKey(ref.sha256))} lists ${marker.files.length} files of ${marker.bytes} bytes, but the MRA's ${WEIGHTS_REF_FILE} names ${ref.files} files of ${ref.bytes} bytes`);
    return { source: 'mra', bundleKey, key: ref.key, sha256: ref.sha256, marker };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
