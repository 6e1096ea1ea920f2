import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CorruptRecordError, SpecError } from '../errors';
import { parseJson, parseJsonl, toJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';

/** One labelled example of a classification data set. */
export const Example = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  label: z.string().min(1),
});
export type Example = z.infer<typeof Example>;

/** What an agent sees of a task on stdin (RA protocol): the text and the allowed labels, never the target. */
export const TaskInput = z.object({ id: z.string().min(1), text: z.string(), labels: z.array(z.string()) });
export type TaskInput = z.infer<typeof TaskInput>;

/** `labels.json` of a data set directory. */
export const LabelSet = z.object({
  labels: z.array(z.string().min(1)).min(2),
  /** One sentence that says what is being classified; shown to agents. */
  task: z.string().min(1),
});
export type LabelSet = z.infer<typeof LabelSet>;

export interface Dataset {
  labels: LabelSet;
  dev: Example[];
  test: Example[];
}

export type Split = 'dev' | 'test';

/**
 * Content hash of a data set (full SHA-256): its version in the S3 layout, so changed data never
 * reuses cached baselines. Each part is length-prefixed, so moving a task between dev and test
 * changes it, and a format tag keeps it apart from any other hash.
 */
export function datasetVersion(ds: Dataset): string {
  const h = createHash('sha256');
  h.update('uplift-dataset-version/v2\0');
  for (const part of [JSON.stringify(ds.labels), toJsonl(ds.dev), toJsonl(ds.test)]) {
    const bytes = Buffer.from(part, 'utf8');
    h.update(`${bytes.length}:`).update(bytes);
  }
  return h.digest('hex');
}

/** Checks what a scorer relies on: unique ids across splits, labels from the label set. */
export function validateDataset(ds: Dataset, source: string): string[] {
  const problems: string[] = [];
  const allowed = new Set(ds.labels.labels);
  const seen = new Set<string>();
  for (const split of ['dev', 'test'] as const) {
    if (ds[split].length === 0) problems.push(`${source}/${split}.jsonl: is empty. Fix: add at least one {id, text, label} line.`);
    ds[split].forEach((ex, i) => {
      if (seen.has(ex.id)) problems.push(`${source}/${split}.jsonl:${i + 1}: id "${ex.id}" appears twice. Fix: ids must be unique across dev and test.`);
      seen.add(ex.id);
      if (!allowed.has(ex.label))
        problems.push(`${source}/${split}.jsonl:${i + 1}: label "${ex.label}" is not in labels.json (allowed: ${ds.labels.labels.join(', ')}). Fix: correct the label or add it to labels.json.`);
    });
  }
  if (ds.test.length < 2) problems.push(`${source}/test.jsonl: has ${ds.test.length} task(s); at least 2 are needed to shard and bootstrap.`);
  return problems;
}

/** Loads `dev.jsonl`, `test.jsonl` and `labels.json` from a directory; throws SpecError naming each problem. */
export function loadDatasetDir(dir: string): Dataset {
  const need = ['dev.jsonl', 'test.jsonl', 'labels.json'];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    throw new SpecError([`${dir}: missing ${missing.join(', ')}. Fix: a classification data set is a directory with dev.jsonl, test.jsonl ({id, text, label} per line) and labels.json ({"labels": [...], "task": "..."}).`]);
  try {
    const ds: Dataset = {
      labels: parseJson(readFileSync(join(dir, 'labels.json'), 'utf8'), LabelSet, join(dir, 'labels.json')),
      dev: parseJsonl(readFileSync(join(dir, 'dev.jsonl'), 'utf8'), Example, join(dir, 'dev.jsonl')),
      test: parseJsonl(readFileSync(join(dir, 'test.jsonl'), 'utf8'), Example, join(dir, 'test.jsonl')),
    };
    const problems = validateDataset(ds, dir);
    if (problems.length) throw new SpecError(problems);
    return ds;
  } catch (e) {
    if (e instanceof CorruptRecordError) throw new SpecError([e.message], { cause: e });
    throw e;
  }
}

/** S3 prefix of a data set version: `datasets/<cbm>/<version>`. */
export function datasetPrefix(cbmId: string, version: string): string {
  return `datasets/${cbmId}/${version}`;
}

/** Writes a data set into the S3 layout (idempotent: same content, same keys). Returns its prefix. */
export async function stageDataset(store: ArtifactStore, cbmId: string, ds: Dataset): Promise<{ prefix: string; version: string }> {
  const version = datasetVersion(ds);
  const prefix = datasetPrefix(cbmId, version);
  if (!(await store.exists(`${prefix}/labels.json`))) {
    await store.putText(`${prefix}/dev.jsonl`, toJsonl(ds.dev), 'application/x-ndjson');
    await store.putText(`${prefix}/test.jsonl`, toJsonl(ds.test), 'application/x-ndjson');
    // labels.json last: its presence marks a complete upload.
    await store.putText(`${prefix}/labels.json`, JSON.stringify(ds.labels, null, 2), 'application/json');
  }
  return { prefix, version };
}

/** Reads a split of a staged data set. */
export async function readSplit(store: ArtifactStore, prefix: string, split: Split): Promise<Example[]> {
  const key = `${prefix}/${split}.jsonl`;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set was not staged completely`);
  return parseJsonl(text, Example, store.uri(key));
}

export async function readLabels(store: ArtifactStore, prefix: string): Promise<LabelSet> {
  const key = `${prefix}/labels.json`;
  const text = await store.getText(key);
  if (text === undefined) throw new CorruptRecordError(`${store.uri(key)} is missing: the data set was not staged completely`);
  return parseJson(text, LabelSet, store.uri(key));
}

/** The task input an RA receives for an example: the target label is left out. */
export function toTaskInput(ex: Example, labels: LabelSet): TaskInput {
  return { id: ex.id, text: ex.text, labels: labels.labels };
}
