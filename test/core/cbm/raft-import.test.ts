import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classificationKind } from '../../../core/cbm/classification';
import { readMeta, readSplit } from '../../../core/cbm/dataset';
import { importRaftTaiSafety, TAI_SAFETY_LABEL_SET } from '../../../core/cbm/raft-import';
import { SpecError } from '../../../core/errors';
import { MemoryArtifactStore } from '../../support/memory-store';

const FIXTURE = readFileSync(join(__dirname, '../../fixtures/raft/tai_safety_research/train.csv'), 'utf8');
const [SAFETY, OTHER] = TAI_SAFETY_LABEL_SET.labels;

/** Runs the importer and returns its SpecError (fails the test when it does not throw one). */
async function specErrorOf(csvText: string): Promise<SpecError> {
  const err: unknown = await importRaftTaiSafety({ csvText, store: new MemoryArtifactStore() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  return err as SpecError;
}

describe('importRaftTaiSafety', () => {
  it('stages dev.jsonl, test.jsonl and meta.json (the label set) under datasets/tai-safety-raft/<version>', async () => {
    // GIVEN the 12-row fixture shaped like RAFT's train.csv
    const store = new MemoryArtifactStore();
    // WHEN it is imported with the defaults
    const res = await importRaftTaiSafety({ csvText: FIXTURE, store });
    // THEN the three objects of the data set layout are written and the counts add up
    expect(res.prefix).toBe(`datasets/tai-safety-raft/${res.version}`);
    expect(await store.list('datasets/')).toEqual([
      `${res.prefix}/dev.jsonl`,
      `${res.prefix}/meta.json`,
      `${res.prefix}/test.jsonl`,
    ]);
    expect(res).toMatchObject({ dev: 4, test: 8, skipped: 0 });
    expect(await readMeta(store, res.prefix, classificationKind)).toEqual(TAI_SAFETY_LABEL_SET);
  });

  it('builds examples from ID, Title and Abstract Note with labels from the Label code', async () => {
    // GIVEN the fixture, whose fields contain quotes, commas and a line break
    const store = new MemoryArtifactStore();
    // WHEN it is imported
    const res = await importRaftTaiSafety({ csvText: FIXTURE, store });
    const all = [...(await readSplit(store, res.prefix, 'dev', classificationKind)), ...(await readSplit(store, res.prefix, 'test', classificationKind))];
    // THEN ids are raft-<ID>, text is title + blank line + abstract, and 1/2 map to the two labels
    expect(all.map((e) => e.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `raft-${i}`).sort());
    const first = all.find((e) => e.id === 'raft-0');
    expect(first?.label).toBe(SAFETY);
    expect(first?.text).toMatch(/^Bounded Deference: When Should an Assistant Yield to Its Overseer\?\n\nWe study a cooperative game/);
    expect(first?.text).toContain('"bounded deference"');
    expect(all.find((e) => e.id === 'raft-2')?.text).toContain('true objective.\nWe measure');
    expect(all.find((e) => e.id === 'raft-3')).toMatchObject({ label: OTHER, text: expect.stringMatching(/^Segmenting Cells, Quickly\n\n/) });
  });

  it('splits each class in the dev fraction (stratified)', async () => {
    // GIVEN 6 rows per class  WHEN imported with devFraction 0.5
    const store = new MemoryArtifactStore();
    const res = await importRaftTaiSafety({ csvText: FIXTURE, store, devFraction: 0.5 });
    const dev = await readSplit(store, res.prefix, 'dev', classificationKind);
    const test = await readSplit(store, res.prefix, 'test', classificationKind);
    // THEN each split holds 3 of each class
    for (const split of [dev, test]) {
      expect(split.filter((e) => e.label === SAFETY)).toHaveLength(3);
      expect(split.filter((e) => e.label === OTHER)).toHaveLength(3);
    }
  });

  it('is deterministic for a seed and changes the split for another seed', async () => {
    // GIVEN the same CSV imported twice with the same seed, and once with another seed
    const a = await importRaftTaiSafety({ csvText: FIXTURE, store: new MemoryArtifactStore(), seed: 7 });
    const b = await importRaftTaiSafety({ csvText: FIXTURE, store: new MemoryArtifactStore(), seed: 7 });
    const seeds = await Promise.all(
      [1, 2, 3, 4, 5].map((seed) => importRaftTaiSafety({ csvText: FIXTURE, store: new MemoryArtifactStore(), seed })),
    );
    // THEN the same seed gives the same version; the versions of different seeds are not all equal
    expect(b.version).toBe(a.version);
    expect(new Set(seeds.map((r) => r.version)).size).toBeGreaterThan(1);
  });

  it('skips unlabelled rows and rows with neither title nor abstract, and counts them', async () => {
    // GIVEN the fixture plus a row labelled 0, a row with an empty Label and a row with no text
    const csv =
      FIXTURE +
      'An Unlabelled Paper,"Some abstract, with a comma.",https://example.org/u,2021,manuscript,"Doe, Jane",,12,0\n' +
      'Another Unlabelled Paper,No label at all.,https://example.org/v,2021,manuscript,"Doe, John",,13,\n' +
      ',,https://example.org/w,2021,manuscript,"Roe, Rick",,14,1\n';
    const store = new MemoryArtifactStore();
    // WHEN it is imported
    const res = await importRaftTaiSafety({ csvText: csv, store });
    // THEN the three rows are skipped and the 12 labelled ones imported
    expect(res.skipped).toBe(3);
    expect(res.dev + res.test).toBe(12);
  });

  it('falls back to the row number when the ID column is missing', async () => {
    // GIVEN a CSV without an ID column
    const csv = 'Title,Abstract Note,Label\nA,one,1\nB,two,2\nC,three,1\nD,four,2\nE,five,1\nF,six,2\n';
    const store = new MemoryArtifactStore();
    // WHEN it is imported
    const res = await importRaftTaiSafety({ csvText: csv, store });
    const ids = [...(await readSplit(store, res.prefix, 'dev', classificationKind)), ...(await readSplit(store, res.prefix, 'test', classificationKind))].map((e) => e.id);
    // THEN ids are derived from the 1-based data row
    expect(ids.sort()).toEqual(['raft-row-1', 'raft-row-2', 'raft-row-3', 'raft-row-4', 'raft-row-5', 'raft-row-6']);
  });

  it('names a missing required column and how to fix it', async () => {
    // GIVEN a CSV shaped like test_unlabeled.csv (no Label column)
    const csv = FIXTURE.replace(',Label\n', '\n').replace(/,[12]\n/g, '\n');
    // WHEN it is imported  THEN a SpecError names the Label column and hints at train.csv
    const err = await specErrorOf(csv);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/column "Label" is missing/);
    expect(err.problems[0]).toMatch(/Fix: .*train\.csv/);
  });

  it('rejects a Label code other than 0, 1 or 2, naming the row and the value', async () => {
    // GIVEN the fixture with one more row whose Label is 3
    const csv = FIXTURE + 'Odd Paper,Odd abstract.,https://example.org/odd,2021,manuscript,"Doe, Jane",,12,3\n';
    // WHEN it is imported  THEN a SpecError names row 13, its ID and the value
    const err = await specErrorOf(csv);
    expect(err.message).toMatch(/row 13 \(ID 12\): field "Label": "3" is not a RAFT label code/);
  });

  it('rejects a devFraction outside (0, 1)', async () => {
    // GIVEN devFraction 1  WHEN importing  THEN a SpecError explains the range
    await expect(importRaftTaiSafety({ csvText: FIXTURE, store: new MemoryArtifactStore(), devFraction: 1 })).rejects.toThrow(/strictly between 0 and 1/);
  });
});
