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

/**
 * The code under test takes score.py's own stdout (a socket: pidfd_getfd, same uid, no Yama),
 * writes the score line there and SIGKILLs score.py before it prints its verdict. rawScore reads
 * the last stdout line whatever the exit code.
 */
const FORGE_PROC = `
import os as _o, signal as _s, ctypes as _c
def _hijack():
    libc = _c.CDLL(None, use_errno=True)
    for p in _o.listdir("/proc"):
        if not p.isdigit() or int(p) == _o.getpid():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % p, "rb").read().split(b"\\0")
        except Exception:
            continue
        if any(c.endswith(b"score.py") for c in cmd):
            fd = libc.syscall(438, _o.pidfd_open(int(p)), 1, 0)
            if fd >= 0:
                _o.write(fd, b'{"score": 1}\\n')
                _o.kill(int(p), _s.SIGKILL)
_hijack()
`;
const SITE = spawnSync('python3', ['-c', 'import pytest, os; print(os.path.dirname(os.path.dirname(pytest.__file__)))'], { encoding: 'utf8' }).stdout.trim();
/** A repository-level conftest.py: every test report says passed. */
const CONFTEST = `import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    r = out.get_result()
    r.outcome = 'passed'
    r.longrepr = None
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
 * Found by red-teaming: code under test took score.py's stdout (pidfd_getfd: same uid) and wrote
 * the verdict itself, or a conftest.py rewrote every pytest report to passed. score.py now makes
 * itself non-dumpable first and resets conftest.py and pytest's config files to the base commit,
 * and a score line counts only from a command that exited 0.
 */
describeWithBwrap('SWE-bench scoring against code that hijacks the scorer or pytest', () => {
  test('an unfixed repository whose code writes {"score": 1} into score.py\'s stdout (pidfd_getfd) and kills score.py scores 0', async () => {
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
    write(cheat, { 'calc/__init__.py': 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n' + FORGE_PROC }); // bug NOT fixed
    allowTraversal(cheat);
    expect(await scoreWorkspace(task, cheat, 'bwrap')).toBe(0);

    const fixed = join(dir, 'fixed');
    cpSync(repo, fixed, { recursive: true });
    write(fixed, { 'calc/__init__.py': 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n' });
    allowTraversal(fixed);
    expect(await scoreWorkspace(task, fixed, 'bwrap')).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  }, 60_000);
  (SITE ? test : test.skip)('an unfixed repository with a conftest.py that turns every report into passed scores 0 (real pytest -rA; needs pytest for python3)', async () => {
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
    // pytest for /usr/bin/python3 (this machine has it only in pyenv), untracked in the checkout as an image would have it installed.
    for (const m of ['pytest', '_pytest', 'pluggy', 'iniconfig', 'packaging', 'pygments', 'py.py']) cpSync(join(SITE, m), join(repo, 'vendor', m), { recursive: true });
    const jsonl = join(dir, 'i.jsonl');
    writeFileSync(jsonl, JSON.stringify({ instance_id: 'example__calc-1', repo: 'example/calc', base_commit: base, problem_statement: 'add() subtracts.', test_patch: testPatch, FAIL_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_add']), PASS_TO_PASS: JSON.stringify(['tests/test_calc.py::TestCalc::test_mul']), version: '0.1' }) + '\n' + JSON.stringify({ instance_id: 'example__calc-2', repo: 'example/calc', base_commit: base, problem_statement: 'x', test_patch: testPatch, FAIL_TO_PASS: '["a"]', PASS_TO_PASS: '[]', version: '0.1' }) + '\n');
    const fam = join(dir, 'fam');
    await importSweBench({ files: [jsonl], outDir: fam, devFraction: 0.5 });
    const f = loadTaskFamily(fam);
    const t = [...f.dev, ...f.test].find((x) => x.id === 'example__calc-1') as WorkspaceTask;
    const spec = JSON.parse(t.hidden['.uplift/spec.json']);
    const task: WorkspaceTask = { ...t, hidden: { ...t.hidden, '.uplift/spec.json': JSON.stringify({ ...spec, setup: [], testCommand: 'PYTHONPATH=vendor /usr/bin/python3 -m pytest -rA -p no:cacheprovider' }) } };

    const honest = join(dir, 'honest');
    cpSync(repo, honest, { recursive: true });
    allowTraversal(honest);
    expect(await scoreWorkspace(task, honest, 'bwrap')).toBe(0); // the bug is there: 0

    const cheat = join(dir, 'cheat');
    cpSync(repo, cheat, { recursive: true });
    write(cheat, { 'conftest.py': CONFTEST }); // bug NOT fixed
    allowTraversal(cheat);
    expect(await scoreWorkspace(task, cheat, 'bwrap')).toBe(0);

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
