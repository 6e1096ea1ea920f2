import { execFileSync } from 'node:child_process';

/** Test labels of the fixture archive: test image i has label (3 i + 1) mod 10. */
export const fixtureTestLabel = (i: number): number => (3 * i + 1) % 10;

/**
 * Writes a small archive shaped like the official `cifar-10-python.tar.gz` (members
 * `cifar-10-batches-py/data_batch_1..5`, `test_batch`, `batches.meta`: Python pickles, protocol 2,
 * bytes keys as the official ones, `data` a uint8 (n, 3072) numpy array, `labels` a list) with
 * python3 + numpy. Image i of the test batch is filled with the value i (mod 256) in its red plane;
 * labels follow {@link fixtureTestLabel}; training image j has label j mod 10. `omit` leaves
 * members out, `badShape` writes a member's data as (n, 3071), `badLabel` puts a label 10 in it.
 */
export function writeCifarArchive(path: string, o: { trainPerBatch?: number; test?: number; omit?: string[]; badShape?: string; badLabel?: string } = {}): void {
  const script = String.raw`
import io, json, pickle, sys, tarfile
import numpy as np
path, o = sys.argv[1], json.loads(sys.argv[2])
per, n_test = o.get("trainPerBatch", 10), o.get("test", 40)

def batch(name, n, first, label):
    data = np.zeros((n, 3071 if o.get("badShape") == name else 3072), dtype=np.uint8)
    for i in range(n):
        data[i, :1024] = (first + i) % 256
        data[i, 1024:2048] = 7
    labels = [label(first + i) for i in range(n)]
    if o.get("badLabel") == name:
        labels[1] = 10
    return {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * n}

members = {"data_batch_%d" % k: batch("data_batch_%d" % k, per, (k - 1) * per, lambda j: j % 10) for k in range(1, 6)}
members["test_batch"] = batch("test_batch", n_test, 0, lambda i: (3 * i + 1) % 10)
members["batches.meta"] = {b"num_cases_per_batch": per, b"label_names": [n.encode() for n in ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]], b"num_vis": 3072}
with tarfile.open(path, "w:gz") as tar:
    for name, obj in members.items():
        if name in o.get("omit", []):
            continue
        data = pickle.dumps(obj, protocol=2)
        info = tarfile.TarInfo("cifar-10-batches-py/" + name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
`;
  execFileSync('python3', ['-c', script, path, JSON.stringify(o)], { stdio: ['ignore', 'ignore', 'pipe'] });
}
