import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreWorkspace, WorkspaceRejectedError } from '../../../../core/cbm/workspace';
import type { WorkspaceTask } from '../../../../core/cbm/workspace/family';

/** A task scored by a hidden score.py that compares submission.csv with hidden labels (it imports csv and json). */
const SCORE_PY = `import csv, json, sys
try:
    got = [r[0] for r in csv.reader(open("submission.csv"))]
except Exception as e:
    print(e, file=sys.stderr); print(json.dumps({"score": 0})); sys.exit(1)
want = open("labels.txt").read().split()
print(json.dumps({"score": sum(a == b for a, b in zip(got, want)) / len(want)}))
`;
const task: WorkspaceTask = {
  id: 't1',
  set: 'objective',
  instructions: 'write submission.csv',
  workspace: { 'README.md': 'predict the labels\n' },
  hidden: { 'score.py': SCORE_PY, 'labels.txt': 'a\nb\nc\nd\n' },
  score: { command: ['python3', 'score.py'], timeoutSeconds: 30 },
  startingScore: 0,
  referenceScore: 1,
};

function workspace(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ws-safety-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

/*
 * What an agent leaves in its workspace is untrusted: the scorer runs on a copy with the hidden
 * files overlaid, and nothing the agent planted may stand in for the scorer's code or the hidden
 * answers, or make the harness fail instead of scoring.
 */
describe('scoring a workspace the agent may have booby-trapped', () => {
  test('control: an honest, correct submission scores 1, a wrong one 0', async () => {
    expect(await scoreWorkspace(task, workspace({ 'submission.csv': 'a\nb\nc\nd\n' }))).toBe(1);
    expect(await scoreWorkspace(task, workspace({ 'submission.csv': 'x\nx\nx\nx\n' }))).toBe(0);
  });

  test('a planted standard-library module (csv.py at the root) does not replace the real one', async () => {
    const forged = 'import atexit, json\natexit.register(lambda: print(json.dumps({"score": 1.0})))\ndef reader(f): return []\n';
    expect(await scoreWorkspace(task, workspace({ 'csv.py': forged, 'submission.csv': 'x\n' }))).toBe(0);
  });

  test('a planted test runner (unittest/ package) does not replace the real one', async () => {
    const t: WorkspaceTask = { ...task, hidden: { 'tests/__init__.py': '', 'tests/test_it.py': 'import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail("not fixed")\n' }, score: { command: ['python3', '-m', 'unittest', 'tests.test_it'], timeoutSeconds: 30 }, startingScore: undefined, referenceScore: undefined };
    expect(await scoreWorkspace(t, workspace({ 'unittest/__init__.py': '', 'unittest/__main__.py': 'import sys\nsys.exit(0)\n' }))).toBe(0);
  });

  test('precompiled bytecode cannot stand in for a hidden test', async () => {
    const t: WorkspaceTask = { ...task, hidden: { 'tests/__init__.py': '', 'tests/test_it.py': 'import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail("not fixed")\n' }, score: { command: ['python3', '-m', 'unittest', 'tests.test_it'], timeoutSeconds: 30 }, startingScore: undefined, referenceScore: undefined };
    // The agent compiles a passing test_it.py into an unchecked-hash .pyc, then leaves only the .pyc.
    const ws = workspace({ 'tests/__init__.py': '', 'tests/test_it.py': 'import unittest\nclass T(unittest.TestCase):\n    def test_fails(self):\n        pass\n' });
    execFileSync('python3', ['-c', 'import py_compile; py_compile.compile("tests/test_it.py", invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)'], { cwd: ws });
    expect(await scoreWorkspace(t, ws)).toBe(0);
  });

  test('a symbolic link to a hidden answer file scores nothing', async () => {
    const ws = workspace({});
    symlinkSync('labels.txt', join(ws, 'submission.csv'));
    expect(await scoreWorkspace(task, ws)).toBe(0);
  });

  test('a FIFO or socket in the workspace does not make scoring fail: it is removed and the task scored', async () => {
    const ws = workspace({ 'submission.csv': 'a\nb\nc\nd\n' });
    execFileSync('mkfifo', [join(ws, 'pipe')]);
    expect(await scoreWorkspace(task, ws)).toBe(1);
  });

  test('a workspace over the disk limit (e.g. sparse files) is refused as the agent’s error, never copied', async () => {
    const ws = workspace({ 'submission.csv': 'a\nb\nc\nd\n' });
    const fd = openSync(join(ws, 'big'), 'w');
    ftruncateSync(fd, 2 * 1024 ** 3);
    closeSync(fd);
    await expect(scoreWorkspace(task, ws)).rejects.toThrow(WorkspaceRejectedError);
    await expect(scoreWorkspace(task, ws)).rejects.toThrow(/more than \d+ bytes in its workspace/);
  });
});
