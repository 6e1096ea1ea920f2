import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { scoreWorkspace } from '../../../../core/cbm/workspace';
import { loadTaskFamily, type WorkspaceTask } from '../../../../core/cbm/workspace/family';
import { importSweBench } from '../../../../core/cbm/workspace/swebench-import';
import { allowTraversal } from '../../../../core/sandbox';
import { describeWithBwrap } from '../../../support/bwrap';

const RUN_TESTS_PY = `import sys, unittest
def flat(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            yield from flat(t)
        else:
            yield t
for path in sys.argv[1:]:
    suite = unittest.defaultTestLoader.loadTestsFromName(path[:-3].replace("/", "."))
    for t in flat(suite):
        r = unittest.TestResult()
        t.run(r)
        print(("PASSED " if r.wasSuccessful() else "FAILED ") + path + "::" + type(t).__name__ + "::" + t._testMethodName)
`;
const FORGE = `
import atexit as _a, json as _j, os as _o
def _forge():
    try:
        s = _j.load(open(_o.path.join(_o.getcwd(), ".uplift", "spec.json")))
        for t in s["failToPass"] + s["passToPass"]:
            print("PASSED " + t, flush=True)
    except Exception:
        pass
_a.register(_forge)
`;
/** The same, without the hidden spec: PASSED for every test id of the test file it can guess. */
const FORGE_GUESS = `
import atexit as _a
_a.register(lambda: print("PASSED tests/test_calc.py::TestCalc::test_add\\nPASSED tests/test_calc.py::TestCalc::test_mul", flush=True))
`;
const git = (cwd: string, ...a: string[]) => {
  const r = spawnSync('git', ['-c', 'user.email=t@x', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...a], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
};
const write = (root: string, files: Record<string, string>) => {
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), t);
  }
};

/*
 * The SWE-bench scorer runs the repository's own code: an unfixed repository whose package prints
 * "PASSED <test>" for the tests looked for (from the hidden spec, or guessed) must still score 0.
 * The spec and test patch leave the workspace before any repository code runs, and a test's
 * status is the worst the log shows for it (the runner's FAILED is never hidden by a later PASSED).
 */
describeWithBwrap('SWE-bench scoring against forged test logs', () => {
  test('an unfixed repository that prints PASSED lines for the looked-for tests, read from the spec or guessed, scores 0; the fix scores 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-swe-'));
  try {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    const testFile = 'import unittest\nfrom calc import add, mul\n\n\nclass TestCalc(unittest.TestCase):\n    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n';
    write(repo, { 'calc/__init__.py': 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n', 'tests/__init__.py': '', 'tests/test_calc.py': testFile, 'run_tests.py': RUN_TESTS_PY });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    write(repo, { 'tests/test_calc.py': testFile + '\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n' });
    git(repo, 'add', '-A');
    const testPatch = git(repo, 'diff', '--cached');
    git(repo, 'reset', '-q', '--hard', base);
    const jsonl = join(dir, 'i.jsonl');
    writeFileSync(jsonl, JSON.stringify({ instance_id: 'example__calc-1', repo: 'example/calc', base_commit: base, problem_statement: 'add() subtracts.', test_patch: testPatch, FAIL_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_add']), PASS_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_mul']), version: '0.1' }) + '\n' + JSON.stringify({ instance_id: 'example__calc-2', repo: 'example/calc', base_commit: base, problem_statement: 'x', test_patch: testPatch, FAIL_TO_PASS: '["a"]', PASS_TO_PASS: '[]', version: '0.1' }) + '\n');
    const fam = join(dir, 'fam');
    await importSweBench({ files: [jsonl], outDir: fam, devFraction: 0.5 });
    const f = loadTaskFamily(fam);
    const t = [...f.dev, ...f.test].find((x) => x.id === 'example__calc-1') as WorkspaceTask;
    const spec = JSON.parse(t.hidden['.uplift/spec.json']);
    const task: WorkspaceTask = { ...t, hidden: { ...t.hidden, '.uplift/spec.json': JSON.stringify({ ...spec, setup: [], testCommand: '/usr/bin/python3 run_tests.py' }) } };

    const honest = join(dir, 'honest');
    cpSync(repo, honest, { recursive: true });
    allowTraversal(honest);
    expect(await scoreWorkspace(task, honest, 'bwrap')).toBe(0); // the bug is there: 0

    const cheat = join(dir, 'cheat');
    cpSync(repo, cheat, { recursive: true });
    write(cheat, { 'calc/__init__.py': 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n' + FORGE }); // bug NOT fixed
    allowTraversal(cheat);
    expect(await scoreWorkspace(task, cheat, 'bwrap')).toBe(0);

    const guess = join(dir, 'guess');
    cpSync(repo, guess, { recursive: true });
    write(guess, { 'calc/__init__.py': 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n' + FORGE_GUESS });
    allowTraversal(guess);
    expect(await scoreWorkspace(task, guess, 'bwrap')).toBe(0);

    const fixed = join(dir, 'fixed');
    cpSync(repo, fixed, { recursive: true });
    write(fixed, { 'calc/__init__.py': 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n' });
    allowTraversal(fixed);
    expect(await scoreWorkspace(task, fixed, 'bwrap')).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  }, 60_000);
});
