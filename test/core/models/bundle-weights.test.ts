import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { SpecError } from '../../../core/errors';
import {
  ArtifactWeightsSource,
  hashWeightsFolder,
  packBundleWithWeights,
  readStagedWeights,
  stageBundleWeights,
  verifiedWeightsSource,
  weightsForRun,
  weightsKey,
  weightsMarkerKey,
  type StagedWeights,
} from '../../../core/models/bundle-weights';
import { syncWeights, WeightsSyncError } from '../../../core/models/weights';
import { packBundle, readManifest, unpackBundle, UnsafeBundleError, WEIGHTS_REF_FILE } from '../../../core/ra/bundle';
import { tlaKey } from '../../../core/sweep/outputs';
import type { RunPlan, SweepPlan } from '../../../core/sweep/plan';
import { MemoryArtifactStore } from '../../support/memory-store';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function tree(files: Record<string, string | Uint8Array>): string {
  const dir = tmp('bundle-weights-test-');
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), content);
  }
  return dir;
}

const MANIFEST = 'name: t\nentrypoint: [python3, agent.py]\ncbm: classification\n';
const SAFETENSORS = new Uint8Array(50_000).map((_, i) => (i * 7) % 251);
const WEIGHTS = {
  'weights/config.json': '{"architectures":["UnlearnedForCausalLM"]}',
  'weights/tokenizer.json': '{"version":"1.0"}',
  'weights/model.safetensors': SAFETENSORS,
};

/** An MRA bundle whose agent.yaml names `weights: weights`, plus `extra` files. */
function mraBundle(extra: Record<string, string | Uint8Array> = {}, manifest = `${MANIFEST}weights: weights\n`): string {
  return tree({ 'agent.yaml': manifest, 'agent.py': 'print("hi")\n', 'prompt.txt': 'Classify.\n', ...WEIGHTS, ...extra });
}

/** Entry paths of a tar.gz. */
function entries(bytes: Uint8Array): string[] {
  const dir = tmp('bundle-weights-tar-');
  const file = join(dir, 'b.tar.gz');
  writeFileSync(file, bytes);
  const out: string[] = [];
  tar.list({ file, sync: true, onReadEntry: (e) => void out.push(e.path) });
  return out.sort();
}

function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

/** A store that records the order of its writes. */
class RecordingStore extends MemoryArtifactStore {
  readonly puts: string[] = [];
  override async putBytes(key: string, body: Uint8Array): Promise<void> {
    this.puts.push(key);
    await super.putBytes(key, body);
  }
}

describe('stageBundleWeights: the weights folder, content-addressed in the artifacts store', () => {
  test('uploads every file to weights/<sha256 of the file list and contents>/ and writes the marker last', async () => {
    // GIVEN an MRA bundle naming a weights folder
    const dir = mraBundle();
    const store = new RecordingStore();
    // WHEN its weights are staged
    const staged = await stageBundleWeights(store, dir);
    // THEN the key is the folder's content hash, and the store holds exactly its files, then the marker
    const { sha256 } = await hashWeightsFolder(dir, 'weights');
    expect(staged).toEqual({ key: `weights/${sha256}/`, uri: `mem://weights/${sha256}/`, markerKey: `weights/${sha256}.json`, sha256, files: 3, bytes: SAFETENSORS.length + 42 + 17, uploaded: 3 });
    expect(store.puts.slice(0, 3).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => `weights/${sha256}/${f}`));
    expect(store.puts[3]).toBe(weightsMarkerKey(sha256));
    expect(store.puts).toHaveLength(4);
    expect(store.objects.get(`weights/${sha256}/model.safetensors`)).toEqual(Buffer.from(SAFETENSORS));
    const marker = (await readStagedWeights(store, sha256)) as StagedWeights;
    expect(marker.files.map((f) => [f.path, f.size])).toEqual([
      ['config.json', 42],
      ['model.safetensors', SAFETENSORS.length],
      ['tokenizer.json', 17],
    ]);
  });

  test('the key depends on content and file names only: a changed byte or a renamed file moves it; the folder name or another bundle does not', async () => {
    const base = (await hashWeightsFolder(mraBundle(), 'weights')).sha256;
    // Same weights in another bundle, under another folder name: the same key
    const elsewhere = tree({ 'agent.yaml': `${MANIFEST}weights: ./model/\n`, 'agent.py': 'other', 'prompt.txt': 'x', 'model/config.json': WEIGHTS['weights/config.json'], 'model/tokenizer.json': WEIGHTS['weights/tokenizer.json'], 'model/model.safetensors': SAFETENSORS });
    expect((await stageBundleWeights(new MemoryArtifactStore(), elsewhere))?.sha256).toBe(base);
    const changed = SAFETENSORS.slice();
    changed[49_999] ^= 1;
    expect((await hashWeightsFolder(mraBundle({ 'weights/model.safetensors': changed }), 'weights')).sha256).not.toBe(base);
    const renamed = mraBundle();
    writeFileSync(join(renamed, 'weights/model-00001.safetensors'), SAFETENSORS);
    rmSync(join(renamed, 'weights/model.safetensors'));
    expect((await hashWeightsFolder(renamed, 'weights')).sha256).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  test('idempotent: staging the same content again uploads nothing; an interrupted upload (no marker) is completed without re-uploading what is there', async () => {
    const dir = mraBundle();
    const store = new RecordingStore();
    const first = await stageBundleWeights(store, dir);
    store.puts.length = 0;
    // WHEN staged again (from another copy of the same content)
    const again = await stageBundleWeights(store, mraBundle());
    // THEN nothing is written
    expect(again).toEqual({ ...first, uploaded: 0 });
    expect(store.puts).toEqual([]);

    // GIVEN an upload that stopped after one file (no marker)
    const partial = new RecordingStore();
    const sha = (first as { sha256: string }).sha256;
    await partial.putBytes(`weights/${sha}/model.safetensors`, SAFETENSORS);
    partial.puts.length = 0;
    expect(await readStagedWeights(partial, sha)).toBeUndefined();
    // WHEN staged again
    const resumed = await stageBundleWeights(partial, dir);
    // THEN only the missing files are uploaded, and the marker is written last
    expect(resumed?.uploaded).toBe(2);
    expect(partial.puts).toEqual([`weights/${sha}/config.json`, `weights/${sha}/tokenizer.json`, weightsMarkerKey(sha)]);
  });

  test('a bundle naming no weights stages nothing', async () => {
    const store = new RecordingStore();
    expect(await stageBundleWeights(store, tree({ 'agent.yaml': MANIFEST, 'agent.py': '', 'prompt.txt': '' }))).toBeUndefined();
    expect(store.puts).toEqual([]);
  });

  test('a putFile given (a streaming upload, for shards over 2 GiB) uploads every file instead of putBytes', async () => {
    const dir = mraBundle();
    const big: string[] = [];
    // A putFile that stands for a streaming (multipart) upload
    const store = new MemoryArtifactStore();
    const staged = await stageBundleWeights(store, dir, { putFile: async (key, path, size) => void big.push(`${key} ${size} ${readFileSync(path).length}`) });
    expect(big.sort()).toEqual([`weights/${staged?.sha256}/config.json 42 42`, `weights/${staged?.sha256}/model.safetensors 50000 50000`, `weights/${staged?.sha256}/tokenizer.json 17 17`]);
    expect([...store.objects.keys()]).toEqual([`weights/${staged?.sha256}.json`]);
  });
});

describe('packBundleWithWeights: the tarball leaves the weights out and names them', () => {
  test('no weight file in the tarball; .uplift-weights.json names the key and hash; the unpacked MRA is a valid bundle', async () => {
    const dir = mraBundle();
    const store = new MemoryArtifactStore();
    // WHEN the MRA is packed
    const { bytes, weights } = await packBundleWithWeights(store, dir);
    // THEN the tarball holds the code and the reference, none of the weights
    expect(entries(bytes)).toEqual([WEIGHTS_REF_FILE, 'agent.py', 'agent.yaml', 'prompt.txt']);
    expect(bytes.length).toBeLessThan(SAFETENSORS.length / 10);
    // AND the reference names the staged weights
    const out = tmp('bundle-weights-unpacked-');
    rmSync(out, { recursive: true });
    unpackBundle(bytes, out);
    const ref = JSON.parse(readFileSync(join(out, WEIGHTS_REF_FILE), 'utf8')) as Record<string, unknown>;
    expect(ref).toEqual({ format: 'uplift-weights-ref/v1', folder: 'weights', key: weightsKey(weights?.sha256 as string), sha256: weights?.sha256, files: 3, bytes: weights?.bytes });
    expect(store.objects.has(weightsMarkerKey(weights?.sha256 as string))).toBe(true);
    // AND the unpacked MRA (weights folder absent, reference present) passes the manifest checks
    expect(readManifest(out).weights).toBe('weights');
    // AND packing the plain way keeps the folder (the option is what leaves it out)
    expect(entries(packBundle(dir))).toContain('weights/model.safetensors');
  });

  test('an unpacked MRA packs again to the same tarball, staging nothing; into a store without its weights it is refused', async () => {
    const store = new RecordingStore();
    const first = await packBundleWithWeights(store, mraBundle());
    const out = tmp('bundle-weights-unpacked-');
    rmSync(out, { recursive: true });
    unpackBundle(first.bytes, out);
    store.puts.length = 0;
    const again = await packBundleWithWeights(store, out);
    expect(Buffer.from(again.bytes)).toEqual(Buffer.from(first.bytes));
    expect(again.weights).toEqual({ ...first.weights, uploaded: 0 });
    expect(store.puts).toEqual([]);
    await expect(packBundleWithWeights(new MemoryArtifactStore(), out)).rejects.toThrow(`weights: "weights" is not in the bundle, and the staged copy its ${WEIGHTS_REF_FILE} names has no marker mem://weights/${first.weights?.sha256}.json`);
  });

  test('an unpacked MRA without the reference, or with one naming another folder, is refused naming the weights field', async () => {
    const { bytes } = await packBundleWithWeights(new MemoryArtifactStore(), mraBundle());
    const out = tmp('bundle-weights-unpacked-');
    rmSync(out, { recursive: true });
    unpackBundle(bytes, out);
    const ref = JSON.parse(readFileSync(join(out, WEIGHTS_REF_FILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(out, WEIGHTS_REF_FILE), JSON.stringify({ ...ref, folder: 'other' }));
    expect(specErrorOf(() => readManifest(out)).problems).toEqual([`${join(out, 'agent.yaml')}: weights: "weights" not found in the bundle. Fix: name the bundle's folder (relative to agent.yaml)`]);
    rmSync(join(out, WEIGHTS_REF_FILE));
    expect(specErrorOf(() => readManifest(out)).message).toContain('weights: "weights" not found in the bundle');
  });

  test('a .uplift-weights.json the agent wrote itself never survives packing of a bundle that names no weights', async () => {
    const dir = tree({ 'agent.yaml': MANIFEST, 'agent.py': '', 'prompt.txt': '', [WEIGHTS_REF_FILE]: JSON.stringify({ key: `weights/${'a'.repeat(64)}/` }) });
    const { bytes, weights } = await packBundleWithWeights(new MemoryArtifactStore(), dir);
    expect(weights).toBeUndefined();
    expect(entries(bytes)).toEqual(['agent.py', 'agent.yaml', 'prompt.txt']);
  });
});

describe('agent.yaml weights: the same path checks as prompt', () => {
  test('a weights folder that climbs out of the bundle is refused, naming the field', () => {
    const outside = tree({ 'config.json': '{}' });
    const dir = mraBundle({}, `${MANIFEST}weights: ../${outside.split('/').pop()}\n`);
    const e = specErrorOf(() => readManifest(dir));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.problems).toEqual([`${join(dir, 'agent.yaml')}: weights: "../${outside.split('/').pop()}" contains "..": every path agent.yaml names must stay inside the bundle. Fix: name a folder inside the bundle, relative to the folder of agent.yaml (e.g. weights)`]);
  });

  test('an absolute weights path is refused', () => {
    const outside = tree({ 'config.json': '{}' });
    const e = specErrorOf(() => readManifest(mraBundle({}, `${MANIFEST}weights: ${outside}\n`)));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain(`weights: "${outside}" is an absolute path`);
  });

  test('a weights folder that is a symbolic link (to weights outside the bundle) is refused, naming the field', () => {
    const outside = tree({ 'config.json': '{}', 'model.safetensors': 'x' });
    const dir = tree({ 'agent.yaml': `${MANIFEST}weights: weights\n`, 'agent.py': '', 'prompt.txt': '' });
    symlinkSync(outside, join(dir, 'weights'));
    const e = specErrorOf(() => readManifest(dir));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.problems).toEqual([`${join(dir, 'agent.yaml')}: weights: "weights" goes through the symbolic link "weights": links may point outside the bundle and are not staged. Fix: replace the link with the folder it points to`]);
  });

  test('a link inside the weights folder, a folder without config.json, a file instead of a folder: each refused', () => {
    const secret = tree({ 'secret.safetensors': 'leak' });
    const linked = mraBundle();
    symlinkSync(join(secret, 'secret.safetensors'), join(linked, 'weights/extra.safetensors'));
    expect(specErrorOf(() => readManifest(linked)).message).toContain('weights: "weights" holds the symbolic link "weights/extra.safetensors"');
    const noConfig = mraBundle();
    rmSync(join(noConfig, 'weights/config.json'));
    expect(specErrorOf(() => readManifest(noConfig)).message).toContain('weights: "weights" holds no config.json, so vLLM cannot load it');
    expect(specErrorOf(() => readManifest(mraBundle({}, `${MANIFEST}weights: agent.py\n`))).message).toContain('weights: "agent.py" is a file, not a folder');
  });

  test('every problem at once: a bad prompt and bad weights are both reported', () => {
    const e = specErrorOf(() => readManifest(mraBundle({}, `${MANIFEST}prompt: /etc/passwd\nweights: ../w\n`)));
    expect(e.problems).toHaveLength(2);
    expect(e.problems[0]).toContain('prompt: "/etc/passwd" is an absolute path');
    expect(e.problems[1]).toContain('weights: "../w" contains ".."');
  });

  test('a valid weights folder is accepted, "./weights/" as well', () => {
    expect(readManifest(mraBundle({}, `${MANIFEST}weights: ./weights/\n`)).weights).toBe('./weights/');
  });
});

describe('serving staged weights: the source over the artifacts store, checked against the marker', () => {
  async function staged() {
    const store = new MemoryArtifactStore();
    const info = await stageBundleWeights(store, mraBundle());
    const marker = (await readStagedWeights(store, info?.sha256 as string)) as StagedWeights;
    return { store, marker, prefix: marker.key };
  }

  test('syncWeights over ArtifactWeightsSource mirrors the staged folder byte for byte, and not the marker', async () => {
    const { store, marker, prefix } = await staged();
    const dir = tmp('bundle-weights-sync-');
    const r = await syncWeights(verifiedWeightsSource(new ArtifactWeightsSource(store, marker), marker), prefix, dir);
    expect(r).toMatchObject({ files: 3, downloaded: 3 });
    expect(readFileSync(join(dir, 'model.safetensors'))).toEqual(Buffer.from(SAFETENSORS));
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(WEIGHTS['weights/config.json']);
  });

  test('a file missing from the upload, a file of another size, or an extra file fails before any download, naming the file and the marker', async () => {
    const { store, marker, prefix } = await staged();
    store.objects.delete(`${prefix}tokenizer.json`);
    const sync = () => syncWeights(verifiedWeightsSource(new ArtifactWeightsSource(store, marker), marker), prefix, tmp('bundle-weights-sync-'));
    await expect(sync()).rejects.toThrow(new RegExp(`^the staged weights mem://${prefix} do not match their marker mem://weights/${marker.sha256}\\.json: tokenizer\\.json is missing\\.`));
    await expect(sync()).rejects.toBeInstanceOf(WeightsSyncError);
    await store.putText(`${prefix}tokenizer.json`, WEIGHTS['weights/tokenizer.json']);
    await store.putText(`${prefix}evil.safetensors`, 'x');
    await expect(sync()).rejects.toThrow('evil.safetensors is not in the marker');
    // Sizes come from the inner source's listing
    const lying = verifiedWeightsSource(
      {
        uri: (k: string) => `s3://b/${k}`,
        list: async () => marker.files.map((f) => ({ key: prefix + f.path, size: f.path === 'model.safetensors' ? 10 : f.size, etag: 'e' })),
        download: async () => undefined,
      },
      marker,
    );
    await expect(lying.list(prefix)).rejects.toThrow('model.safetensors has 10 bytes, not 50000');
  });

  test('a file whose content changed (same size) fails its download', async () => {
    const { store, marker, prefix } = await staged();
    const altered = SAFETENSORS.slice();
    altered[0] ^= 1;
    await store.putBytes(`${prefix}model.safetensors`, altered);
    await expect(syncWeights(new ArtifactWeightsSource(store, marker), prefix, tmp('bundle-weights-sync-'))).rejects.toThrow(/model\.safetensors: content hash [0-9a-f]{64} is not the [0-9a-f]{64} its marker lists/);
  });
});

describe('weightsForRun: what the launcher serves', () => {
  const sweepId = 'sw-0001';
  const run = { runId: 'r-1', shards: 2, ra: { model: { provider: 'vllm', name: 'tiny-chat', weightsUri: 's3://bucket/models/tiny-chat/', startupTimeoutSeconds: 60, extraArgs: [] } } } as unknown as RunPlan;
  const plan = { budgetCurve: [1000], runs: [run] } as unknown as SweepPlan;

  test('baseline and TLA jobs: the RA model weights; an MRA without weights: the RA model weights', async () => {
    const store = new MemoryArtifactStore();
    const model = { source: 'model', weightsUri: 's3://bucket/models/tiny-chat/' };
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'baseline', index: 0 })).toEqual(model);
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'tla', index: 0 })).toEqual(model);
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), packBundle(tree({ 'agent.yaml': MANIFEST, 'agent.py': '', 'prompt.txt': '' })));
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 1 })).toEqual(model);
  });

  test('an MRA naming staged weights: those weights; a budget-curve child: its own bundle\'s weights, or nothing when there is none', async () => {
    const store = new MemoryArtifactStore();
    const { bytes, weights } = await packBundleWithWeights(store, mraBundle());
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), bytes);
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 0 })).toMatchObject({ source: 'mra', bundleKey: tlaKey(sweepId, run.runId, 'mra.tar.gz'), key: weights?.key, sha256: weights?.sha256 });
    // Children 2 and 3 evaluate curve bundle 0
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 2 })).toMatchObject({ source: 'none' });
    const other = await packBundleWithWeights(store, mraBundle({ 'weights/config.json': '{"architectures":["Step3"]}' }));
    await store.putBytes('sweeps/sw-0001/runs/r-1/tla/checkpoints/3.tar.gz', other.bytes);
    await store.putText(tlaKey(sweepId, run.runId, 'curve.json'), JSON.stringify({ points: [], bundles: [{ step: 3, key: 'sweeps/sw-0001/runs/r-1/tla/checkpoints/3.tar.gz' }] }));
    expect(await weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 3 })).toMatchObject({ source: 'mra', sha256: other.weights?.sha256 });
    expect(other.weights?.sha256).not.toBe(weights?.sha256);
  });

  test('an MRA naming weights whose upload is missing fails, naming the key and the marker; weights packed into the tarball fail too', async () => {
    const store = new MemoryArtifactStore();
    // Staged elsewhere: this store never got the weights
    const { bytes, weights } = await packBundleWithWeights(new MemoryArtifactStore(), mraBundle());
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), bytes);
    const r = weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 0 });
    await expect(r).rejects.toBeInstanceOf(WeightsSyncError);
    await expect(r).rejects.toThrow(`the MRA's weights mem://weights/${weights?.sha256}/ are not completely uploaded: their marker mem://weights/${weights?.sha256}.json is missing`);
    // Packed the plain way: the folder is in the tarball, with no reference
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), packBundle(mraBundle()));
    await expect(weightsForRun({ store, sweepId, plan, run, role: 'mra', index: 0 })).rejects.toThrow('agent.yaml names weights "weights", but they were packed into the bundle instead of staged');
  });
});

describe('a TLA workspace cannot borrow weights it does not hold', () => {
  test('packing a workspace never trusts a reference file an agent wrote: without the weights folder it is refused, even when the reference names staged weights', async () => {
    const store = new MemoryArtifactStore();
    // GIVEN someone else's weights, staged and complete
    const victim = await stageBundleWeights(store, mraBundle());
    expect(victim).toBeDefined();
    // AND an agent's workspace that names weights, holds no folder, and forges a reference to the victim's
    const forged = { format: 'uplift-weights-ref/v1', folder: 'weights', key: victim?.key, sha256: victim?.sha256, files: 1, bytes: 1 };
    const workspace = tree({ 'agent.yaml': `${MANIFEST}weights: weights\n`, 'agent.py': 'print("hi")\n', 'prompt.txt': 'Classify.\n', [WEIGHTS_REF_FILE]: JSON.stringify(forged) });
    expect(() => readManifest(workspace)).not.toThrow(); // a packed bundle's shape: only the packer can tell
    // THEN the TLA job's packing refuses it as the agent's bundle problem, naming the field
    await expect(packBundleWithWeights(store, workspace, { fromWorkspace: true })).rejects.toThrow(UnsafeBundleError);
    await expect(packBundleWithWeights(store, tree({ 'agent.yaml': `${MANIFEST}weights: weights\n`, 'agent.py': '', 'prompt.txt': '', [WEIGHTS_REF_FILE]: JSON.stringify(forged) }), { fromWorkspace: true })).rejects.toThrow(
      /weights: "weights" is not a folder of the workspace/,
    );
    // AND the forged reference is gone from the workspace
    expect(() => readFileSync(join(workspace, WEIGHTS_REF_FILE))).toThrow();
  });

  test('a workspace that holds its weights stages them and drops any reference the agent wrote', async () => {
    const store = new MemoryArtifactStore();
    const workspace = mraBundle({ [WEIGHTS_REF_FILE]: JSON.stringify({ format: 'uplift-weights-ref/v1', folder: 'weights', key: `weights/${'0'.repeat(64)}/`, sha256: '0'.repeat(64), files: 1, bytes: 1 }) });
    const { weights } = await packBundleWithWeights(store, workspace, { fromWorkspace: true });
    expect(weights?.sha256).toBe((await hashWeightsFolder(workspace, 'weights')).sha256);
    expect(JSON.parse(readFileSync(join(workspace, WEIGHTS_REF_FILE), 'utf8')).sha256).toBe(weights?.sha256);
  });

  test('nothing the bundle needs may live in its weights folder, and the folder may not take the reference file’s name', () => {
    const inside = specErrorOf(() => readManifest(mraBundle({ 'weights/prompt.txt': 'p', 'weights/run.py': '' }, `name: t\nentrypoint: [python3, weights/run.py]\ncbm: classification\nprompt: weights/prompt.txt\nweights: weights\n`)));
    expect(inside.problems).toEqual([
      expect.stringMatching(/prompt: "weights\/prompt\.txt" is inside the weights folder, which is staged apart and left out of the bundle\. Fix:/),
      expect.stringMatching(/entrypoint\[1\]: "weights\/run\.py" is inside the weights folder/),
    ]);
    const named = tree({ 'agent.yaml': `${MANIFEST}weights: ${WEIGHTS_REF_FILE}\n`, 'agent.py': '', 'prompt.txt': '', [`${WEIGHTS_REF_FILE}/config.json`]: '{}' });
    expect(specErrorOf(() => readManifest(named)).problems).toEqual(expect.arrayContaining([expect.stringMatching(/is the name of the file that stands for staged weights/)]));
  });
});
