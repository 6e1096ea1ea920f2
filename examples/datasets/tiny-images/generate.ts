/**
 * Generator of the `tiny-images` data set: a `workspace` task family (docs/cbm-workspace.md) in the
 * style of MLAgentBench's CIFAR-10 task, small enough for 2 CPU cores. Each task is a synthetic
 * image-classification data set written by this project — 12×12 RGB images of 10 classes, each
 * class a procedural pattern (stripes, rings, crosses, …) at a random position, scale and colour,
 * plus noise — with a numpy-only baseline `train.py` (softmax regression on the pixels) that writes
 * `submission.csv`; the hidden test labels and `score.py` measure its accuracy.
 *
 * Deterministic: images come from a seeded PRNG (mulberry32, Box–Muller noise) in this file and are
 * written as `.npy` / stored (uncompressed) `.npz` bytes by hand, so they are the same on every
 * machine. `startingScore` and `referenceScore` are measured by running the baseline `train.py` and
 * the reference solution (`reference.patch`) with `python3` (numpy, fixed seeds) and scoring them.
 *
 * `npx tsx examples/datasets/tiny-images/generate.ts` rewrites family.json, splits.json and tasks/
 * byte for byte (test/examples/tiny-images.test.ts checks it, and runs one task end to end).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unifiedDiff } from '../mini-swe/generate';
import { npyBytes, npzBytes, SCORE_PY } from '../../../core/cbm/workspace/accuracy-task';

// -------------------------------------------------------------------------------------------
// Random numbers
// -------------------------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): uniform floats in [0, 1) and standard normals (Box–Muller). */
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform(); // (0, 1]: log is finite
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

// -------------------------------------------------------------------------------------------
// Images
// -------------------------------------------------------------------------------------------

/** Image side in pixels (images are SIDE × SIDE × 3, uint8, channels last like CIFAR-10 in numpy). */
export const SIDE = 12;
const PIXELS = SIDE * SIDE;

/** Foreground intensity (0 … 1) of a pattern at pixel (x, y); `p` holds the pattern's random parameters. */
type Mask = (x: number, y: number, p: PatternParams) => number;

interface PatternParams {
  /** Centre. */
  cx: number;
  cy: number;
  /** Stripe period (pixels) and phase (radians); second phase for 2-D patterns. */
  period: number;
  phase: number;
  phase2: number;
  /** Size: radius / half-width (pixels). */
  size: number;
  /** Line half-thickness (pixels). */
  width: number;
}

const TAU = 2 * Math.PI;
const bump = (d: number, w: number) => Math.exp(-(d * d) / (w * w));
const wave = (t: number) => 0.5 + 0.5 * Math.cos(t);
const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

/** The pattern library: each task's 10 classes are 10 of these. */
export const PATTERNS = {
  hstripes: (_x, y, p) => wave((TAU * y) / p.period + p.phase),
  vstripes: (x, _y, p) => wave((TAU * x) / p.period + p.phase),
  dstripes: (x, y, p) => wave((TAU * (x + y)) / (p.period * Math.SQRT2) + p.phase),
  astripes: (x, y, p) => wave((TAU * (x - y)) / (p.period * Math.SQRT2) + p.phase),
  checker: (x, y, p) => sigmoid(6 * Math.cos((TAU * x) / p.period + p.phase) * Math.cos((TAU * y) / p.period + p.phase2)),
  ring: (x, y, p) => bump(Math.hypot(x - p.cx, y - p.cy) - p.size, p.width),
  disk: (x, y, p) => sigmoid(3 * (p.size - Math.hypot(x - p.cx, y - p.cy))),
  plus: (x, y, p) => Math.max(bump(x - p.cx, p.width), bump(y - p.cy, p.width)) * sigmoid(3 * (p.size + 2 - Math.max(Math.abs(x - p.cx), Math.abs(y - p.cy)))),
  cross: (x, y, p) =>
    Math.max(bump((x - p.cx - (y - p.cy)) / Math.SQRT2, p.width), bump((x - p.cx + (y - p.cy)) / Math.SQRT2, p.width)) *
    sigmoid(3 * (p.size + 2 - Math.max(Math.abs(x - p.cx), Math.abs(y - p.cy)))),
  frame: (x, y, p) => bump(Math.max(Math.abs(x - p.cx), Math.abs(y - p.cy)) - p.size, p.width),
  square: (x, y, p) => sigmoid(3 * (p.size - Math.max(Math.abs(x - p.cx), Math.abs(y - p.cy)))),
  dots: (x, y, p) => bump(Math.hypot(((x - p.cx + 100 * p.period) % p.period) - p.period / 2, ((y - p.cy + 100 * p.period) % p.period) - p.period / 2), 0.9),
  hbar: (x, y, p) => bump(y - p.cy, p.width + 0.6) * sigmoid(3 * (p.size + 1.5 - Math.abs(x - p.cx))),
  vbar: (x, y, p) => bump(x - p.cx, p.width + 0.6) * sigmoid(3 * (p.size + 1.5 - Math.abs(y - p.cy))),
  corner: (x, y, p) => Math.max(bump(x - p.cx + p.size / 2, p.width) * (y >= p.cy - p.size / 2 - 0.5 && y <= p.cy + p.size ? 1 : 0), bump(y - p.cy - p.size, p.width) * (x >= p.cx - p.size / 2 - 0.5 && x <= p.cx + p.size ? 1 : 0)),
  grid: (x, y, p) => {
    const g = Math.max(wave((TAU * x) / p.period + p.phase), wave((TAU * y) / p.period + p.phase2));
    return g * g * g * g;
  },
} satisfies Record<string, Mask>;
export type PatternName = keyof typeof PATTERNS;

/** One task's data set definition. */
export interface TinyImagesSpec {
  /** Task id. */
  id: string;
  split: 'dev' | 'test';
  seed: number;
  /** The 10 classes, in label order (label i is classes[i]). */
  classes: PatternName[];
  /** Standard deviation of the per-pixel Gaussian noise (intensities in [0, 1]). */
  noise: number;
  /** Spread of a class's foreground colour around its own base colour (0: every image of the class has the base colour). */
  colorJitter: number;
  /** How far the pattern's centre may stray from the image centre (pixels, each axis). */
  shift: number;
  train: number;
  test: number;
}

/** A colour in [0, 1]³. */
type Rgb = [number, number, number];

/** The class base colours: 10 hues around the colour wheel at a seeded offset, in a seeded order. */
function baseColors(rng: Rng): Rgb[] {
  const offset = rng.uniform();
  const hues = Array.from({ length: 10 }, (_, i) => (offset + i / 10) % 1);
  for (let i = hues.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [hues[i], hues[j]] = [hues[j], hues[i]];
  }
  return hues.map((h) => hsv(h, 0.75, 0.9));
}

function hsv(h: number, s: number, v: number): Rgb {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

const clip01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** `n` images (n × SIDE × SIDE × 3 bytes) and their labels (balanced: label i % 10, then shuffled). */
export function makeImages(spec: TinyImagesSpec, bases: Rgb[], n: number, rng: Rng): { images: Uint8Array; labels: Uint8Array } {
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 10;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const images = new Uint8Array(n * PIXELS * 3);
  const mid = (SIDE - 1) / 2;
  for (let i = 0; i < n; i++) {
    const mask: Mask = PATTERNS[spec.classes[labels[i]]];
    const p: PatternParams = {
      cx: mid + rng.between(-spec.shift, spec.shift),
      cy: mid + rng.between(-spec.shift, spec.shift),
      period: rng.between(3, 5.5),
      phase: rng.between(0, TAU),
      phase2: rng.between(0, TAU),
      size: rng.between(2, 4),
      width: rng.between(0.6, 1.1),
    };
    const base = bases[labels[i]];
    const fg = base.map((c) => clip01(c + spec.colorJitter * rng.normal())) as Rgb;
    const bgLevel = rng.between(0, 0.5);
    const bg = [0, 1, 2].map(() => clip01(bgLevel + 0.15 * rng.normal())) as Rgb;
    const flip = rng.uniform() < 0.5; // dark pattern on a light background, or the reverse
    const [a, b] = flip ? [bg.map((c) => 1 - c) as Rgb, fg.map((c) => c * 0.6) as Rgb] : [bg, fg];
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const m = mask(x, y, p);
        for (let c = 0; c < 3; c++) {
          const v = a[c] * (1 - m) + b[c] * m + spec.noise * rng.normal();
          images[((i * SIDE + y) * SIDE + x) * 3 + c] = Math.round(clip01(v) * 255);
        }
      }
    }
  }
  return { images, labels };
}

/** A task's data: train images and labels, test images and (hidden) labels. */
export function makeData(spec: TinyImagesSpec): { trainImages: Uint8Array; trainLabels: Uint8Array; testImages: Uint8Array; testLabels: Uint8Array } {
  const rng = new Rng(spec.seed);
  const bases = baseColors(rng);
  const train = makeImages(spec, bases, spec.train, rng);
  const test = makeImages(spec, bases, spec.test, rng);
  return { trainImages: train.images, trainLabels: train.labels, testImages: test.images, testLabels: test.labels };
}

// -------------------------------------------------------------------------------------------
// Tasks
// -------------------------------------------------------------------------------------------

/** Images per task: training (with labels) and test (labels hidden). */
export const TRAIN_IMAGES = 2000;
export const TEST_IMAGES = 500;

/** The tasks: 1 dev, 2 test, each its own seed, classes and difficulty. */
export const SPECS: TinyImagesSpec[] = [
  {
    id: 'tiny-images-1',
    split: 'dev',
    seed: 1,
    classes: ['hstripes', 'vstripes', 'dstripes', 'astripes', 'checker', 'ring', 'disk', 'plus', 'cross', 'frame'],
    noise: 0.15,
    colorJitter: 0.25,
    shift: 2,
    train: TRAIN_IMAGES,
    test: TEST_IMAGES,
  },
  {
    id: 'tiny-images-2',
    split: 'test',
    seed: 2,
    classes: ['hstripes', 'vstripes', 'grid', 'dots', 'square', 'frame', 'ring', 'disk', 'hbar', 'vbar'],
    noise: 0.2,
    colorJitter: 0.3,
    shift: 2,
    train: TRAIN_IMAGES,
    test: TEST_IMAGES,
  },
  {
    id: 'tiny-images-3',
    split: 'test',
    seed: 3,
    classes: ['dstripes', 'astripes', 'checker', 'cross', 'plus', 'corner', 'dots', 'disk', 'square', 'ring'],
    noise: 0.18,
    colorJitter: 0.3,
    shift: 2.5,
    train: TRAIN_IMAGES,
    test: TEST_IMAGES,
  },
];

/** A source text: the template's raw characters (backslashes kept), without the first newline. */
const src = (s: TemplateStringsArray, ...v: unknown[]): string => String.raw(s, ...v).replace(/^\n/, '');

/** Training images train.py holds out to report a validation accuracy. */
const VALIDATION = 200;

/** What the data files hold, for the scripts' docstrings and the instructions. */
const DATA_LINE = `data/train.npz ("images": ${TRAIN_IMAGES} x ${SIDE} x ${SIDE} x 3 uint8 RGB, "labels": ${TRAIN_IMAGES} integers 0-9)`;

/** The parts of train.py that the baseline and the reference share: loading, validation, submission. */
const COMMON_HEAD = src`
import time

import numpy as np
`;

const COMMON_TAIL = src`
def write_submission(predictions, path="submission.csv"):
    with open(path, "w") as f:
        f.write("id,label\n")
        for i, label in enumerate(predictions):
            f.write("%d,%d\n" % (i, label))


def main():
    started = time.time()
    rng = np.random.default_rng(SEED)
    images, labels, test_images = load_data()
    order = rng.permutation(len(images))
    val, fit = order[:VALIDATION], order[VALIDATION:]
    predict = train(images[fit], labels[fit], rng)
    accuracy = (predict(images[val]) == labels[val]).mean()
    print("validation accuracy: %.4f" % accuracy)
    write_submission(predict(test_images))
    print("wrote submission.csv (%d test images) in %.1f s" % (len(test_images), time.time() - started))


if __name__ == "__main__":
    main()
`;

const LOAD_AND_SOFTMAX = src`
def load_data():
    with np.load("data/train.npz") as data:
        images, labels = data["images"], data["labels"].astype(np.int64)
    return images, labels, np.load("data/test_images.npy")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
`;

/** The baseline: softmax regression on standardised pixels, minibatch SGD, 10 epochs. */
export const TRAIN_PY = src`
"""Baseline: softmax regression on the raw pixels (numpy only).

Trains on ${DATA_LINE},
prints the accuracy on a held-out validation part of it, and writes submission.csv: a header line
"id,label", then one row per image of data/test_images.npy, its index and predicted label.
"""
${COMMON_HEAD}
SEED = 0
VALIDATION = ${VALIDATION}  # training images held out to measure accuracy
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 0.05


${LOAD_AND_SOFTMAX}

def train(images, labels, rng):
    """Fits the model; returns a function from images to predicted labels."""
    x = images.reshape(len(images), -1).astype(np.float64) / 255.0
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8

    def features(imgs):
        return (imgs.reshape(len(imgs), -1).astype(np.float64) / 255.0 - mean) / std

    x = features(images)
    w = np.zeros((x.shape[1], 10))
    b = np.zeros(10)
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            grad = softmax(x[idx] @ w + b)
            grad[np.arange(len(idx)), labels[idx]] -= 1.0
            grad /= len(idx)
            w -= LEARNING_RATE * (x[idx].T @ grad)
            b -= LEARNING_RATE * grad.sum(axis=0)
    return lambda imgs: (features(imgs) @ w + b).argmax(axis=1)


${COMMON_TAIL}`;

/** The reference solution: a one-hidden-layer MLP trained with Adam on randomly shifted images. */
export const REFERENCE_TRAIN_PY = src`
"""Reference solution: a one-hidden-layer MLP (numpy only), trained with Adam on randomly shifted
images (a pattern may sit anywhere, so a shifted image is a new example of the same class).

Trains on ${DATA_LINE},
prints the accuracy on a held-out validation part of it, and writes submission.csv: a header line
"id,label", then one row per image of data/test_images.npy, its index and predicted label.
"""
${COMMON_HEAD}
SEED = 0
VALIDATION = ${VALIDATION}  # training images held out to measure accuracy
EPOCHS = 100
BATCH_SIZE = 64
LEARNING_RATE = 0.001
HIDDEN = 256
MAX_SHIFT = 2  # pixels, each axis


${LOAD_AND_SOFTMAX}

def train(images, labels, rng):
    """Fits the model; returns a function from images to predicted labels."""
    pixels = images.astype(np.float64) / 255.0
    mean, std = pixels.mean(axis=(0, 1, 2)), pixels.std(axis=(0, 1, 2))  # per channel: the same at every position

    def features(imgs):
        return ((imgs.astype(np.float64) / 255.0 - mean) / std).reshape(len(imgs), -1)

    d = images[0].size
    params = [
        rng.standard_normal((d, HIDDEN)) * np.sqrt(2.0 / d),
        np.zeros(HIDDEN),
        rng.standard_normal((HIDDEN, 10)) * np.sqrt(1.0 / HIDDEN),
        np.zeros(10),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]

    def forward(x):
        hidden = np.maximum(x @ params[0] + params[1], 0.0)
        return hidden, hidden @ params[2] + params[3]

    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(images))
        for start in range(0, len(images), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            dy, dx = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=2)
            x = features(np.roll(images[idx], (dy, dx), axis=(1, 2)))
            hidden, logits = forward(x)
            grad = softmax(logits)
            grad[np.arange(len(idx)), labels[idx]] -= 1.0
            grad /= len(idx)
            grad_hidden = grad @ params[2].T
            grad_hidden[hidden <= 0] = 0.0
            grads = [x.T @ grad_hidden, grad_hidden.sum(axis=0), hidden.T @ grad, grad.sum(axis=0)]
            step += 1
            for p, g, m, v in zip(params, grads, moments, squares):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p -= LEARNING_RATE * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return lambda imgs: forward(features(imgs))[1].argmax(axis=1)


${COMMON_TAIL}`;


/** The family sentence (family.json `task`). */
export const TINY_IMAGES_TASK =
  "Improve a numpy-only image classifier's test accuracy on a small synthetic data set (12x12 RGB images, 10 pattern classes) by at least 10% over the baseline train.py, in the style of MLAgentBench's CIFAR-10 task, on CPU; hidden test labels score submission.csv.";

/** family.json `source`. */
export const TINY_IMAGES_SOURCE =
  "Written by the Uplift project (examples/datasets/tiny-images/generate.ts): procedurally generated images, baseline and reference scripts; modelled on MLAgentBench's cifar10 task (Huang et al., 2023), nothing copied from it or from CIFAR-10.";

/** The task instructions, in MLAgentBench's words where they fit. */
export function instructions(spec: TinyImagesSpec): string {
  return `# Improve an image classifier (a small CPU version of MLAgentBench's CIFAR-10 task)

Given a training script on a dataset, \`train.py\`, improve upon the current model performance (trained with the current hyperparameters in \`train.py\`) by more than 10%: a test accuracy at least 1.1 times the baseline's. Save the predictions for the test set to \`submission.csv\` as shown in \`train.py\`.

**Data.** \`data/train.npz\` holds \`images\` (${spec.train} × ${SIDE} × ${SIDE} × 3, uint8 RGB, channels last) and \`labels\` (${spec.train} integers 0–9). There are 10 classes, each a kind of procedural pattern (stripes, rings, crosses, …) drawn at a random position, size and colour, plus pixel noise. \`data/test_images.npy\` holds the ${spec.test} test images (same format); their labels are hidden.

**Baseline.** \`python3 train.py\` trains a softmax regression on the pixels (numpy only), prints its accuracy on ${VALIDATION} training images it holds out, and writes \`submission.csv\`: a header line \`id,label\`, then one line per test image, its index (0–${spec.test - 1}) and predicted label.

**Rules.** Use numpy and the Python standard library only (other packages such as torch or scikit-learn may not be installed). Training should take at most a few minutes on 2 CPU cores. Do not edit the data files.

**Scoring.** Only \`submission.csv\` in the current directory is scored, after you finish: its accuracy on the hidden test labels. So run your final training script and leave its \`submission.csv\` here, with a prediction for every one of the ${spec.test} test images; a missing or malformed file scores 0.
`;
}

/** Raw scores of a task: accuracy of the baseline train.py and of the reference solution. */
export interface TaskScores {
  startingScore: number;
  referenceScore: number;
}

/** One task's workspace and hidden files (paths relative to workspace/ and hidden/). */
export function taskFiles(spec: TinyImagesSpec): { workspace: Record<string, Buffer>; hidden: Record<string, Buffer>; referencePatch: string } {
  const d = makeData(spec);
  return {
    workspace: {
      'data/test_images.npy': npyBytes(d.testImages, [spec.test, SIDE, SIDE, 3]),
      'data/train.npz': npzBytes([
        { name: 'images.npy', data: npyBytes(d.trainImages, [spec.train, SIDE, SIDE, 3]) },
        { name: 'labels.npy', data: npyBytes(d.trainLabels, [spec.train]) },
      ]),
      'train.py': Buffer.from(TRAIN_PY),
    },
    hidden: {
      'score.py': Buffer.from(SCORE_PY),
      'test_labels.npy': npyBytes(d.testLabels, [spec.test]),
    },
    referencePatch: unifiedDiff('train.py', TRAIN_PY, REFERENCE_TRAIN_PY),
  };
}

/** task.json of a task, with its measured scores. */
export function taskJson(spec: TinyImagesSpec, scores: TaskScores): string {
  const task = {
    instructions: instructions(spec),
    score: { command: ['python3', 'score.py'], timeoutSeconds: 60 },
    startingScore: scores.startingScore,
    referenceScore: scores.referenceScore,
  };
  return JSON.stringify(task, null, 2) + '\n';
}

/**
 * The data set's files (family.json, splits.json, tasks/…), relative to its folder, exactly as
 * written, given each task's measured scores (see {@link measureScores}).
 */
export function renderTinyImages(scores: Readonly<Record<string, TaskScores>>): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'family.json': Buffer.from(JSON.stringify({ task: TINY_IMAGES_TASK, source: TINY_IMAGES_SOURCE }, null, 2) + '\n'),
    'splits.json': Buffer.from(
      JSON.stringify({ dev: SPECS.filter((s) => s.split === 'dev').map((s) => s.id), test: SPECS.filter((s) => s.split === 'test').map((s) => s.id) }, null, 2) + '\n',
    ),
  };
  for (const spec of SPECS) {
    const s = scores[spec.id];
    if (!s) throw new Error(`no scores for ${spec.id}`);
    const t = taskFiles(spec);
    files[`tasks/${spec.id}/task.json`] = Buffer.from(taskJson(spec, s));
    files[`tasks/${spec.id}/reference.patch`] = Buffer.from(t.referencePatch);
    for (const [p, data] of Object.entries(t.workspace)) files[`tasks/${spec.id}/workspace/${p}`] = data;
    for (const [p, data] of Object.entries(t.hidden)) files[`tasks/${spec.id}/hidden/${p}`] = data;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// -------------------------------------------------------------------------------------------
// Measuring the scores
// -------------------------------------------------------------------------------------------

function writeTree(files: Readonly<Record<string, Buffer>>, dir: string): void {
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), data);
  }
}

const PY_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };

/** Runs `python3 train.py` in `dir`, overlays the hidden files and runs score.py: the raw score (last stdout line). */
function trainAndScore(dir: string, hidden: Readonly<Record<string, Buffer>>): number {
  execFileSync('python3', ['train.py'], { cwd: dir, env: PY_ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  writeTree(hidden, dir);
  const out = execFileSync('python3', ['score.py'], { cwd: dir, env: PY_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const score = (JSON.parse(out.trim().split('\n').pop() ?? '') as { score: unknown }).score;
  if (typeof score !== 'number') throw new Error(`score.py printed ${JSON.stringify(out)}`);
  return score;
}

/** Measures one task's scores: runs the baseline train.py, and train.py with reference.patch applied, each scored by score.py. */
export function measureScores(spec: TinyImagesSpec): TaskScores {
  const t = taskFiles(spec);
  const root = mkdtempSync(join(tmpdir(), 'tiny-images-'));
  try {
    const base = join(root, 'baseline');
    writeTree(t.workspace, base);
    const startingScore = trainAndScore(base, t.hidden);
    const ref = join(root, 'reference');
    writeTree(t.workspace, ref);
    execFileSync('patch', ['-p1', '--batch', '--forward', '--quiet'], { cwd: ref, input: t.referencePatch });
    if (readFileSync(join(ref, 'train.py'), 'utf8') !== REFERENCE_TRAIN_PY) throw new Error(`${spec.id}: reference.patch does not produce the reference train.py`);
    const referenceScore = trainAndScore(ref, t.hidden);
    if (!(referenceScore >= startingScore * 1.1)) throw new Error(`${spec.id}: the reference (${referenceScore}) is not 10% better than the baseline (${startingScore})`);
    return { startingScore, referenceScore };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Rewrites the data set in `dir`: family.json, splits.json and tasks/ (removed first); README.md and this file are kept. Returns the scores. */
export function writeTinyImages(dir: string): Record<string, TaskScores> {
  const scores: Record<string, TaskScores> = {};
  for (const spec of SPECS) {
    const started = Date.now();
    scores[spec.id] = measureScores(spec);
    console.log(`${spec.id}: baseline ${scores[spec.id].startingScore}, reference ${scores[spec.id].referenceScore} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const files = renderTinyImages(scores);
  rmSync(join(dir, 'tasks'), { recursive: true, force: true });
  writeTree(files, dir);
  return scores;
}

if (require.main === module) {
  writeTinyImages(__dirname);
  console.log(`wrote family.json, splits.json and ${SPECS.length} tasks to ${__dirname}`);
}
