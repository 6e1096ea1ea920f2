"""Baseline: softmax regression on the raw pixels (numpy only).

Trains on data/train.npz ("images": 2000 x 12 x 12 x 3 uint8 RGB, "labels": 2000 integers 0-9),
prints the accuracy on a held-out validation part of it, and writes submission.csv: a header line
"id,label", then one row per image of data/test_images.npy, its index and predicted label.
"""
import time

import numpy as np

SEED = 0
VALIDATION = 200  # training images held out to measure accuracy
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 0.05


def load_data():
    with np.load("data/train.npz") as data:
        images, labels = data["images"], data["labels"].astype(np.int64)
    return images, labels, np.load("data/test_images.npy")


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


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
