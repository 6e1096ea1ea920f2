import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { addSweBenchImport } from '../../../../cli/commands/import-swebench';
import { rawScore } from '../../../../core/cbm/workspace';
import { loadTaskFamily, materialize, type WorkspaceTask } from '../../../../core/cbm/workspace/family';
import {
  DEFAULT_IMAGE_TEMPLATE,
  importSweBench,
  patchFiles,
  renderImage,
  SWEBENCH_SCORE_PY,
  testDirectives,
  type SweScoreSpec,
} from '../../../../core/cbm/workspace/swebench-import';
import { specProblemsOf } from '../../../support/spec-problems';
import { CALC_FIXED, CALC_UNFIXED, RUN_TESTS_PY, writeFiles } from '../../../support/swe-calc';

/** An instance as the official files have it (FAIL_TO_PASS / PASS_TO_PASS JSON-encoded strings). */
interface Row {
  instance_id: string | null;
  repo: string | null;
  base_commit: string | null;
  problem_statement: string | null;
  test_patch: string | null;
  FAIL_TO_PASS: string | null;
  PASS_TO_PASS: string | null;
  version: string | null;
  patch?: string | null;
  environment_setup_commit?: string | null;
  hints_text?: string | null;
  created_at?: string | null;
}

const SHA = (n: number) => n.toString(16).padStart(4, '0').repeat(10);
const testPatch = (file: string) =>
  `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1,1 +1,2 @@\n def test_old(): pass\n+def test_new(): pass\n` +
  `diff --git a/tests/fixtures/data.json b/tests/fixtures/data.json\nnew file mode 100644\n--- /dev/null\n+++ b/tests/fixtures/data.json\n@@ -0,0 +1 @@\n+{}\n`;

function row(i: number, repo: string, version = '3.0', over: Partial<Row> = {}): Row {
  const [owner, name] = repo.split('/');
  const file = repo === 'django/django' ? `tests/app${i}/tests.py` : `${name}/tests/test_${i}.py`;
  return {
    repo,
    instance_id: `${owner}__${name}-${1000 + i}`,
    base_commit: SHA(i),
    patch: `diff --git a/${name}/core.py b/${name}/core.py\n--- a/${name}/core.py\n+++ b/${name}/core.py\n@@ -1 +1 @@\n-bug\n+fix\n`,
    test_patch: testPatch(file),
    problem_statement: `Issue ${i}: something is broken in ${repo}.\n`,
    hints_text: '',
    created_at: '2023-01-01T00:00:00Z',
    version,
    FAIL_TO_PASS: JSON.stringify([`test_new (app${i}.tests.T)`]),
    PASS_TO_PASS: JSON.stringify([`test_old (app${i}.tests.T)`]),
    environment_setup_commit: SHA(100 + i),
    ...over,
  };
}

const ROWS: Row[] = [
  ...Array.from({ length: 6 }, (_, i) => row(i + 1, 'django/django', i === 0 ? '1.9' : '3.0')),
  ...Array.from({ length: 4 }, (_, i) => row(i + 11, 'sympy/sympy', '1.1')),
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'swe-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeJsonl(rel: string, rows: readonly (Row | string)[]): string {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

const COLUMNS = ['repo', 'instance_id', 'base_commit', 'patch', 'test_patch', 'problem_statement', 'hints_text', 'created_at', 'version', 'FAIL_TO_PASS', 'PASS_TO_PASS', 'environment_setup_commit'];

/** Writes rows as the hub's Parquet has them: every column an optional UTF-8 string. */
async function writeParquet(rel: string, rows: readonly Row[], columns = COLUMNS): Promise<string> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const columnData = columns.map((name) => ({ name, data: rows.map((r) => (r as unknown as Record<string, unknown>)[name] ?? null) }));
  const schema = [{ name: 'schema', num_children: columns.length }, ...columns.map((name) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }))];
  const buffer = parquetWriteBuffer({ columnData, schema } as Parameters<typeof parquetWriteBuffer>[0]);
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.from(buffer));
  return path;
}

const problemsOf = specProblemsOf;

const specOf = (t: WorkspaceTask): SweScoreSpec => JSON.parse(t.hidden['.uplift/spec.json']) as SweScoreSpec;

describe('importSweBench', () => {
  test('JSONL: a family the loader accepts; no workspace files; image, repo, baseCommit; hidden .uplift/ files; split stratified by repo', async () => {
    const out = join(dir, 'fam');
    const r = await importSweBench({ files: [writeJsonl('swe.jsonl', ROWS)], outDir: out, devFraction: 0.34 });
    expect(r).toMatchObject({ dev: 3, test: 7, unknownRepos: [], withReferencePatch: 10 });
    expect(r.repos).toEqual([
      { repo: 'django/django', dev: 2, test: 4 },
      { repo: 'sympy/sympy', dev: 1, test: 3 },
    ]);
    const f = loadTaskFamily(out);
    expect(f.family.task).toMatch(/SWE-bench/);
    expect(f.family.source).toMatch(/swe\.jsonl/);
    const all = [...f.dev, ...f.test];
    expect(all.map((t) => t.id).sort()).toEqual(ROWS.map((x) => x.instance_id).sort());
    const t = all.find((x) => x.id === 'django__django-1001') as WorkspaceTask;
    expect(t.workspace).toEqual({});
    expect(Object.keys(t.hidden).sort()).toEqual(['.uplift/score.py', '.uplift/spec.json', '.uplift/test.patch']);
    expect(t.hidden['.uplift/test.patch']).toBe(ROWS[0].test_patch);
    expect(t.hidden['.uplift/score.py']).toBe(SWEBENCH_SCORE_PY);
    expect(t).toMatchObject({
      image: 'swebench/sweb.eval.x86_64.django_1776_django-1001:latest',
      repo: 'django/django',
      baseCommit: SHA(1),
      failToPass: ['test_new (app1.tests.T)'],
      passToPass: ['test_old (app1.tests.T)'],
      score: { command: ['python3', '.uplift/score.py'], timeoutSeconds: 1800 },
      referencePatch: ROWS[0].patch,
    });
    expect(t.instructions).toMatch(/^Issue 1: something is broken in django\/django\.\n\n---\nYou are working in a checkout of django\/django at commit 000100010001 \(the current directory\)/);
    // Django 1.9 runs without --parallel; test files become labels; non-test files are no directives.
    expect(specOf(t)).toMatchObject({
      testCommand: './tests/runtests.py --verbosity 2',
      install: 'python setup.py install',
      parser: 'django',
      directives: ['app1.tests'],
      resetFiles: ['tests/app1/tests.py'],
      newFiles: ['tests/fixtures/data.json'],
      setup: expect.arrayContaining(['conda activate testbed']),
    });
    const django30 = all.find((x) => x.id === 'django__django-1002') as WorkspaceTask;
    expect(specOf(django30)).toMatchObject({ testCommand: './tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1', install: 'python -m pip install -e .' });
    expect(specOf(django30).evalCommands).toContain('export LANG=en_US.UTF-8');
    const sympy = all.find((x) => x.repo === 'sympy/sympy') as WorkspaceTask;
    expect(specOf(sympy)).toMatchObject({ parser: 'sympy', directives: [expect.stringMatching(/^sympy\/tests\/test_\d+\.py$/)] });
    // The same seed splits the same way.
    const again = await importSweBench({ files: [writeJsonl('swe.jsonl', ROWS)], outDir: join(dir, 'again'), devFraction: 0.34 });
    expect(readFileSync(join(dir, 'again/splits.json'), 'utf8')).toBe(readFileSync(join(out, 'splits.json'), 'utf8'));
    expect(again.dev).toBe(3);
  });

  test('Parquet (the hub layout, all string columns) gives the same tasks as JSONL', async () => {
    await importSweBench({ files: [writeJsonl('swe.jsonl', ROWS)], outDir: join(dir, 'a') });
    await importSweBench({ files: [await writeParquet('data/test-00000-of-00001.parquet', ROWS)], outDir: join(dir, 'b') });
    expect(readFileSync(join(dir, 'b/splits.json'), 'utf8')).toBe(readFileSync(join(dir, 'a/splits.json'), 'utf8'));
    for (const id of readdirSync(join(dir, 'a/tasks'))) {
      for (const f of ['task.json', 'reference.patch', 'hidden/.uplift/spec.json', 'hidden/.uplift/test.patch']) {
        expect(readFileSync(join(dir, 'b/tasks', id, f), 'utf8')).toBe(readFileSync(join(dir, 'a/tasks', id, f), 'utf8'));
      }
    }
  });

  test('malformed rows: every problem of every file at once, as file:line or file row N, and nothing is written', async () => {
    const jsonl = writeJsonl('bad.jsonl', [
      row(1, 'django/django'),
      '{"instance_id": "broken", ',
      '[1, 2]',
      row(2, 'django/django', '3.0', { repo: 'not a repo', base_commit: 'xyz', FAIL_TO_PASS: 'not json', PASS_TO_PASS: null }),
      row(3, 'django/django', '3.0', { problem_statement: '  ', test_patch: 'no diff here', FAIL_TO_PASS: '[]' }),
      { ...row(4, 'django/django'), version: 3.1 } as unknown as Row,
      row(5, 'django/django', '3.0', { instance_id: 'bad/id', patch: 42 as unknown as string, environment_setup_commit: 'nope' }),
    ]);
    const parquet = await writeParquet('bad.parquet', [row(1, 'django/django'), row(6, 'django/django', '3.0', { test_patch: null })]);
    const noColumns = await writeParquet('short.parquet', [row(7, 'django/django')], ['instance_id', 'repo']);
    const out = join(dir, 'out');
    const problems = await problemsOf(importSweBench({ files: [jsonl, parquet, noColumns, join(dir, 'missing.jsonl'), writeJsonl('x.json', [])], outDir: out }));
    const expected: RegExp[] = [
      /bad\.jsonl:2: not valid JSON .* Fix: pass an official SWE-bench file unchanged/,
      /bad\.jsonl:3: is not an object with the fields instance_id, repo/,
      /bad\.jsonl:4: field "repo": "not a repo" is not "owner\/name"\. Fix:/,
      /bad\.jsonl:4: field "base_commit": "xyz" is not a commit id\. Fix:/,
      /bad\.jsonl:4: field "FAIL_TO_PASS": must be a JSON-encoded list of test names .* Fix:/,
      /bad\.jsonl:4: field "PASS_TO_PASS": is missing\. Fix: .*\("\[\]" when there are none\)/,
      /bad\.jsonl:5: field "problem_statement": is empty\. Fix: give the issue text\./,
      /bad\.jsonl:5: field "test_patch": has no "diff --git a\/… b\/…" file header\. Fix:/,
      /bad\.jsonl:5: field "FAIL_TO_PASS": is empty: nothing would show the fix\. Fix:/,
      /bad\.jsonl:6: field "version": must be a string such as "3\.0" \(received 3\.1\)\. Fix:/,
      /bad\.jsonl:7: field "instance_id": "bad\/id" cannot be a task folder name\. Fix:/,
      /bad\.jsonl:7: field "patch": must be a string \(the gold unified diff\)\. Fix:/,
      /bad\.jsonl:7: field "environment_setup_commit": must be a commit id \(received "nope"\)\. Fix:/,
      /bad\.parquet row 1: field "instance_id": "django__django-1001" appears twice \(first at .*bad\.jsonl:1\)\. Fix: import each instance once\./,
      /bad\.parquet row 2: field "test_patch": is missing\. Fix:/,
      /short\.parquet: column\(s\) "base_commit", "problem_statement", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS", "version" missing \(found: instance_id, repo\)\. Fix:/,
      /missing\.jsonl: no such file\. Fix:/,
      /x\.json: unsupported format\. Fix: .*jq -c/,
    ];
    for (const re of expected) expect(problems.some((p) => re.test(p))).toBe(true);
    expect(problems).toHaveLength(expected.length);
    expect(existsSync(out)).toBe(false);
  });

  test('bad options are reported together', async () => {
    mkdirSync(join(dir, 'busy/tasks'), { recursive: true });
    const problems = await problemsOf(importSweBench({ files: [], outDir: join(dir, 'busy'), devFraction: 1, seed: 1.5, imageTemplate: 'x/{instance}:{version}' }));
    expect(problems).toEqual([
      expect.stringMatching(/no instance files\. Fix:/),
      expect.stringMatching(/seed 1\.5 is not an integer/),
      expect.stringMatching(/devFraction 1 is out of range/),
      expect.stringMatching(/unknown placeholder\(s\) \{instance\}\. Fix: use \{instance_id\}/),
      expect.stringMatching(/busy\/tasks exists but .*busy holds no family\.json/),
    ]);
  });

  test('an empty split is a problem; an unknown repository is a warning (plain pytest, no re-install); re-importing replaces tasks/', async () => {
    expect(await problemsOf(importSweBench({ files: [writeJsonl('one.jsonl', [row(1, 'django/django')])], outDir: join(dir, 'one') }))).toEqual([expect.stringMatching(/the dev split is empty/)]);
    const out = join(dir, 'fam');
    const r = await importSweBench({ files: [writeJsonl('o.jsonl', [row(1, 'acme/widgets'), row(2, 'acme/widgets')])], outDir: out, devFraction: 0.5, imageTemplate: 'registry.example/{repo_docker}:{version}-{instance_id_lower}' });
    expect(r.unknownRepos).toEqual(['acme/widgets']);
    const t = loadTaskFamily(out).dev[0];
    expect(t.image).toMatch(/^registry\.example\/acme_1776_widgets:3\.0-acme__widgets-100[12]$/);
    expect(specOf(t)).toMatchObject({ testCommand: 'pytest -rA', install: null, parser: 'pytest' });
    await importSweBench({ files: [writeJsonl('p.jsonl', [row(3, 'acme/widgets'), row(4, 'acme/widgets')])], outDir: out, devFraction: 0.5 });
    expect(readdirSync(join(out, 'tasks')).sort()).toEqual(['acme__widgets-1003', 'acme__widgets-1004']);
  });
});

describe('helpers', () => {
  test('renderImage: the default names SWE-bench images on Docker Hub', () => {
    expect(renderImage(DEFAULT_IMAGE_TEMPLATE, { instanceId: 'Django__django-11099', repo: 'django/django', version: '3.0' })).toBe('swebench/sweb.eval.x86_64.django_1776_django-11099:latest');
  });

  test('patchFiles and testDirectives', () => {
    const p = testPatch('tests/forms_tests/tests/test_forms.py') + `diff --git a/docs/x.txt b/docs/x.txt\n--- a/docs/x.txt\n+++ b/docs/x.txt\n@@ -1 +1 @@\n-a\n+b\n`;
    expect(patchFiles(p)).toEqual({
      existing: ['tests/forms_tests/tests/test_forms.py', 'docs/x.txt'],
      created: ['tests/fixtures/data.json'],
      targets: ['tests/forms_tests/tests/test_forms.py', 'tests/fixtures/data.json', 'docs/x.txt'],
    });
    expect(testDirectives(p, true)).toEqual(['forms_tests.tests.test_forms']);
    expect(testDirectives(p, false)).toEqual(['tests/forms_tests/tests/test_forms.py']);
  });
});

describe('uplift import swe-bench', () => {
  async function cli(args: string[]): Promise<{ out: string; exit?: number }> {
    const program = new Command('uplift').exitOverride();
    let out = '';
    let exit: number | undefined;
    addSweBenchImport(program.command('import'), { out: (s) => (out += s), err: (s) => (out += s) }, (c) => (exit = c));
    await program.parseAsync(['node', 'uplift', 'import', 'swe-bench', ...args]);
    return { out, exit };
  }

  test('prints instances per repository and split, and the cbms entry', async () => {
    const { out, exit } = await cli([writeJsonl('swe.jsonl', ROWS), '--out', join(dir, 'fam'), '--dev-fraction', '0.34']);
    expect(exit).toBe(0);
    expect(out).toMatch(/3 dev and 7 test tasks; 10 with a reference\.patch/);
    expect(out).toMatch(/django\/django\s+2\s+4/);
    expect(out).toMatch(/kind: workspace/);
    expect(existsSync(join(dir, 'fam/tasks/sympy__sympy-1011/task.json'))).toBe(true);
  });

  test('bad flags are a SpecError', async () => {
    await expect(cli([writeJsonl('swe.jsonl', ROWS), '--out', join(dir, 'fam'), '--seed', 'x', '--dev-fraction', '2'])).rejects.toThrow(/--seed "x" is not a whole number[\s\S]*--dev-fraction "2"/);
  });
});

// -------------------------------------------------------------------------------------------
// .uplift/score.py, run for real on a small git repository (no image: setup and test command
// replaced, as the instance image would provide them).
// -------------------------------------------------------------------------------------------

const PYTHON3 = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

function sh(cwd: string, argv: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0] === 'python3' ? PYTHON3 : argv[0], argv.slice(1), { cwd, input, encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const git = (cwd: string, ...args: string[]) => {
  const r = sh(cwd, ['git', '-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args]);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

describe('.uplift/score.py', () => {
  test('in a checkout: resets and applies the test patch, runs the tests, prints {"score": 0} before the fix and {"score": 1} after it; edited tests do not help', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    const testFile = 'import unittest\nfrom calc import add, mul\n\n\nclass TestCalc(unittest.TestCase):\n    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n';
    writeFiles(repo, {
      'calc/__init__.py': CALC_UNFIXED,
      'tests/__init__.py': '',
      'tests/test_calc.py': testFile,
      'run_tests.py': RUN_TESTS_PY,
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    // The test patch: a new test in the existing module and a new module.
    writeFiles(repo, {
      'tests/test_calc.py': testFile + '\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n',
      'tests/test_new.py': 'import unittest\nfrom calc import add\n\n\nclass TestNew(unittest.TestCase):\n    def test_add_zero(self):\n        self.assertEqual(add(0, 4), 4)\n',
    });
    git(repo, 'add', '-A');
    const testPatchText = git(repo, 'diff', '--cached');
    git(repo, 'reset', '-q', '--hard', base);
    writeFiles(repo, { 'calc/__init__.py': CALC_FIXED });
    const gold = git(repo, 'diff');
    git(repo, 'checkout', '-q', '--', '.');

    const instance = (i: number): Row => ({
      instance_id: `example__calc-${i}`,
      repo: 'example/calc',
      base_commit: base,
      problem_statement: 'add() subtracts.',
      test_patch: testPatchText,
      FAIL_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_add', 'tests/test_new.py::TestNew::test_add_zero']),
      PASS_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_mul']),
      version: '0.1',
      patch: gold,
    });
    const fam = join(dir, 'fam');
    await importSweBench({ files: [writeJsonl('calc.jsonl', [instance(1), instance(2)])], outDir: fam, devFraction: 0.5 });
    const f = loadTaskFamily(fam);
    const task = [...f.dev, ...f.test].find((t) => t.id === 'example__calc-1') as WorkspaceTask;
    expect(specOf(task)).toMatchObject({ directives: ['tests/test_calc.py', 'tests/test_new.py'], resetFiles: ['tests/test_calc.py'], newFiles: ['tests/test_new.py'] });
    // What the instance image provides: the environment (none here) and the test runner.
    const hidden = { ...task.hidden, '.uplift/spec.json': JSON.stringify({ ...specOf(task), setup: [], testCommand: `${PYTHON3} run_tests.py` }) };

    /** The scoring rule on a final workspace: a copy, hidden files overlaid, the score command run there. */
    const score = (finalWorkspace: string) => {
      const copy = mkdtempSync(join(dir, 'score-'));
      cpSync(finalWorkspace, copy, { recursive: true, verbatimSymlinks: true });
      materialize(hidden, copy);
      const r = sh(copy, task.score.command);
      return { score: rawScore(r.stdout, r.status), log: r.stderr };
    };

    const before = score(repo);
    expect(before.log).toMatch(/FAIL_TO_PASS 0\/2 passed, PASS_TO_PASS 1\/1 passed/);
    expect(before.score).toBe(0);

    // An agent that rewrites the tests (and pre-creates the new module) gains nothing: they are reset first.
    const cheat = join(dir, 'cheat');
    cpSync(repo, cheat, { recursive: true });
    writeFiles(cheat, { 'tests/test_calc.py': 'import unittest\n\n\nclass TestCalc(unittest.TestCase):\n    def test_add(self):\n        pass\n\n    def test_mul(self):\n        pass\n', 'tests/test_new.py': 'class TestNew:\n    pass\n' });
    const cheated = score(cheat);
    expect(cheated.log).toMatch(/FAIL_TO_PASS 0\/2 passed, PASS_TO_PASS 1\/1 passed/);
    expect(cheated.score).toBe(0);

    const fixed = join(dir, 'fixed');
    cpSync(repo, fixed, { recursive: true });
    expect(sh(fixed, ['git', 'apply'], task.referencePatch).status).toBe(0);
    const after = score(fixed);
    expect(after.log).toMatch(/FAIL_TO_PASS 2\/2 passed, PASS_TO_PASS 1\/1 passed/);
    expect(after.score).toBe(1);
  });

  test('log parsers read the test output formats of the SWE-bench repositories', () => {
    const d = mkdtempSync(join(dir, 'py-'));
    writeFileSync(join(d, 'score.py'), SWEBENCH_SCORE_PY);
    const logs: Record<string, string> = {
      pytest: 'PASSED tests/a.py::test_x\nFAILED tests/a.py::test_y - AssertionError: boom\nERROR tests/b.py - ImportError\nXFAIL tests/a.py::test_z - flaky\nsomething else\n',
      pytest_options: 'PASSED tests/a.py::test_p[/tmp/run-1/data.txt]\nPASSED tests/a.py::test_q[1-2]\n',
      pytest_v2: '\u001b[32mPASSED\u001b[0m tests/a.py::test_x\n',
      matplotlib: 'PASSED lib/t.py::test_click[MouseButton.LEFT]\n',
      seaborn: 'tests/t.py::test_a PASSED [ 50%]\nFAILED tests/t.py::test_b - x\n',
      django: "test_simple (migrations.test_writer.WriterTests) ... ok\ntest_fail (a.B) ... FAIL\ntest_err (a.B) ... ERROR\ntest_skip (a.B) ... skipped 'no db'\ntest_long (a.B) ... System check identified no issues (0 silenced)\nok\n",
      sympy: 'test_add ok\ntest_sub F\ntest_mul E\n',
    };
    const r = sh(d, ['python3', '-c', 'import json, sys, score; logs = json.load(sys.stdin); print(json.dumps({k: score.PARSERS[k](v) for k, v in logs.items()}))'], JSON.stringify(logs));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      pytest: { 'tests/a.py::test_x': 'PASSED', 'tests/a.py::test_y': 'FAILED', 'tests/b.py': 'ERROR', 'tests/a.py::test_z': 'XFAIL' },
      pytest_options: { 'tests/a.py::test_p[/data.txt]': 'PASSED', 'tests/a.py::test_q[1-2]': 'PASSED' },
      pytest_v2: { 'tests/a.py::test_x': 'PASSED' },
      matplotlib: { 'lib/t.py::test_click[1]': 'PASSED' },
      seaborn: { 'tests/t.py::test_a': 'PASSED', 'tests/t.py::test_b': 'FAILED' },
      django: { 'test_simple (migrations.test_writer.WriterTests)': 'PASSED', 'test_fail (a.B)': 'FAILED', 'test_err (a.B)': 'ERROR', 'test_skip (a.B)': 'SKIPPED', 'test_long (a.B)': 'PASSED' },
      sympy: { test_add: 'PASSED', test_sub: 'FAILED', test_mul: 'ERROR' },
    });
  });
});
