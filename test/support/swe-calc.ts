import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadTaskFamily, type WorkspaceTask } from '../../core/cbm/workspace/family';
import { importSweBench } from '../../core/cbm/workspace/swebench-import';
import { allowTraversal } from '../../core/sandbox';

/**
 * A tiny SWE-bench instance for scorer tests: repository `calc` whose add() subtracts (the bug),
 * a test patch adding test_add (FAIL_TO_PASS) next to test_mul (PASS_TO_PASS), imported with
 * `uplift import swe-bench`, its score spec pointed at `testCommand`.
 */
/** Prints one "PASSED|FAILED <file>::<Class>::<test>" line per unittest test of the given files, or "ERROR <file> - …" for a file that does not load (pytest -rA's summary). */
export const RUN_TESTS_PY = `import sys, unittest
def flat(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            yield from flat(t)
        else:
            yield t
for path in sys.argv[1:]:
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName(path[:-3].replace("/", "."))
    except Exception as e:
        print("ERROR " + path + " - " + str(e))
        continue
    for t in flat(suite):
        r = unittest.TestResult()
        t.run(r)
        print(("PASSED " if r.wasSuccessful() else "FAILED ") + path + "::" + type(t).__name__ + "::" + t._testMethodName)
`;

/** calc/__init__.py with the bug, and fixed. */
export const CALC_UNFIXED = 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n';
export const CALC_FIXED = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n';

const git = (cwd: string, ...a: string[]) => {
  const r = spawnSync('git', ['-c', 'user.email=t@x', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...a], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
};

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), t);
  }
}

/** The repository at its base commit (`untracked` added after, as an image would have them installed) and its task. */
export async function calcTask(dir: string, testCommand: string, untracked: (repo: string) => void = () => undefined): Promise<{ repo: string; task: WorkspaceTask }> {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q');
  const testFile = 'import unittest\nfrom calc import add, mul\n\n\nclass TestCalc(unittest.TestCase):\n    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n';
  writeFiles(repo, { 'calc/__init__.py': CALC_UNFIXED, 'tests/__init__.py': '', 'tests/test_calc.py': testFile, 'run_tests.py': RUN_TESTS_PY });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const base = git(repo, 'rev-parse', 'HEAD').trim();
  writeFiles(repo, { 'tests/test_calc.py': testFile + '\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n' });
  git(repo, 'add', '-A');
  const testPatch = git(repo, 'diff', '--cached');
  git(repo, 'reset', '-q', '--hard', base);
  untracked(repo);
  const jsonl = join(dir, 'i.jsonl');
  const instance = (id: string, f2p: string[], p2p: string[]) => JSON.stringify({ instance_id: id, repo: 'example/calc', base_commit: base, problem_statement: 'add() subtracts.', test_patch: testPatch, FAIL_TO_PASS: JSON.stringify(f2p), PASS_TO_PASS: JSON.stringify(p2p), version: '0.1' });
  writeFileSync(jsonl, instance('example__calc-1', ['tests/test_calc.py::TestCalc::test_add'], ['tests/test_calc.py::TestCalc::test_mul']) + '\n' + instance('example__calc-2', ['a'], []) + '\n');
  const fam = join(dir, 'fam');
  await importSweBench({ files: [jsonl], outDir: fam, devFraction: 0.5 });
  const f = loadTaskFamily(fam);
  const t = [...f.dev, ...f.test].find((x) => x.id === 'example__calc-1') as WorkspaceTask;
  const spec = JSON.parse(t.hidden['.uplift/spec.json']) as Record<string, unknown>;
  return { repo, task: { ...t, hidden: { ...t.hidden, '.uplift/spec.json': JSON.stringify({ ...spec, setup: [], testCommand }) } } };
}

/** A copy of the repository with `files` written over it, ready for the scorer. */
export function workspaceOf(dir: string, repo: string, name: string, files: Record<string, string>): string {
  const ws = join(dir, name);
  cpSync(repo, ws, { recursive: true });
  writeFiles(ws, files);
  allowTraversal(ws);
  return ws;
}
