/**
 * `uplift import cifar10`: MLAgentBench's CIFAR-10 task as a workspace task family
 * (docs/cbm-cifar10.md). Reads the official python archive (`cifar-10-python.tar.gz`, which the
 * user downloads; Uplift never does), and writes one task per disjoint slice of the 10,000 test
 * images: the workspace holds a PyTorch `train.py` (the MLAgentBench baseline's shape: a small CNN,
 * a few epochs, CUDA when available, writes `submission.csv`), the training set and the slice's
 * test images as assets; the hidden files are the slice's labels (an asset) and `score.py`, which
 * prints the accuracy of `submission.csv`. The data files and the scorer have the shapes of
 * `examples/datasets/tiny-images`, its CPU analogue (the same `.npy`/`.npz` writers and `score.py`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npyBytes, npzBytes, SCORE_PY } from './accuracy-task';
import { SpecError } from '../../errors';
import { seededShuffle } from '../../scoring/sampling';
import type { WorkspaceAsset, WorkspaceTaskJson } from './family';

/** Side of a CIFAR-10 image, in pixels. */
export const CIFAR_SIDE = 32;
/** Values per image in the archive's `data` rows: 3 colour planes of 32×32. */
export const CIFAR_ROW = 3 * CIFAR_SIDE * CIFAR_SIDE;
/** The archive members read, under its `cifar-10-batches-py/` folder. */
export const CIFAR_MEMBERS = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch', 'batches.meta'] as const;
/** The score command's time limit (score.py reads a few thousand lines). */
export const CIFAR_SCORE_TIMEOUT_SECONDS = 120;

export const CIFAR_TASK =
  "Improve a PyTorch image classifier's test accuracy on CIFAR-10 (32x32 RGB photos, 10 classes) by at least 10% over the baseline train.py, as in MLAgentBench's cifar10 task; each task is scored on its own hidden slice of the official test set.";

const ARCHIVE_FIX = 'pass the official python version of CIFAR-10, cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar-10.html, as downloaded (do not unpack or repack it)';

export interface Cifar10ImportOptions {
  /** The official `cifar-10-python.tar.gz`. */
  archive: string;
  outDir: string;
  /** Seed of the split of the test images into task slices. @default 1 */
  seed?: number;
  /** @default 1 */
  devTasks?: number;
  /** @default 4 */
  testTasks?: number;
  /** Raw accuracy of the baseline train.py and of a reference solution: when given (both), scores are normalised between them. */
  startingScore?: number;
  referenceScore?: number;
}

export interface Cifar10ImportResult {
  outDir: string;
  dev: string[];
  test: string[];
  trainImages: number;
  /** Test images per task, in task order (dev first). */
  slices: number[];
  labelNames: string[];
  /** Bytes of the distinct asset files written to `<outDir>/assets/`. */
  assetBytes: number;
  normalised: boolean;
}

/**
 * Reads the archive with Python's tarfile and a restricted unpickler (only numpy's array
 * reconstruction may be loaded, so a doctored archive cannot run code), checks every member, and
 * writes the arrays raw (images channels last) into the output folder. Prints
 * {"problems": [...], "train": n, "test": n, "labelNames": [...]} on stdout.
 */
const READ_PY = String.raw`
import io, json, pickle, sys, tarfile
import numpy as np

archive, out = sys.argv[1], sys.argv[2]
ROW = ${CIFAR_ROW}
problems = []

class Restricted(pickle.Unpickler):
    # numpy's array reconstruction, and _codecs.encode (how Python 3 writes bytes at protocol 2): nothing that runs code.
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError("it refers to %s.%s, which a CIFAR-10 batch never does" % (module, name))
        return super().find_class(module, name)

def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v

def field(d, name):
    for k in (name, name.encode()):
        if k in d:
            return d[k]
    return None

def load(tar, member):
    where = "member cifar-10-batches-py/%s" % member
    try:
        f = tar.extractfile("cifar-10-batches-py/" + member)
    except KeyError:
        problems.append("%s is missing" % where)
        return None
    if f is None:
        problems.append("%s is not a regular file" % where)
        return None
    try:
        d = Restricted(io.BytesIO(f.read()), encoding="bytes").load()
    except Exception as e:
        problems.append("%s cannot be unpickled (%s)" % (where, e))
        return None
    if not isinstance(d, dict):
        problems.append("%s holds a %s, not a dict" % (where, type(d).__name__))
        return None
    return d

def batch(tar, member):
    d = load(tar, member)
    if d is None:
        return None
    where = "member cifar-10-batches-py/%s" % member
    data, labels, bad = field(d, "data"), field(d, "labels"), False
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW:
        desc = "%s %s" % (data.dtype, data.shape) if isinstance(data, np.ndarray) else ("missing" if data is None else type(data).__name__)
        problems.append("%s: \"data\" must be a uint8 array of shape (n, %d), got %s" % (where, ROW, desc))
        bad = True
    if not isinstance(labels, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in labels):
        problems.append("%s: \"labels\" must be a list of integers, got %s" % (where, "nothing" if labels is None else type(labels).__name__))
        return None
    outside = [i for i, y in enumerate(labels) if not 0 <= y <= 9]
    if outside:
        problems.append("%s: %d label(s) outside 0-9 (the first: labels[%d] = %d)" % (where, len(outside), outside[0], labels[outside[0]]))
        bad = True
    if not bad and len(labels) != data.shape[0]:
        problems.append("%s: %d labels for %d images" % (where, len(labels), data.shape[0]))
        bad = True
    if bad:
        return None
    if data.shape[0] == 0:
        problems.append("%s holds no images" % where)
        return None
    return data, np.array(labels, dtype=np.uint8)

def channels_last(data):
    return np.ascontiguousarray(data.reshape(-1, 3, ${CIFAR_SIDE}, ${CIFAR_SIDE}).transpose(0, 2, 3, 1))

result = {"problems": problems}
try:
    tar = tarfile.open(archive, "r:*")
except Exception as e:
    problems.append("not a tar archive (%s)" % e)
    print(json.dumps(result))
    sys.exit(0)
with tar:
    train = [batch(tar, "data_batch_%d" % i) for i in range(1, 6)]
    test = batch(tar, "test_batch")
    meta = load(tar, "batches.meta")
names = None
if meta is not None:
    names = field(meta, "label_names")
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        problems.append("member cifar-10-batches-py/batches.meta: \"label_names\" must be a list of 10 class names")
        names = None
if not problems:
    images = channels_last(np.concatenate([b[0] for b in train]))
    labels = np.concatenate([b[1] for b in train])
    images.tofile(out + "/train_images.u8")
    labels.tofile(out + "/train_labels.u8")
    channels_last(test[0]).tofile(out + "/test_images.u8")
    test[1].tofile(out + "/test_labels.u8")
    result.update(train=int(labels.shape[0]), test=int(test[1].shape[0]), labelNames=[text(n) for n in names])
print(json.dumps(result))
`;

/** The arrays of the archive: images channels last (n × 32 × 32 × 3, uint8), labels 0–9. */
interface CifarArrays {
  trainImages: Buffer;
  trainLabels: Buffer;
  testImages: Buffer;
  testLabels: Buffer;
  labelNames: string[];
}

/** Reads and checks the archive (every problem at once, as one SpecError naming the archive and member, with the fix). */
export function readCifarArchive(archive: string): CifarArrays {
  if (!existsSync(archive)) throw new SpecError([`${archive}: no such file. Fix: ${ARCHIVE_FIX}.`]);
  if (!lstatSync(archive).isFile()) throw new SpecError([`${archive}: not a regular file. Fix: ${ARCHIVE_FIX}.`]);
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-cifar-'));
  try {
    let stdout: string;
    try {
      stdout = execFileSync('python3', ['-c', READ_PY, archive, tmp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new SpecError([`${archive}: python3 could not read it (${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}). Fix: install python3 and numpy (apt-get install -y python3-numpy; .ci/run does), then import again.`]);
    }
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { problems: string[]; train?: number; test?: number; labelNames?: string[] };
    if (r.problems.length) throw new SpecError(r.problems.map((p) => `${archive}: ${p}. Fix: ${ARCHIVE_FIX}.`));
    return {
      trainImages: readFileSync(join(tmp, 'train_images.u8')),
      trainLabels: readFileSync(join(tmp, 'train_labels.u8')),
      testImages: readFileSync(join(tmp, 'test_images.u8')),
      testLabels: readFileSync(join(tmp, 'test_labels.u8')),
      labelNames: r.labelNames ?? [],
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The test images split into `parts` disjoint slices covering all `n` (a seeded shuffle, then
 * consecutive runs; the first n mod parts slices get one image more), each slice in ascending order.
 */
export function testSlices(n: number, parts: number, seed: number): number[][] {
  const order = seededShuffle(
    Array.from({ length: n }, (_, i) => i),
    seed,
  );
  const base = Math.floor(n / parts);
  const out: number[][] = [];
  let at = 0;
  for (let k = 0; k < parts; k++) {
    const size = base + (k < n % parts ? 1 : 0);
    out.push(order.slice(at, at + size).sort((a, b) => a - b));
    at += size;
  }
  return out;
}

/** The baseline (MLAgentBench's shape: a LeNet-style CNN, SGD with momentum, 5 epochs; written for this project). */
export const CIFAR_TRAIN_PY = String.raw`"""Baseline for the CIFAR-10 task: a small convolutional network trained for a few epochs.

Reads data/train.npz ("images": N x 32 x 32 x 3 uint8 RGB, channels last; "labels": N integers
0-9) and data/test_images.npy (the test images, same format; their labels are hidden). Trains on
the GPU when there is one, prints the accuracy on training images it holds out after each epoch,
and writes submission.csv: a header line "id,label", then one line per test image: its index
(0 to M-1) and its predicted label.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
np.random.seed(0)
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def to_tensor(images):
    """uint8 images (N, 32, 32, 3) -> float tensor (N, 3, 32, 32) scaled to [-1, 1]."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
    return (x - 0.5) / 0.5


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def predict(model, x, batch_size=1000):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size].to(device)).argmax(1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def main():
    data = np.load("data/train.npz")
    images, labels = data["images"], data["labels"].astype(np.int64)
    order = np.random.permutation(len(labels))
    held = order[:min(5000, len(labels) // 10)]
    train = order[len(held):]
    x_train, y_train = to_tensor(images[train]), torch.from_numpy(labels[train])
    x_val, y_val = to_tensor(images[held]), torch.from_numpy(labels[held])

    model = Net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batch_size = 128
    epochs = 5
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(y_train))
        losses = []
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        val = (predict(model, x_val) == y_val).float().mean().item() if len(held) else float("nan")
        print("epoch %d: train loss %.4f, held-out accuracy %.4f" % (epoch + 1, float(np.mean(losses)), val))

    predictions = predict(model, to_tensor(np.load("data/test_images.npy")))
    with open("submission.csv", "w") as f:
        f.write("id,label\n")
        for i, label in enumerate(predictions.tolist()):
            f.write("%d,%d\n" % (i, label))


if __name__ == "__main__":
    main()
`;

/** What the agent is asked (MLAgentBench's research problem, then the data, the baseline, the rules and what is scored). */
export function cifarInstructions(o: { trainImages: number; testImages: number; labelNames: readonly string[] }): string {
  return `# Improve a CIFAR-10 image classifier (MLAgentBench's cifar10 task)

Given a training script on a dataset, \`train.py\`, improve upon the current model performance (trained with the current hyperparameters in \`train.py\`) by more than 10%: a test accuracy at least 1.1 times the baseline's. Save the per-image predictions for the test set to \`submission.csv\` as shown in \`train.py\`.

**Data.** \`data/train.npz\` holds \`images\` (${o.trainImages} × 32 × 32 × 3, uint8 RGB, channels last) and \`labels\` (${o.trainImages} integers 0–9): the CIFAR-10 training set. The classes, in label order: ${o.labelNames.join(', ')}. \`data/test_images.npy\` holds ${o.testImages} test images (same format), a slice of the CIFAR-10 test set; their labels are hidden.

**Baseline.** \`python3 train.py\` trains a small convolutional network (PyTorch; on the GPU when there is one) for 5 epochs, prints its accuracy on training images it holds out, and writes \`submission.csv\`: a header line \`id,label\`, then one line per test image, its index (0–${o.testImages - 1}) and predicted label.

**Rules.** Use PyTorch, numpy and the Python standard library; nothing can be downloaded (no network), so no pretrained weights. Training must finish within your time limit. Do not edit the data files.

**Scoring.** Only \`submission.csv\` in the current directory is scored, after you finish: its accuracy on the hidden test labels. So run your final training script and leave its \`submission.csv\` here, with a prediction for every one of the ${o.testImages} test images; a missing or malformed file scores 0.
`;
}

function optionProblems(o: Cifar10ImportOptions): string[] {
  const problems: string[] = [];
  const p = (s: string) => problems.push(`import cifar10: ${s}`);
  if (!o.outDir) p('no output directory. Fix: give --out <dir>.');
  else if (existsSync(o.outDir) && !lstatSync(o.outDir).isDirectory()) p(`${o.outDir} exists and is not a directory. Fix: choose a new --out directory.`);
  else if ((existsSync(join(o.outDir, 'tasks')) || existsSync(join(o.outDir, 'assets'))) && !existsSync(join(o.outDir, 'family.json')))
    p(`${o.outDir} holds tasks/ or assets/ but no family.json. Fix: choose an empty or new --out directory (a previous import's tasks/ and assets/ are replaced, other folders are never touched).`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) p(`--seed ${o.seed} is not a whole number. Fix: e.g. --seed 1.`);
  for (const [flag, v] of [['--dev-tasks', o.devTasks], ['--test-tasks', o.testTasks]] as const)
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) p(`${flag} ${v} is not a whole number of at least 1. Fix: e.g. ${flag} ${flag === '--dev-tasks' ? 1 : 4}.`);
  const { startingScore: s, referenceScore: r } = o;
  if ((s === undefined) !== (r === undefined)) p(`--starting-score and --reference-score go together (scores are normalised between them). Fix: give both, or neither to score raw accuracy.`);
  for (const [flag, v] of [['--starting-score', s], ['--reference-score', r]] as const)
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1)) p(`${flag} ${v} is not an accuracy between 0 and 1. Fix: give the measured accuracy, e.g. 0.52 (docs/cbm-cifar10.md).`);
  if (s !== undefined && r !== undefined && Number.isFinite(s) && Number.isFinite(r) && !(r > s)) p(`--reference-score ${r} is not above --starting-score ${s}. Fix: give the reference solution's accuracy, above the baseline's (e.g. 1.1 × it, MLAgentBench's target).`);
  return problems;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Imports the CIFAR-10 python archive as a workspace task family in `outDir` (see the module
 * comment): `--dev-tasks` + `--test-tasks` tasks (dev first), each scored on its own slice of the
 * test images ({@link testSlices}, seeded), so dev and test tasks never share a test image.
 * Replaces a previous import's tasks/ and assets/. Throws SpecError listing every problem (options
 * and archive) and writes nothing when anything is wrong.
 */
export function importCifar10(opts: Cifar10ImportOptions): Cifar10ImportResult {
  const problems = optionProblems(opts);
  let arrays: CifarArrays | undefined;
  try {
    arrays = readCifarArchive(opts.archive);
  } catch (e) {
    if (e instanceof SpecError) problems.push(...e.problems);
    else throw e;
  }
  const devTasks = opts.devTasks ?? 1;
  const testTasks = opts.testTasks ?? 4;
  const nTest = arrays?.testLabels.length ?? 0;
  if (arrays && devTasks + testTasks > nTest) problems.push(`import cifar10: ${devTasks + testTasks} tasks need at least as many test images, and the archive has ${nTest}. Fix: lower --dev-tasks / --test-tasks.`);
  if (problems.length || !arrays) throw new SpecError(problems);

  const slices = testSlices(nTest, devTasks + testTasks, opts.seed ?? 1);
  const ids = slices.map((_, k) => `cifar10-${k + 1}`);
  const nTrain = arrays.trainLabels.length;
  const pixels = CIFAR_ROW;
  const assetFiles = new Map<string, Buffer>();
  const asset = (path: string, bytes: Buffer, place: WorkspaceAsset['in']): WorkspaceAsset => {
    const sha = sha256(bytes);
    assetFiles.set(sha, bytes);
    return { path, sha256: sha, bytes: bytes.length, in: place };
  };
  const train = asset(
    'data/train.npz',
    npzBytes([
      { name: 'images.npy', data: npyBytes(arrays.trainImages, [nTrain, CIFAR_SIDE, CIFAR_SIDE, 3]) },
      { name: 'labels.npy', data: npyBytes(arrays.trainLabels, [nTrain]) },
    ]),
    'workspace',
  );
  const testImages = arrays.testImages;
  const testLabels = arrays.testLabels;
  const tasks = slices.map((slice) => {
    const images = Buffer.alloc(slice.length * pixels);
    slice.forEach((src, i) => testImages.copy(images, i * pixels, src * pixels, (src + 1) * pixels));
    const labels = Buffer.from(slice.map((i) => testLabels[i]));
    const json: WorkspaceTaskJson = {
      instructions: cifarInstructions({ trainImages: nTrain, testImages: slice.length, labelNames: arrays.labelNames }),
      score: { command: ['python3', 'score.py'], timeoutSeconds: CIFAR_SCORE_TIMEOUT_SECONDS },
      ...(opts.startingScore !== undefined && opts.referenceScore !== undefined ? { startingScore: opts.startingScore, referenceScore: opts.referenceScore } : {}),
      assets: [train, asset('data/test_images.npy', npyBytes(images, [slice.length, CIFAR_SIDE, CIFAR_SIDE, 3]), 'workspace'), asset('test_labels.npy', npyBytes(labels, [slice.length]), 'hidden')],
    };
    return json;
  });

  for (const sub of ['tasks', 'assets']) rmSync(join(opts.outDir, sub), { recursive: true, force: true });
  const write = (rel: string, content: string | Buffer) => {
    const path = join(opts.outDir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  };
  let assetBytes = 0;
  for (const [sha, bytes] of assetFiles) {
    write(`assets/${sha}`, bytes);
    assetBytes += bytes.length;
  }
  tasks.forEach((json, k) => {
    write(`tasks/${ids[k]}/task.json`, JSON.stringify(json, null, 2) + '\n');
    write(`tasks/${ids[k]}/workspace/train.py`, CIFAR_TRAIN_PY);
    write(`tasks/${ids[k]}/hidden/score.py`, SCORE_PY);
  });
  const dev = ids.slice(0, devTasks);
  const test = ids.slice(devTasks);
  const archiveName = opts.archive.split(/[\\/]/).pop();
  write('family.json', JSON.stringify({ task: CIFAR_TASK, source: `CIFAR-10 (Krizhevsky, 2009), imported from ${archiveName} (uplift import cifar10, seed ${opts.seed ?? 1}); the task follows MLAgentBench's cifar10 (Huang et al., 2023); train.py and score.py written by the Uplift project` }, null, 2) + '\n');
  write('splits.json', JSON.stringify({ dev, test }, null, 2) + '\n');
  return { outDir: opts.outDir, dev, test, trainImages: nTrain, slices: slices.map((s) => s.length), labelNames: arrays.labelNames, assetBytes, normalised: opts.startingScore !== undefined };
}
