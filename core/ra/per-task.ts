import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { UnscorableOutputError, type AgentInput, type CbmKind, type CbmTask } from '../cbm/types';
import type { TokenAllowance } from '../gateway/gateway';
import { allowTraversal, DEFAULT_LIMITS, detectIsolation, diskUsage, removeTree, sandboxView, spawnSandboxed, type IsolationLevel, type JobGpus, type SandboxLimits, type SandboxOptions } from '../sandbox';
import type { TranscriptWriter } from '../transcript';
import { missingOutputCause, OutputLine, type ShardRunResult, type TaskOutcome } from './protocol';

/** Where a per-task agent's bundle is mounted, read-only, inside a bubblewrap sandbox. */
export const AGENT_MOUNT = '/agent';

/** One task of a per-task run: what the agent reads, and how its workspace is made. */
export interface PerTaskInput {
  input: AgentInput;
  /** Writes the task's starting workspace into `dir` (an empty directory); awaited before the agent starts (it may fetch files). */
  prepare(dir: string): void | Promise<void>;
  /** The task's own system (a container image's root filesystem) and where its workspace appears in it (SandboxOptions `root`, `workspaceAt`). */
  system?: { root: string; workspaceAt?: string };
}

/**
 * The entrypoint as it runs in a task's workspace: arguments that name a file of the bundle
 * (e.g. `agent.py`) are given as the bundle's path inside the sandbox, since the command runs in
 * the workspace, not in the bundle.
 */
export function entrypointInWorkspace(entrypoint: readonly string[], bundleDir: string, agentDir: string): string[] {
  return entrypoint.map((a) => (!isAbsolute(a) && !a.startsWith('-') && existsSync(join(bundleDir, a)) ? `${agentDir}/${a.replace(/^\.\//, '')}` : a));
}

/**
 * Runs an agent once per task (the `workspace` shape of the RA protocol, README "CBM kinds"): each
 * task gets its own sandbox whose only writable place — and working directory — is the task's
 * workspace, with the bundle read-only at UPLIFT_AGENT_DIR. The agent reads one JSON line (the
 * task's input) on stdin and may print `{"id", "output"}`; whatever it leaves in the workspace is
 * scored by `score` afterwards, outside its sandbox. A task whose agent could not start, or crashed
 * without a word, is an agent error; one that ran out of time is still scored on what it left.
 */
export async function runAgentPerTask(opts: {
  bundleDir: string;
  entrypoint: string[];
  tasks: PerTaskInput[];
  /** Where the task workspaces are made (the sandbox's uid must be able to traverse it). */
  scratch: string;
  env: Record<string, string>;
  /** Each task's sandbox limits, asked as it starts (so a wall clock can shrink with what is left). */
  limits?: () => Partial<SandboxLimits>;
  sandbox?: Pick<SandboxOptions, 'gateway' | 'level' | 'devices'>;
  /**
   * Each task's (each attempt's) own token allowance: a sub-allowance of `perTask` tokens of the
   * gateway's budget with a key of its own, given to the agent as OPENAI_API_KEY and closed when
   * the task ends, so one task's agent can never spend another's share.
   */
  tokens?: { perTask: number; gateway: { openAllowance(tokens: number, label: string): TokenAllowance } };
  /** Tasks run at once. */
  concurrency: number;
  /** Independent attempts per task, each in a fresh workspace (RE-Bench best-of-k). @default 1 */
  attempts?: number;
  /** Scores a task's final workspace (its directory on the host) and the agent's final message. */
  score(id: string, workspaceDir: string, output: string): Promise<TaskOutcome>;
}): Promise<ShardRunResult> {
  const started = Date.now();
  const outcomes = new Map<string, TaskOutcome>();
  const rejectedLines: ShardRunResult['rejectedLines'] = [];
  let stderrTail = '';
  let lastExit: number | null = 0;
  let timedOut = false;
  let isolation: IsolationLevel | undefined;
  let next = 0;
  const runOne = async (t: PerTaskInput, k: number, label: string): Promise<{ outcome: TaskOutcome; seconds: number }> => {
    const t0 = Date.now();
    const ws = join(opts.scratch, `task-${k}`);
    mkdirSync(ws, { recursive: true });
    allowTraversal(ws);
    const allowance = opts.tokens?.gateway.openAllowance(opts.tokens.perTask, label);
    try {
      await t.prepare(ws);
      // A starting workspace already over the disk limit (e.g. an image's checkout bigger than diskMiB) is the set-up's fault, not the agent's.
      const limits = opts.limits?.();
      const quota = { bytes: limits?.diskBytes ?? DEFAULT_LIMITS.diskBytes, entries: limits?.diskEntries ?? DEFAULT_LIMITS.diskEntries };
      const start = diskUsage(ws, quota.entries, quota.bytes);
      if (start.bytes > quota.bytes || start.entries > quota.entries)
        throw new Error(
          `task ${t.input.id}: its starting workspace already holds ${start.entries > quota.entries ? `more than ${quota.entries} files` : `${start.bytes} bytes, more than the sandbox's ${quota.bytes}`}, so no agent could work in it. Fix: raise diskMiB on the CBM entry (to at least ${Math.ceil((start.bytes * 1.5) / 1024 ** 2)} for this task)`,
        );
      const readOnly = [{ host: opts.bundleDir, path: AGENT_MOUNT }];
      const level = opts.sandbox?.level;
      const agentDir = level ? (sandboxView(level, ws, readOnly, t.system?.workspaceAt).readOnly[opts.bundleDir] ?? opts.bundleDir) : opts.bundleDir;
      const argv = entrypointInWorkspace(opts.entrypoint, opts.bundleDir, agentDir);
      const env = { ...opts.env, ...(allowance ? { OPENAI_API_KEY: allowance.apiKey } : {}), UPLIFT_AGENT_DIR: agentDir, UPLIFT_TASK_ID: t.input.id };
      const proc = spawnSandboxed(argv, { cwd: ws, env, limits, readOnly, ...opts.sandbox, ...t.system });
      isolation = proc.isolation;
      let out = '';
      let err = '';
      proc.child.stdout.setEncoding('utf8').on('data', (c: string) => (out = (out + c).slice(-1_000_000)));
      proc.child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-8000)));
      proc.child.stdin.on('error', () => undefined);
      proc.child.stdin.end(JSON.stringify(t.input) + '\n');
      const end = await proc.done;
      stderrTail = `[${t.input.id}] ${err}`.slice(-8000);
      lastExit = end.code;
      timedOut ||= end.timedOut;
      // The last `{"id", "output"}` line for this task is its final message; others are ignored.
      let output: string | undefined;
      out.split('\n').forEach((line, i) => {
        const text = line.trim();
        if (!text.startsWith('{')) return;
        try {
          const parsed = OutputLine.safeParse(JSON.parse(text));
          if (parsed.success && parsed.data.id === t.input.id) output = parsed.data.output;
          else if (rejectedLines.length < 1000) rejectedLines.push({ line: i + 1, reason: parsed.success ? `output for another task "${parsed.data.id}"` : 'not {"id": string, "output": string}', text: text.slice(0, 200) });
        } catch {
          /* a log line that happens to start with "{" */
        }
      });
      const couldNotRun = end.code === 127 || (end.code !== 0 && !end.killedFor && output === undefined);
      const seconds = (Date.now() - t0) / 1000;
      if (couldNotRun) return { outcome: { id: t.input.id, error: 'agent_error', cause: missingOutputCause({ exitCode: end.code, killedFor: end.killedFor, rejectedLines: [] }) }, seconds };
      try {
        return { outcome: await opts.score(t.input.id, ws, output ?? ''), seconds };
      } catch (e) {
        // What the agent left cannot be scored (it filled the disk, left what cannot be copied): its error, scored 0.
        if (e instanceof UnscorableOutputError) return { outcome: { id: t.input.id, error: 'agent_error', cause: e.message }, seconds };
        throw e;
      }
    } finally {
      allowance?.close();
      try {
        removeTree(ws);
      } catch (e) {
        // A name the harness cannot remove (not UTF-8): the workspace stays in the scratch directory, which the job removes.
        stderrTail = `${stderrTail}\n[harness] could not remove ${ws}: ${(e as Error).message}`.slice(-8000);
      }
    }
  };
  const attempts = Math.max(1, opts.attempts ?? 1);
  const worker = async () => {
    while (next < opts.tasks.length) {
      const k = next++;
      const t = opts.tasks[k];
      const runs: { outcome: TaskOutcome; seconds: number }[] = [];
      for (let a = 0; a < attempts; a++) runs.push(await runOne(t, k * attempts + a, attempts > 1 ? `${t.input.id} attempt ${a + 1}` : t.input.id));
      if (attempts === 1) {
        outcomes.set(t.input.id, runs[0].outcome);
        continue;
      }
      // Attempts that could not run score 0; the task is an agent error only when none ran.
      const scored = runs.filter((r) => 'output' in r.outcome);
      if (!scored.length) outcomes.set(t.input.id, runs[0].outcome);
      else {
        const per = runs.map((r) => ({ score: 'output' in r.outcome ? (r.outcome.score ?? 0) : 0, seconds: r.seconds }));
        const last = scored[scored.length - 1].outcome as { output: string };
        outcomes.set(t.input.id, { id: t.input.id, output: last.output, score: per.reduce((s, x) => s + x.score, 0) / per.length, attempts: per });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, opts.tasks.length)) }, worker));
  return {
    outcomes: opts.tasks.map((t) => outcomes.get(t.input.id) ?? { id: t.input.id, error: 'agent_error' as const, cause: 'the agent was never run on this task' }),
    rejectedLines,
    exitCode: lastExit,
    timedOut,
    stderrTail,
    isolation: isolation ?? opts.sandbox?.level ?? detectIsolation().level,
    wallMs: Date.now() - started,
  };
}

/**
 * Each task's (each attempt's) token allowance in a per-task run: the spec's `taskTokens`, else
 * an even share of the shard's budget, `floor(shardTokens / (tasksPerShard × attempts))`; never
 * more than the shard's budget. TLA evaluations use the same allowance, so an agent gets as many
 * tokens per task on dev as on test.
 */
export function taskTokenAllowance(spec: Record<string, unknown>, shardTokens: number, tasksPerShard: number): number {
  if (spec.taskTokens !== undefined) return Math.min(Number(spec.taskTokens), shardTokens);
  return Math.max(1, Math.floor(shardTokens / (Math.max(1, tasksPerShard) * Math.max(1, Number(spec.attempts ?? 1)))));
}

/**
 * A per-task kind's tasks through {@link runAgentPerTask}: each task's workspace made by the kind,
 * its input the kind's view of it, each final workspace scored by the kind here, outside the
 * agent's sandbox. A task's wall clock is the spec's `taskWallSeconds` (else `defaultTaskWallMs`),
 * never past `deadline`; `limitsFor` turns that wall clock into the sandbox's limits. With
 * `tokens`, each task's agent gets its own allowance of the gateway's budget
 * ({@link taskTokenAllowance}); with `gpus` (a CBM on the GPU queue), the job's GPU device nodes
 * and CUDA_VISIBLE_DEVICES. Both, and the isolation level, are noted in `transcript`.
 */
export function runKindPerTask(o: {
  kind: CbmKind;
  meta: unknown;
  spec: Record<string, unknown>;
  tasks: readonly CbmTask[];
  bundleDir: string;
  entrypoint: string[];
  scratch: string;
  env: Record<string, string>;
  sandbox: { gateway: { baseUrl: string; socketPath: string }; level: IsolationLevel };
  limitsFor: (wallMs: number) => Partial<SandboxLimits>;
  deadline: number;
  defaultTaskWallMs: number;
  attempts?: number;
  /** The gateway whose budget each task gets a share of, and the plan's shard budget and size (taskTokenAllowance). */
  tokens?: { gateway: { openAllowance(tokens: number, label: string): TokenAllowance }; shardTokens: number; tasksPerShard: number };
  /** The job's GPUs for the agents (core/sandbox/devices.ts `jobGpus`), when the CBM asks the GPU queue. */
  gpus?: JobGpus;
  transcript?: Pick<TranscriptWriter, 'write'>;
}): Promise<ShardRunResult> {
  const perTask = o.kind.perTask;
  if (!perTask) throw new Error(`CBM kind ${o.kind.kind} runs its tasks through one agent process, not once per task`);
  const taskWallMs = o.spec.taskWallSeconds === undefined ? o.defaultTaskWallMs : Number(o.spec.taskWallSeconds) * 1000;
  const perTaskTokens = o.tokens ? taskTokenAllowance(o.spec, o.tokens.shardTokens, o.tokens.tasksPerShard) : undefined;
  const devices = o.gpus?.devices ?? [];
  o.transcript?.write('note', {
    note: 'per-task agent sandboxes',
    isolation: o.sandbox.level,
    devices: devices.map((d) => d.path),
    ...(o.gpus ? { gpus: o.gpus.note, ...o.gpus.env } : {}),
    ...(perTaskTokens !== undefined ? { taskTokens: perTaskTokens } : {}),
  });
  const byId = new Map(o.tasks.map((t) => [t.id, t]));
  return runAgentPerTask({
    bundleDir: o.bundleDir,
    entrypoint: o.entrypoint,
    // A kind's prepare may return a promise (workspace assets are fetched): runAgentPerTask awaits it.
    tasks: o.tasks.map((t) => {
      const system = perTask.system?.(t);
      return { input: o.kind.toInput(t, o.meta), prepare: (dir: string) => perTask.prepare(t, dir), ...(system ? { system } : {}) };
    }),
    scratch: o.scratch,
    env: { ...o.env, ...o.gpus?.env },
    limits: () => o.limitsFor(Math.min(taskWallMs, o.deadline - Date.now())),
    sandbox: { ...o.sandbox, ...(devices.length ? { devices } : {}) },
    ...(o.tokens && perTaskTokens !== undefined ? { tokens: { perTask: perTaskTokens, gateway: o.tokens.gateway } } : {}),
    concurrency: 1,
    attempts: o.attempts,
    score: async (id, workspaceDir, output) => ({ id, output, score: await o.kind.score(byId.get(id) as CbmTask, output, { workspaceDir, sandboxLevel: o.sandbox.level }, o.spec, o.meta) }),
  });
}
