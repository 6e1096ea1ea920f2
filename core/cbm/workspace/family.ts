/**
 * Workspace task families on disk (docs/cbm-workspace.md): agentic tasks where an agent works in a
 * workspace directory, files it never sees (`hidden/`) are overlaid on a copy of its final
 * workspace, and a score command runs there, outside the agent's sandbox.
 *
 * ```
 * <dir>/family.json                {"task": "<one sentence>", "source": "<where from>"}
 * <dir>/splits.json                {"dev": [<id>...], "test": [<id>...]}
 * <dir>/tasks/<id>/task.json       {"instructions", "score": {"command": [...], "timeoutSeconds"}, "failToPass"?, "passToPass"?,
 *                                  "image"?, "repo"?, "baseCommit"?, "startingScore"?, "referenceScore"?}
 * <dir>/tasks/<id>/workspace/      the agent's working copy (optional: may be empty, e.g. when an image holds the repository)
 * <dir>/tasks/<id>/hidden/         overlaid on a copy of the final workspace before scoring (optional)
 * <dir>/tasks/<id>/reference.patch a unified diff that solves the task (optional)
 * <dir>/assets/<sha256>            the content of each asset a task.json lists ("assets": large files kept out of the file maps)
 * ```
 *
 * {@link loadTaskFamily} reads and validates such a directory, reporting every problem at once;
 * {@link materialize} writes a file map back into a directory (the scoring rule itself is
 * `rawScore` in ./index.ts).
 */
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SpecError } from '../../errors';
import { sha256File } from '../dataset';

/** Largest total size of one task's files (workspace + hidden + reference.patch), in bytes. */
export const MAX_TASK_BYTES = 5 * 1024 * 1024;

/**
 * Largest total size of one task's assets (large files staged apart, see {@link WorkspaceAsset}), in
 * bytes: a job holds an asset in memory while it fetches it (the artifact store moves whole
 * buffers), and workspace assets count against the agent's sandbox disk limit.
 */
export const MAX_TASK_ASSET_BYTES = 512 * 1024 * 1024;

/** Prefix of a file-map value holding base64 (binary files, and text that itself starts with the prefix). */
export const BASE64_PREFIX = 'base64:';

/** A task id: a directory name of letters, digits, `_`, `.` and `-` (SWE-bench ids such as `astropy__astropy-12907` fit). */
export const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const TASK_ID_FIX = 'name it with letters, digits, "_", "." and "-" (at most 128, starting with a letter or digit), e.g. "slugify-1"';

/**
 * Why a file-map path is unsafe, or undefined when it is fine: paths are relative, `/`-separated,
 * without empty, `.` or `..` segments, backslashes or NUL characters.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'has an empty segment (a trailing or double "/")';
  if (segments.some((s) => s === '..')) return 'has a ".." segment';
  if (segments.some((s) => s === '.')) return 'has a "." segment';
  return undefined;
}

/** Relative path (`/`-separated) → content: UTF-8 text, or `base64:<data>` for binary files. */
export const FileMap = z.record(
  z.string().refine((p) => unsafePathReason(p) === undefined, { error: 'must be a relative path inside the task ("a/b.py": no "..", no leading "/")' }),
  z.string(),
);
export type FileMap = z.infer<typeof FileMap>;

/**
 * A large file of a task, kept out of its file maps (and of {@link MAX_TASK_BYTES}): its content is
 * `<family>/assets/<sha256>` on disk and staged content-addressed with the data set
 * (core/cbm/dataset.ts); it is written at `path` in the workspace (`in: "workspace"`, before the
 * agent runs) or overlaid with the hidden files for scoring (`in: "hidden"`).
 */
const AssetFields = {
  sha256: z.string({ error: 'must be a string' }).regex(/^[0-9a-f]{64}$/, { error: 'must be the SHA-256 of the content: 64 lower-case hex digits' }),
  bytes: z.number({ error: 'must be a number' }).int({ error: 'must be a whole number of bytes' }).nonnegative({ error: 'must not be negative' }),
  in: z.enum(['workspace', 'hidden'], { error: 'must be "workspace" (given to the agent) or "hidden" (overlaid for scoring only)' }),
};
export const WorkspaceAsset = z.strictObject({
  path: z.string().refine((p) => unsafePathReason(p) === undefined, { error: 'must be a relative path inside the task ("data/x.npy": no "..", no leading "/")' }),
  ...AssetFields,
});
export type WorkspaceAsset = z.infer<typeof WorkspaceAsset>;
/** An asset as task.json lists it: its path is checked by the loader (with the reason), so that one bad path hides no other problem. */
const WorkspaceAssetJson = z.strictObject({ path: z.string({ error: 'must be a string' }), ...AssetFields });

/** How a task is scored: the command (argv, no shell) and its wall-clock limit. */
export const WorkspaceScore = z.strictObject({
  command: z.array(z.string().min(1, { error: 'must be a non-empty string' }), { error: 'must be a list of strings (argv)' }).min(1, { error: 'must not be empty' }),
  timeoutSeconds: z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be more than 0' }).max(86_400, { error: 'must be at most 86400 (a day)' }),
});
export type WorkspaceScore = z.infer<typeof WorkspaceScore>;

const TestIds = z.array(z.string().min(1, { error: 'must be a non-empty string' }), { error: 'must be a list of test ids' });
const Optional = z.string().trim().min(1, { error: 'must be a non-empty string' }).optional();

/** The fields of `tasks/<id>/task.json`. */
export const WorkspaceTaskJson = z.strictObject({
  /** What the agent is asked (e.g. the issue text plus how to work). */
  instructions: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must be a non-empty string' }),
  score: WorkspaceScore,
  /** SWE-style tasks: the tests the fix must make pass, and the tests that must keep passing. */
  failToPass: TestIds.optional(),
  passToPass: TestIds.optional(),
  /** A container image the workspace lives in (e.g. a SWE-bench instance image), when the workspace is not shipped as files. */
  image: Optional,
  /** The upstream repository (`owner/name`) and commit the workspace is a checkout of. */
  repo: Optional,
  baseCommit: Optional,
  /**
   * The raw scores of the unmodified workspace and of a reference solution, for tasks whose score
   * is a measurement rather than pass/fail: the kind normalises raw scores between them (RE-Bench).
   */
  startingScore: z.number({ error: 'must be a number' }).optional(),
  referenceScore: z.number({ error: 'must be a number' }).optional(),
  /** Large files staged apart from the file maps (see {@link WorkspaceAsset}). */
  assets: z.array(WorkspaceAssetJson, { error: 'must be a list of {"path", "sha256", "bytes", "in"}' }).optional(),
  /**
   * With `image`: the directory of the image that is the task's workspace (SWE-bench: "/testbed",
   * where the repository is checked out and installed). Where the image runs (the stack's images
   * queue), the agent's workspace starts as a copy of it, overlaid with `workspace/`, and appears
   * at this path in the agent's and the scorer's sandboxes.
   */
  workdir: z
    .string({ error: 'must be an absolute path in the image, e.g. "/testbed"' })
    .regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: 'must be an absolute path in the image of plain names, e.g. "/testbed"' })
    .refine((w) => !w.split('/').some((x) => x === '.' || x === '..'), { error: 'must not contain "." or ".." segments' })
    .optional(),
});
export type WorkspaceTaskJson = z.infer<typeof WorkspaceTaskJson>;

/** One task of a workspace family, as {@link loadTaskFamily} returns it. */
export const WorkspaceTask = z.strictObject({
  id: z.string().regex(TASK_ID, { error: TASK_ID_FIX }),
  set: z.literal('objective'),
  ...WorkspaceTaskJson.shape,
  assets: z.array(WorkspaceAsset).optional(),
  /** The files the agent gets (its writable working copy). */
  workspace: FileMap,
  /** Files overlaid on a copy of the final workspace before scoring; they replace same-named files. */
  hidden: FileMap,
  /** A unified diff (applies with `patch -p1` in the workspace) that solves the task. */
  referencePatch: z.string().optional(),
});
export type WorkspaceTask = z.infer<typeof WorkspaceTask>;

/** `family.json`. */
export const FamilyJson = z.strictObject({
  task: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must be one sentence saying what these tasks are' }),
  source: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must say where the tasks come from' }),
});
export type FamilyJson = z.infer<typeof FamilyJson>;

/** `splits.json`. */
export const SplitsJson = z.strictObject({
  dev: z.array(z.string({ error: 'must be a task id (a string)' }), { error: 'must be a list of task ids' }),
  test: z.array(z.string({ error: 'must be a task id (a string)' }), { error: 'must be a list of task ids' }),
});
export type SplitsJson = z.infer<typeof SplitsJson>;

/** What {@link loadTaskFamily} returns: family.json and both splits, in splits.json order. */
export interface WorkspaceFamily {
  family: FamilyJson;
  dev: WorkspaceTask[];
  test: WorkspaceTask[];
  /** The folder holding the tasks' asset contents as `<sha256>` files (`<dir>/assets`). */
  assetsDir: string;
}

/** What a task family directory holds, for errors and `--help` (the fix of a wrong one). */
export const WORKSPACE_FAMILY_HELP =
  'a workspace task family is a directory with family.json ({"task", "source"}), splits.json ({"dev": [ids], "test": [ids]}) and tasks/<id>/ holding task.json ({"instructions", "score": {"command": [argv], "timeoutSeconds"}, "failToPass"?, "passToPass"?, "image"?, "repo"?, "baseCommit"?, "startingScore"?, "referenceScore"?, "assets"?: [{"path", "sha256", "bytes", "in": "workspace"|"hidden"}]}), workspace/ and hidden/ (optional folders of regular files) and reference.patch (optional), and assets/<sha256> holding the content of each asset listed; see docs/cbm-workspace.md';

const FIELD_FIX: Record<string, string> = {
  task: 'write one sentence saying what these tasks are',
  source: 'say where the tasks come from',
  dev: 'list the dev task ids, e.g. "dev": ["slugify-1"]',
  test: 'list the test task ids, e.g. "test": ["slugify-2"]',
  instructions: 'write what the agent is asked to do',
  score: 'give "score": {"command": ["python3", "-m", "unittest", "tests.test_x"], "timeoutSeconds": 60}',
  failToPass: 'list test ids as strings, or leave the field out',
  passToPass: 'list test ids as strings, or leave the field out',
  image: 'give an image reference such as "swebench/sweb.eval.x86_64.x:latest", or leave the field out',
  repo: 'give "owner/name", or leave the field out',
  baseCommit: 'give the commit id, or leave the field out',
  startingScore: 'give the raw score of the unmodified workspace as a number, or leave the field out',
  referenceScore: 'give the raw score of the reference solution as a number, or leave the field out',
  assets: 'list large files as {"path": "data/train.npy", "sha256": "<64 hex digits>", "bytes": <size>, "in": "workspace" or "hidden"}, each stored at assets/<sha256> of the family, or leave the field out',
};

function issueLines(where: string, error: z.ZodError, input: unknown): string[] {
  return error.issues.map((i) => {
    const field = i.path.length ? i.path.join('.') : '(top level)';
    let received: unknown = input;
    for (const p of i.path) received = received && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    else if (i.code === 'invalid_type' && received === undefined) msg = 'is required';
    const fix = i.code === 'unrecognized_keys' ? 'remove or rename them' : (FIELD_FIX[String(i.path[0])] ?? 'see docs/cbm-workspace.md');
    return `${where}: field "${field}": ${msg}. Fix: ${fix}.`;
  });
}

/** Reads and validates one JSON file; pushes every problem; returns the value when valid. */
function readJson<S extends z.ZodType>(file: string, schema: S, example: string, problems: string[]): z.infer<S> | undefined {
  const st = lstatOrUndefined(file);
  if (!st) {
    problems.push(`${file}: missing. Fix: write ${example}.`);
    return undefined;
  }
  if (!st.isFile()) {
    problems.push(`${file}: ${kindOf(st, file)}, not a regular file. Fix: write ${example} as a regular file.`);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push(`${file}: not valid JSON (${(e as Error).message}). Fix: write ${example}.`);
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...issueLines(file, parsed.error, raw));
    return undefined;
  }
  return parsed.data;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** What a non-regular entry is, in words. */
function kindOf(st: Stats, path: string): string {
  if (st.isSymbolicLink()) {
    let target = '?';
    try {
      target = readlinkSync(path);
    } catch {
      // keep "?"
    }
    return `is a symbolic link (to ${target})`;
  }
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'is a named pipe';
  if (st.isSocket()) return 'is a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'is a device file';
  return 'is a special file';
}

/** A file-map value of a file's bytes: the text when they are UTF-8 without NUL (and do not start with `base64:`), else `base64:<data>`. */
export function encodeFile(data: Buffer): string {
  const text = data.toString('utf8');
  if (!data.includes(0) && !text.startsWith(BASE64_PREFIX) && Buffer.from(text, 'utf8').equals(data)) return text;
  return BASE64_PREFIX + data.toString('base64');
}

/** The bytes of a file-map value (see {@link encodeFile}). */
export function decodeFile(content: string): Buffer {
  return content.startsWith(BASE64_PREFIX) ? Buffer.from(content.slice(BASE64_PREFIX.length), 'base64') : Buffer.from(content, 'utf8');
}

interface FoundFile {
  rel: string;
  abs: string;
  size: number;
}

/** Walks a folder of a task: regular files and folders only; every other entry is a problem. Sorted by path. */
function walk(root: string, problems: string[], fixWhere: string): FoundFile[] {
  const out: FoundFile[] = [];
  const visit = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = lstatOrUndefined(childAbs);
      if (!st) continue;
      if (st.isDirectory()) visit(childAbs, childRel);
      else if (st.isFile()) {
        const bad = unsafePathReason(childRel);
        if (bad) problems.push(`${childAbs}: the path "${childRel}" ${bad}. Fix: rename it (portable names only).`);
        else out.push({ rel: childRel, abs: childAbs, size: st.size });
      } else problems.push(`${childAbs}: ${kindOf(st, childAbs)}; tasks may hold regular files and folders only. Fix: replace it with the file it stands for, or remove it from ${fixWhere}.`);
    }
  };
  visit(root, '');
  return out;
}

const TASK_ENTRIES = new Set(['task.json', 'workspace', 'hidden', 'reference.patch']);

/** The folders a `/`-separated path lies in: "a/b/c" → ["a", "a/b"]. */
function parentsOf(path: string): string[] {
  return path.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'));
}

/**
 * Checks a task's assets against its folders and their contents in `assetsDir` (size and SHA-256,
 * each distinct file hashed once per load through `hashes`); pushes every problem.
 */
function checkAssets(taskJson: string, assets: readonly WorkspaceAsset[], folders: Record<'workspace' | 'hidden', FoundFile[]>, assetsDir: string, hashes: Map<string, string>, problems: string[]): void {
  const seen = new Map<string, number>();
  let total = 0;
  assets.forEach((a, i) => {
    const where = `${taskJson}: field "assets.${i}"`;
    const bad = unsafePathReason(a.path);
    if (bad) problems.push(`${where}: the path ${JSON.stringify(a.path)} ${bad}. Fix: give a path relative to the task's ${a.in === 'workspace' ? 'workspace' : 'scoring folder'}, "/"-separated, without ".." or a leading "/" (e.g. "data/train.npy").`);
    const place = new Set(folders[a.in].map((f) => f.rel));
    const key = `${a.in}/${a.path}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push(`${where}: ${a.in} path "${a.path}" is listed twice (first at assets.${first}). Fix: list each file once.`);
    else seen.set(key, i);
    if (place.has(a.path)) problems.push(`${where}: "${a.path}" is also a file of the task's ${a.in}/ folder. Fix: ship it either as a file in ${a.in}/ or as an asset, not both.`);
    const underFile = parentsOf(a.path).find((p) => place.has(p));
    if (underFile !== undefined) problems.push(`${where}: "${a.path}" lies below ${a.in}/${underFile}, which is a file. Fix: rename the asset or the file.`);
    if ([...place].some((p) => p.startsWith(`${a.path}/`))) problems.push(`${where}: "${a.path}" is a folder of the task's ${a.in}/ files. Fix: rename the asset or the folder.`);
    total += a.bytes;
    const file = join(assetsDir, a.sha256);
    const st = lstatOrUndefined(file);
    if (!st) {
      problems.push(`${where}: its content ${file} is missing. Fix: put the file's bytes at assets/${a.sha256} in the family folder (re-import the data set), or correct "sha256".`);
      return;
    }
    if (!st.isFile()) {
      problems.push(`${where}: its content ${file} ${kindOf(st, file)}, not a regular file. Fix: replace it with the file's bytes.`);
      return;
    }
    if (st.size !== a.bytes) {
      problems.push(`${where}: ${file} holds ${st.size} bytes, not the ${a.bytes} "bytes" says. Fix: restore the file (re-import the data set), or correct "bytes" and "sha256".`);
      return;
    }
    let sha = hashes.get(file);
    if (sha === undefined) hashes.set(file, (sha = sha256File(file)));
    if (sha !== a.sha256) problems.push(`${where}: ${file} has sha256 ${sha}, not the ${a.sha256} its name and "sha256" say: it was altered. Fix: restore the file (re-import the data set), or rename it to assets/${sha} and correct "sha256".`);
  });
  if (total > MAX_TASK_ASSET_BYTES)
    problems.push(`${taskJson}: field "assets": they take ${total} bytes, more than the ${MAX_TASK_ASSET_BYTES} (512 MiB, MAX_TASK_ASSET_BYTES) a task may hold. Fix: ship less data per task, or ship the data in an image (task.json "image").`);
}

/** Reads one task folder; pushes every problem; returns the task when valid. */
function loadTask(dir: string, id: string, problems: string[], assetsDir: string, hashes: Map<string, string>): WorkspaceTask | undefined {
  const before = problems.length;
  const st = lstatOrUndefined(dir);
  if (!st?.isDirectory()) {
    problems.push(`${dir}: ${st ? kindOf(st, dir) : 'missing'}; each task is a folder. Fix: make tasks/${id} a real folder (not a link) holding task.json.`);
    return undefined;
  }
  for (const name of readdirSync(dir).sort()) {
    if (!TASK_ENTRIES.has(name)) problems.push(`${join(dir, name)}: unexpected entry. Fix: a task folder holds only task.json, workspace/, hidden/ and reference.patch; move it into workspace/ or hidden/, or remove it.`);
  }
  const json = readJson(join(dir, 'task.json'), WorkspaceTaskJson, '{"instructions": "...", "score": {"command": [...], "timeoutSeconds": 60}}', problems);
  if (json?.workdir !== undefined && json.image === undefined) problems.push(`${join(dir, 'task.json')}: workdir "${json.workdir}" names a directory of the task's image, and the task names no image. Fix: add "image", or remove "workdir"`);
  const folders: Record<'workspace' | 'hidden', FoundFile[]> = { workspace: [], hidden: [] };
  for (const name of ['workspace', 'hidden'] as const) {
    const abs = join(dir, name);
    const s = lstatOrUndefined(abs);
    if (!s) continue;
    if (!s.isDirectory()) problems.push(`${abs}: ${kindOf(s, abs)}. Fix: make ${name}/ a real folder of regular files, or remove it.`);
    else folders[name] = walk(abs, problems, `${name}/`);
  }
  const patchFile = join(dir, 'reference.patch');
  const ps = lstatOrUndefined(patchFile);
  if (ps && !ps.isFile()) problems.push(`${patchFile}: ${kindOf(ps, patchFile)}. Fix: make reference.patch a regular file (a unified diff), or remove it.`);
  const total = [...folders.workspace, ...folders.hidden].reduce((a, f) => a + f.size, 0) + (ps?.isFile() ? ps.size : 0);
  if (total > MAX_TASK_BYTES) {
    problems.push(`${dir}: its files take ${total} bytes, more than the ${MAX_TASK_BYTES} (5 MB) a task may hold. Fix: remove large files (build output, data, .git), or ship the workspace in an image (task.json "image").`);
  }
  const assets = json?.assets ?? [];
  checkAssets(join(dir, 'task.json'), assets, folders, assetsDir, hashes, problems);
  // A hidden file (or asset) must not land where the workspace has a folder, nor below a workspace file (or asset).
  const wsPaths = [...folders.workspace.map((f) => f.rel), ...assets.filter((a) => a.in === 'workspace').map((a) => a.path)];
  const wsFiles = new Set(wsPaths);
  const wsDirs = new Set(wsPaths.flatMap(parentsOf));
  const hidden = [
    ...folders.hidden.map((h) => ({ rel: h.rel, where: join(dir, 'hidden', h.rel), what: 'hidden file' })),
    ...assets.flatMap((a, i) => (a.in === 'hidden' ? [{ rel: a.path, where: `${join(dir, 'task.json')}: field "assets.${i}"`, what: 'hidden asset' }] : [])),
  ];
  for (const h of hidden) {
    const underFile = parentsOf(h.rel).find((p) => wsFiles.has(p));
    const clash = wsDirs.has(h.rel) ? `workspace/${h.rel} is a folder` : underFile !== undefined ? `workspace/${underFile} is a file` : undefined;
    if (clash) problems.push(`${h.where}: cannot be overlaid: ${clash}. Fix: rename the ${h.what} or the workspace entry so that one replaces a file, never a folder.`);
  }
  if (problems.length > before || !json) return undefined;

  const read = (files: FoundFile[]): FileMap => Object.fromEntries(files.map((f) => [f.rel, encodeFile(readFileSync(f.abs))]));
  const task: WorkspaceTask = { id, set: 'objective', ...json, workspace: read(folders.workspace), hidden: read(folders.hidden) };
  if (ps?.isFile()) {
    const data = readFileSync(patchFile);
    const text = data.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(data)) {
      problems.push(`${patchFile}: is not UTF-8 text. Fix: write the reference patch as a text unified diff (git diff --binary output is not supported).`);
      return undefined;
    }
    task.referencePatch = text;
  }
  return task;
}

/**
 * Reads and validates a workspace task family directory (see the module comment): family.json,
 * splits.json (ids valid, unique and disjoint; each with a folder; every folder in a split; both
 * splits non-empty) and every task folder (task.json valid; only regular files and folders — no
 * symbolic links, pipes, sockets or devices anywhere; at most {@link MAX_TASK_BYTES} per task;
 * each listed asset's content at `assets/<sha256>` with that size and hash, its path safe and
 * clashing with no file, at most {@link MAX_TASK_ASSET_BYTES} of assets per task).
 * Throws SpecError listing every problem at once, each naming the file and field with a fix.
 */
export function loadTaskFamily(dir: string): WorkspaceFamily {
  const top = lstatOrUndefined(dir);
  if (!top?.isDirectory()) throw new SpecError([`${dir}: ${top ? kindOf(top, dir) : 'no such directory'}. Fix: ${WORKSPACE_FAMILY_HELP}.`]);
  const problems: string[] = [];
  const family = readJson(join(dir, 'family.json'), FamilyJson, '{"task": "<one sentence: what these tasks are>", "source": "<where from>"}', problems);
  const splitsFile = join(dir, 'splits.json');
  const splits = readJson(splitsFile, SplitsJson, '{"dev": ["<id>", ...], "test": ["<id>", ...]}', problems);

  const tasksDir = join(dir, 'tasks');
  const ts = lstatOrUndefined(tasksDir);
  let folders: string[] = [];
  if (!ts) problems.push(`${tasksDir}: missing. Fix: put each task in tasks/<id>/ (task.json, workspace/, hidden/).`);
  else if (!ts.isDirectory()) problems.push(`${tasksDir}: ${kindOf(ts, tasksDir)}. Fix: make tasks/ a real folder holding one folder per task.`);
  else folders = readdirSync(tasksDir).sort();

  const out: Record<'dev' | 'test', WorkspaceTask[]> = { dev: [], test: [] };
  const assetsDir = join(dir, 'assets');
  const hashes = new Map<string, string>();
  if (splits) {
    const firstSeen = new Map<string, string>();
    const listed: { id: string; split: 'dev' | 'test' }[] = [];
    for (const split of ['dev', 'test'] as const) {
      splits[split].forEach((id, i) => {
        const where = `${splitsFile}: field "${split}.${i}"`;
        if (!TASK_ID.test(id)) {
          problems.push(`${where}: "${id}" is not a valid task id. Fix: ${TASK_ID_FIX}.`);
          return;
        }
        const first = firstSeen.get(id);
        if (first) {
          problems.push(`${where}: id "${id}" is listed twice (first at ${first}). Fix: list each task once, in dev or in test.`);
          return;
        }
        firstSeen.set(id, `${split}.${i}`);
        if (ts?.isDirectory() && !folders.includes(id)) problems.push(`${where}: id "${id}" has no folder ${join(tasksDir, id)}. Fix: add the task folder, or remove the id.`);
        else listed.push({ id, split });
      });
      if (splits[split].length === 0) problems.push(`${splitsFile}: field "${split}": is empty. Fix: ${split === 'dev' ? 'put at least one task in dev (TLAs learn from dev)' : 'put at least one task in test (the held-out score)'}.`);
    }
    for (const f of folders) {
      if (!firstSeen.has(f)) problems.push(`${join(tasksDir, f)}: folder "${f}" is in no split. Fix: add "${f}" to "dev" or "test" in splits.json, or remove the folder.`);
    }
    if (ts?.isDirectory()) {
      for (const { id, split } of listed) {
        const task = loadTask(join(tasksDir, id), id, problems, assetsDir, hashes);
        if (task) out[split].push(task);
      }
    }
  } else if (ts?.isDirectory()) {
    // Still report the task folders' own problems.
    for (const f of folders) loadTask(join(tasksDir, f), f, problems, assetsDir, hashes);
  }
  if (problems.length || !family || !splits) throw new SpecError(problems);
  return { family, dev: out.dev, test: out.test, assetsDir };
}

/**
 * Writes a file map into `dir` (created when missing) — values are file-map strings, or raw bytes
 * (fetched assets): every path is checked first (relative, no
 * `..`, see {@link unsafePathReason}; no path both a file and a folder) and nothing is written
 * when one is bad (SpecError listing all). Written over an existing tree — e.g. hidden files
 * overlaid on an agent's final workspace — it replaces what is in the way and never follows a
 * link: a symbolic link, file or folder where a folder of the path must be is removed and a
 * folder made; an existing entry at a file's path is removed and the file created anew (so a
 * link there is replaced, not written through).
 */
export function materialize(files: Readonly<Record<string, string | Uint8Array>>, dir: string): void {
  const problems: string[] = [];
  const paths = Object.keys(files).sort();
  const fileSet = new Set(paths);
  for (const p of paths) {
    const bad = unsafePathReason(p);
    if (bad) problems.push(`materialize: path ${JSON.stringify(p)} ${bad}. Fix: give paths relative to the target folder, "/"-separated, without ".." or a leading "/".`);
    else {
      const parent = p.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/')).find((q) => fileSet.has(q));
      if (parent !== undefined) problems.push(`materialize: path "${p}" lies below "${parent}", which is also a file. Fix: keep one of them.`);
    }
  }
  if (problems.length) throw new SpecError(problems);
  mkdirSync(dir, { recursive: true });
  const root = realpathSync(dir);
  for (const p of paths) {
    const segments = p.split('/');
    let cur = root;
    for (const seg of segments.slice(0, -1)) {
      cur = join(cur, seg);
      const st = lstatOrUndefined(cur);
      if (st && !st.isDirectory()) rmSync(cur, { recursive: true, force: true });
      if (!st || !st.isDirectory()) mkdirSync(cur);
    }
    const target = join(cur, segments[segments.length - 1]);
    if (lstatOrUndefined(target)) rmSync(target, { recursive: true, force: true });
    const content = files[p];
    writeFileSync(target, typeof content === 'string' ? decodeFile(content) : content, { flag: 'wx' });
  }
}

