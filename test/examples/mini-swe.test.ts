import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { rawScore } from '../../core/cbm/workspace';
import { loadTaskFamily, materialize, type WorkspaceTask } from '../../core/cbm/workspace/family';
import { renderMiniSwe, WORKING_LINE } from '../../examples/datasets/mini-swe/generate';

/**
 * The mini-swe data set is sound: it loads, the generator reproduces it, and for every task the
 * hidden tests fail on the workspace as shipped and pass once the reference patch is applied —
 * scored by the rule of docs/cbm-workspace.md (copy of the final workspace, hidden files overlaid,
 * score command run there), plainly with child_process: no sandbox.
 */

const DIR = join(__dirname, '../../examples/datasets/mini-swe');
const family = loadTaskFamily(DIR);
const tasks = [...family.dev, ...family.test];

/** The interpreter `python3` names (resolved once: a version-manager shim costs a shell per call). */
const PYTHON3 = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: readonly string[], cwd: string, stdin?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] === 'python3' ? PYTHON3 : argv[0], argv.slice(1), { cwd, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** Runs `f` over the items, at most `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}

/** The scoring rule: hidden files overlaid on (a copy of) the final workspace, the score command run there. */
async function score(task: WorkspaceTask, finalWorkspace: string): Promise<{ score: number; ran: Ran }> {
  materialize(task.hidden, finalWorkspace);
  const ran = await run(task.score.command, finalWorkspace);
  return { score: rawScore(ran.stdout, ran.code), ran };
}

interface Verdict {
  id: string;
  visible: Ran;
  before: { score: number; ran: Ran };
  passToPassBefore: Ran;
  failToPassEach: (number | null)[];
  patch: Ran;
  after: { score: number; ran: Ran };
}

async function check(task: WorkspaceTask, root: string): Promise<Verdict> {
  const fresh = (name: string) => {
    const d = join(root, task.id, name);
    materialize(task.workspace, d);
    return d;
  };
  const visible = await run(['python3', '-m', 'unittest'], fresh('visible'));
  const unmodified = fresh('before');
  const before = await score(task, unmodified);
  const passToPassBefore = await run(['python3', '-m', 'unittest', ...(task.passToPass ?? [])], unmodified);
  const failToPassEach = await Promise.all((task.failToPass ?? []).map(async (id) => (await run(['python3', '-m', 'unittest', id], unmodified)).code));
  const fixed = fresh('after');
  const patch = await run(['patch', '-p1', '--batch', '--forward'], fixed, task.referencePatch);
  const after = await score(task, fixed);
  return { id: task.id, visible, before, passToPassBefore, failToPassEach, patch, after };
}

/** Every file under `dir`, relative, `/`-separated. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p).split('\\').join('/')];
  });
}

describe('the mini-swe data set', () => {
  test('loads: 15 tasks (4 dev, 11 test), each a small Python repository with a reference patch and FAIL_TO_PASS / PASS_TO_PASS tests', () => {
    expect(family.dev).toHaveLength(4);
    expect(family.test).toHaveLength(11);
    for (const t of tasks) {
      expect(Object.keys(t.workspace)).toEqual(expect.arrayContaining(['README.md', 'pyproject.toml', 'tests/__init__.py']));
      expect(Object.keys(t.hidden).every((p) => p.startsWith('tests/'))).toBe(true);
      expect(t.referencePatch).toMatch(/^diff --git a\//);
      expect(t.failToPass?.length).toBeGreaterThan(0);
      expect(t.passToPass?.length).toBeGreaterThan(0);
      expect(t.score.command).toEqual(['python3', '-m', 'unittest', ...(t.failToPass ?? []), ...(t.passToPass ?? [])]);
      expect(t.instructions.trimEnd().endsWith(WORKING_LINE)).toBe(true);
    }
  });

  test('the generator reproduces family.json, splits.json and tasks/ byte for byte (and nothing else is there)', () => {
    const rendered = renderMiniSwe();
    const onDisk = walk(DIR)
      .filter((p) => p !== 'README.md' && p !== 'generate.ts')
      .sort();
    expect(onDisk).toEqual(Object.keys(rendered).sort());
    for (const [p, text] of Object.entries(rendered)) expect(readFileSync(join(DIR, p), 'utf8')).toBe(text);
  });

  test('every task: visible tests pass; hidden tests score 0 on the workspace (each FAIL_TO_PASS test fails, PASS_TO_PASS pass) and 1 after reference.patch', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mini-swe-'));
    try {
      const verdicts = await pool(tasks, 8, (t) => check(t, root));
      for (const v of verdicts) {
        const why = `${v.id}:\n${v.before.ran.stderr.slice(-800)}\n${v.patch.stdout}${v.patch.stderr}\n${v.after.ran.stderr.slice(-800)}`;
        expect({ id: v.id, visible: v.visible.code, before: v.before.score, p2pBefore: v.passToPassBefore.code, patch: v.patch.code, after: v.after.score }).toEqual({
          id: v.id,
          visible: 0,
          before: 0,
          p2pBefore: 0,
          patch: 0,
          after: 1,
        });
        expect(v.failToPassEach.every((c) => c !== 0)).toBe(true);
        if (v.after.score !== 1) console.log(why);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
