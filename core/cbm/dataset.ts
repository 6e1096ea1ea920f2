import { createHash } from 'node:crypto';
import { CorruptRecordError } from '../errors';
import { parseJson, parseJsonl, toJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';
import type { CbmKind, CbmTask, KindDataset } from './types';

/**
 * Staging of any kind's data set (README, "CBM kinds"): `datasets/<cbm>/<version>/` holds
 * `dev.jsonl` and `test.jsonl` (the kind's tasks, targets included) and `meta.json` (what agents
 * and TLAs are shown), written last so its presence marks a complete upload.
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

/** Writes a data set into the S3 layout (idempotent: same content, same keys). Returns its prefix. */
export async function stageDataset(store: ArtifactStore, cbmId: string, kind: string, ds: KindDataset): Promise<{ prefix: string; version: string }> {
  const version = datasetVersion(kind, ds);
  const prefix = datasetPrefix(cbmId, version);
  if (!(await store.exists(`${prefix}/meta.json`))) {
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
  return parseJsonl(text, kind.task, store.uri(key)) as T[];
}

/** Reads a staged data set's meta (classification: its label set). */
export async function readMeta<M>(store: ArtifactStore, prefix: string, kind: CbmKind<CbmTask, M>): Promise<M> {
  const key = `${prefix}/meta.json`;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set was not staged completely`);
  return parseJson(text, kind.meta, store.uri(key)) as M;
}
