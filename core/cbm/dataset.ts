import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptRecordError } from '../errors';
import { parseJson, parseJsonl, toJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';
import type { CbmKind, CbmTask, KindDataset } from './types';

/**
 * Staging of any kind's data set (README, "CBM kinds"): `datasets/<cbm>/<version>/` holds
 * `dev.jsonl` and `test.jsonl` (the kind's tasks, targets included), the tasks' assets under
 * `assets/` (below), and `meta.json` (what agents and TLAs are shown), written last so its
 * presence marks a complete upload.
 *
 * **Assets**: files too large for the split files (a task's training data, hidden test labels). A
 * task lists them as `assets: [{path, sha256, bytes, in}]` (`in`: "workspace", given to the agent,
 * or "hidden", overlaid only for scoring); the data set's loader attaches the local folder holding
 * them as `<sha256>` files ({@link withAssetDir}), and staging copies each, content-addressed, to
 * `<prefix>/assets/test/<sha256>` when it is a hidden asset of a test task and
 * `<prefix>/assets/dev/<sha256>` otherwise — so a TLA job, which only works on dev tasks, never
 * needs `assets/test/` (the deployment denies it that prefix).
 */

export type Split = 'dev' | 'test';

/**
 * Content hash of a data set (full SHA-256): its version in the S3 layout, so changed data never
 * reuses cached baselines. Each part is length-prefixed, so moving a task between dev and test
 * changes it; the kind is hashed too, and a format tag keeps it apart from any other hash.
 */
export function datasetVersion(kind: string, ds: KindDataset): string {
  const h = createHash('sha256');
  h.update('uplift-dataset-version/v3\0');
  for (const part of [kind, JSON.stringify(ds.meta), toJsonl(ds.dev), toJsonl(ds.test)]) {
    const bytes = Buffer.from(part, 'utf8');
    h.update(`${bytes.length}:`).update(bytes);
  }
  return h.digest('hex');
}

/** S3 prefix of a data set version: `datasets/<cbm>/<version>`. */
export function datasetPrefix(cbmId: string, version: string): string {
  return `datasets/${cbmId}/${version}`;
}

/** A task's large file (see the module comment): where it goes, its content hash and size, and who sees it. */
export interface AssetRef {
  path: string;
  sha256: string;
  bytes: number;
  in: 'workspace' | 'hidden';
}

/**
 * Where an asset is staged: `test` for every asset of a test task, hidden or in its workspace
 * (never readable by TLA jobs: a TLA that saw the test inputs could label them itself), `dev` for
 * dev tasks'. An asset both splits use is staged in both areas.
 */
export type AssetArea = 'dev' | 'test';

export function assetArea(split: Split, _asset?: Pick<AssetRef, 'in'>): AssetArea {
  return split === 'test' ? 'test' : 'dev';
}

/** Key of a staged asset: `datasets/<cbm>/<version>/assets/<dev|test>/<sha256>`. */
export function assetKey(prefix: string, area: AssetArea, sha256: string): string {
  return `${prefix}/assets/${area}/${sha256}`;
}

/** The assets a task lists (any kind's task may carry `assets`), or none. */
export function assetsOf(task: CbmTask): readonly AssetRef[] {
  return (task as { assets?: readonly AssetRef[] }).assets ?? [];
}

const assetDirs = new WeakMap<KindDataset, string>();

/** Records where a loaded data set's assets are on disk (`<dir>/<sha256>`), for {@link stageDataset}. Returns `ds`. */
export function withAssetDir<D extends KindDataset>(ds: D, dir: string): D {
  assetDirs.set(ds, dir);
  return ds;
}

/** SHA-256 (hex) of a file, read in 4 MiB chunks (never whole in memory). */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Uploads the assets of a data set's tasks (content-addressed, see the module comment). An asset
 * already at its key is skipped, so a staging cut short resumes without uploading anything twice.
 * The file is hashed as it is uploaded: one changed since the data set was loaded is refused.
 */
async function stageAssets(store: ArtifactStore, prefix: string, ds: KindDataset): Promise<void> {
  const wanted = new Map<string, AssetRef>();
  for (const split of ['dev', 'test'] as const) for (const t of ds[split]) for (const a of assetsOf(t)) wanted.set(assetKey(prefix, assetArea(split, a), a.sha256), a);
  if (!wanted.size) return;
  const dir = assetDirs.get(ds);
  if (dir === undefined) throw new Error('stageDataset: the data set lists assets but its loader did not say where they are (withAssetDir)');
  for (const [key, a] of wanted) {
    if (await store.exists(key)) continue;
    const file = join(dir, a.sha256);
    const bytes = readFileSync(file);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== a.sha256 || bytes.length !== a.bytes)
      throw new CorruptRecordError(`${file}: changed since the data set was loaded (now ${bytes.length} bytes, sha256 ${sha}; the task lists ${a.bytes} bytes, ${a.sha256}). Fix: restore the file, or re-import the data set`);
    await store.putBytes(key, bytes, 'application/octet-stream');
  }
}

/**
 * Fetches a staged asset and checks its size and hash. A missing or altered object is a
 * CorruptRecordError naming its key: an infrastructure failure, never an agent's score.
 * (The ArtifactStore port moves whole buffers, so the asset is held in memory once.)
 */
export async function fetchAsset(store: ArtifactStore, key: string, asset: Pick<AssetRef, 'sha256' | 'bytes'>): Promise<Buffer> {
  const bytes = await store.getBytes(key);
  if (bytes === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set's assets were not staged completely`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== asset.sha256 || bytes.length !== asset.bytes)
    throw new CorruptRecordError(`${store.uri(key)}: holds ${bytes.length} bytes with sha256 ${sha}, not the ${asset.bytes} bytes with sha256 ${asset.sha256} the task lists: the stored asset was altered or damaged`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Where a task read by {@link readSplit} was staged. */
export interface StagedOrigin {
  store: ArtifactStore;
  prefix: string;
  split: Split;
}

const origins = new WeakMap<CbmTask, StagedOrigin>();

/** The store, data-set prefix and split a task was read from by {@link readSplit}; undefined for a task loaded from disk. */
export function stagedOrigin(task: CbmTask): StagedOrigin | undefined {
  return origins.get(task);
}

/**
 * The bytes of a staged task's assets of one place (`workspace` or `hidden`), by path, each
 * fetched from where staging put it and verified ({@link fetchAsset}). Rejects when the task lists
 * such assets but was not read from a staged data set.
 */
export async function fetchTaskAssets(task: CbmTask, place: AssetRef['in']): Promise<Record<string, Buffer>> {
  const assets = assetsOf(task).filter((a) => a.in === place);
  if (!assets.length) return {};
  const origin = origins.get(task);
  if (!origin) throw new Error(`task ${task.id} lists ${place} assets, but it was not read from a staged data set (readSplit), so there is nowhere to fetch them from`);
  const out: Record<string, Buffer> = {};
  for (const a of assets) out[a.path] = await fetchAsset(origin.store, assetKey(origin.prefix, assetArea(origin.split, a), a.sha256), a);
  return out;
}

/** Writes a data set into the S3 layout (idempotent: same content, same keys; assets already staged are skipped). Returns its prefix. */
export async function stageDataset(store: ArtifactStore, cbmId: string, kind: string, ds: KindDataset): Promise<{ prefix: string; version: string }> {
  const version = datasetVersion(kind, ds);
  const prefix = datasetPrefix(cbmId, version);
  if (!(await store.exists(`${prefix}/meta.json`))) {
    await stageAssets(store, prefix, ds);
    await store.putText(`${prefix}/dev.jsonl`, toJsonl(ds.dev), 'application/x-ndjson');
    await store.putText(`${prefix}/test.jsonl`, toJsonl(ds.test), 'application/x-ndjson');
    // meta.json last: its presence marks a complete upload.
    await store.putText(`${prefix}/meta.json`, JSON.stringify(ds.meta, null, 2), 'application/json');
  }
  return { prefix, version };
}

/** Reads a split of a staged data set, as the kind's tasks. */
export async function readSplit<T extends CbmTask>(store: ArtifactStore, prefix: string, split: Split, kind: CbmKind<T>): Promise<T[]> {
  const key = `${prefix}/${split}.jsonl`;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set was not staged completely`);
  const tasks = parseJsonl(text, kind.task, store.uri(key)) as T[];
  // Remembered so that a kind can fetch the tasks' assets from where they were staged (fetchTaskAssets).
  for (const t of tasks) origins.set(t, { store, prefix, split });
  return tasks;
}

/** Reads a staged data set's meta (classification: its label set). */
export async function readMeta<M>(store: ArtifactStore, prefix: string, kind: CbmKind<CbmTask, M>): Promise<M> {
  const key = `${prefix}/meta.json`;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set was not staged completely`);
  return parseJson(text, kind.meta, store.uri(key)) as M;
}
