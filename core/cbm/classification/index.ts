import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CorruptRecordError, SpecError } from '../../errors';
import { parseJson, parseJsonlAll } from '../../jsonl';
import type { CbmKind, KindDataset } from '../types';
import { offlineAnswer } from './offline';

/**
 * `classification`: label a text with one of a fixed label set (TAI safety research, RAFT, your
 * data). A task scores 1 when the agent's output is its label (case, surrounding space and
 * trailing punctuation do not count). No guard, no judge.
 */

/** One labelled example of a classification data set. */
export const Example = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  label: z.string().min(1),
});
export type Example = z.infer<typeof Example>;

/** `labels.json` of a data set directory: the data set's meta, shown to agents and TLAs. */
export const LabelSet = z.object({
  labels: z.array(z.string().min(1)).min(2),
  /** One sentence that says what is being classified; shown to agents. */
  task: z.string().min(1),
});
export type LabelSet = z.infer<typeof LabelSet>;

export type ClassificationDataset = KindDataset<Example, LabelSet>;

/** Normalises a label for comparison: case, surrounding space and trailing punctuation do not count. */
export function normalizeLabel(s: string): string {
  return s.trim().replace(/[.!?;:]+$/, '').trim().toLowerCase();
}

/** Checks what the scorer relies on: unique ids across splits, labels from the label set. */
export function validateDataset(ds: ClassificationDataset, source: string): string[] {
  const problems: string[] = [];
  const allowed = new Set(ds.meta.labels);
  const seen = new Set<string>();
  for (const split of ['dev', 'test'] as const) {
    if (ds[split].length === 0) problems.push(`${source}/${split}.jsonl: is empty. Fix: add at least one {id, text, label} line.`);
    ds[split].forEach((ex, i) => {
      if (seen.has(ex.id)) problems.push(`${source}/${split}.jsonl:${i + 1}: id "${ex.id}" appears twice. Fix: ids must be unique across dev and test.`);
      seen.add(ex.id);
      if (!allowed.has(ex.label))
        problems.push(`${source}/${split}.jsonl:${i + 1}: label "${ex.label}" is not in labels.json (allowed: ${ds.meta.labels.join(', ')}). Fix: correct the label or add it to labels.json.`);
    });
  }
  if (ds.test.length < 2) problems.push(`${source}/test.jsonl: has ${ds.test.length} task(s); at least 2 are needed to shard and bootstrap.`);
  return problems;
}

const DATASET_HELP = 'a classification data set is a directory with dev.jsonl, test.jsonl ({id, text, label} per line) and labels.json ({"labels": [...], "task": "..."})';

/** Loads `dev.jsonl`, `test.jsonl` and `labels.json` from a directory; throws SpecError naming each problem. */
export function loadClassificationDir(dir: string): ClassificationDataset {
  const need = ['dev.jsonl', 'test.jsonl', 'labels.json'];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new SpecError([`${dir}: missing ${missing.join(', ')}. Fix: ${DATASET_HELP}.`]);
  const problems: string[] = [];
  const read = <T>(f: string, parse: (text: string, file: string) => T): T | undefined => {
    try {
      return parse(readFileSync(join(dir, f), 'utf8'), join(dir, f));
    } catch (e) {
      if (e instanceof CorruptRecordError) problems.push(e.message);
      else throw e;
      return undefined;
    }
  };
  const meta = read('labels.json', (t, f) => parseJson(t, LabelSet, f));
  const lines = (f: string) => {
    const r = parseJsonlAll(readFileSync(join(dir, f), 'utf8'), Example, join(dir, f), 'each line is {"id": "...", "text": "...", "label": "..."}');
    problems.push(...r.problems);
    return r.rows;
  };
  const dev = lines('dev.jsonl');
  const test = lines('test.jsonl');
  if (problems.length || !meta) throw new SpecError(problems);
  const ds = { meta, dev, test };
  problems.push(...validateDataset(ds, dir));
  if (problems.length) throw new SpecError(problems);
  return ds;
}

export const classificationKind: CbmKind<Example, LabelSet> = {
  kind: 'classification',
  summary: 'label each text with one of a fixed label set; accuracy',
  specShape: {},
  datasetHelp: DATASET_HELP,
  task: Example,
  meta: LabelSet,
  load: (dir) => loadClassificationDir(dir),
  setOf: () => 'objective',
  labelOf: (ex) => ex.label,
  toInput: (ex, labels) => ({ id: ex.id, text: ex.text, labels: labels.labels }),
  score: async (ex, output) => (normalizeLabel(output) === normalizeLabel(ex.label) ? 1 : 0),
  describeTarget: (ex) => ex.label,
  metrics: (_spec, labels) => ({ objective: { name: 'accuracy', describe: 'the output is the task’s label', chance: 1 / labels.labels.length } }),
  tlaTexts: (labels) => ({
    dataFiles: { 'labels.json': JSON.stringify(labels, null, 2) + '\n' },
    vars: { task: labels.task, labels: labels.labels.join(' | ') },
  }),
  offlineAnswer: (_req, lastUser) => offlineAnswer(lastUser),
};
