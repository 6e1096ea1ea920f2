import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readSplit, sha256File, stageDataset } from '../../../../core/cbm/dataset';
import { importCifar10 } from '../../../../core/cbm/workspace/cifar10-import';
import { loadTaskFamily, MAX_TASK_ASSET_BYTES, type WorkspaceTask } from '../../../../core/cbm/workspace/family';
import { prepareWorkspace, scoreWorkspace, workspaceKind } from '../../../../core/cbm/workspace/index';
import { CorruptRecordError } from '../../../../core/errors';
import { MemoryArtifactStore } from '../../../support/memory-store';
import { fixtureTestLabel, writeCifarArchive } from '../../../support/cifar-archive';
import { specProblems as problemsOf } from '../../../support/spec-problems';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ws-assets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, content: string | Buffer): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), content);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const SCORE = { command: ['python3', '-c', 'print(1)'], timeoutSeconds: 60 };
const TRAIN = Buffer.from('training data\0\xff');
const LABELS_DEV = Buffer.from('dev labels');
const LABELS_TEST = Buffer.from('test labels');
const IMAGES_TEST = Buffer.from('test images');

/** A family: dev task a and test task b share a workspace asset; each has hidden labels; b also a workspace asset of its own. */
function writeFamily(): void {
  write('family.json', JSON.stringify({ task: 'Classify.', source: 'tests' }));
  write('splits.json', JSON.stringify({ dev: ['a'], test: ['b'] }));
  const asset = (path: string, b: Buffer, place: string) => ({ path, sha256: sha(b), bytes: b.length, in: place });
  write('tasks/a/task.json', JSON.stringify({ instructions: 'x', score: SCORE, assets: [asset('data/train.bin', TRAIN, 'workspace'), asset('labels.bin', LABELS_DEV, 'hidden')] }));
  write('tasks/a/workspace/train.py', 'print(1)\n');
  write('tasks/b/task.json', JSON.stringify({ instructions: 'x', score: SCORE, assets: [asset('data/train.bin', TRAIN, 'workspace'), asset('data/test.bin', IMAGES_TEST, 'workspace'), asset('labels.bin', LABELS_TEST, 'hidden')] }));
  for (const b of [TRAIN, LABELS_DEV, LABELS_TEST, IMAGES_TEST]) write(`assets/${sha(b)}`, b);
}


/** Stages the family in a fresh in-memory store. */
async function staged(): Promise<{ store: MemoryArtifactStore; prefix: string }> {
  const store = new MemoryArtifactStore();
  const { prefix } = await stageDataset(store, 'cbm', 'workspace', workspaceKind.load(dir, { taskWallSeconds: 300, attempts: 1 }));
  return { store, prefix };
}

describe('workspace assets: loading', () => {
  test('a valid family loads with its assets listed (not in the file maps, not counted in MAX_TASK_BYTES)', () => {
    writeFamily();
    const f = loadTaskFamily(dir);
    expect(f.assetsDir).toBe(join(dir, 'assets'));
    expect(f.dev[0].assets).toEqual([
      { path: 'data/train.bin', sha256: sha(TRAIN), bytes: TRAIN.length, in: 'workspace' },
      { path: 'labels.bin', sha256: sha(LABELS_DEV), bytes: LABELS_DEV.length, in: 'hidden' },
    ]);
    expect(f.dev[0].workspace).toEqual({ 'train.py': 'print(1)\n' });
    expect(f.dev[0].hidden).toEqual({});
  });

  test('every asset problem is reported at once, naming task.json and the field, with a fix', () => {
    writeFamily();
    const t = (b: Buffer) => ({ sha256: sha(b), bytes: b.length });
    write('tasks/a/workspace/data/x.py', 'x\n');
    write('tasks/a/task.json', JSON.stringify({
      instructions: 'x',
      score: SCORE,
      assets: [
        { path: 'data/train.bin', ...t(TRAIN), in: 'workspace' },
        { path: 'data/train.bin', ...t(TRAIN), in: 'workspace' }, // listed twice
        { path: 'gone.bin', sha256: sha('never written'), bytes: 13, in: 'workspace' }, // content missing
        { path: 'short.bin', sha256: sha(LABELS_DEV), bytes: 99, in: 'hidden' }, // wrong size
        { path: '../escape', ...t(TRAIN), in: 'workspace' }, // unsafe path
        { path: 'train.py', ...t(TRAIN), in: 'workspace' }, // also a workspace file
        { path: 'data', ...t(TRAIN), in: 'hidden' }, // hidden over a workspace folder
      ],
    }));
    // b's test images were altered after import: the hash no longer matches.
    write(`assets/${sha(IMAGES_TEST)}`, Buffer.from('test imageZ'));
    const problems = problemsOf(() => loadTaskFamily(dir));
    const a = join(dir, 'tasks/a/task.json');
    const b = join(dir, 'tasks/b/task.json');
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^${a}: field "assets.1": workspace path "data/train.bin" is listed twice \\(first at assets.0\\)\\. Fix:`)),
      expect.stringMatching(new RegExp(`^${a}: field "assets.2": its content ${join(dir, 'assets', sha('never written'))} is missing\\. Fix: put the file's bytes at assets/`)),
      expect.stringMatching(new RegExp(`^${a}: field "assets.3": .* holds ${LABELS_DEV.length} bytes, not the 99 "bytes" says\\. Fix:`)),
      `${a}: field "assets.4": the path "../escape" has a ".." segment. Fix: give a path relative to the task's workspace, "/"-separated, without ".." or a leading "/" (e.g. "data/train.npy").`,
      expect.stringMatching(new RegExp(`^${a}: field "assets.5": "train.py" is also a file of the task's workspace/ folder\\. Fix:`)),
      expect.stringMatching(new RegExp(`^${a}: field "assets.6": cannot be overlaid: workspace/data is a folder\\. Fix:`)),
      expect.stringMatching(new RegExp(`^${b}: field "assets.1": .* has sha256 ${sha('test imageZ')}, not the ${sha(IMAGES_TEST)} its name and "sha256" say: it was altered\\. Fix:`)),
    ]);
  });

  test(`a task's assets may take at most MAX_TASK_ASSET_BYTES (${MAX_TASK_ASSET_BYTES}) together`, () => {
    writeFamily();
    const big = join(dir, 'big');
    writeFileSync(big, '');
    truncateSync(big, MAX_TASK_ASSET_BYTES - TRAIN.length + 1); // sparse: with train.bin, one byte too many
    const bigSha = sha256File(big);
    renameSync(big, join(dir, 'assets', bigSha));
    const json = JSON.parse(readFileSync(join(dir, 'tasks/a/task.json'), 'utf8'));
    json.assets[1] = { path: 'big.bin', sha256: bigSha, bytes: MAX_TASK_ASSET_BYTES - TRAIN.length + 1, in: 'hidden' };
    write('tasks/a/task.json', JSON.stringify(json));
    expect(problemsOf(() => loadTaskFamily(dir))).toEqual([expect.stringMatching(/tasks\/a\/task\.json: field "assets": they take 536870913 bytes, more than the 536870912 \(512 MiB, MAX_TASK_ASSET_BYTES\)/)]);
  });
});

describe('workspace assets: staging, preparing and scoring through the artifact store', () => {
  test('staging copies each asset once per area, content-addressed: every asset of a test task under assets/test/ (a TLA may not see test inputs either), dev tasks\' under assets/dev/', async () => {
    writeFamily();
    const { store, prefix } = await staged();
    expect(prefix).toMatch(/^datasets\/cbm\/[0-9a-f]{64}$/);
    const assetKeys = [...store.objects.keys()].filter((k) => k.includes('/assets/')).sort();
    // train.bin is in both splits' workspaces: staged in both areas
    expect(assetKeys).toEqual([`${prefix}/assets/dev/${sha(LABELS_DEV)}`, `${prefix}/assets/dev/${sha(TRAIN)}`, `${prefix}/assets/test/${sha(IMAGES_TEST)}`, `${prefix}/assets/test/${sha(TRAIN)}`, `${prefix}/assets/test/${sha(LABELS_TEST)}`].sort());
    expect(Buffer.from(store.objects.get(`${prefix}/assets/test/${sha(LABELS_TEST)}`) as Uint8Array).equals(LABELS_TEST)).toBe(true);
    // The split files carry the references only, never the contents.
    expect(new TextDecoder().decode(store.objects.get(`${prefix}/test.jsonl`))).not.toContain('test labels');
  });

  test('staging again after an interrupted upload uploads only what is missing', async () => {
    writeFamily();
    const { store, prefix } = await staged();
    store.objects.delete(`${prefix}/meta.json`);
    store.objects.delete(`${prefix}/assets/dev/${sha(TRAIN)}`);
    const puts: string[] = [];
    const put = store.putBytes.bind(store);
    store.putBytes = async (key, body) => {
      puts.push(key);
      return put(key, body);
    };
    await stageDataset(store, 'cbm', 'workspace', workspaceKind.load(dir, { taskWallSeconds: 300, attempts: 1 }));
    expect(puts.filter((k) => k.includes('/assets/'))).toEqual([`${prefix}/assets/dev/${sha(TRAIN)}`]);
    expect(puts).toContain(`${prefix}/meta.json`);
  });

  test("preparing a staged task writes its workspace files and verified workspace assets, never its hidden ones; a test task's come from assets/test/, and a TLA's dev tasks never touch it", async () => {
    writeFamily();
    const { store, prefix } = await staged();
    const get = store.getBytes.bind(store);
    const fetched: string[] = [];
    store.getBytes = async (key) => {
      fetched.push(key);
      return get(key);
    };
    const [b] = await readSplit(store, prefix, 'test', workspaceKind);
    const ws = join(dir, 'ws-b');
    await prepareWorkspace(b, ws);
    expect(readFileSync(join(ws, 'data/train.bin')).equals(TRAIN)).toBe(true);
    expect(readFileSync(join(ws, 'data/test.bin')).equals(IMAGES_TEST)).toBe(true);
    expect(existsSync(join(ws, 'labels.bin'))).toBe(false);
    expect(fetched.filter((k) => k.includes('/assets/')).sort()).toEqual([`${prefix}/assets/test/${sha(IMAGES_TEST)}`, `${prefix}/assets/test/${sha(TRAIN)}`].sort());
    // A TLA job: dev tasks prepared and scored (their hidden assets overlaid) with assets/test/ denied.
    store.getBytes = async (key) => {
      if (key.includes('/assets/test/')) throw new Error(`AccessDenied: ${key}`);
      return get(key);
    };
    const [a] = await readSplit(store, prefix, 'dev', workspaceKind);
    const wsA = join(dir, 'ws-a');
    await workspaceKind.perTask?.prepare(a, wsA);
    expect(readFileSync(join(wsA, 'data/train.bin')).equals(TRAIN)).toBe(true);
    // (the task object as read: the kind fetches from where readSplit read it)
    a.score = { command: ['python3', '-c', 'import sys; sys.exit(0 if open("labels.bin").read() == "dev labels" else 1)'], timeoutSeconds: 30 };
    await expect(scoreWorkspace(a, wsA)).resolves.toBe(1);
  });

  test('a stored asset altered or missing fails preparing and scoring as an infrastructure error naming its key, never a score', async () => {
    writeFamily();
    const { store, prefix } = await staged();
    const [b] = await readSplit(store, prefix, 'test', workspaceKind);
    const trainKey = `${prefix}/assets/test/${sha(TRAIN)}`;
    store.objects.set(trainKey, Buffer.from('training dataX\xff'));
    const err = await prepareWorkspace(b, join(dir, 'ws')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as Error).message).toMatch(new RegExp(`^mem://${trainKey}: holds \\d+ bytes with sha256 [0-9a-f]{64}, not the ${TRAIN.length} bytes with sha256 ${sha(TRAIN)}`));
    store.objects.delete(trainKey);
    await expect(prepareWorkspace(b, join(dir, 'ws2'))).rejects.toThrow(`mem://${trainKey} is missing`);
    const labelsKey = `${prefix}/assets/test/${sha(LABELS_TEST)}`;
    store.objects.set(labelsKey, Buffer.from('test labelz'));
    mkdirSync(join(dir, 'final'));
    await expect(scoreWorkspace(b, join(dir, 'final'))).rejects.toThrow(new RegExp(`^mem://${labelsKey}: holds`));
  });

  test('a task with assets that was not read from a staged data set cannot be prepared (nowhere to fetch them)', async () => {
    writeFamily();
    const [a] = loadTaskFamily(dir).dev;
    await expect(prepareWorkspace(a, join(dir, 'ws'))).rejects.toThrow(/task a lists workspace assets, but it was not read from a staged data set/);
  });

  test("CIFAR-10 end to end: staged, prepared and scored with the hidden labels asset, which replaces a forged one the agent left", async () => {
    const archive = join(dir, 'c.tar.gz');
    writeCifarArchive(archive);
    const fam = join(dir, 'cifar');
    importCifar10({ archive, outDir: fam, devTasks: 1, testTasks: 1, startingScore: 0.1, referenceScore: 0.5 });
    const store = new MemoryArtifactStore();
    const { prefix } = await stageDataset(store, 'cifar10', 'workspace', workspaceKind.load(fam, { taskWallSeconds: 300, attempts: 1 }));
    const [t]: WorkspaceTask[] = await readSplit(store, prefix, 'test', workspaceKind);
    const ws = join(dir, 'ws');
    await prepareWorkspace(t, ws);
    const images = readFileSync(join(ws, 'data/test_images.npy'));
    const n = 20;
    const offset = images.length - n * 32 * 32 * 3;
    const originals = Array.from({ length: n }, (_, k) => images[offset + k * 32 * 32 * 3]);
    // 9 of 20 right; and a forged label file claiming every prediction right.
    const predictions = originals.map((o, i) => (i < 9 ? fixtureTestLabel(o) : (fixtureTestLabel(o) + 5) % 10));
    writeFileSync(join(ws, 'submission.csv'), ['id,label', ...predictions.map((p, i) => `${i},${p}`)].join('\n') + '\n');
    writeFileSync(join(ws, 'test_labels.npy'), readFileSync(join(ws, 'data/test_images.npy')).subarray(0, 0));
    expect(existsSync(join(ws, 'score.py'))).toBe(false);
    expect(await scoreWorkspace(t, ws)).toBeCloseTo((9 / 20 - 0.1) / 0.4, 10);
  });
});
