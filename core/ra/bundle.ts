import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tar from 'tar';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SpecError } from '../errors';
import type { ArtifactStore } from '../ports';
import { formatIssues } from '../spec';

/** `agent.yaml` of an RA bundle. */
export const AgentManifest = z.strictObject({
  name: z.string().min(1),
  /** argv run in the bundle directory, once per shard, e.g. ["python3", "agent.py"]. */
  entrypoint: z.array(z.string().min(1)).min(1, { error: 'must list the command to run, e.g. ["python3", "agent.py"]' }),
  /** The CBM kind this agent speaks. */
  cbm: z.literal('classification', { error: 'must be "classification" (the only CBM kind so far)' }),
  /** Prompt file that optimisers such as fewshot-search may edit. @default prompt.txt */
  prompt: z.string().min(1).default('prompt.txt'),
  description: z.string().optional(),
});
export type AgentManifest = z.infer<typeof AgentManifest>;

const IGNORED = new Set(['__pycache__', '.git', 'node_modules', '.DS_Store']);

export function readManifest(dir: string): AgentManifest {
  const file = join(dir, 'agent.yaml');
  if (!existsSync(file)) throw new SpecError([`${dir}: no agent.yaml. Fix: an RA bundle is a directory with agent.yaml (name, entrypoint, cbm)`]);
  const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
  const parsed = AgentManifest.safeParse(raw);
  if (!parsed.success) throw new SpecError(formatIssues(file, parsed.error, raw));
  if (!existsSync(join(dir, parsed.data.prompt))) throw new SpecError([`${file}: prompt: file "${parsed.data.prompt}" not found in the bundle. Fix: name the bundle's prompt file`]);
  return parsed.data;
}

/** Relative paths of a bundle's files, sorted (caches and VCS folders left out). */
export function listBundleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (IGNORED.has(name) || name.endsWith('.pyc')) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Content hash of a bundle (paths and bytes): its key `agents/<hash>.tar.gz` and its baseline cache identity. */
export function bundleHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of listBundleFiles(dir)) {
    h.update(f + '\0');
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

export function bundleKey(hash: string): string {
  return `agents/${hash}.tar.gz`;
}

/** A deterministic tar.gz of a bundle (no mtimes or owners). */
export function packBundle(dir: string): Uint8Array {
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-pack-'));
  try {
    const file = join(tmp, 'bundle.tar.gz');
    tar.create({ gzip: { level: 6 }, file, cwd: dir, portable: true, noMtime: true, sync: true }, listBundleFiles(dir));
    return readFileSync(file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Extracts a bundle tarball into `dest` (entries escaping it are refused by tar). */
export function unpackBundle(bytes: Uint8Array, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'uplift-unpack-'));
  try {
    const file = join(tmp, 'bundle.tar.gz');
    writeFileSync(file, bytes);
    tar.extract({ file, cwd: dest, sync: true, strict: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Uploads a bundle to `agents/<hash>.tar.gz` unless that exact content is already there. */
export async function stageBundle(store: ArtifactStore, dir: string): Promise<{ hash: string; key: string }> {
  readManifest(dir);
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
      return execFileSync('diff', ['-ruN', 'ra', 'mra'], { cwd: tmp, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      const err = e as { status?: number; stdout?: string };
      if (err.status === 1 && typeof err.stdout === 'string') return err.stdout;
      throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
