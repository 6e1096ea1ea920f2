import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { clipUnit, normalizedScore } from '../../scoring/best-of-k';
import { allowTraversal, DEFAULT_LIMITS, detectIsolation, diskUsage, removeTree, removeUnsafeEntries, spawnSandboxed } from '../../sandbox';
import { walkTree } from '../../sandbox/tree';
import { fetchTaskAssets, withAssetDir } from '../dataset';
import { UnscorableOutputError, type CbmKind, type KindDataset, type TaskSet } from '../types';
import { loadTaskFamily, materialize, WorkspaceTask } from './family';

/**
 * `workspace`: agentic tasks (README, "CBM kinds"). The RA is itself an agent that runs once per
 * task in a sandbox whose working directory is the task's workspace; afterwards, outside that
 * sandbox, the harness copies the final workspace, overlays the task's hidden files (tests,
 * labels) and runs its score command in a fresh sandbox without network or model. The task's
 * raw score is the last stdout line's `{"score": n}`, else 1 when the command exits 0 and 0
 * otherwise; with `startingScore` and `referenceScore` it is normalised (RE-Bench: start 0,
 * reference 1) and clipped to [0, 1].
 */

export const WorkspaceMeta = z.object({
  task: z.string(),
  source: z.string().optional(),
  counts: z.object({ dev: z.number().int(), test: z.number().int() }),
});
export type WorkspaceMeta = z.infer<typeof WorkspaceMeta>;

const SpecShape = {
  /** Wall clock of one task's agent run (within the shard's wall clock). @default 300 */
  taskWallSeconds: z.number().int().min(5).max(86_400).default(300),
  /** Independent attempts per test task, each in a fresh workspace: the results add RE-Bench best-of-k curves. @default 1 */
  attempts: z.number().int().min(1).max(20).default(1),
  /**
   * Tokens one task's agent may spend (each attempt its own allowance), drawn from the shard's
   * `budgets.shardTokens` and never more than is left of it (core/ra/per-task.ts
   * `taskTokenAllowance`). At most `budgets.shardTokens` (taskTokensProblems). @default an even
   * share of the shard's budget: floor(shardTokens / (tasks per shard × attempts))
   */
  taskTokens: z.number({ error: 'must be a whole number of tokens, e.g. 100000' }).int({ error: 'must be a whole number of tokens, e.g. 100000' }).min(1000, { error: 'must be at least 1000 tokens (one model call of an agent needs more), e.g. 100000' }).optional(),
  /**
   * Where the tasks' agents run: `gpu` puts the CBM's jobs on the GPU queue, and each task's
   * sandbox gets the job's own GPUs (e.g. CIFAR-10 training). @default cpu
   */
  queue: z.enum(['cpu', 'gpu'], { error: 'must be "cpu" or "gpu"' }).default('cpu'),
  /**
   * What one task's workspace may hold, in MiB (the sandbox's disk quota while the agent works,
   * and the most the scorer takes): CIFAR-10's data are ~160 MB, a SWE-bench repository with its
   * history can be several hundred. @default 256
   */
  diskMiB: z.number().int().min(16).max(65_536).default(DEFAULT_LIMITS.diskBytes / 1024 ** 2),
  /** Memory of one task's sandbox, all its processes together, in MiB (training needs more). @default 4096 */
  memoryMiB: z.number().int().min(256).max(1_048_576).default(DEFAULT_LIMITS.memoryBytes / 1024 ** 2),
};
export type WorkspaceSpecFields = { taskWallSeconds: number; attempts: number; taskTokens?: number; queue?: 'cpu' | 'gpu'; diskMiB?: number; memoryMiB?: number };

/** The sandbox limits a CBM entry asks for its tasks (disk and memory; the wall clock is taskWallSeconds). */
function workspaceLimits(spec: Partial<WorkspaceSpecFields>): { diskBytes: number; memoryBytes: number } {
  return { diskBytes: (spec.diskMiB ?? DEFAULT_LIMITS.diskBytes / 1024 ** 2) * 1024 ** 2, memoryBytes: (spec.memoryMiB ?? DEFAULT_LIMITS.memoryBytes / 1024 ** 2) * 1024 ** 2 };
}

/**
 * A `taskTokens` the shard's budget cannot hold: one line naming the field and the fix, or none.
 * (A CBM entry is checked with its sweep's budgets, where the plan is made.)
 */
export function taskTokensProblems(cbm: { taskTokens?: unknown }, shardTokens: number, field: string): string[] {
  const t = cbm.taskTokens;
  if (typeof t !== 'number' || t <= shardTokens) return [];
  return [`${field}.taskTokens: ${t} is more than the shard's whole budget, budgets.shardTokens = ${shardTokens}, which every task's allowance is drawn from. Fix: lower taskTokens to at most ${shardTokens} (to give every task of a shard its whole allowance, shardTokens ≥ shardSize × attempts × taskTokens), or raise budgets.shardTokens`];
}

const DATASET_HELP =
  'a workspace data set is a task family directory: family.json ({task, source}), splits.json ({dev: [ids], test: [ids]}) and tasks/<id>/ with task.json (instructions, score.command), workspace/ and hidden/ (see docs/cbm-workspace.md)';

/** What a score command's output and exit code mean (see the module comment). */
export function rawScore(stdout: string, exitCode: number | null): number {
  // A score line counts only from a command that finished well: one killed (or failing) after
  // something else wrote a line to its stdout must not be read as that line.
  if (exitCode !== 0) return 0;
  const last = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (last.startsWith('{')) {
    try {
      const v = (JSON.parse(last) as { score?: unknown }).score;
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    } catch {
      /* not the score line */
    }
  }
  return 1;
}

/** A raw score on the [0, 1] scale between a task's starting and reference scores (RE-Bench normalisation), clipped; raw when the task has none. */
export function normalised(raw: number, task: Pick<WorkspaceTask, 'startingScore' | 'referenceScore'>): number {
  const { startingScore: start, referenceScore: ref } = task;
  return clipUnit(start === undefined || ref === undefined ? raw : normalizedScore(raw, start, ref));
}

/** The final workspace cannot be scored because of what the agent left in it: an agent error (scored 0), never a failed job. */
export class WorkspaceRejectedError extends UnscorableOutputError {}

let stdlibNames: Set<string> | undefined;
/** Python's standard-library module names (and the interpreter's customisation hooks): what a score command's `python3` imports first from its own folder. */
function pythonModuleNames(): Set<string> {
  if (stdlibNames) return stdlibNames;
  const r = spawnSync('python3', ['-c', 'import sys; print("\\n".join(sys.stdlib_module_names))'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot list Python's standard-library modules (python3 exited ${r.status}: ${r.stderr?.slice(0, 200)}); the scorer needs them to refuse modules an agent planted`);
  stdlibNames = new Set([...r.stdout.split('\n').map((x) => x.trim()).filter(Boolean), 'sitecustomize', 'usercustomize']);
  return stdlibNames;
}

/**
 * Makes a copy of a final workspace safe to score with the hidden files: compiled bytecode is
 * removed everywhere (a `.pyc` can stand in for a hidden test's source), and so is anything the
 * agent added under a standard-library module's name in the places a score command's Python
 * looks first — the workspace root and every folder that holds hidden files (e.g. a planted
 * `unittest/` or `csv.py`). Files the task itself ships are kept. Returns the removed paths.
 */
export function sanitizeForScoring(copy: string, task: Pick<WorkspaceTask, 'workspace' | 'hidden' | 'assets'>): string[] {
  const removed: string[] = [];
  const assets = task.assets ?? [];
  const shipped = new Set([...Object.keys(task.workspace), ...assets.filter((a) => a.in === 'workspace').map((a) => a.path)]);
  const drop = (rel: string) => {
    removeTree(join(copy, rel));
    removed.push(rel);
  };
  const walk = (rel: string) => {
    for (const name of readdirSync(join(copy, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(copy, r));
      if (name === '__pycache__' || (st.isFile() && name.endsWith('.pyc'))) drop(r);
      else if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  const names = pythonModuleNames();
  const hiddenPaths = [...Object.keys(task.hidden), ...assets.filter((a) => a.in === 'hidden').map((a) => a.path)];
  const dirs = new Set(['', ...hiddenPaths.map((p) => p.split('/').slice(0, -1).join('/'))]);
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(join(copy, dir));
    } catch {
      continue;
    }
    for (const name of entries) {
      const r = dir ? `${dir}/${name}` : name;
      const base = name.replace(/\.(py|pyc|pyw|so|pyd)$|\.[a-z0-9_-]+\.(so|pyd)$/i, '');
      if (names.has(base) && !shipped.has(r) && ![...shipped].some((f) => f.startsWith(`${r}/`))) drop(r);
    }
  }
  return removed;
}

/**
 * Scores a task's final workspace: what the agent left is checked (no links or special files,
 * nothing too deep, within the disk limits), copied, cleaned of what could stand in for the
 * scorer's code (sanitizeForScoring), the hidden files overlaid, and the score command run in its
 * own sandbox (no gateway, the task's time limit); the raw score is normalised. A workspace that
 * cannot be scored for what the agent left rejects with {@link WorkspaceRejectedError}.
 */
export async function scoreWorkspace(task: WorkspaceTask, workspaceDir: string, level = detectIsolation().level, diskBytes = DEFAULT_LIMITS.diskBytes): Promise<number> {
  // Hidden assets (e.g. test labels) from where the task was staged, verified: a missing or altered one rejects (an infrastructure failure, not a score).
  const hiddenAssets = await fetchTaskAssets(task, 'hidden');
  removeUnsafeEntries(workspaceDir);
  const usage = diskUsage(workspaceDir, DEFAULT_LIMITS.diskEntries, diskBytes);
  if (usage.entries > DEFAULT_LIMITS.diskEntries || usage.bytes > diskBytes)
    throw new WorkspaceRejectedError(`the agent left more than ${usage.entries > DEFAULT_LIMITS.diskEntries ? `${DEFAULT_LIMITS.diskEntries} files` : `${diskBytes} bytes`} in its workspace, so it is not scored`);
  const dir = mkdtempSync(join(tmpdir(), 'uplift-score-'));
  allowTraversal(dir);
  const copy = join(dir, 'w');
  try {
    try {
      cpSync(workspaceDir, copy, { recursive: true, verbatimSymlinks: true });
      sanitizeForScoring(copy, task);
    } catch (e) {
      throw new WorkspaceRejectedError(`the harness could not copy the workspace the agent left (${(e as Error).message.slice(0, 300)}), so it is not scored`);
    }
    // Hidden files and assets replace what the agent left under the same names: its own tests cannot stand in for them.
    materialize({ ...task.hidden, ...hiddenAssets }, copy);
    allowTraversal(copy);
    // In the task's own system when it has one (its image's root, the workspace at its workdir), as the agent ran.
    // pid1: in a task image's sandbox bubblewrap's own init would run as the same uid, holding the stdout the verdict is read from.
    const proc = spawnSandboxed(task.score.command, { cwd: copy, env: { PYTHONDONTWRITEBYTECODE: '1' }, limits: { wallMs: task.score.timeoutSeconds * 1000 }, level, ...taskSystem(task), pid1: true });
    let out = '';
    proc.child.stdout.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-100_000)));
    proc.child.stderr.resume();
    proc.child.stdin.end();
    const end = await proc.done;
    return normalised(end.timedOut ? 0 : rawScore(out, end.code), task);
  } finally {
    try {
      removeTree(dir);
    } catch {
      /* a name the harness cannot remove (not UTF-8): left in the temporary directory */
    }
  }
}

/**
 * Writes a task's starting workspace into `dir`: its workspace files and its workspace assets,
 * fetched from where the task was staged and verified (a missing or altered asset rejects naming
 * its key: an infrastructure failure). Resolves once every file is written.
 */
export async function prepareWorkspace(task: WorkspaceTask, dir: string): Promise<void> {
  // In its image (the stack's images queue), the workspace starts as a copy of the image's workdir, links kept as links.
  const system = taskSystem(task);
  if (task.workdir && !system)
    throw new Error(
      `workspace task ${task.id}: its workspace is ${task.workdir} of its image ${task.image}, which only the stack's image jobs have (UPLIFT_TASK_ROOT unset here: locally, and in TLA jobs, which run in the Uplift image). Run this family with \`uplift submit\` on a stack with the images queue; a TLA cannot evaluate it on dev tasks`,
    );
  if (system?.workspaceAt) {
    const from = workdirIn(task, system.root, system.workspaceAt);
    cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
    // The image's set-id bits stay in the image: the copy is on the harness's disk (the agent runs with no_new_privs anyway).
    walkTree(dir, (e) => {
      if (e.st.isFile() && e.st.mode & 0o6000) chmodSync(e.path, e.st.mode & 0o1777);
    });
  }
  materialize({ ...task.workspace, ...(await fetchTaskAssets(task, 'workspace')) }, dir);
}

/**
 * The image's `workdir` on the harness's disk, each segment looked up without following links: a
 * hostile image's `/h -> /` must not turn `/h/etc` into the host's /etc. A link or a missing
 * directory on the way fails naming the task (the image is at fault, not the agent).
 */
function workdirIn(task: Pick<WorkspaceTask, 'id'>, root: string, workdir: string): string {
  let at = root;
  for (const segment of workdir.split('/').filter(Boolean)) {
    at = join(at, segment);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      throw new Error(`workspace task ${task.id}: its image has no ${workdir} (looked in ${at}); check "workdir" in its task.json`);
    }
    if (st.isSymbolicLink()) throw new Error(`workspace task ${task.id}: ${workdir} in its image goes through a link (${at.slice(root.length)}), which the harness does not follow; use an image whose workdir is a real directory`);
    if (!st.isDirectory()) throw new Error(`workspace task ${task.id}: ${at.slice(root.length)} in its image is not a directory; check "workdir" in its task.json`);
  }
  return at;
}

/**
 * Where the harness has the task's container image: `UPLIFT_TASK_ROOT`, which the stack's image
 * jobs set to the image's root filesystem, copied (infra/constructs/jobs.ts); the task's `workdir`
 * is its workspace there. Elsewhere (locally: no container engine) a task runs on this machine.
 */
export function taskSystem(task: Pick<WorkspaceTask, 'image' | 'workdir'>, env: Record<string, string | undefined> = process.env): { root: string; workspaceAt?: string } | undefined {
  const root = env.UPLIFT_TASK_ROOT;
  if (!task.image || !root) return undefined;
  return { root, ...(task.workdir ? { workspaceAt: task.workdir } : {}) };
}

export const workspaceKind: CbmKind<WorkspaceTask, WorkspaceMeta, WorkspaceSpecFields> = {
  kind: 'workspace',
  summary: 'agentic tasks in a workspace (SWE-bench-style repositories, ML scripts): the agent works in the task directory; hidden tests score its final state',
  specShape: SpecShape,
  datasetHelp: DATASET_HELP,
  task: WorkspaceTask,
  meta: WorkspaceMeta,
  load(dir): KindDataset<WorkspaceTask, WorkspaceMeta> {
    const f = loadTaskFamily(dir);
    // Staging copies the tasks' assets from the family's assets/ folder.
    return withAssetDir({ meta: { task: f.family.task, source: f.family.source, counts: { dev: f.dev.length, test: f.test.length } }, dev: f.dev, test: f.test }, f.assetsDir);
  },
  setOf: (t): TaskSet => t.set ?? 'objective',
  toInput: (t) => ({ id: t.id, instructions: t.instructions }),
  perTask: { prepare: (t, dir) => prepareWorkspace(t, dir), system: (t) => taskSystem(t) },
  taskImage: (t) => t.image,
  checkBudgets: (spec, budgets, field) => taskTokensProblems(spec, budgets.shardTokens, field),
  computeFor: (spec) => ({ queue: spec.queue ?? 'cpu', limits: workspaceLimits(spec) }),
  async score(task, _output, ctx, spec) {
    if (!ctx.workspaceDir) throw new Error(`workspace task ${task.id}: no final workspace to score (the harness runs this kind once per task)`);
    return scoreWorkspace(task, ctx.workspaceDir, ctx.sandboxLevel, workspaceLimits(spec).diskBytes);
  },
  describeTarget: (t) => `the hidden tests pass (${t.score.command.join(' ').slice(0, 200)})`,
  metrics: () => ({ objective: { name: 'resolved rate', describe: "1 when the task's hidden score command passes on the agent's final workspace (normalised between the starting and reference scores when a task has them)" } }),
  tlaTexts: (meta) => ({
    dataFiles: { 'meta.json': JSON.stringify(meta, null, 2) + '\n' },
    vars: { task: meta.task, dev_tasks: String(meta.counts.dev) },
  }),
};
