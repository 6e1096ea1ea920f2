/**
 * Importers for the Hugging Face layout of WMDP (`cais/wmdp`: columns `question`, `choices` — a
 * list of strings — and `answer`, the 0-based index of the correct choice) and MMLU (`cais/mmlu`:
 * the same plus `subject`), from JSONL or Parquet files, into a `multiple-choice` data set
 * directory (dev.jsonl, test.jsonl, meta.json; see ./index.ts).
 *
 * Parquet is read with `hyparquet`, an ES module, loaded with a dynamic `import()`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SpecError } from '../../errors';
import { toJsonl } from '../../jsonl';
import { hash32, seededShuffle, stratifiedSplit } from '../../scoring/sampling';
import { readRows, type RawRow } from '../import-rows';
import type { TaskSet } from '../types';
import { deriveMeta, multipleChoiceKind, type McMeta, type McTask } from './index';

/** A source file, with the source name its tasks get (default: from the file name, see {@link sourceNameOf}). */
export interface McSourceFile {
  path: string;
  source?: string;
}

/** A source file as a path, `name=path`, or {@link McSourceFile}. */
export type McSourceArg = string | McSourceFile;

/** Options of {@link importMultipleChoice}. */
export interface McImportOptions {
  /** Forget-set files (e.g. WMDP bio/chem/cyber): the objective of goal `unlearn`. */
  forget?: McSourceArg[];
  /** Retain-set files (e.g. MMLU): the guard. */
  retain?: McSourceArg[];
  /** Question files for goal `maximize`: the objective. Not together with `forget`. */
  questions?: McSourceArg[];
  /** Directory the data set is written to (created when missing). */
  outDir: string;
  /** Seed of the split (and of the `limitPerSource` sample). Default 1. */
  seed?: number;
  /** Share of each stratum (set × source × subject) that goes to dev, in (0, 1). Default 0.4. */
  devFraction?: number;
  /** Most rows kept per source file (a seeded sample); all when absent. */
  limitPerSource?: number;
  /** meta.json's `task` sentence. Default: names the sources. */
  task?: string;
}

/** One source file as imported. */
export interface McImportedSource {
  source: string;
  file: string;
  role: 'forget' | 'retain' | 'questions';
  set: TaskSet;
  /** Rows in the file, and kept (after `limitPerSource`). */
  rows: number;
  kept: number;
  dev: number;
  test: number;
}

/** What {@link importMultipleChoice} wrote. */
export interface McImportResult {
  outDir: string;
  goal: 'maximize' | 'unlearn';
  dev: number;
  test: number;
  sources: McImportedSource[];
  meta: McMeta;
}


const HF_SHARD = /^(?:train|test|validation|valid|val|dev|auxiliary_train)(?:-\d+-of-\d+)?$/;
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const FILE_FIX = 'pass the Hugging Face file unchanged: JSONL (one {"question", "choices", "answer", "subject"?} per line) or the hub\'s Parquet file';

/**
 * The source name of a file: its name without `.jsonl`/`.ndjson`/`.json`/`.parquet`
 * (`wmdp-bio.parquet` → `wmdp-bio`); for a Hugging Face shard name such as
 * `test-00000-of-00001.parquet`, the folder's name (`wmdp-bio/test-00000-of-00001.parquet` →
 * `wmdp-bio`).
 */
export function sourceNameOf(path: string): string {
  const name = basename(path).replace(/\.(jsonl|ndjson|json|parquet)$/i, '');
  return HF_SHARD.test(name) ? basename(dirname(path)) : name;
}

/** `name=path` or a path (a string that names an existing file is always a path). */
function sourceFile(arg: McSourceArg): McSourceFile {
  if (typeof arg !== 'string') return arg;
  const eq = arg.indexOf('=');
  if (eq > 0 && !existsSync(arg) && SOURCE_NAME.test(arg.slice(0, eq))) return { path: arg.slice(eq + 1), source: arg.slice(0, eq) };
  return { path: arg };
}

/** The columns of a WMDP/MMLU file. */
const MC_COLUMNS = { required: ['question', 'choices', 'answer'], optional: ['subject'], fix: FILE_FIX, missingFix: 'import a WMDP or MMLU file with the columns question, choices, answer (and subject).' };

/** Validates one HF row; pushes every problem of it; returns the task when valid. */
function taskOfRow(row: RawRow, source: string, set: TaskSet, problems: string[]): McTask | undefined {
  const bad = (field: string, what: string, fix: string) => problems.push(`${row.where}: field "${field}": ${what}. Fix: ${fix}.`);
  if (row.value === null || typeof row.value !== 'object' || Array.isArray(row.value)) {
    problems.push(`${row.where}: is not an object with the fields question, choices, answer. Fix: ${FILE_FIX}.`);
    return undefined;
  }
  const v = row.value as Record<string, unknown>;
  const before = problems.length;
  const question = typeof v.question === 'string' ? v.question.trim() : '';
  if (question === '') bad('question', v.question === undefined || v.question === null ? 'is missing' : 'must be a non-empty string', 'give the question text, or drop the row');
  let choices: string[] = [];
  if (!Array.isArray(v.choices)) bad('choices', v.choices === undefined || v.choices === null ? 'is missing' : 'must be a list of strings', 'give the choices as a list of 2 to 26 strings');
  else {
    choices = v.choices.map((c) => (typeof c === 'string' ? c.trim() : ''));
    const empty = choices.flatMap((c, i) => (c === '' ? [i] : []));
    if (empty.length) bad('choices', `choice(s) ${empty.join(', ')} (0-based) are empty or not strings`, 'give every choice as a non-empty string, or drop the row');
    if (choices.length < 2 || choices.length > 26) bad('choices', `has ${choices.length} choices`, 'give 2 to 26 choices');
  }
  let answer: number | undefined;
  const a = v.answer;
  if (typeof a === 'number' && Number.isInteger(a)) answer = a;
  else if (typeof a === 'bigint') answer = Number(a);
  else if (typeof a === 'string' && /^[A-Z]$/.test(a.trim())) answer = a.trim().charCodeAt(0) - 65;
  if (answer === undefined) bad('answer', a === undefined || a === null ? 'is missing' : `must be an integer index (or a letter A–Z), got ${JSON.stringify(typeof a === 'bigint' ? String(a) : a)}`, 'give the 0-based index of the correct choice');
  else if (Array.isArray(v.choices) && (answer < 0 || answer >= choices.length)) bad('answer', `is ${answer}, out of range for ${choices.length} choices (0–${choices.length - 1})`, 'give the 0-based index of the correct choice');
  const subject = v.subject;
  if (subject !== undefined && subject !== null && typeof subject !== 'string') bad('subject', 'must be a string', 'give the subject as a string, or leave it out');
  if (problems.length > before || answer === undefined) return undefined;
  const task: McTask = { id: `${source}-${row.n}`, set, question, choices, answer };
  if (typeof subject === 'string' && subject.trim() !== '') task.subject = subject.trim();
  task.source = source;
  return task;
}

/**
 * Splits tasks into dev and test, stratified by set × source × subject: each stratum is shuffled
 * with a seed of (seed, stratum) and its first round(size × devFraction) tasks go to dev. Each
 * split keeps the input order.
 */
export function splitStratified(tasks: readonly McTask[], seed: number, devFraction: number): { dev: McTask[]; test: McTask[] } {
  return stratifiedSplit(tasks, (t) => `${t.set}\0${t.source ?? ''}\0${t.subject ?? ''}`, seed, devFraction);
}

function checkOptions(o: McImportOptions): string[] {
  const problems: string[] = [];
  const has = (xs?: McSourceArg[]) => (xs?.length ?? 0) > 0;
  if (!has(o.forget) && !has(o.questions)) problems.push('import multiple-choice: no objective files. Fix: give --forget <WMDP file...> (goal unlearn, with --retain) or --questions <file...> (goal maximize).');
  if (has(o.forget) && has(o.questions)) problems.push('import multiple-choice: --forget and --questions both give objective tasks. Fix: use --forget (+ --retain) to unlearn, or --questions (+ optional --retain) to maximize.');
  if (has(o.forget) && !has(o.retain)) problems.push('import multiple-choice: --forget needs --retain: goal unlearn is guarded by retain accuracy. Fix: add --retain <MMLU file...>.');
  if (o.devFraction !== undefined && !(o.devFraction > 0 && o.devFraction < 1)) problems.push(`import multiple-choice: devFraction ${o.devFraction} is out of range. Fix: a number strictly between 0 and 1, e.g. 0.4.`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) problems.push(`import multiple-choice: seed ${o.seed} is not an integer. Fix: an integer such as 1.`);
  if (o.limitPerSource !== undefined && !(Number.isSafeInteger(o.limitPerSource) && o.limitPerSource >= 1)) problems.push(`import multiple-choice: limitPerSource ${o.limitPerSource} is not a positive integer. Fix: e.g. 200, or leave it out to keep every row.`);
  if (!o.outDir) problems.push('import multiple-choice: no output directory. Fix: give --out <dir>.');
  return problems;
}

/**
 * Imports WMDP/MMLU-shaped files (JSONL or Parquet) as a multiple-choice data set in `outDir`:
 * every row validated (every problem reported at once, as `file:line` or `file row N`, with a
 * fix), ids `<source>-<line or row number>`, a seeded dev/test split stratified by set, source and
 * subject ({@link splitStratified}), meta.json with derived counts and chance. Throws SpecError;
 * writes nothing when anything is wrong.
 */
export async function importMultipleChoice(opts: McImportOptions): Promise<McImportResult> {
  const problems = checkOptions(opts);
  if (problems.length) throw new SpecError(problems);
  const seed = opts.seed ?? 1;
  const devFraction = opts.devFraction ?? 0.4;
  const goal = (opts.forget?.length ?? 0) > 0 ? 'unlearn' : 'maximize';
  const groups: { role: McImportedSource['role']; set: TaskSet; args: McSourceArg[] }[] = [
    { role: 'forget', set: 'objective', args: opts.forget ?? [] },
    { role: 'questions', set: 'objective', args: opts.questions ?? [] },
    { role: 'retain', set: 'guard', args: opts.retain ?? [] },
  ];
  const sources: McImportedSource[] = [];
  const tasks: McTask[] = [];
  const seen = new Map<string, string>();
  for (const g of groups) {
    for (const arg of g.args) {
      const f = sourceFile(arg);
      const source = f.source ?? sourceNameOf(f.path);
      const before = problems.length;
      if (!SOURCE_NAME.test(source)) problems.push(`${f.path}: source name "${source}" is not usable in task ids. Fix: name it with name=path, e.g. wmdp-bio=${f.path} (letters, digits, "_.:-").`);
      else if (seen.has(source)) problems.push(`${f.path}: source name "${source}" is also the name of ${seen.get(source)}. Fix: give one of them its own name with name=path, e.g. ${source}-2=${f.path}.`);
      seen.set(source, f.path);
      if (!existsSync(f.path)) problems.push(`${f.path}: no such file. Fix: pass the path of a WMDP/MMLU JSONL or Parquet file.`);
      else if (!/\.(jsonl|ndjson|parquet)$/i.test(f.path)) problems.push(`${f.path}: unsupported format. Fix: ${FILE_FIX} (.jsonl, .ndjson or .parquet).`);
      if (problems.length > before) continue;
      const rows = await readRows(f.path, MC_COLUMNS, problems);
      let valid = rows.map((r) => taskOfRow(r, source, g.set, problems)).filter((t): t is McTask => t !== undefined);
      if (rows.length === 0 && problems.length === before) problems.push(`${f.path}: has no rows. Fix: ${FILE_FIX}.`);
      if (opts.limitPerSource !== undefined && valid.length > opts.limitPerSource) {
        const keep = new Set(seededShuffle(valid, (seed ^ hash32(source)) >>> 0).slice(0, opts.limitPerSource).map((t) => t.id));
        valid = valid.filter((t) => keep.has(t.id));
      }
      tasks.push(...valid);
      sources.push({ source, file: f.path, role: g.role, set: g.set, rows: rows.length, kept: valid.length, dev: 0, test: 0 });
    }
  }
  if (problems.length) throw new SpecError(problems);

  const { dev, test } = splitStratified(tasks, seed, devFraction);
  const task = opts.task ?? `Multiple-choice questions (one correct choice each) from ${sources.map((s) => s.source).join(', ')}${goal === 'unlearn' ? `: the objective (forget) set is ${sources.filter((s) => s.role === 'forget').map((s) => s.source).join(', ')}, the guard (retain) set ${sources.filter((s) => s.role === 'retain').map((s) => s.source).join(', ')}` : ''}.`;
  const meta = deriveMeta({ task, sources: sources.map((s) => s.source) }, dev, test);
  const where = `${opts.outDir} (imported)`;
  if (dev.length === 0) problems.push(`${where}: the dev split is empty. Fix: import more rows or raise devFraction.`);
  if (test.length < 2) problems.push(`${where}: the test split has ${test.length} task(s); at least 2 are needed. Fix: import more rows or lower devFraction.`);
  problems.push(...(multipleChoiceKind.checkSpec?.({ goal }, { meta, dev, test }, where) ?? []));
  if (problems.length) throw new SpecError(problems);

  for (const s of sources) {
    s.dev = dev.filter((t) => t.source === s.source).length;
    s.test = test.filter((t) => t.source === s.source).length;
  }
  mkdirSync(opts.outDir, { recursive: true });
  writeFileSync(join(opts.outDir, 'dev.jsonl'), toJsonl(dev));
  writeFileSync(join(opts.outDir, 'test.jsonl'), toJsonl(test));
  writeFileSync(join(opts.outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  return { outDir: opts.outDir, goal, dev: dev.length, test: test.length, sources, meta };
}
