"""Scores submission.csv: the accuracy of its predicted labels against the hidden test labels.

submission.csv: a header line "id,label", then one row per test image: its index (0 to N-1, each
once, in any order) and its predicted label (an integer 0-9). Prints {"score": <accuracy>} as the
last line of stdout. A missing or malformed submission scores 0 (exit code 1), the reason on
stderr. Standard library only.
"""
import ast
import csv
import json
import sys

LABELS = "test_labels.npy"
SUBMISSION = "submission.csv"
FORMAT = 'a header line "id,label", then one row per test image: its index and predicted label (0-9)'


def read_labels(path):
    """The labels of a 1-D uint8 .npy file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise RuntimeError("%s is not a .npy file" % path)
    size = 2 if data[6] == 1 else 4
    start = 8 + size + int.from_bytes(data[8:8 + size], "little")
    header = ast.literal_eval(data[8 + size:start].decode("latin1"))
    if header["descr"] != "|u1" or len(header["shape"]) != 1:
        raise RuntimeError("%s: expected a 1-D uint8 array, got %r" % (path, header))
    return list(data[start:start + header["shape"][0]])


def read_submission(path, n):
    """The predicted label of each of the n test images; ValueError saying what is wrong otherwise."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ValueError("%s is missing: write %s" % (path, FORMAT))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError("%s cannot be read as UTF-8 text (%s): write %s" % (path, e, FORMAT))
    predictions = [None] * n
    header = None
    try:
        reader = csv.reader(text.splitlines())
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = "%s line %d" % (path, reader.line_num)
            if header is None:
                header = [cell.strip().lower() for cell in row]
                if header != ["id", "label"]:
                    raise ValueError('%s: the first line must be the header "id,label", got %r' % (where, ",".join(row)))
                continue
            if len(row) != 2:
                raise ValueError("%s: expected 2 fields (id,label), got %d" % (where, len(row)))
            try:
                i, label = int(row[0]), int(row[1])
            except ValueError:
                raise ValueError("%s: id and label must be integers, got %r" % (where, ",".join(row)))
            if not 0 <= i < n:
                raise ValueError("%s: id %d is not the index of a test image (0 to %d)" % (where, i, n - 1))
            if not 0 <= label <= 9:
                raise ValueError("%s: label %d is not a class (0 to 9)" % (where, label))
            if predictions[i] is not None:
                raise ValueError("%s: id %d is listed twice" % (where, i))
            predictions[i] = label
    except csv.Error as e:
        raise ValueError("%s is not valid CSV (%s): write %s" % (path, e, FORMAT))
    if header is None:
        raise ValueError("%s is empty: write %s" % (path, FORMAT))
    missing = predictions.count(None)
    if missing:
        raise ValueError("%s: %d of the %d test images have no prediction (the first: id %d)" % (path, missing, n, predictions.index(None)))
    return predictions


def main():
    labels = read_labels(LABELS)
    try:
        predictions = read_submission(SUBMISSION, len(labels))
    except ValueError as e:
        print("score.py: %s. Scoring 0." % e, file=sys.stderr)
        print(json.dumps({"score": 0}))
        return 1
    correct = sum(p == y for p, y in zip(predictions, labels))
    print("score.py: %d of %d test images classified correctly" % (correct, len(labels)), file=sys.stderr)
    print(json.dumps({"score": correct / len(labels)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
