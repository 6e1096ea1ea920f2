/**
 * Pieces of an image-classification workspace task (MLAgentBench's cifar10 and its CPU analogue
 * tiny-images): `.npy`/`.npz` files of the data, written without numpy, and the hidden scorer,
 * the accuracy of the agent's submission.csv against the hidden test labels.
 */
import { crc32 } from 'node:zlib';

/** The bytes of a `.npy` file (format 1.0) of a C-order uint8 array. */
export function npyBytes(data: Uint8Array, shape: readonly number[]): Buffer {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`npy: shape ${shape.join('×')} does not match ${data.length} bytes`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  // numpy pads the header with spaces so that magic + length + header (ending in "\n") is a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.length)]);
}

/** The bytes of a `.npz` file: a zip archive of `.npy` members, stored (no compression), dated 1980-01-01 00:00 (as `np.savez` writes, without the clock). */
export function npzBytes(members: readonly { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const { name, data } of members) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    // extra length, comment length, disk number, internal and external attributes: 0
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}



const src = (s: TemplateStringsArray, ...v: unknown[]): string => String.raw(s, ...v).replace(/^\n/, '');

/** The hidden scorer (standard library only): accuracy of submission.csv against test_labels.npy. */
export const SCORE_PY = src`
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
`;
