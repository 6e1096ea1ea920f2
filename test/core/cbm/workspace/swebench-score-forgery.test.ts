import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreWorkspace } from '../../../../core/cbm/workspace';
import { describeWithBwrap } from '../../../support/bwrap';
import { CALC_FIXED, CALC_UNFIXED, calcTask, workspaceOf } from '../../../support/swe-calc';

/*
 * The SWE-bench scorer runs the repository's own code (red-teamed twice): an unfixed repository
 * must score 0 however its code tries to fake the verdict, and the fix must score 1.
 * - PASSED lines printed at exit, for ids read from the hidden spec or guessed: the spec and test
 *   patch leave the workspace before repository code runs, and a test's status is the worst its
 *   log shows.
 * - score.py's own stdout taken with pidfd_getfd (same uid) and written to, score.py killed:
 *   score.py is non-dumpable, and a score line counts only from a command that exited 0.
 * - a conftest.py that turns every pytest report into a pass: conftest.py, pytest.ini and tox.ini
 *   are reset to the base commit.
 */
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

describeWithBwrap('SWE-bench scoring against code that fakes the verdict', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swe-score-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('PASSED lines for the looked-for tests (read from the spec, or guessed) and a hijacked score.py stdout all score 0; the fix scores 1', async () => {
    const { repo, task } = await calcTask(dir, '/usr/bin/python3 run_tests.py');
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'honest', {}), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'spec', { 'calc/__init__.py': CALC_UNFIXED + FORGE }), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'guess', { 'calc/__init__.py': CALC_UNFIXED + FORGE_GUESS }), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'hijack', { 'calc/__init__.py': CALC_UNFIXED + FORGE_PROC }), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'fixed', { 'calc/__init__.py': CALC_FIXED }), 'bwrap')).toBe(1);
  }, 90_000);

  (SITE ? test : test.skip)('a conftest.py that turns every report into passed scores 0 (real pytest -rA; needs pytest for python3)', async () => {
    // pytest for /usr/bin/python3, untracked in the checkout as an image would have it installed.
    const vendor = (repo: string) => {
      for (const m of ['pytest', '_pytest', 'pluggy', 'iniconfig', 'packaging', 'pygments', 'py.py']) cpSync(join(SITE, m), join(repo, 'vendor', m), { recursive: true });
    };
    const { repo, task } = await calcTask(dir, 'PYTHONPATH=vendor /usr/bin/python3 -m pytest -rA -p no:cacheprovider', vendor);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'honest', {}), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'cheat', { 'conftest.py': CONFTEST }), 'bwrap')).toBe(0);
    expect(await scoreWorkspace(task, workspaceOf(dir, repo, 'fixed', { 'calc/__init__.py': CALC_FIXED }), 'bwrap')).toBe(1);
  }, 90_000);
});
