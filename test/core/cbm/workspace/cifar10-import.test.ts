import { specProblems as problemsOf } from '../../../support/spec-problems';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR_TRAIN_PY, importCifar10, testSlices } from '../../../../core/cbm/workspace/cifar10-import';
import { decodeFile, loadTaskFamily, materialize, type WorkspaceTask } from '../../../../core/cbm/workspace/family';
import { normalised, rawScore } from '../../../../core/cbm/workspace/index';
import { fixtureTestLabel, writeCifarArchive } from '../../../support/cifar-archive';

let dir: string;
let archive: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cifar-import-'));
  archive = join(dir, 'cifar-10-python.tar.gz');
  writeCifarArchive(archive); // 5 × 10 training images, 40 test images
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** The data bytes of a uint8 .npy file, and its shape. */
function npy(bytes: Buffer): { shape: number[]; data: Buffer } {
  const len = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + len).toString('latin1');
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { shape, data: bytes.subarray(10 + len) };
}

const assetBytes = (out: string, t: WorkspaceTask, path: string) => readFileSync(join(out, 'assets', (t.assets ?? []).find((a) => a.path === path)?.sha256 ?? 'none'));

/** The original test-set index of each test image of a task (the fixture writes index i as red value i). */
const sliceOf = (out: string, t: WorkspaceTask): number[] => {
  const { shape, data } = npy(assetBytes(out, t, 'data/test_images.npy'));
  return Array.from({ length: shape[0] }, (_, k) => data[k * 32 * 32 * 3]);
};

describe('importCifar10', () => {
  test('writes a family the loader accepts: dev tasks first, each scored on its own slice of the test set (disjoint, covering every image), labels only in hidden assets', () => {
    const out = join(dir, 'family');
    const r = importCifar10({ archive, outDir: out, seed: 3, devTasks: 1, testTasks: 2 });
    expect(r).toMatchObject({ dev: ['cifar10-1'], test: ['cifar10-2', 'cifar10-3'], trainImages: 50, slices: [14, 13, 13], normalised: false });
    const f = loadTaskFamily(out);
    expect(f.dev.map((t) => t.id)).toEqual(['cifar10-1']);
    expect(f.test.map((t) => t.id)).toEqual(['cifar10-2', 'cifar10-3']);
    const tasks = [...f.dev, ...f.test];
    const slices = tasks.map((t) => sliceOf(out, t));
    expect(slices.map((s) => s.length)).toEqual([14, 13, 13]);
    expect(slices.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    for (const [k, t] of tasks.entries()) {
      expect(Object.keys(t.workspace)).toEqual(['train.py']);
      expect(Object.keys(t.hidden)).toEqual(['score.py']);
      expect(t.startingScore).toBeUndefined();
      expect(t.assets?.map((a) => [a.path, a.in])).toEqual([['data/train.npz', 'workspace'], ['data/test_images.npy', 'workspace'], ['test_labels.npy', 'hidden']]);
      for (const a of t.assets ?? []) expect(createHash('sha256').update(readFileSync(join(out, 'assets', a.sha256))).digest('hex')).toBe(a.sha256);
      const labels = npy(assetBytes(out, t, 'test_labels.npy'));
      expect([...labels.data]).toEqual(slices[k].map(fixtureTestLabel));
      // The labels are nowhere the agent sees: not in a workspace file, not in a workspace asset.
      const labelSha = (t.assets ?? []).find((a) => a.in === 'hidden')?.sha256;
      expect((t.assets ?? []).filter((a) => a.sha256 === labelSha).map((a) => a.in)).toEqual(['hidden']);
      expect(t.instructions).toContain(`${slices[k].length} test images`);
      expect(t.instructions).toContain('airplane, automobile, bird');
    }
    // One training set, shared by every task.
    expect(new Set(tasks.map((t) => t.assets?.[0].sha256)).size).toBe(1);
    expect(readdirSync(join(out, 'assets'))).toHaveLength(1 + 2 * tasks.length);
    // train.npz loads with numpy: channels last, labels as in the archive (training image j: red j, green 7, label j mod 10).
    const check = execFileSync('python3', ['-c', 'import numpy as np, sys; d = np.load(sys.argv[1]); i, l = d["images"], d["labels"]; print(i.shape, i.dtype, i[13, 0, 0].tolist(), l[:12].tolist())', join(out, 'assets', tasks[0].assets?.[0].sha256 ?? '')], { encoding: 'utf8' });
    expect(check.trim()).toBe('(50, 32, 32, 3) uint8 [13, 7, 0] [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]');
  });

  test('the split into slices is seeded: the same seed gives the same slices, another seed others', () => {
    expect(testSlices(40, 3, 3)).toEqual(testSlices(40, 3, 3));
    expect(testSlices(40, 3, 3)).not.toEqual(testSlices(40, 3, 4));
  });

  test("score.py prints the accuracy of submission.csv against the task's hidden labels (normalised with the scores given), and 0 for a missing one", () => {
    const out = join(dir, 'scored');
    importCifar10({ archive, outDir: out, seed: 1, devTasks: 1, testTasks: 1, startingScore: 0.2, referenceScore: 0.6 });
    const t = loadTaskFamily(out).test[0];
    expect(t).toMatchObject({ startingScore: 0.2, referenceScore: 0.6 });
    const slice = sliceOf(out, t);
    expect(slice).toHaveLength(20);
    const run = mkdtempSync(join(dir, 'run-'));
    materialize({ ...t.hidden, 'test_labels.npy': assetBytes(out, t, 'test_labels.npy') }, run);
    const score = () => {
      try {
        return rawScore(execFileSync('python3', ['score.py'], { cwd: run, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 0);
      } catch (e) {
        return rawScore(String((e as { stdout?: string }).stdout ?? ''), 1);
      }
    };
    expect(score()).toBe(0); // no submission.csv
    // 7 of the 20 right, the others off by one.
    const rows = slice.map((orig, i) => `${i},${i < 7 ? fixtureTestLabel(orig) : (fixtureTestLabel(orig) + 1) % 10}`);
    writeFileSync(join(run, 'submission.csv'), ['id,label', ...rows].join('\n') + '\n');
    expect(score()).toBeCloseTo(7 / 20, 10);
    expect(normalised(score(), t)).toBeCloseTo((0.35 - 0.2) / 0.4, 10);
  });

  test('train.py (PyTorch) is valid Python', () => {
    const out = join(dir, 'compile');
    importCifar10({ archive, outDir: out });
    const file = join(out, 'tasks', 'cifar10-1', 'workspace', 'train.py');
    expect(decodeFile(readFileSync(file, 'utf8')).toString()).toBe(CIFAR_TRAIN_PY);
    expect(() => execFileSync('python3', ['-m', 'py_compile', file], { stdio: 'pipe', env: { ...process.env, PYTHONPYCACHEPREFIX: join(dir, 'pycache') } })).not.toThrow();
  });

  test('a malformed archive is reported all at once, each problem naming the member, with the fix; nothing is written', () => {
    const bad = join(dir, 'bad.tar.gz');
    writeCifarArchive(bad, { omit: ['data_batch_3'], badShape: 'test_batch', badLabel: 'data_batch_1' });
    const out = join(dir, 'never');
    const problems = problemsOf(() => importCifar10({ archive: bad, outDir: out }));
    expect(problems).toEqual([
      expect.stringMatching(/bad\.tar\.gz: member cifar-10-batches-py\/data_batch_1: 1 label\(s\) outside 0-9 \(the first: labels\[1\] = 10\)\. Fix: .*cifar-10-python\.tar\.gz/),
      expect.stringMatching(/member cifar-10-batches-py\/data_batch_3 is missing\. Fix:/),
      expect.stringMatching(/member cifar-10-batches-py\/test_batch: "data" must be a uint8 array of shape \(n, 3072\), got uint8 \(40, 3071\)\. Fix:/),
    ]);
    expect(existsSync(out)).toBe(false);
  });

  test('an archive whose pickle would run code is refused without running it', () => {
    const evil = join(dir, 'evil.tar.gz');
    const marker = join(dir, 'pwned');
    execFileSync('python3', ['-c', String.raw`
import io, os, pickle, sys, tarfile
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with tarfile.open(sys.argv[1], "w:gz") as tar:
    data = pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2)
    info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
`, evil, marker]);
    const problems = problemsOf(() => importCifar10({ archive: evil, outDir: join(dir, 'never2') }));
    expect(problems[0]).toMatch(/data_batch_1 cannot be unpickled \(it refers to (posix|os)\.system, which a CIFAR-10 batch never does\)/);
    expect(problems.some((p) => /data_batch_2 is missing/.test(p))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  test('bad options are reported together with the archive, each with a fix', () => {
    const problems = problemsOf(() => importCifar10({ archive: join(dir, 'nope.tar.gz'), outDir: join(dir, 'x'), devTasks: 0, startingScore: 0.5 }));
    expect(problems).toEqual([
      expect.stringMatching(/^import cifar10: --dev-tasks 0 is not a whole number of at least 1\. Fix:/),
      expect.stringMatching(/^import cifar10: --starting-score and --reference-score go together .* Fix:/),
      expect.stringMatching(/nope\.tar\.gz: no such file\. Fix: pass the official python version of CIFAR-10/),
    ]);
    expect(problemsOf(() => importCifar10({ archive, outDir: join(dir, 'y'), startingScore: 0.6, referenceScore: 0.5 }))).toEqual([expect.stringMatching(/--reference-score 0\.5 is not above --starting-score 0\.6/)]);
    expect(problemsOf(() => importCifar10({ archive, outDir: join(dir, 'z'), devTasks: 20, testTasks: 21 }))).toEqual([expect.stringMatching(/41 tasks need at least as many test images, and the archive has 40/)]);
  });
});
