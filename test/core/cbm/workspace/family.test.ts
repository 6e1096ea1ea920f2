import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BASE64_PREFIX, decodeFile, encodeFile, loadTaskFamily, materialize, MAX_TASK_BYTES, unsafePathReason, WorkspaceTask } from '../../../../core/cbm/workspace/family';
import { specProblems as problemsOf } from '../../../support/spec-problems';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ws-family-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, content: string | Buffer): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), content);
}

const TASK_JSON = { instructions: 'Fix the bug.', score: { command: ['python3', '-m', 'unittest'], timeoutSeconds: 60 } };

/** A valid family: a (dev) with workspace, hidden and a patch; b (test) with only task.json. */
function writeValidFamily(): void {
  write('family.json', JSON.stringify({ task: 'Fix bugs.', source: 'tests' }));
  write('splits.json', JSON.stringify({ dev: ['a'], test: ['b'] }));
  write('tasks/a/task.json', JSON.stringify({ ...TASK_JSON, failToPass: ['tests.t.T.test_x'], passToPass: [] }));
  write('tasks/a/workspace/pkg/__init__.py', 'x = 1\n');
  write('tasks/a/workspace/data.bin', Buffer.from([0, 1, 2, 255]));
  write('tasks/a/workspace/tests/test_t.py', 'visible\n');
  write('tasks/a/hidden/tests/test_t.py', 'hidden\n');
  write('tasks/a/reference.patch', '--- a/pkg/__init__.py\n+++ b/pkg/__init__.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n');
  write('tasks/b/task.json', JSON.stringify({ ...TASK_JSON, image: 'img:latest', repo: 'o/r', baseCommit: 'abc1234' }));
}


describe('loadTaskFamily', () => {
  test('reads family.json, both splits in order, file maps (binary as base64), the reference patch and image fields', () => {
    writeValidFamily();
    const f = loadTaskFamily(dir);
    expect(f.family).toEqual({ task: 'Fix bugs.', source: 'tests' });
    expect(f.dev.map((t) => t.id)).toEqual(['a']);
    expect(f.test.map((t) => t.id)).toEqual(['b']);
    const a = f.dev[0];
    expect(a).toMatchObject({ set: 'objective', instructions: 'Fix the bug.', failToPass: ['tests.t.T.test_x'], passToPass: [] });
    expect(Object.keys(a.workspace)).toEqual(['data.bin', 'pkg/__init__.py', 'tests/test_t.py']);
    expect(a.workspace['data.bin']).toBe(BASE64_PREFIX + Buffer.from([0, 1, 2, 255]).toString('base64'));
    expect(a.hidden).toEqual({ 'tests/test_t.py': 'hidden\n' });
    expect(a.referencePatch).toContain('+x = 2');
    const b = f.test[0];
    expect(b).toMatchObject({ workspace: {}, hidden: {}, image: 'img:latest', repo: 'o/r', baseCommit: 'abc1234' });
    expect(b.referencePatch).toBeUndefined();
    for (const t of [a, b]) expect(WorkspaceTask.safeParse(t).success).toBe(true);
  });

  test('a missing directory is one problem naming the format', () => {
    const problems = problemsOf(() => loadTaskFamily(join(dir, 'nope')));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/no such directory\. Fix: a workspace task family is a directory with family\.json/);
  });

  test('a broken family: every problem at once, each naming the file and field with a fix', () => {
    writeValidFamily();
    write('family.json', '{"task": "x", ');
    write('splits.json', JSON.stringify({ dev: ['a', 'a', 'ghost', '../up'], test: [] }));
    // tasks/a: unknown field, empty command, an unexpected entry, a symlink and a FIFO in workspace, a hidden file over a folder.
    write('tasks/a/task.json', JSON.stringify({ instructions: 'Fix.', score: { command: [], timeoutSeconds: 60 }, extra: 1 }));
    write('tasks/a/notes.txt', 'stray');
    symlinkSync('/etc/passwd', join(dir, 'tasks/a/workspace/link'));
    execFileSync('mkfifo', [join(dir, 'tasks/a/workspace/pipe')]);
    write('tasks/a/hidden/pkg', 'a file where the workspace has a folder');
    // tasks/b is in no split; tasks/c is a symlink to a folder, in no split either.
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'tasks/c'));
    const problems = problemsOf(() => loadTaskFamily(dir));
    const expected: RegExp[] = [
      /family\.json: not valid JSON .* Fix: write \{"task"/,
      /splits\.json: field "dev\.1": id "a" is listed twice \(first at dev\.0\)\. Fix:/,
      /splits\.json: field "dev\.2": id "ghost" has no folder .*tasks\/ghost\. Fix: add the task folder, or remove the id\./,
      /splits\.json: field "dev\.3": "\.\.\/up" is not a valid task id\. Fix:/,
      /splits\.json: field "test": is empty\. Fix: put at least one task in test/,
      /tasks\/b: folder "b" is in no split\. Fix: add "b" to "dev" or "test"/,
      /tasks\/c: folder "c" is in no split/,
      /tasks\/a\/task\.json: field "\(top level\)": unknown field\(s\) "extra"\. Fix: remove or rename them\./,
      /tasks\/a\/task\.json: field "score\.command": must not be empty\. Fix: give "score"/,
      /tasks\/a\/notes\.txt: unexpected entry\. Fix: a task folder holds only task\.json, workspace\/, hidden\/ and reference\.patch/,
      /tasks\/a\/workspace\/link: is a symbolic link \(to \/etc\/passwd\); tasks may hold regular files and folders only\. Fix:/,
      /tasks\/a\/workspace\/pipe: is a named pipe; tasks may hold regular files and folders only/,
      /tasks\/a\/hidden\/pkg: cannot be overlaid: workspace\/pkg is a folder\. Fix:/,
    ];
    for (const re of expected) expect(problems.some((p) => re.test(p))).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  test('a symlinked task folder, a task over the size limit and a bad task.json field are problems of listed tasks', () => {
    writeValidFamily();
    write('splits.json', JSON.stringify({ dev: ['a'], test: ['b', 'c'] }));
    write('tasks/a/workspace/big.bin', Buffer.alloc(MAX_TASK_BYTES + 1));
    write('tasks/b/task.json', JSON.stringify({ instructions: '', score: { command: ['x'], timeoutSeconds: -1 }, failToPass: 'tests.x' }));
    mkdirSync(join(dir, 'real-c'));
    symlinkSync(join(dir, 'real-c'), join(dir, 'tasks/c'));
    const problems = problemsOf(() => loadTaskFamily(dir));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/tasks\/a: its files take 5242\d+ bytes, more than the 5242880 \(5 MB\) a task may hold\. Fix:/),
        expect.stringMatching(/tasks\/b\/task\.json: field "instructions": must be a non-empty string\. Fix: write what the agent is asked to do\./),
        expect.stringMatching(/tasks\/b\/task\.json: field "score\.timeoutSeconds": must be more than 0\. Fix:/),
        expect.stringMatching(/tasks\/b\/task\.json: field "failToPass": must be a list of test ids\. Fix: list test ids as strings/),
        expect.stringMatching(/tasks\/c: is a symbolic link .*; each task is a folder\. Fix: make tasks\/c a real folder/),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  test("an image's workdir: an absolute path of plain names, and only with an image; both problems with the rest", () => {
    writeValidFamily();
    write('tasks/a/task.json', JSON.stringify({ ...TASK_JSON, workdir: '/testbed' }));
    write('tasks/b/task.json', JSON.stringify({ ...TASK_JSON, image: 'example.org/env/b:1', workdir: '/testbed/../etc' }));
    const problems = problemsOf(() => loadTaskFamily(dir));
    expect(problems).toEqual([
      expect.stringMatching(/tasks\/a\/task\.json: workdir "\/testbed" names a directory of the task's image, and the task names no image\. Fix: add "image", or remove "workdir"/),
      expect.stringMatching(/tasks\/b\/task\.json: field "workdir": must not contain "\." or "\.\." segments/),
    ]);
    write('tasks/a/task.json', JSON.stringify({ ...TASK_JSON, image: 'example.org/env/a:1', workdir: '/testbed' }));
    write('tasks/b/task.json', JSON.stringify(TASK_JSON));
    expect(loadTaskFamily(dir).dev[0]).toMatchObject({ image: 'example.org/env/a:1', workdir: '/testbed' });
  });

  test('missing family.json, splits.json and tasks/ are reported together', () => {
    const problems = problemsOf(() => loadTaskFamily(dir));
    expect(problems).toEqual([
      expect.stringMatching(/family\.json: missing\. Fix: write \{"task"/),
      expect.stringMatching(/splits\.json: missing\. Fix: write \{"dev"/),
      expect.stringMatching(/tasks: missing\. Fix: put each task in tasks\/<id>\//),
    ]);
  });
});

describe('file maps', () => {
  test('encodeFile keeps UTF-8 text and base64-encodes binary data and text that starts with the prefix; decodeFile inverts it', () => {
    const cases = [Buffer.from('héllo\n'), Buffer.from([0xff, 0xfe, 0]), Buffer.from('a\0b'), Buffer.from('base64:not really'), Buffer.alloc(0)];
    expect(encodeFile(cases[0])).toBe('héllo\n');
    expect(encodeFile(cases[1]).startsWith(BASE64_PREFIX)).toBe(true);
    expect(encodeFile(cases[2]).startsWith(BASE64_PREFIX)).toBe(true);
    expect(encodeFile(cases[3])).toBe(BASE64_PREFIX + cases[3].toString('base64'));
    for (const c of cases) expect(decodeFile(encodeFile(c)).equals(c)).toBe(true);
  });

  test('unsafePathReason', () => {
    expect(unsafePathReason('a/b.py')).toBeUndefined();
    expect(unsafePathReason('.hidden/x')).toBeUndefined();
    expect(unsafePathReason('../x')).toMatch(/\.\./);
    expect(unsafePathReason('/etc/x')).toMatch(/absolute/);
    expect(unsafePathReason('a//b')).toMatch(/empty segment/);
    expect(unsafePathReason('a/./b')).toMatch(/"\."/);
    expect(unsafePathReason('a\\b')).toMatch(/backslash/);
    expect(unsafePathReason('')).toMatch(/empty/);
  });
});

describe('materialize', () => {
  test('writes nested files and decodes base64', () => {
    const out = join(dir, 'out');
    materialize({ 'a/b/c.txt': 'hi\n', 'bin.dat': BASE64_PREFIX + Buffer.from([1, 2, 3]).toString('base64'), 'empty': '' }, out);
    expect(readFileSync(join(out, 'a/b/c.txt'), 'utf8')).toBe('hi\n');
    expect([...readFileSync(join(out, 'bin.dat'))]).toEqual([1, 2, 3]);
    expect(readFileSync(join(out, 'empty'), 'utf8')).toBe('');
  });

  test('refuses unsafe paths and file/folder clashes, all at once, and writes nothing', () => {
    const out = join(dir, 'out');
    const problems = problemsOf(() => materialize({ 'ok.txt': 'x', '../escape': 'x', '/abs': 'x', 'a\\b': 'x', 'd': 'x', 'd/e': 'x' }, out));
    expect(problems).toEqual([
      expect.stringMatching(/"\.\.\/escape" has a "\.\." segment/),
      expect.stringMatching(/"\/abs" is absolute/),
      expect.stringMatching(/"a\\\\b" contains a backslash/),
      expect.stringMatching(/"d\/e" lies below "d", which is also a file/),
    ]);
    expect(existsSync(out)).toBe(false);
  });

  test('over an existing tree it replaces links instead of writing through them, and replaces files and folders in the way', () => {
    const out = join(dir, 'out');
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.txt'), 'keep');
    mkdirSync(join(out, 'sub'), { recursive: true });
    symlinkSync(join(outside, 'victim.txt'), join(out, 'file-link'));
    symlinkSync(outside, join(out, 'dir-link'));
    writeFileSync(join(out, 'was-a-file'), 'old');
    mkdirSync(join(out, 'was-a-folder/deep'), { recursive: true });
    writeFileSync(join(out, 'sub/keep.txt'), 'kept');
    materialize({ 'file-link': 'new', 'dir-link/victim.txt': 'new', 'was-a-file/x': 'new', 'was-a-folder': 'new', 'sub/y': 'new' }, out);
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep');
    expect(lstatSync(join(out, 'file-link')).isFile()).toBe(true);
    expect(lstatSync(join(out, 'dir-link')).isDirectory()).toBe(true);
    expect(readFileSync(join(out, 'dir-link/victim.txt'), 'utf8')).toBe('new');
    expect(readFileSync(join(out, 'was-a-file/x'), 'utf8')).toBe('new');
    expect(readFileSync(join(out, 'was-a-folder'), 'utf8')).toBe('new');
    expect(readFileSync(join(out, 'sub/keep.txt'), 'utf8')).toBe('kept');
  });
});
