/**
 * Importer for the `tai_safety_research` subset of the public RAFT benchmark (ought/raft on the
 * Hugging Face hub). Its `data/tai_safety_research/train.csv` has one paper per row with the
 * columns Title, Abstract Note, Url, Publication Year, Item Type, Author, Publication Title, ID and
 * Label; Label is the index of a class label where 0 means "Unlabeled", 1 "TAI safety research"
 * and 2 the other class (`test_unlabeled.csv` has no Label column at all).
 */
import { parse } from 'csv-parse/sync';
import { SpecError } from '../errors';
import type { ArtifactStore } from '../ports';
import { validateDataset, type Example, type LabelSet } from './classification';
import { stageDataset } from './dataset';
import { seededShuffle } from '../scoring/sampling';

/** labels.json of the TAI-safety task, shared by the sample data set and this importer. */
export const TAI_SAFETY_LABEL_SET: LabelSet = {
  labels: ['TAI safety research', 'not TAI safety research'],
  task: 'Decide whether a paper abstract describes transformative-AI (TAI) safety research, i.e. work aimed at making advanced AI systems safe, aligned with human intentions or well governed.',
};

/** Columns the importer reads; the others of the RAFT file are ignored. */
export const RAFT_REQUIRED_COLUMNS = ['Title', 'Abstract Note', 'Label'] as const;

/** Label column value -> label string. 0 (and an empty cell or "Unlabeled") marks an unlabelled row. */
const LABEL_BY_CODE: Readonly<Record<string, string>> = {
  '1': TAI_SAFETY_LABEL_SET.labels[0],
  '2': TAI_SAFETY_LABEL_SET.labels[1],
};
const UNLABELLED = new Set(['', '0', 'unlabeled', 'unlabelled']);

/** Options of {@link importRaftTaiSafety}. */
export interface RaftImportOptions {
  /** Content of RAFT's `tai_safety_research/train.csv` (or a file of the same shape). */
  csvText: string;
  store: ArtifactStore;
  /** CBM id the data set is staged under: `datasets/<cbmId>/<version>/`. Default `tai-safety-raft`. */
  cbmId?: string;
  /** Share of each class that goes to the dev split, in (0, 1). Default 0.4. */
  devFraction?: number;
  /** Seed of the per-class shuffle that decides the split. Default 1. */
  seed?: number;
  /** Name used in error messages. Default `train.csv`. */
  source?: string;
}

/** What {@link importRaftTaiSafety} staged. */
export interface RaftImportResult {
  prefix: string;
  version: string;
  /** Examples in the dev split. */
  dev: number;
  /** Examples in the test split. */
  test: number;
  /** Rows left out: unlabelled, or with neither title nor abstract. */
  skipped: number;
}

function parseCsv(csvText: string, source: string): { header: string[]; rows: Record<string, string>[] } {
  let header: string[] = [];
  try {
    const rows = parse<Record<string, string>>(csvText, {
      bom: true,
      columns: (names: string[]) => {
        header = names.map((n) => n.trim());
        return header;
      },
      skip_empty_lines: true,
    });
    return { header, rows };
  } catch (cause) {
    throw new SpecError([`${source}: not a readable CSV file (${(cause as Error).message}). Fix: pass RAFT's data/tai_safety_research/train.csv unchanged.`], { cause });
  }
}

interface LabelledRow {
  /** 0-based position among the data rows, for a stable order. */
  index: number;
  example: Example;
}

/**
 * Imports RAFT `tai_safety_research` rows as a classification data set: text = Title, a blank line,
 * Abstract Note; label from the Label code; a seeded split stratified by label into dev and test;
 * staged with {@link stageDataset}. Throws SpecError for a missing column, an unknown label code or
 * a data set that fails validation.
 */
export async function importRaftTaiSafety(opts: RaftImportOptions): Promise<RaftImportResult> {
  const source = opts.source ?? 'train.csv';
  const cbmId = opts.cbmId ?? 'tai-safety-raft';
  const devFraction = opts.devFraction ?? 0.4;
  const seed = opts.seed ?? 1;
  if (!(devFraction > 0 && devFraction < 1))
    throw new SpecError([`raft import: devFraction ${devFraction} is out of range. Fix: use a number strictly between 0 and 1, e.g. 0.4.`]);
  if (!Number.isInteger(seed)) throw new SpecError([`raft import: seed ${seed} is not an integer. Fix: use an integer such as 1.`]);

  const { header, rows } = parseCsv(opts.csvText, source);
  const missing = RAFT_REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length)
    throw new SpecError(
      missing.map(
        (c) =>
          `${source}: header: column "${c}" is missing (found: ${header.join(', ') || 'no header'}). Fix: import RAFT's data/tai_safety_research/train.csv, whose header is Title,Abstract Note,Url,Publication Year,Item Type,Author,Publication Title,ID,Label (test_unlabeled.csv has no labels and cannot be imported).`,
      ),
    );

  const labelled: LabelledRow[] = [];
  let skipped = 0;
  rows.forEach((row, index) => {
    const rowNo = index + 1;
    const rawId = (row['ID'] ?? '').trim();
    const where = `${source}: row ${rowNo}${rawId ? ` (ID ${rawId})` : ''}`;
    const code = (row['Label'] ?? '').trim();
    if (UNLABELLED.has(code.toLowerCase())) {
      skipped++;
      return;
    }
    const label = LABEL_BY_CODE[code];
    if (label === undefined)
      throw new SpecError([`${where}: field "Label": "${code}" is not a RAFT label code. Fix: use 1 (${LABEL_BY_CODE['1']}), 2 (${LABEL_BY_CODE['2']}) or 0 (unlabelled).`]);
    const title = (row['Title'] ?? '').trim();
    const abstract = (row['Abstract Note'] ?? '').trim();
    const text = [title, abstract].filter((s) => s !== '').join('\n\n');
    if (text === '') {
      skipped++;
      return;
    }
    labelled.push({ index, example: { id: rawId ? `raft-${rawId}` : `raft-row-${rowNo}`, text, label } });
  });

  const dev: LabelledRow[] = [];
  const test: LabelledRow[] = [];
  TAI_SAFETY_LABEL_SET.labels.forEach((label, classIndex) => {
    const members = seededShuffle(
      labelled.filter((r) => r.example.label === label),
      seed * 1000003 + classIndex,
    );
    const nDev = Math.round(members.length * devFraction);
    dev.push(...members.slice(0, nDev));
    test.push(...members.slice(nDev));
  });
  const byRow = (a: LabelledRow, b: LabelledRow): number => a.index - b.index;
  const ds = {
    meta: TAI_SAFETY_LABEL_SET,
    dev: dev.sort(byRow).map((r) => r.example),
    test: test.sort(byRow).map((r) => r.example),
  };
  const problems = validateDataset(ds, `${source} (imported)`);
  if (problems.length) throw new SpecError(problems);

  const { prefix, version } = await stageDataset(opts.store, cbmId, 'classification', ds);
  return { prefix, version, dev: ds.dev.length, test: ds.test.length, skipped };
}
