import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HARNESS_ROOT } from '../../../core/assets';
import { cachedBundle, ensureBundle, inputsKey, JOBS_BUNDLE, type BundleSpec } from '../../../cli/local/job-bundle';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freshCliBundle } = require('../../../cli/bin/uplift.cjs') as { freshCliBundle: (root: string, cacheDir: string) => string | undefined };

const SPEC: BundleSpec = { name: 'cli', entryPoints: { main: 'src/main.ts' } };
const HOUR_AGO = new Date(Date.now() - 3600 * 1000);

let dir: string;
let root: string;
let cacheDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uplift-bundle-test-'));
  root = join(dir, 'root');
  cacheDir = join(dir, 'cache');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a file of the fixture harness, dated an hour ago (older inputs than a build's racy window). */
function put(rel: string, text: string, mtime = HOUR_AGO): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  utimesSync(file, mtime, mtime);
}

/** A three-level import chain; the leaf's value and the bundle's harness root are printed. */
function fixture(leaf: string): void {
  put('tsconfig.json', '{}');
  put('src/main.ts', "import { value } from './mid';\ndeclare const __UPLIFT_HARNESS_ROOT__: string;\nprocess.stdout.write(JSON.stringify({ value, root: __UPLIFT_HARNESS_ROOT__ }));\n");
  put('src/mid.ts', "export { value } from './deep/leaf';\n");
  put('src/deep/leaf.ts', `export const value: string = ${JSON.stringify(leaf)};\n`);
}

const run = (file: string) => JSON.parse(spawnSync(process.execPath, [file], { encoding: 'utf8' }).stdout) as { value: string; root: string };

describe('bundles (cli/local/job-bundle.ts) are never stale', () => {
  test('a bundle is reused while its inputs are unchanged, and rebuilt when a file it imports indirectly changes', async () => {
    fixture('one');
    const first = await ensureBundle(SPEC, { root, cacheDir });
    expect(first.built).toBe(true);
    expect(run(first.files.main)).toEqual({ value: 'one', root });
    const again = await ensureBundle(SPEC, { root, cacheDir });
    expect(again).toEqual({ ...first, built: false });

    // WHEN only the leaf, two imports deep, changes
    put('src/deep/leaf.ts', 'export const value: string = "two";\n');
    // THEN the cached bundle no longer counts, and the rebuilt one holds the change
    expect(cachedBundle(SPEC, { root, cacheDir })).toBeUndefined();
    const rebuilt = await ensureBundle(SPEC, { root, cacheDir });
    expect(rebuilt.built).toBe(true);
    expect(rebuilt.key).not.toBe(first.key);
    expect(run(rebuilt.files.main)).toEqual({ value: 'two', root });
  });

  test('__dirname and __filename of a bundled source still name the source, in every file apart', async () => {
    fixture('one');
    put('src/main.ts', "import { where } from './deep/leaf';\nprocess.stdout.write(JSON.stringify({ main: __dirname, file: __filename, leaf: where }));\n");
    put('src/deep/leaf.ts', 'export const value = "one";\nexport const where = __dirname;\n');
    const b = await ensureBundle(SPEC, { root, cacheDir });
    expect(JSON.parse(spawnSync(process.execPath, [b.files.main], { encoding: 'utf8' }).stdout)).toEqual({ main: join(root, 'src'), file: join(root, 'src', 'main.ts'), leaf: join(root, 'src', 'deep') });
  });

  test('tsconfig.json is part of the key though esbuild does not list it', async () => {
    fixture('one');
    const first = await ensureBundle(SPEC, { root, cacheDir });
    put('tsconfig.json', '{ "compilerOptions": {} }');
    expect(cachedBundle(SPEC, { root, cacheDir })).toBeUndefined();
    expect((await ensureBundle(SPEC, { root, cacheDir })).key).not.toBe(first.key);
  });

  test('a build whose inputs changed just before it is used once but not cached', async () => {
    fixture('one');
    put('src/deep/leaf.ts', 'export const value: string = "fresh";\n', new Date());
    const b = await ensureBundle(SPEC, { root, cacheDir });
    expect(run(b.files.main).value).toBe('fresh');
    expect(cachedBundle(SPEC, { root, cacheDir })).toBeUndefined();
    expect(existsSync(join(cacheDir, 'cli', 'index.json'))).toBe(false);
  });

  test('concurrent builders of the same sources publish one bundle and leave no temporary folder', async () => {
    fixture('one');
    const built = await Promise.all([1, 2, 3].map(() => ensureBundle(SPEC, { root, cacheDir })));
    expect(new Set(built.map((b) => b.files.main)).size).toBe(1);
    for (const b of built) expect(run(b.files.main).value).toBe('one');
    expect(readdirSync(join(cacheDir, 'cli')).sort()).toEqual([built[0].key, 'index.json'].sort());
  });

  test('cli/bin/uplift.cjs checks the CLI bundle with the same key', async () => {
    fixture('one');
    expect(freshCliBundle(root, cacheDir)).toBeUndefined();
    const b = await ensureBundle(SPEC, { root, cacheDir });
    expect(freshCliBundle(root, cacheDir)).toBe(b.files.main);
    const index = JSON.parse(readFileSync(join(cacheDir, 'cli', 'index.json'), 'utf8')) as { inputs: string[] };
    expect(inputsKey(root, index.inputs)).toBe(b.key);
    put('src/mid.ts', "export { value } from './deep/leaf';\nexport const other = 1;\n");
    expect(freshCliBundle(root, cacheDir)).toBeUndefined();
  });
});

describe('cli/local/job-boot.cjs starts a bundle with V8\'s code cache', () => {
  const BOOT = join(HARNESS_ROOT, 'cli', 'local', 'job-boot.cjs');

  test('the bundle runs as it would directly; the first process writes the cache, the next ones use it', async () => {
    fixture('one');
    const b = await ensureBundle(SPEC, { root, cacheDir });
    const boot = () => spawnSync(process.execPath, [BOOT, b.files.main], { encoding: 'utf8' });
    expect(existsSync(`${b.files.main}.v8-cache`)).toBe(false);
    expect(JSON.parse(boot().stdout)).toEqual({ value: 'one', root });
    expect(existsSync(`${b.files.main}.v8-cache`)).toBe(true);
    const cache = readFileSync(`${b.files.main}.v8-cache`);
    expect(JSON.parse(boot().stdout)).toEqual({ value: 'one', root });
    // Accepted, so not written again.
    expect(readFileSync(`${b.files.main}.v8-cache`).equals(cache)).toBe(true);
  });

  test('a stack trace names the TypeScript source and line, not the bundle', async () => {
    fixture('one');
    put('src/deep/leaf.ts', 'export const value: string = "one";\n\nexport function fail(): never {\n  throw new Error("leaf failed");\n}\n');
    put('src/main.ts', "import { fail } from './deep/leaf';\ntry {\n  fail();\n} catch (e) {\n  process.stdout.write((e as Error).stack ?? '');\n}\n");
    const b = await ensureBundle(SPEC, { root, cacheDir });
    const stack = spawnSync(process.execPath, [BOOT, b.files.main], { encoding: 'utf8' }).stdout;
    expect(stack.split('\n')[0]).toBe('Error: leaf failed');
    expect(stack).toContain(`at fail (${join(root, 'src', 'deep', 'leaf.ts')}:4:`);
    expect(stack).toContain(`${join(root, 'src', 'main.ts')}:3:`);
    expect(stack).not.toContain(b.files.main);
  });
});

describe('the bundled code finds the harness files through the manifest', () => {
  test('prompts and the harness root resolve to the repository from a bundle built into a folder elsewhere', async () => {
    const b = await ensureBundle({ name: 'probe', entryPoints: { probe: 'test/cli/local/fixtures/print-assets.ts' } }, { root: HARNESS_ROOT, cacheDir });
    expect(b.files.probe.startsWith(cacheDir)).toBe(true);
    const out = JSON.parse(spawnSync(process.execPath, [b.files.probe], { encoding: 'utf8' }).stdout) as Record<string, string | number>;
    expect(out).toEqual({
      root: HARNESS_ROOT,
      promptsDir: join(HARNESS_ROOT, 'core', 'tla', 'prompts'),
      kindDir: join(HARNESS_ROOT, 'core', 'cbm', 'classification', 'prompts'),
      system: expect.any(Number),
      kindPrompt: expect.any(Number),
    });
  });

  test('the jobs bundle holds the worker, which refuses a broken job environment as the image entrypoints do', async () => {
    const b = await ensureBundle(JOBS_BUNDLE);
    const r = spawnSync(process.execPath, [b.files.worker], { input: JSON.stringify({ job: 'ra-shard', env: { PATH: process.env.PATH }, marker: '<end-7f3a>' }) + '\n', encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ra-shard: bad job environment');
    // The job's output ends with its marker, status and `exit` on both streams: a failed job takes its process with it.
    expect(r.stderr.endsWith('<end-7f3a> 2 exit\n')).toBe(true);
    expect(r.stdout).toBe('<end-7f3a> 2 exit\n');
    // A request without a marker is refused before anything runs.
    const bad = spawnSync(process.execPath, [b.files.worker], { input: JSON.stringify({ job: 'ra-shard', env: { PATH: process.env.PATH } }), encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('local job worker: bad request');
    // Stdin closed without a request (the pool shut down): nothing runs.
    expect(spawnSync(process.execPath, [b.files.worker], { input: '', encoding: 'utf8' }).status).toBe(0);
  });
});
