import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { normalised, rawScore } from '../../core/cbm/workspace';
import { decodeFile, loadTaskFamily, materialize, MAX_TASK_BYTES, type WorkspaceTask } from '../../core/cbm/workspace/family';
import { renderTinyImages, SIDE, TEST_IMAGES, TRAIN_IMAGES, type TaskScores } from '../../examples/datasets/tiny-images/generate';

/**
 * The tiny-images data set is sound: it loads, the generator reproduces it byte for byte (given
 * the scores it measured, which are checked by running the scripts), and one task end to end by
 * the rule of docs/cbm-workspace.md — workspace materialised, `python3 train.py` run in it, a copy
 * with the hidden files overlaid, the score command run there, plainly with child_process (no
 * sandbox): the baseline scores its startingScore (normalised 0), the reference patch its
 * referenceScore (normalised 1), a missing or malformed submission.csv 0.
 */

const DIR = join(__dirname, '../../examples/datasets/tiny-images');
const family = loadTaskFamily(DIR);
const tasks = [...family.dev, ...family.test];

/** The interpreter `python3` names (resolved once: a version-manager shim costs a shell per call). */
const PYTHON3 = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(argv: readonly string[], cwd: string, stdin = ''): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] === 'python3' ? PYTHON3 : argv[0], argv.slice(1), { cwd, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    child.stdin.end(stdin);
  });
}

let copies = 0;

/** The scoring rule: a copy of the final workspace, the hidden files overlaid, the score command run there. */
async function score(task: WorkspaceTask, finalWorkspace: string): Promise<{ raw: number; ran: Ran }> {
  const copy = `${finalWorkspace}-scored-${++copies}`;
  cpSync(finalWorkspace, copy, { recursive: true });
  materialize(task.hidden, copy);
  const ran = await run(task.score.command, copy);
  return { raw: rawScore(ran.stdout, ran.code), ran };
}

/** The labels of a 1-D uint8 .npy file (format 1.0, as the generator writes it). */
function npyLabels(data: Buffer): number[] {
  return [...data.subarray(10 + data.readUInt16LE(8))];
}

/** Every file under `dir`, relative, `/`-separated. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p).split('\\').join('/')];
  });
}

const scoresOf = (t: WorkspaceTask): TaskScores => ({ startingScore: t.startingScore ?? NaN, referenceScore: t.referenceScore ?? NaN });

describe('the tiny-images data set', () => {
  test('loads: 3 tasks (1 dev, 2 test), each train.py + data in the workspace, score.py + test labels hidden, a reference patch and measured scores', () => {
    expect(family.dev.map((t) => t.id)).toEqual(['tiny-images-1']);
    expect(family.test.map((t) => t.id)).toEqual(['tiny-images-2', 'tiny-images-3']);
    for (const t of tasks) {
      expect(Object.keys(t.workspace).sort()).toEqual(['data/test_images.npy', 'data/train.npz', 'train.py']);
      expect(Object.keys(t.hidden).sort()).toEqual(['score.py', 'test_labels.npy']);
      expect(t.workspace['data/train.npz']).toMatch(/^base64:/);
      expect(t.score).toEqual({ command: ['python3', 'score.py'], timeoutSeconds: 60 });
      expect(t.referencePatch).toMatch(/^diff --git a\/train\.py b\/train\.py\n/);
      const { startingScore, referenceScore } = scoresOf(t);
      expect(startingScore).toBeGreaterThanOrEqual(0.35);
      expect(startingScore).toBeLessThanOrEqual(0.6);
      expect(referenceScore).toBeGreaterThanOrEqual(startingScore * 1.1);
      const bytes = [...Object.values(t.workspace), ...Object.values(t.hidden)].reduce((a, v) => a + decodeFile(v).length, 0) + Buffer.byteLength(t.referencePatch ?? '');
      expect(bytes).toBeLessThan(MAX_TASK_BYTES / 2);
      const labels = npyLabels(decodeFile(t.hidden['test_labels.npy']));
      expect(labels).toHaveLength(TEST_IMAGES);
      expect(new Set(labels).size).toBe(10);
      expect(decodeFile(t.workspace['data/test_images.npy']).length).toBe(128 + TEST_IMAGES * SIDE * SIDE * 3);
    }
    expect(TRAIN_IMAGES).toBe(2000);
  });

  test('the generator reproduces family.json, splits.json and tasks/ byte for byte, given the scores it measured (and nothing else is there)', () => {
    const rendered = renderTinyImages(Object.fromEntries(tasks.map((t) => [t.id, scoresOf(t)])));
    const onDisk = walk(DIR)
      .filter((p) => p !== 'README.md' && p !== 'generate.ts')
      .sort();
    expect(onDisk).toEqual(Object.keys(rendered).sort());
    for (const [p, data] of Object.entries(rendered)) expect({ p, same: readFileSync(join(DIR, p)).equals(data) }).toEqual({ p, same: true });
  });

  test('end to end: train.py scores its startingScore (normalised 0) on every task; on the dev task reference.patch scores its referenceScore (normalised 1), and a missing or malformed submission.csv scores 0', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tiny-images-'));
    try {
      // The baseline, on every task (it takes well under a second).
      for (const t of tasks) {
        const ws = join(root, t.id, 'baseline');
        materialize(t.workspace, ws);
        const train = await run(['python3', 'train.py'], ws);
        expect({ id: t.id, code: train.code, stderr: train.code === 0 ? '' : train.stderr }).toEqual({ id: t.id, code: 0, stderr: '' });
        expect(train.stdout).toMatch(/^validation accuracy: 0\.\d{4}\n/);
        expect(train.seconds).toBeLessThan(30);
        const { raw, ran } = await score(t, ws);
        expect({ id: t.id, code: ran.code }).toEqual({ id: t.id, code: 0 });
        expect(Math.abs(raw - scoresOf(t).startingScore)).toBeLessThanOrEqual(1e-9);
        expect(normalised(raw, t)).toBe(0);
      }

      const task = family.dev[0];
      const base = join(root, task.id, 'baseline');

      // The reference solution.
      const ref = join(root, task.id, 'reference');
      materialize(task.workspace, ref);
      const patch = await run(['patch', '-p1', '--batch', '--forward'], ref, task.referencePatch);
      expect(patch.code).toBe(0);
      const train = await run(['python3', 'train.py'], ref);
      expect({ code: train.code, stderr: train.code === 0 ? '' : train.stderr }).toEqual({ code: 0, stderr: '' });
      expect(train.seconds).toBeLessThan(60);
      const after = await score(task, ref);
      expect(Math.abs(after.raw - scoresOf(task).referenceScore)).toBeLessThanOrEqual(1e-9);
      expect(normalised(after.raw, task)).toBe(1);

      // The workspace as shipped, never run: no submission.csv.
      const untouched = join(root, task.id, 'untouched');
      materialize(task.workspace, untouched);
      expect(existsSync(join(untouched, 'submission.csv'))).toBe(false);
      const missing = await score(task, untouched);
      expect(missing.raw).toBe(0);
      expect(missing.ran.code).toBe(1);
      expect(missing.ran.stderr).toMatch(/submission\.csv is missing/);

      // Malformed submissions score 0, each with its reason; a perfect one scores 1.
      const labels = npyLabels(decodeFile(task.hidden['test_labels.npy']));
      const good = readFileSync(join(base, 'submission.csv'), 'utf8');
      const lines = good.trimEnd().split('\n');
      const cases: [string, string | Buffer, RegExp][] = [
        ['truncated', lines.slice(0, 101).join('\n') + '\n', /400 of the 500 test images have no prediction/],
        ['no header', lines.slice(1).join('\n') + '\n', /first line must be the header "id,label"/],
        ['duplicate id', [...lines, '3,1'].join('\n') + '\n', /id 3 is listed twice/],
        ['label out of range', lines.map((l, i) => (i === 5 ? '4,10' : l)).join('\n') + '\n', /label 10 is not a class/],
        ['not integers', lines.map((l, i) => (i === 2 ? '1,cat' : l)).join('\n') + '\n', /must be integers/],
        ['three fields', lines.map((l, i) => (i === 1 ? '0,1,0.9' : l)).join('\n') + '\n', /expected 2 fields/],
        ['empty', '', /is empty/],
        ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x81]), /cannot be read as UTF-8/],
      ];
      for (const [name, content, why] of cases) {
        const ws = join(root, task.id, `bad-${name.replace(/ /g, '-')}`);
        cpSync(base, ws, { recursive: true });
        writeFileSync(join(ws, 'submission.csv'), content);
        const { raw, ran } = await score(task, ws);
        expect({ name, raw, code: ran.code, why: why.test(ran.stderr) }).toEqual({ name, raw: 0, code: 1, why: true });
      }
      const perfect = join(root, task.id, 'perfect');
      cpSync(base, perfect, { recursive: true });
      // Shuffled rows, a CRLF file and a score.py / test_labels.npy of the agent's own: the hidden ones replace them.
      const rows = labels.map((y, i) => `${i},${y}`).reverse();
      writeFileSync(join(perfect, 'submission.csv'), ['id,label', ...rows].join('\r\n') + '\r\n');
      writeFileSync(join(perfect, 'score.py'), 'print(\'{"score": 7}\')\n');
      writeFileSync(join(perfect, 'test_labels.npy'), 'not labels');
      expect((await score(task, perfect)).raw).toBe(1);
      const fake = join(root, task.id, 'fake-scorer');
      cpSync(perfect, fake, { recursive: true });
      writeFileSync(join(fake, 'submission.csv'), ['id,label', ...labels.map((_, i) => `${i},0`)].join('\n') + '\n');
      const zeros = await score(task, fake);
      expect(zeros.raw).toBe(labels.filter((y) => y === 0).length / labels.length);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 180_000);
});
