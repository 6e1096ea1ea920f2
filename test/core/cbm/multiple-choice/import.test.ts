import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { addMultipleChoiceImport } from '../../../../cli/commands/import-mcq';
import { multipleChoiceKind, type McTask } from '../../../../core/cbm/multiple-choice';
import { importMultipleChoice, sourceNameOf, splitStratified } from '../../../../core/cbm/multiple-choice/import';
import { specProblemsOf } from '../../../support/spec-problems';

/** A row in the Hugging Face layout; `subject` only for MMLU; `null` cells as Parquet has them. */
interface HfRow {
  question: string | null;
  subject?: string | null;
  choices: string[] | null;
  answer: number | null;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mc-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (rel: string) => join(dir, rel);
function writeJsonl(rel: string, rows: readonly unknown[]): string {
  mkdirSync(join(file(rel), '..'), { recursive: true });
  writeFileSync(file(rel), rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return file(rel);
}

/** Writes rows as the hub's Parquet files have them: question/subject strings, choices a LIST of strings, answer INT64. */
async function writeParquet(rel: string, rows: readonly HfRow[], opts: { subject?: boolean; columns?: string[] } = {}): Promise<string> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const wanted = opts.columns ?? ['question', ...(opts.subject ? ['subject'] : []), 'choices', 'answer'];
  const columnData = wanted.map((name) => ({
    name,
    data: rows.map((r) => {
      const v = (r as unknown as Record<string, unknown>)[name] ?? null;
      return name === 'answer' && typeof v === 'number' ? BigInt(v) : v;
    }),
  }));
  const schemaOf: Record<string, object[]> = {
    question: [{ name: 'question', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
    subject: [{ name: 'subject', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
    choices: [
      { name: 'choices', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
    answer: [{ name: 'answer', type: 'INT64', repetition_type: 'OPTIONAL' }],
  };
  const schema = [{ name: 'schema', num_children: wanted.length }, ...wanted.flatMap((c) => schemaOf[c])];
  const buffer = parquetWriteBuffer({ columnData, schema } as Parameters<typeof parquetWriteBuffer>[0]);
  mkdirSync(join(file(rel), '..'), { recursive: true });
  writeFileSync(file(rel), Buffer.from(buffer));
  return file(rel);
}

const q = (i: number, subject?: string): HfRow => ({ question: `Question number ${i}?`, ...(subject ? { subject } : {}), choices: [`w${i}`, `x${i}`, `y${i}`, `z${i}`], answer: i % 4 });
const range = (n: number, f: (i: number) => HfRow) => Array.from({ length: n }, (_, i) => f(i + 1));

const problemsOf = specProblemsOf;

const readSplit = (out: string, split: string): McTask[] =>
  readFileSync(join(out, `${split}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as McTask);

describe('importMultipleChoice: WMDP / MMLU files in the Hugging Face layout', () => {
  test('JSONL and Parquet files become a data set the kind loads: forget = objective, retain = guard, ids <source>-<n>', async () => {
    const bio = writeJsonl('wmdp-bio.jsonl', range(10, (i) => q(i)));
    const cyber = await writeParquet('wmdp-cyber/test-00000-of-00001.parquet', range(10, (i) => q(100 + i)));
    const mmlu = await writeParquet('mmlu.parquet', range(12, (i) => q(200 + i, i % 2 ? 'geography' : 'world_history')), { subject: true });
    const out = file('out');
    const r = await importMultipleChoice({ forget: [bio, cyber], retain: [mmlu], outDir: out });
    expect(r.goal).toBe('unlearn');
    expect(r.sources.map((s) => [s.source, s.set, s.rows, s.dev + s.test])).toEqual([
      ['wmdp-bio', 'objective', 10, 10],
      ['wmdp-cyber', 'objective', 10, 10],
      ['mmlu', 'guard', 12, 12],
    ]);
    const ds = multipleChoiceKind.load(out, { goal: 'unlearn' });
    const all = [...ds.dev, ...ds.test];
    expect(all.find((t) => t.id === 'wmdp-cyber-3')).toEqual({ id: 'wmdp-cyber-3', set: 'objective', question: 'Question number 103?', choices: ['w103', 'x103', 'y103', 'z103'], answer: 3, source: 'wmdp-cyber' });
    expect(all.find((t) => t.id === 'mmlu-1')).toMatchObject({ set: 'guard', subject: 'geography', source: 'mmlu', answer: 1 });
    expect(all.find((t) => t.id === 'wmdp-bio-10')).toMatchObject({ set: 'objective', answer: 2 });
    expect(ds.meta.sources).toEqual(['wmdp-bio', 'wmdp-cyber', 'mmlu']);
    expect(ds.meta.chance).toEqual({ objective: 0.25, guard: 0.25 });
    expect(multipleChoiceKind.checkSpec?.({ goal: 'unlearn' }, ds, 'cbms.0')).toEqual([]);
  });

  test('questions (+ retain) import for goal maximize; name=path overrides the source name', async () => {
    const mmlu = writeJsonl('all.jsonl', range(6, (i) => q(i, 'astronomy')));
    const r = await importMultipleChoice({ questions: [`mmlu:astronomy=${mmlu}`], outDir: file('out') });
    expect(r.goal).toBe('maximize');
    expect(readSplit(file('out'), 'test')[0].id).toMatch(/^mmlu:astronomy-\d+$/);
    expect(r.meta.counts?.test.guard).toBe(0);
  });

  test('every malformed row of every file is reported at once, as file:line (JSONL) or file row N (Parquet), and nothing is written', async () => {
    const bio = writeJsonl('wmdp-bio.jsonl', [
      q(1),
      '{"question": "broken',
      { choices: ['a', 'b'], answer: 0 },
      { question: 'Q?', choices: ['a', 'b', 'c'], answer: 3 },
      { question: 'Q?', choices: 'a, b', answer: 0 },
      { question: 'Q?', choices: ['a', ''], answer: 'one' },
      { question: 'Q?', choices: ['a', 'b'], answer: 'B' },
      [1, 2],
    ]);
    const mmlu = await writeParquet(
      'mmlu.parquet',
      [q(1, 'x'), { question: null, subject: 'x', choices: ['a', 'b'], answer: 0 }, { question: 'Q?', subject: 'x', choices: ['only'], answer: 0 }, { question: 'Q?', subject: 'x', choices: ['a', 'b'], answer: 5 }],
      { subject: true },
    );
    const noAnswer = await writeParquet('wmdp-chem.parquet', [q(1)], { columns: ['question', 'choices'] });
    const out = file('out');
    const problems = await problemsOf(importMultipleChoice({ forget: [bio, noAnswer, file('missing.jsonl'), writeJsonl('notes.txt', [])], retain: [mmlu], outDir: out }));
    expect(problems).toEqual([
      expect.stringMatching(/wmdp-bio\.jsonl:2: not valid JSON .*Fix: /),
      `${bio}:3: field "question": is missing. Fix: give the question text, or drop the row.`,
      `${bio}:4: field "answer": is 3, out of range for 3 choices (0–2). Fix: give the 0-based index of the correct choice.`,
      `${bio}:5: field "choices": must be a list of strings. Fix: give the choices as a list of 2 to 26 strings.`,
      `${bio}:6: field "choices": choice(s) 1 (0-based) are empty or not strings. Fix: give every choice as a non-empty string, or drop the row.`,
      `${bio}:6: field "answer": must be an integer index (or a letter A–Z), got "one". Fix: give the 0-based index of the correct choice.`,
      expect.stringMatching(/wmdp-bio\.jsonl:8: is not an object with the fields question, choices, answer\. Fix: /),
      expect.stringMatching(/wmdp-chem\.parquet: column\(s\) "answer" missing \(found: question, choices\)\. Fix: /),
      expect.stringMatching(/missing\.jsonl: no such file\. Fix: /),
      expect.stringMatching(/notes\.txt: unsupported format\. Fix: .*\.parquet/),
      `${mmlu} row 2: field "question": is missing. Fix: give the question text, or drop the row.`,
      `${mmlu} row 3: field "choices": has 1 choices. Fix: give 2 to 26 choices.`,
      `${mmlu} row 4: field "answer": is 5, out of range for 2 choices (0–1). Fix: give the 0-based index of the correct choice.`,
    ]);
    expect(existsSync(out)).toBe(false);
  });

  test('bad options are reported together; a letter answer (B) is accepted', async () => {
    expect(await problemsOf(importMultipleChoice({ outDir: '', devFraction: 1, seed: 1.5, limitPerSource: 0 }))).toEqual([
      expect.stringMatching(/no objective files\. Fix: give --forget/),
      expect.stringMatching(/devFraction 1 is out of range/),
      expect.stringMatching(/seed 1\.5 is not an integer/),
      expect.stringMatching(/limitPerSource 0 is not a positive integer/),
      expect.stringMatching(/no output directory\. Fix: give --out/),
    ]);
    expect(await problemsOf(importMultipleChoice({ forget: ['a.jsonl'], questions: ['b.jsonl'], outDir: 'x' }))).toEqual([
      expect.stringMatching(/--forget and --questions both/),
      expect.stringMatching(/--forget needs --retain/),
    ]);
    const f = writeJsonl('letters.jsonl', [{ question: 'Q1?', choices: ['a', 'b'], answer: 'B' }, { question: 'Q2?', choices: ['a', 'b'], answer: 0 }, { question: 'Q3?', choices: ['a', 'b'], answer: 1 }]);
    await importMultipleChoice({ questions: [f], outDir: file('out'), devFraction: 0.3 });
    const all = [...readSplit(file('out'), 'dev'), ...readSplit(file('out'), 'test')];
    expect(all.find((t) => t.id === 'letters-1')?.answer).toBe(1);
  });

  test('two files with one source name are a problem that says how to rename', async () => {
    const a = writeJsonl('a/test.jsonl', [q(1), q(2)]);
    const b = writeJsonl('b/a.jsonl', [q(1), q(2)]);
    expect(sourceNameOf(a)).toBe('a');
    expect(await problemsOf(importMultipleChoice({ questions: [a, b], outDir: file('out') }))).toEqual([expect.stringMatching(/b\/a\.jsonl: source name "a" is also the name of .*Fix: .*name=path, e\.g\. a-2=/)]);
  });
});

describe('the dev/test split', () => {
  const tasks: McTask[] = [
    ...range(20, (i) => q(i)).map((r, i) => ({ id: `bio-${i + 1}`, set: 'objective' as const, question: r.question ?? '', choices: r.choices ?? [], answer: 0, source: 'bio' })),
    ...range(10, (i) => q(i)).map((r, i) => ({ id: `mmlu-${i + 1}`, set: 'guard' as const, question: r.question ?? '', choices: r.choices ?? [], answer: 0, source: 'mmlu', subject: i < 5 ? 'geo' : 'math' })),
  ];

  test('is stratified by set × source × subject: each stratum sends round(size × devFraction) to dev', () => {
    const { dev, test } = splitStratified(tasks, 7, 0.4);
    const n = (xs: McTask[], f: (t: McTask) => boolean) => xs.filter(f).length;
    expect(n(dev, (t) => t.source === 'bio')).toBe(8);
    expect(n(dev, (t) => t.subject === 'geo')).toBe(2);
    expect(n(dev, (t) => t.subject === 'math')).toBe(2);
    expect(dev.length + test.length).toBe(tasks.length);
    // Each split keeps the input order.
    expect(test.map((t) => t.id)).toEqual(tasks.filter((t) => !dev.includes(t)).map((t) => t.id));
  });

  test('is seeded: the same seed gives the same split, another seed another', () => {
    const ids = (seed: number) => splitStratified(tasks, seed, 0.4).dev.map((t) => t.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(2)).not.toEqual(ids(1));
  });

  test('importing the same files twice writes byte-identical files; limitPerSource keeps a seeded sample', async () => {
    const bio = writeJsonl('wmdp-bio.jsonl', range(30, (i) => q(i)));
    const mmlu = await writeParquet('mmlu.parquet', range(30, (i) => q(i, i % 3 ? 'geo' : 'math')), { subject: true });
    const run = async (out: string, limit?: number) => {
      await importMultipleChoice({ forget: [bio], retain: [mmlu], outDir: file(out), seed: 3, limitPerSource: limit });
      return ['dev.jsonl', 'test.jsonl', 'meta.json'].map((f) => readFileSync(join(file(out), f), 'utf8'));
    };
    expect(await run('one')).toEqual(await run('two'));
    const limited = await run('limited', 10);
    const all = [...readSplit(file('limited'), 'dev'), ...readSplit(file('limited'), 'test')];
    expect(all.filter((t) => t.source === 'wmdp-bio')).toHaveLength(10);
    expect(all.filter((t) => t.source === 'mmlu')).toHaveLength(10);
    expect(await run('limited-again', 10)).toEqual(limited);
  });
});

describe('uplift import multiple-choice', () => {
  async function cli(args: string[]): Promise<{ out: string; exit: number | undefined }> {
    const program = new Command('uplift').exitOverride();
    let out = '';
    let exit: number | undefined;
    addMultipleChoiceImport(program.command('import'), { out: (s) => (out += s), err: (s) => (out += s) }, (c) => (exit = c));
    await program.parseAsync(['node', 'uplift', 'import', 'multiple-choice', ...args]);
    return { out, exit };
  }

  test('prints counts per source and split, chance, and the cbms entry to add', async () => {
    const bio = writeJsonl('wmdp-bio.jsonl', range(10, (i) => q(i)));
    const mmlu = await writeParquet('mmlu.parquet', range(10, (i) => q(i, 'geo')), { subject: true });
    const { out, exit } = await cli(['--out', file('ds'), '--forget', bio, '--retain', mmlu, '--seed', '2', '--limit-per-source', '8']);
    expect(exit).toBe(0);
    expect(out).toMatch(/goal unlearn/);
    expect(out).toMatch(/wmdp-bio\s+forget\s+objective\s+10\s+8\s+3\s+5/);
    expect(out).toMatch(/mmlu\s+retain\s+guard\s+10\s+8\s+3\s+5/);
    expect(out).toMatch(/Chance accuracy \(test\): objective 0\.250, guard 0\.250/);
    expect(out).toContain('kind: multiple-choice');
    expect(out).toContain(`dataset: ${file('ds')}`);
    expect(multipleChoiceKind.load(file('ds'), { goal: 'unlearn' }).test).toHaveLength(10);
  });

  test('bad flags are one SpecError listing each, before any file is read', async () => {
    await expect(cli(['--out', file('ds'), '--questions', file('nope.jsonl'), '--seed', 'x', '--dev-fraction', '1.5', '--limit-per-source', '-3'])).rejects.toMatchObject({
      problems: [expect.stringMatching(/--seed "x"/), expect.stringMatching(/--dev-fraction "1\.5"/), expect.stringMatching(/--limit-per-source "-3"/)],
    });
  });
});
