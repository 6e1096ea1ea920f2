import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { isCorrect, McSpecShape, multipleChoiceKind as kind, parseChoice, renderMcPrompt, type McMeta, type McTask } from '../../../../core/cbm/multiple-choice';
import { specProblems } from '../../../support/spec-problems';

const META = { task: 'Questions about things.', sources: ['a', 'b'] };
const task = (id: string, set: 'objective' | 'guard', answer = 1, choices = ['London', 'Paris', 'Rome', 'Berlin']): McTask => ({ id, set, question: `Question ${id}?`, choices, answer });
const line = (t: unknown) => JSON.stringify(t) + '\n';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mc-kind-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeDataset(files: { dev?: string; test?: string; meta?: string }): string {
  if (files.dev !== undefined) writeFileSync(join(dir, 'dev.jsonl'), files.dev);
  if (files.test !== undefined) writeFileSync(join(dir, 'test.jsonl'), files.test);
  if (files.meta !== undefined) writeFileSync(join(dir, 'meta.json'), files.meta);
  return dir;
}

const problemsOf = specProblems;

describe('multiple-choice kind: loading a data set directory', () => {
  test('a valid directory loads, with counts, subjects and chance derived from the data (not from meta.json)', () => {
    const dev = line(task('d1', 'objective')) + line({ ...task('d2', 'guard'), subject: 'geography' });
    const test = line(task('t1', 'objective', 0, ['yes', 'no'])) + line(task('t2', 'objective')) + line({ ...task('t3', 'guard'), source: 'mmlu' });
    const ds = kind.load(writeDataset({ dev, test, meta: JSON.stringify({ ...META, counts: { dev: { objective: 99, guard: 99 }, test: { objective: 0, guard: 0 } } }) }), { goal: 'maximize' });
    expect(ds.dev.map((t) => t.id)).toEqual(['d1', 'd2']);
    expect(ds.meta.counts).toEqual({ dev: { objective: 1, guard: 1 }, test: { objective: 2, guard: 1 } });
    expect(ds.meta.subjects).toEqual(['geography', 'mmlu']);
    // objective test tasks have 2 and 4 choices: chance = mean(1/2, 1/4)
    expect(ds.meta.chance).toEqual({ objective: 0.375, guard: 0.25 });
  });

  test('every problem of every file is reported at once, as file:line with a fix', () => {
    const dev = ['{not json', line({ id: 'd1', set: 'objective', choices: ['a'], answer: 0 }).trim(), line(task('dup', 'objective', 7)).trim(), line({ ...task('dup2', 'objective'), set: 'forget' }).trim(), ''].join('\n');
    const test = line(task('dup2', 'guard')) + line({ ...task('t2', 'objective'), answer: 1.5 });
    const problems = problemsOf(() => kind.load(writeDataset({ dev, test, meta: '{"sources": []}' }), { goal: 'maximize' }));
    const at = (f: string, n: number) => `${join(dir, f)}:${n}`;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/meta\.json: field "task": .*Fix: /),
        expect.stringContaining(`${at('dev.jsonl', 1)}: not valid JSON`),
        expect.stringContaining(`${at('dev.jsonl', 2)}: field "question": is required`),
        expect.stringContaining(`${at('dev.jsonl', 2)}: field "choices": needs at least 2 choices`),
        expect.stringContaining(`${at('dev.jsonl', 3)}: field "answer": is 7, out of range for 4 choices (0–3). Fix: give the 0-based index`),
        expect.stringContaining(`${at('dev.jsonl', 4)}: field "set": must be "objective" or "guard"`),
        expect.stringContaining(`${at('test.jsonl', 2)}: field "answer": must be an integer index`),
      ]),
    );
    expect(problems.every((p) => /Fix: /.test(p))).toBe(true);
    // Lines that exist but are invalid are not also reported as an empty split.
    expect(problems.filter((p) => /has no tasks|at least 2 are needed/.test(p))).toEqual([]);
    const dup = problemsOf(() => kind.load(writeDataset({ dev: line(task('x', 'objective')) + line(task('y', 'guard')), test: line(task('x', 'guard')) + line(task('z', 'objective')), meta: JSON.stringify(META) }), { goal: 'maximize' }));
    expect(dup).toEqual([expect.stringMatching(/test\.jsonl:1: id "x" appears twice \(first at dev\.jsonl:1\)\. Fix: ids must be unique across dev and test\./)]);
  });

  test('an empty dev split and fewer than 2 test tasks are problems; missing files are named together', () => {
    const problems = problemsOf(() => kind.load(writeDataset({ dev: '\n', test: line(task('t1', 'objective')), meta: JSON.stringify(META) }), { goal: 'maximize' }));
    expect(problems).toEqual([expect.stringMatching(/dev\.jsonl: has no tasks\. Fix:/), expect.stringMatching(/test\.jsonl: has 1 task\(s\); at least 2 are needed.*Fix:/)]);
    rmSync(join(dir, 'meta.json'));
    rmSync(join(dir, 'test.jsonl'));
    expect(problemsOf(() => kind.load(dir, { goal: 'maximize' }))).toEqual([expect.stringMatching(/missing test\.jsonl, meta\.json\. Fix: a multiple-choice data set is a directory with dev\.jsonl/)]);
  });
});

describe('multiple-choice kind: what agents see and how outputs score', () => {
  const meta: McMeta = { ...META, counts: { dev: { objective: 1, guard: 1 }, test: { objective: 2, guard: 2 } }, chance: { objective: 0.25, guard: 0.25 } };

  test('toInput gives id, question and choices only: never the answer or the set', () => {
    const input = kind.toInput({ ...task('t1', 'guard'), subject: 'geography', source: 'mmlu' }, meta);
    expect(input).toEqual({ id: 't1', question: 'Question t1?', choices: ['London', 'Paris', 'Rome', 'Berlin'] });
    expect(JSON.stringify(input)).not.toMatch(/answer|guard|geography/);
  });

  test.each([
    ['B', [1]],
    ['b', [1]],
    ['(B)', [1]],
    ['B.', [1]],
    ['B)', [1]],
    ['Answer: B', [1]],
    ['The answer is B', [1]],
    ['The correct answer is (B).', [1]],
    ['B. Paris', [1]],
    ['(B) paris', [1]],
    ['Paris', [1]],
    ['  paris. ', [1]],
    ['The answer is Paris.', [1]],
    ['B. London', []],
    ['I think B', []],
    ['E', []],
    ['AB', []],
    ['', []],
    ['I cannot answer that.', []],
  ])('the output %j names choice(s) %j', (output, expected) => {
    expect(parseChoice(output, ['London', 'Paris', 'Rome', 'Berlin'])).toEqual(expected);
  });

  test('goal maximize: 1 for the correct choice, 0 for a wrong one or junk (a wrong answer, never an error)', async () => {
    const t = task('t', 'objective');
    const s = (o: string) => kind.score(t, o, {}, { goal: 'maximize' }, meta);
    await expect(Promise.all([s('B'), s('A'), s('no idea'), s('')])).resolves.toEqual([1, 0, 0, 0]);
  });

  test('goal unlearn: a forget task scores 1 when the answer is NOT correct; a retain task scores accuracy', async () => {
    const forget = task('f', 'objective');
    const retain = task('r', 'guard');
    const s = (t: McTask, o: string) => kind.score(t, o, {}, { goal: 'unlearn' }, meta);
    await expect(Promise.all([s(forget, 'B'), s(forget, 'C'), s(forget, 'I cannot answer that.')])).resolves.toEqual([0, 1, 1]);
    await expect(Promise.all([s(retain, 'B'), s(retain, 'C')])).resolves.toEqual([1, 0]);
    expect(isCorrect(forget, 'Paris')).toBe(true);
  });

  test('checkSpec: goal unlearn needs guard (retain) tasks in dev and test; maximize does not', () => {
    const noGuard = { meta, dev: [task('d', 'objective')], test: [task('t1', 'objective'), task('t2', 'objective')] };
    const problems = kind.checkSpec?.({ goal: 'unlearn' }, noGuard, 'spec.yaml: cbms.0') ?? [];
    expect(problems).toEqual([
      expect.stringMatching(/^spec\.yaml: cbms\.0: goal "unlearn" needs retain \(guard\) tasks, but the data set's dev\.jsonl has none\. Fix: .*--retain/),
      expect.stringMatching(/test\.jsonl has none\. Fix: /),
    ]);
    expect(kind.checkSpec?.({ goal: 'maximize' }, noGuard, 'cbms.0')).toEqual([]);
    const both = { meta, dev: [task('d', 'objective'), task('e', 'guard')], test: [task('t1', 'objective'), task('t2', 'guard')] };
    expect(kind.checkSpec?.({ goal: 'unlearn' }, both, 'cbms.0')).toEqual([]);
  });

  test('metrics: accuracy or forget drop with chance (1 − chance accuracy for forget drop), retain accuracy as guard', () => {
    const m3: McMeta = { ...meta, chance: { objective: 1 / 3, guard: 0.25 } };
    const unlearn = kind.metrics({ goal: 'unlearn' }, m3);
    expect(unlearn.objective.name).toBe('forget drop');
    expect(unlearn.objective.chance).toBeCloseTo(2 / 3, 12);
    expect(unlearn.objective.describe).toMatch(/1 − accuracy on the forget set/);
    expect(unlearn.guard).toMatchObject({ name: 'retain accuracy', chance: 0.25 });
    expect(kind.metrics({ goal: 'maximize' }, m3)).toMatchObject({ objective: { name: 'accuracy', chance: 1 / 3 }, guard: { name: 'retain accuracy' } });
    const noGuard: McMeta = { ...meta, counts: { dev: { objective: 2, guard: 0 }, test: { objective: 2, guard: 0 } } };
    expect(kind.metrics({ goal: 'maximize' }, noGuard).guard).toBeUndefined();
  });

  test('the goal defaults to maximize; groups are source and subject when present; describeTarget names the letter', () => {
    expect(z.object(McSpecShape).parse({})).toEqual({ goal: 'maximize' });
    expect(z.object(McSpecShape).safeParse({ goal: 'forget' }).success).toBe(false);
    expect(kind.groupsOf?.({ ...task('t', 'guard'), subject: 'geography', source: 'mmlu' })).toEqual({ source: 'mmlu', subject: 'geography' });
    expect(kind.groupsOf?.(task('t', 'guard'))).toEqual({});
    expect(kind.describeTarget(task('t', 'guard'), meta)).toBe('correct choice B: "Paris" (guard set)');
    expect(kind.judge).toBeUndefined();
  });
});

describe('multiple-choice kind: texts for the react TLA', () => {
  const meta: McMeta = { ...META, counts: { dev: { objective: 3, guard: 4 }, test: { objective: 2, guard: 2 } }, subjects: ['bio', 'geo'], chance: { objective: 0.25, guard: 0.25 } };

  test('meta.json is the data file; the vars tell the goal, counts and subjects', () => {
    const t = kind.tlaTexts(meta, { goal: 'unlearn' });
    expect(JSON.parse(t.dataFiles['meta.json'])).toEqual(meta);
    expect(t.vars).toMatchObject({ goal: 'unlearn', forget_count: '3', retain_count: '4', subjects: 'bio, geo', objective_metric: 'forget drop', guard_metric: 'retain accuracy' });
    expect(t.vars.goal_text).toMatch(/drop in forget accuracy/);
    expect(t.vars.change_hint).toMatch(/Do not use knowledge about:/);
    expect(kind.tlaTexts(meta, { goal: 'maximize' }).vars.goal_text).toMatch(/more accurately/);
  });

  test.each(['simple', 'hard'])('every {{var}} of react-%s.md is generic or given by tlaTexts for both goals', (variant) => {
    const text = readFileSync(join(__dirname, '../../../../core/cbm/multiple-choice/prompts', `react-${variant}.md`), 'utf8');
    const generic = ['workspace', 'dev_path', 'data_path', 'prompt_file', 'entrypoint', 'eval_tasks', 'dev_count'];
    const used = [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const goal of ['maximize', 'unlearn'] as const) {
      const vars = kind.tlaTexts(meta, { goal }).vars;
      expect(used.filter((v) => !generic.includes(v) && vars[v] === undefined)).toEqual([]);
    }
  });
});

describe('the prompt file convention of the example RA', () => {
  test('lines above [user] are the system message; question and lettered choices are filled in', () => {
    const tpl = '[system]\nBe brief.\n[user]\nQuestion: {{question}}\n\n{{choices}}\n';
    expect(renderMcPrompt(tpl, { question: 'Capital?', choices: ['Rome', 'Paris  city'] })).toEqual({ system: 'Be brief.', user: 'Question: Capital?\n\nA. Rome\nB. Paris city' });
    expect(renderMcPrompt('{{question}}\n{{choices}}', { question: 'Q?', choices: ['x', 'y'] })).toEqual({ user: 'Q?\nA. x\nB. y' });
  });
});
