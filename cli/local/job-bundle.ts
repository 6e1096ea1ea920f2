import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { BuildOptions, BuildResult, Metafile, Plugin } from 'esbuild';
import { HARNESS_ROOT } from '../../core/assets';

/**
 * Bundles of the harness's TypeScript (esbuild), so that processes start without transpiling:
 * the local job worker (every job process of the local pool) and the CLI.
 *
 * A bundle is never stale: it lives in `<cache>/<name>/<key>/`, where the key hashes the content
 * of every file esbuild read to build it (its metafile inputs, node_modules included) plus
 * tsconfig.json, esbuild's version and this file. `<cache>/<name>/index.json` names the inputs of
 * the last build; a process recomputes their key and uses the bundle only when it matches, else it
 * rebuilds. Builds go to a temporary folder renamed into place, so concurrent builders (two test
 * processes) never see a half-written bundle. The cache is `UPLIFT_BUNDLE_CACHE`, else
 * `node_modules/.cache/uplift` under the harness root: inside the tree sandboxes hide.
 */

export interface BundleSpec {
  /** The cache folder (`jobs`, `cli`). */
  name: string;
  /** Output file name (`.js` added) → entry source, relative to the harness root. */
  entryPoints: Record<string, string>;
  /**
   * Leave node_modules to `require` at run time, resolved from the harness root's node_modules (the
   * CLI: aws-cdk-lib and the embedded servers read files of their own and load native addons).
   */
  packagesExternal?: boolean;
}

/** The local job worker: batch-images/jobs/local-worker.ts, every package bundled in. */
export const JOBS_BUNDLE: BundleSpec = { name: 'jobs', entryPoints: { worker: 'batch-images/jobs/local-worker.ts' } };
/** The CLI (cli/bin/uplift.cjs runs it): the harness's own code, packages left to node_modules. */
export const CLI_BUNDLE: BundleSpec = { name: 'cli', entryPoints: { main: 'cli/main.ts' }, packagesExternal: true };

/** Inputs of every bundle that esbuild does not list: they change how it builds. */
export const EXTRA_INPUTS = ['tsconfig.json', 'node_modules/esbuild/package.json', 'cli/local/job-bundle.ts'];

/** A build may not be published when an input changed this recently: the bundle might hold the older content. */
const RACY_MS = 2000;
/** Other builds are removed once unused this long (a running sweep touches its own when it starts). */
const KEEP_UNUSED_MS = 24 * 3600 * 1000;

export interface Bundle {
  /** Output name → absolute path of the .js file. */
  files: Record<string, string>;
  key: string;
  /** Built by this call (not found in the cache). */
  built: boolean;
}

interface Index {
  root: string;
  key: string;
  /** Relative to the root, "/"-separated, sorted. */
  inputs: string[];
}

export function bundleCacheDir(root: string = HARNESS_ROOT, env: NodeJS.ProcessEnv = process.env): string {
  return env.UPLIFT_BUNDLE_CACHE || join(root, 'node_modules', '.cache', 'uplift');
}

// The key of a bundle and the check of a cached one, shared with cli/bin/uplift.cjs (plain JavaScript: it runs before tsx).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundleKey = require('./bundle-key.cjs') as {
  inputsKey(root: string, inputs: readonly string[]): string | undefined;
  freshIndex(base: string, root: string): Index | undefined;
};

/** The cache key of `inputs` (relative to `root`): sha256 over the root and every input's path and content; undefined when an input is gone. */
export const inputsKey = bundleKey.inputsKey;

function outputFiles(spec: BundleSpec, dir: string): Record<string, string> {
  return Object.fromEntries(Object.keys(spec.entryPoints).map((out) => [out, join(dir, `${out}.js`)]));
}

/** The cached bundle of `spec` when it matches the sources as they are now. */
export function cachedBundle(spec: BundleSpec, opts: { root?: string; cacheDir?: string } = {}): Bundle | undefined {
  const root = opts.root ?? HARNESS_ROOT;
  const base = join(opts.cacheDir ?? bundleCacheDir(root), spec.name);
  const key = bundleKey.freshIndex(base, root)?.key;
  if (key === undefined) return undefined;
  const dir = join(base, key);
  const files = outputFiles(spec, dir);
  if (!Object.values(files).every((f) => existsSync(f))) return undefined;
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    /* read-only cache: still usable */
  }
  return { files, key, built: false };
}

interface Prepared {
  options: BuildOptions & { metafile: true; write: true };
  finish: (result: BuildResult<{ metafile: true }>) => Bundle;
  /** After a failed build: removes its temporary folder. */
  discard: () => void;
}

function prepare(spec: BundleSpec, root: string, cacheDir: string): Prepared {
  const base = join(cacheDir, spec.name);
  mkdirSync(base, { recursive: true });
  const tmp = join(base, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const started = Date.now();
  const options: Prepared['options'] = {
    absWorkingDir: root,
    entryPoints: Object.entries(spec.entryPoints).map(([out, entry]) => ({ in: entry, out })),
    outdir: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    ...(spec.packagesExternal ? { packages: 'external' as const } : {}),
    // The harness root, for core/assets.ts: a bundle's own folder is the cache, not the sources' place.
    define: { __UPLIFT_HARNESS_ROOT__: JSON.stringify(root) },
    // Stack traces in job logs point at the sources (the worker runs with --enable-source-maps).
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: true,
    logLevel: 'silent',
    plugins: [sourceDirname(root)],
  };
  const finish = (result: BuildResult<{ metafile: true }>): Bundle => {
    const inputs = bundleInputs(root, result.metafile);
    const key = inputsKey(root, inputs);
    const racy = key === undefined || inputs.some((rel) => statSync(join(root, rel)).mtimeMs > started - RACY_MS);
    if (racy) {
      // An input changed while (or just before) esbuild read it: use this build once, never cache it.
      return { files: outputFiles(spec, tmp), key: key ?? 'unpublished', built: true };
    }
    const dir = join(base, key);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process published the same key first: its bundle is as good as this one.
      if (!existsSync(dir)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    const indexTmp = join(base, `.index-${process.pid}-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(indexTmp, JSON.stringify({ root, key, inputs } satisfies Index));
    renameSync(indexTmp, join(base, 'index.json'));
    prune(base, key);
    return { files: outputFiles(spec, dir), key, built: true };
  };
  return { options, finish, discard: () => rmSync(tmp, { recursive: true, force: true }) };
}

/**
 * `__dirname` and `__filename` of the harness's own sources keep naming the source's folder and
 * file once bundled (bundled, Node's would name the bundle in the cache): the shipped files go
 * through core/assets.ts, but code such as infra/config.ts, which the CLI imports, still finds the
 * repository from its own folder. Declared on the file's first line (its other lines keep their
 * numbers for the source map); esbuild renames each file's declaration apart. Packages under
 * node_modules load unchanged.
 */
function sourceDirname(root: string): Plugin {
  return {
    name: 'uplift-source-dirname',
    setup(build) {
      build.onLoad({ filter: /\.(ts|cts|mts)$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`) || relative(root, args.path).startsWith('..')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!/\b__(dirname|filename)\b/.test(text) || /\b(const|let|var)\s+__(dirname|filename)\b/.test(text)) return undefined;
        return { contents: `var __dirname = ${JSON.stringify(dirname(args.path))}, __filename = ${JSON.stringify(args.path)}; ${text}`, loader: 'ts' };
      });
    },
  };
}

/** The files a build read, relative to the root and sorted, plus EXTRA_INPUTS. */
function bundleInputs(root: string, metafile: Metafile): string[] {
  const inputs = new Set<string>();
  for (const p of [...Object.keys(metafile.inputs), ...EXTRA_INPUTS]) {
    // Virtual modules (`<define:…>`, namespaced paths) are not files.
    if (/^[a-z-]+:/i.test(p) || p.startsWith('<')) continue;
    const rel = relative(root, join(root, p)).split(sep).join('/');
    if (existsSync(join(root, rel))) inputs.add(rel);
  }
  return [...inputs].sort();
}

/** Removes builds not used for a day and temporary folders of builders that died. */
function prune(base: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(base)) {
    if (name === keep || name === 'index.json') continue;
    const path = join(base, name);
    try {
      const age = now - statSync(path).mtimeMs;
      if (age > (name.startsWith('.') ? 3600 * 1000 : KEEP_UNUSED_MS)) rmSync(path, { recursive: true, force: true });
    } catch {
      /* removed by another process */
    }
  }
}

/** The bundle of `spec`, from the cache or built now (esbuild's asynchronous API, the only one that takes plugins). */
export async function ensureBundle(spec: BundleSpec, opts: { root?: string; cacheDir?: string } = {}): Promise<Bundle> {
  const cached = cachedBundle(spec, opts);
  if (cached) return cached;
  const root = opts.root ?? HARNESS_ROOT;
  const { options, finish, discard } = prepare(spec, root, opts.cacheDir ?? bundleCacheDir(root));
  let result: BuildResult<{ metafile: true }>;
  try {
    result = await loadEsbuild().build(options);
  } catch (e) {
    discard();
    throw e;
  }
  return finish(result);
}

/** esbuild, loaded when a bundle is built (not at every start). */
function loadEsbuild(): typeof import('esbuild') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('esbuild') as typeof import('esbuild');
}
