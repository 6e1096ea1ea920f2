import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CBM_KINDS } from '../cbm/registry';
import { SpecError, UpliftError } from '../errors';
import type { ArtifactStore } from '../ports';
import { formatIssues } from '../spec';

/**
 * A bundle that could make the harness read or write outside it: a manifest path that is
 * absolute, climbs out with `..` or goes through a symbolic link; a link, device or FIFO in the
 * bundle or its archive; an archive entry outside the target folder; an archive too large.
 * A {@link SpecError}: one line per problem, each naming the field or entry and the fix.
 */
export class UnsafeBundleError extends SpecError {}

/** `agent.yaml` of an RA bundle. */
export const AgentManifest = z.strictObject({
  name: z.string().min(1),
  /** argv run in the bundle directory, once per shard, e.g. ["python3", "agent.py"]. */
  entrypoint: z.array(z.string().min(1)).min(1, { error: 'must list the command to run, e.g. ["python3", "agent.py"]' }),
  /** The CBM kind this agent speaks. */
  cbm: z.string().refine((k) => k in CBM_KINDS, { error: `must be a CBM kind: ${Object.keys(CBM_KINDS).join(', ')}` }),
  /** Prompt file that optimisers such as fewshot-search may edit. @default prompt.txt */
  prompt: z.string().min(1).default('prompt.txt'),
  /**
   * Folder of model weights this agent serves instead of its RA model's (a Hugging Face weights
   * directory: config.json, tokenizer files, *.safetensors), e.g. written by a TLA that unlearns.
   * Never packed into the bundle tarball: staged to `weights/<sha256>/` and named by
   * {@link WEIGHTS_REF_FILE} (core/models/bundle-weights.ts, docs/mra-weights.md).
   */
  weights: z.string().min(1).optional(),
  description: z.string().optional(),
});
export type AgentManifest = z.infer<typeof AgentManifest>;

/**
 * The file a packed bundle carries in place of its `weights` folder: where the folder's staged
 * copy is (written by `packBundleWithWeights`, read by the GPU launcher).
 */
export const WEIGHTS_REF_FILE = '.uplift-weights.json';
export const WEIGHTS_REF_FORMAT = 'uplift-weights-ref/v1';
export const WeightsRef = z
  .strictObject({
    format: z.literal(WEIGHTS_REF_FORMAT),
    /** The manifest's `weights` folder, normalised (e.g. "weights"). */
    folder: z.string().min(1),
    /** `weights/<sha256>/` in the artifacts store. */
    key: z.string().regex(/^weights\/[0-9a-f]{64}\/$/),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    files: z.number().int().min(1),
    bytes: z.number().int().min(0),
  })
  .refine((r) => r.key === `weights/${r.sha256}/`, { error: 'key must be weights/<sha256>/' });
export type WeightsRef = z.infer<typeof WeightsRef>;

/** A bundle-relative path as `/`-separated parts without "." or empty parts ("./weights/" → "weights"). */
export const normalizeBundlePath = (value: string) =>
  value
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');

const IGNORED = new Set(['__pycache__', '.git', 'node_modules', '.DS_Store']);
const ignored = (name: string) => IGNORED.has(name) || name.endsWith('.pyc');

/** A value for an error message: quoted, with control characters escaped. */
const q = (v: string) => JSON.stringify(v);

/**
 * Why the bundle-relative `value` (a path named by agent.yaml) does not name a regular file inside
 * `dir`, or undefined when it does. Lexical checks first (absolute, `..`), then every component
 * with lstat (no symbolic links anywhere on the way, a regular file at the end), then realpath.
 */
function insideProblem(dir: string, value: string): string | undefined {
  return insidePath(dir, value, 'file').problem;
}

/**
 * {@link insideProblem} for a regular file or a folder (`kind`); `missing` when the checks pass
 * up to a path that does not exist (no link on the way), so a caller may accept a stand-in.
 */
function insidePath(dir: string, value: string, kind: 'file' | 'folder'): { problem?: string; missing?: boolean } {
  const fixInside = kind === 'file' ? 'Fix: name a file inside the bundle, relative to the folder of agent.yaml (e.g. prompt.txt)' : 'Fix: name a folder inside the bundle, relative to the folder of agent.yaml (e.g. weights)';
  const r = insidePathProblem(dir, value, kind, fixInside);
  return typeof r === 'string' ? { problem: r } : r;
}

function insidePathProblem(dir: string, value: string, kind: 'file' | 'folder', fixInside: string): string | { problem?: string; missing?: boolean } {
  const what = kind === 'file' ? 'file' : 'folder';
  if (value.includes('\0')) return `contains a NUL character. ${fixInside}`;
  if (isAbsolute(value) || /^[a-zA-Z]:/.test(value)) return `is an absolute path: the harness reads it on its own machine, outside the bundle. ${fixInside}`;
  if (value.includes('\\')) return `contains a backslash. Fix: separate folders with "/" (e.g. prompts/main.txt)`;
  const parts = value.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return `contains "..": every path agent.yaml names must stay inside the bundle. ${fixInside}`;
  if (parts.length === 0) return `names the bundle folder itself, not a ${what}. ${fixInside}`;
  const left = parts.find(ignored);
  if (left) return `is left out when a bundle is staged (${q(left)} is a cache or version-control name). Fix: move or rename the ${what}`;
  let p = dir;
  for (const [i, part] of parts.entries()) {
    p = join(p, part);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return { problem: `not found in the bundle. Fix: name the bundle's ${what} (relative to agent.yaml)`, missing: true };
    }
    const shown = q(parts.slice(0, i + 1).join('/'));
    if (st.isSymbolicLink()) return `goes through the symbolic link ${shown}: links may point outside the bundle and are not staged. Fix: replace the link with the ${what} it points to`;
    if (i < parts.length - 1 && !st.isDirectory()) return `not found in the bundle (${shown} is not a folder). Fix: name the bundle's ${what} (relative to agent.yaml)`;
    if (i === parts.length - 1 && kind === 'file' && !st.isFile()) return `is ${st.isDirectory() ? 'a folder' : 'a special file (FIFO, socket or device)'}, not a regular file. Fix: name a regular file inside the bundle`;
    if (i === parts.length - 1 && kind === 'folder' && !st.isDirectory()) return `is ${st.isFile() ? 'a file' : 'a special file (FIFO, socket or device)'}, not a folder. Fix: name the folder that holds the weights (config.json, tokenizer files, *.safetensors)`;
  }
  // No link on the way, so this holds; kept as a second line of defence.
  const root = realpathSync(dir);
  const real = realpathSync(p);
  if (!real.startsWith(root + sep)) return `resolves outside the bundle (${q(real)}). ${fixInside}`;
  return {};
}

/**
 * Why the manifest's `weights` folder cannot be served, or undefined: a folder inside the bundle
 * (no links on the way or in it) holding a regular config.json; or, in a packed bundle (the
 * folder is never packed), a {@link WEIGHTS_REF_FILE} naming that folder.
 */
function weightsProblem(dir: string, value: string): string | undefined {
  const at = insidePath(dir, value, 'folder');
  if (at.missing) {
    const ref = readWeightsRefFile(dir);
    if (ref.ref && ref.ref.folder === normalizeBundlePath(value)) return undefined;
    return ref.problem ?? at.problem;
  }
  if (at.problem) return at.problem;
  const folder = join(dir, normalizeBundlePath(value));
  let config;
  try {
    config = lstatSync(join(folder, 'config.json'));
  } catch {
    config = undefined;
  }
  if (!config?.isFile()) return `holds no config.json${config ? ' (it is not a regular file)' : ''}, so vLLM cannot load it. Fix: name the Hugging Face weights folder (config.json, tokenizer files, *.safetensors)`;
  const links: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) links.push(relative(dir, p).split(sep).join('/'));
      else if (st.isDirectory()) walk(p);
    }
  };
  walk(folder);
  if (links.length) return `holds the symbolic link${links.length > 1 ? 's' : ''} ${links.slice(0, 5).map(q).join(', ')}: links may point outside the bundle and are not staged. Fix: replace each link with the file it points to`;
  return undefined;
}

/**
 * The {@link WEIGHTS_REF_FILE} of a bundle: `ref` when it is a regular file that parses, `problem`
 * when it is there but unusable, neither when absent.
 */
export function readWeightsRefFile(dir: string): { ref?: WeightsRef; problem?: string } {
  const file = join(dir, WEIGHTS_REF_FILE);
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return {};
  }
  if (!st.isFile()) return { problem: `is not in the bundle, and ${WEIGHTS_REF_FILE} (which stands for a staged weights folder) is not a regular file. Fix: pack the bundle with packBundleWithWeights` };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    raw = undefined;
  }
  const parsed = WeightsRef.safeParse(raw);
  if (!parsed.success) return { problem: `is not in the bundle, and its ${WEIGHTS_REF_FILE} is malformed (${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}). Fix: pack the bundle with packBundleWithWeights` };
  return { ref: parsed.data };
}

/**
 * Reads and validates `agent.yaml`. Every path it names must stay inside the bundle (the harness
 * reads and writes the prompt file on its own machine): no absolute paths, no `..`, no symbolic
 * links; agent.yaml itself must be a regular file. Throws {@link UnsafeBundleError} otherwise.
 */
export function readManifest(dir: string): AgentManifest {
  const file = join(dir, 'agent.yaml');
  let st;
  try {
    st = lstatSync(file);
  } catch {
    throw new SpecError([`${dir}: no agent.yaml. Fix: an RA bundle is a directory with agent.yaml (name, entrypoint, cbm)`]);
  }
  if (st.isSymbolicLink()) throw new UnsafeBundleError([`${file}: is a symbolic link; the harness reads agent.yaml on its own machine, so it must be a file of the bundle. Fix: replace the link with the file itself`]);
  if (!st.isFile()) throw new UnsafeBundleError([`${file}: is not a regular file. Fix: an RA bundle is a directory with an agent.yaml file (name, entrypoint, cbm)`]);
  const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
  const parsed = AgentManifest.safeParse(raw);
  if (!parsed.success) throw new SpecError(formatIssues(file, parsed.error, raw));
  const problems: string[] = [];
  const promptProblem = insideProblem(dir, parsed.data.prompt);
  if (promptProblem) problems.push(`${file}: prompt: ${q(parsed.data.prompt)} ${promptProblem}`);
  const weights = parsed.data.weights;
  const weightsIssue = weights === undefined ? undefined : weightsProblem(dir, weights);
  if (weightsIssue) problems.push(`${file}: weights: ${q(weights as string)} ${weightsIssue}`);
  // The weights folder is staged apart and left out of the tarball: nothing else the bundle needs may live in it.
  const folder = weights === undefined ? undefined : normalizeBundlePath(weights);
  const within = (p: string) => folder !== undefined && (normalizeBundlePath(p) + '/').startsWith(folder + '/');
  if (folder === WEIGHTS_REF_FILE) problems.push(`${file}: weights: ${q(weights as string)} is the name of the file that stands for staged weights. Fix: name the weights folder otherwise (e.g. weights)`);
  if (within(parsed.data.prompt)) problems.push(`${file}: prompt: ${q(parsed.data.prompt)} is inside the weights folder, which is staged apart and left out of the bundle. Fix: move the prompt file out of ${q(folder as string)}`);
  parsed.data.entrypoint.forEach((arg, i) => {
    if (!isAbsolute(arg) && within(arg)) problems.push(`${file}: entrypoint[${i}]: ${q(arg)} is inside the weights folder, which is staged apart and left out of the bundle. Fix: move it out of ${q(folder as string)}`);
  });
  // The entrypoint runs inside the sandbox and the harness reads none of its files, so absolute
  // interpreters (/usr/bin/python3) are fine; a relative path that climbs out names a file that is
  // not staged with the bundle.
  parsed.data.entrypoint.forEach((arg, i) => {
    const n = posix.normalize(arg.replace(/\\/g, '/'));
    if (!isAbsolute(arg) && (n === '..' || n.startsWith('../')))
      problems.push(`${file}: entrypoint[${i}]: ${q(arg)} points outside the bundle, which is not staged with it. Fix: move the file into the bundle and name it relative to agent.yaml`);
  });
  if (problems.length) throw new UnsafeBundleError(problems);
  return parsed.data;
}

/**
 * Relative paths (with `/`) of a bundle's files, in walk order (caches and VCS folders left out).
 * Symbolic links are refused ({@link UnsafeBundleError}): they could point outside the bundle,
 * and unpacking refuses them; FIFOs, sockets and devices are left out.
 */
export function listBundleFiles(dir: string): string[] {
  const out: string[] = [];
  const links: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (ignored(name)) continue;
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p).split(sep).join('/');
      if (st.isSymbolicLink()) links.push(rel);
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(rel);
    }
  };
  walk(dir);
  if (links.length)
    throw new UnsafeBundleError(
      links.slice(0, 20).map((l) => `${dir}: ${q(l)} is a symbolic link; bundles are copied without links (one could point outside the bundle). Fix: replace it with a copy of the file or folder it points to, or remove it`),
    );
  return out;
}

/** Version of the {@link bundleHash} framing; part of the hashed bytes. */
export const BUNDLE_HASH_FORMAT = 'uplift-bundle-hash/v2';

/**
 * Content hash of a bundle: its key `agents/<hash>.tar.gz` and its baseline cache identity.
 *
 * Unambiguous framing over what a staged bundle holds: the format version, then for each file in
 * byte order of its path: the path's UTF-8 length (u32 BE) and bytes, whether it is executable
 * (one byte: the entrypoint may run it), the content's length (u64 BE) and bytes. Empty folders
 * are neither hashed nor packed. The full SHA-256 (64 hex characters): a truncated hash can be collided by brute force, and the hash names a bundle in S3 and in the baseline key.
 */
export function bundleHash(dir: string): string {
  const h = createHash('sha256');
  const version = Buffer.from(BUNDLE_HASH_FORMAT, 'utf8');
  h.update(u32(version.length)).update(version);
  const files = listBundleFiles(dir)
    .map((f) => ({ f, bytes: Buffer.from(f, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (const { f, bytes } of files) {
    const p = join(dir, f);
    const content = readFileSync(p);
    h.update(u32(bytes.length)).update(bytes);
    h.update(Buffer.from([lstatSync(p).mode & 0o111 ? 1 : 0]));
    h.update(u64(content.length)).update(content);
  }
  return h.digest('hex');
}

/** Big-endian length prefixes of content hashes (bundle and weights hashes). */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function bundleKey(hash: string): string {
  return `agents/${hash}.tar.gz`;
}

export interface PackOptions {
  /**
   * Bundle-relative files or folders (normalised, e.g. "weights") left out of the tarball: a
   * manifest's weights folder, which is staged on its own (core/models/bundle-weights.ts).
   */
  leaveOut?: readonly string[];
}

/** A deterministic tar.gz of a bundle (no mtimes or owners). */
export function packBundle(dir: string, opts: PackOptions = {}): Uint8Array {
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-pack-'));
  try {
    const file = join(tmp, 'bundle.tar.gz');
    const out = (opts.leaveOut ?? []).map(normalizeBundlePath).filter((p) => p !== '');
    // tar reads a name starting with "@" as another archive whose entries it copies in: "./" keeps it a file.
    const files = listBundleFiles(dir)
      .filter((f) => !out.some((p) => f === p || f.startsWith(`${p}/`)))
      .map((f) => (f.startsWith('@') ? `./${f}` : f));
    tar.create({ gzip: { level: 6 }, file, cwd: dir, portable: true, noMtime: true, sync: true }, files);
    return readFileSync(file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Bounds on what {@link unpackBundle} extracts (and {@link stageBundle} stages). */
export interface BundleLimits {
  /** Total bytes of the files. */
  maxBytes: number;
  /** Files and folders. */
  maxEntries: number;
}
export const BUNDLE_LIMITS: BundleLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 20_000 };

/** Archive entry types a bundle may hold: no links, devices or FIFOs. */
const ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

const size = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n.toLocaleString('en-US')} bytes`);

/** Why an archive entry's path would not land inside the target folder, or undefined. */
function entryPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return 'is an absolute path';
  if (path.split(/[/\\]/).includes('..')) return 'contains ".." (it would land outside the target folder)';
  return undefined;
}

/** Problems of a (plain) tar file as a bundle archive: entry types, paths, count and size. */
function inspectArchive(file: string, limits: BundleLimits): string[] {
  const problems: string[] = [];
  let entries = 0;
  let bytes = 0;
  tar.list({
    file,
    sync: true,
    strict: true,
    onReadEntry: (e) => {
      entries++;
      bytes += e.size ?? 0;
      const path = q(e.path);
      if (!ENTRY_TYPES.has(e.type)) problems.push(`${path} is a ${e.type}${e.linkpath ? ` to ${q(e.linkpath)}` : ''}: a bundle holds only files and folders`);
      else {
        const why = entryPathProblem(e.path);
        if (why) problems.push(`${path} ${why}`);
      }
    },
  });
  if (entries > limits.maxEntries) problems.push(`${entries.toLocaleString('en-US')} entries, more than the ${limits.maxEntries.toLocaleString('en-US')} a bundle may hold`);
  if (bytes > limits.maxBytes) problems.push(`${size(bytes)} of files, more than the ${size(limits.maxBytes)} a bundle may hold`);
  return problems;
}

/**
 * Extracts a bundle tarball (untrusted: an MRA is written by agents) into `dest`, which must be
 * missing or an empty folder. Refused with {@link UnsafeBundleError} before anything is written:
 * links (symbolic or hard), devices and FIFOs; absolute paths and `..`; more than
 * `limits.maxEntries` entries or `limits.maxBytes` bytes of files (decompression is bounded too).
 * Files are created with mode 644, or 755 when executable in the archive (never setuid/setgid),
 * owned by this process (never by the archive's uid).
 */
export function unpackBundle(bytes: Uint8Array, dest: string, limits: BundleLimits = BUNDLE_LIMITS): void {
  const fail = (problems: string[], cause?: unknown): never => {
    throw new UnsafeBundleError(
      problems.slice(0, 20).map((p) => `bundle archive: ${p}`),
      { cause },
    );
  };
  // Headers and padding: at most ~1.5 KiB per entry (pax header, header, padding), plus the end blocks.
  const maxTarBytes = limits.maxBytes + limits.maxEntries * 1536 + 64 * 1024;
  let raw: Buffer;
  try {
    raw = gunzipSync(bytes, { maxOutputLength: maxTarBytes });
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
    return fail([tooLarge ? `decompresses to more than ${size(maxTarBytes)}, more than a bundle may hold` : `not a gzip-compressed tarball (${(e as Error).message})`], e);
  }
  let st;
  try {
    st = lstatSync(dest);
  } catch {
    st = undefined;
  }
  // An existing link in `dest` could redirect an entry outside it.
  if (st && (!st.isDirectory() || readdirSync(dest).length > 0)) throw new UpliftError(`unpackBundle: ${dest} must be missing or an empty folder`);
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-unpack-'));
  try {
    const file = join(tmp, 'bundle.tar');
    writeFileSync(file, raw);
    let problems: string[];
    try {
      problems = inspectArchive(file, limits);
    } catch (e) {
      return fail([`not a valid tarball (${(e as Error).message})`], e);
    }
    if (problems.length) fail(problems);
    mkdirSync(dest, { recursive: true });
    try {
      tar.extract({
        file,
        cwd: dest,
        sync: true,
        strict: true,
        preservePaths: false,
        preserveOwner: false,
        // Checked above; kept as a second line of defence.
        filter: (path, entry) => {
          if (!('type' in entry) || !ENTRY_TYPES.has(entry.type) || entryPathProblem(path)) return false;
          entry.mode = entry.type === 'Directory' || (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
          return true;
        },
      });
    } catch (e) {
      return fail([`could not be extracted (${(e as Error).message})`], e);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A bundle's files and bytes beyond `limits` (what {@link unpackBundle} would refuse), as problems. */
function sizeProblems(dir: string, files: string[], limits: BundleLimits): string[] {
  const bytes = files.reduce((n, f) => n + lstatSync(join(dir, f)).size, 0);
  const fix = 'Fix: leave data, dependencies and build output out of the bundle';
  const problems: string[] = [];
  if (files.length > limits.maxEntries) problems.push(`${dir}: ${files.length.toLocaleString('en-US')} files, more than the ${limits.maxEntries.toLocaleString('en-US')} a bundle may hold. ${fix}`);
  if (bytes > limits.maxBytes) problems.push(`${dir}: ${size(bytes)} of files, more than the ${size(limits.maxBytes)} a bundle may hold. ${fix}`);
  return problems;
}

/** Uploads a bundle to `agents/<hash>.tar.gz` unless that exact content is already there. */
export async function stageBundle(store: ArtifactStore, dir: string, limits: BundleLimits = BUNDLE_LIMITS): Promise<{ hash: string; key: string }> {
  readManifest(dir);
  const tooLarge = sizeProblems(dir, listBundleFiles(dir), limits);
  if (tooLarge.length) throw new UnsafeBundleError(tooLarge);
  const hash = bundleHash(dir);
  const key = bundleKey(hash);
  if (!(await store.exists(key))) await store.putBytes(key, packBundle(dir), 'application/gzip');
  return { hash, key };
}

/** Downloads and extracts a staged bundle. */
export async function fetchBundle(store: ArtifactStore, hash: string, dest: string): Promise<void> {
  const bytes = await store.getBytes(bundleKey(hash));
  if (!bytes) throw new SpecError([`${store.uri(bundleKey(hash))} is missing: stage the bundle before running`]);
  unpackBundle(bytes, dest);
}

/** Unified diff of two bundle directories (`diff -ruN`), paths shown relative as ra/… and mra/…. */
export function diffBundles(raDir: string, mraDir: string): string {
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-diff-'));
  try {
    for (const [name, src] of [['ra', raDir], ['mra', mraDir]] as const) {
      for (const f of listBundleFiles(src)) {
        const to = join(tmp, name, f);
        mkdirSync(join(to, '..'), { recursive: true });
        writeFileSync(to, readFileSync(join(src, f)));
      }
      mkdirSync(join(tmp, name), { recursive: true });
    }
    try {
      // --text: a file with a NUL byte is diffed as text, not summed up as "Binary files differ" (code hidden in plain sight).
      return execFileSync('diff', ['-ruN', '--text', 'ra', 'mra'], { cwd: tmp, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      const err = e as { status?: number; stdout?: string };
      if (err.status === 1 && typeof err.stdout === 'string') return err.stdout;
      throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
