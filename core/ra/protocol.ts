import { z } from 'zod';
import type { AgentInput } from '../cbm/types';
import { loopbackRelay, spawnSandboxed, type IsolationLevel, type SandboxExit, type SandboxLimits, type SandboxOptions } from '../sandbox';

/** Longest stdout line read from an agent; longer ones are rejected. */
const MAX_LINE_CHARS = 1_000_000;

/** One stdout line of the RA protocol. */
export const OutputLine = z.object({ id: z.string(), output: z.string() });

/**
 * Why a task has no output. `agent_error`: the agent ran and gave no or a malformed line, crashed,
 * or hit its own limit (wall clock, disk, memory, token budget). `infra_error`: the model endpoint
 * failed after the gateway's retries, or the sandbox or job failed — never scored, never cached.
 */
export type TaskErrorKind = 'agent_error' | 'infra_error';

/**
 * Per task: the agent's output (with its score once the harness scored it), or why there is none
 * (with its cause, in words).
 */
export type TaskOutcome = { id: string; output: string; score?: number; attempts?: { score: number; seconds: number }[] } | { id: string; error: TaskErrorKind; cause: string };

/** Why the tasks of a finished agent process that got no output have none, in words. */
export function missingOutputCause(r: Pick<ShardRunResult, 'exitCode' | 'killedFor' | 'rejectedLines'>): string {
  if (r.killedFor === 'wall_time') return 'the agent was killed at its wall-clock limit before answering';
  if (r.killedFor) return `the agent was killed for exceeding its ${r.killedFor.replace('_', ' ')} limit before answering`;
  if (r.exitCode === 127) return 'the agent could not start: its entrypoint was not found (exit 127)';
  if (r.exitCode !== 0) return `the agent crashed (exit ${r.exitCode ?? 'by signal'}) before answering`;
  if (r.rejectedLines.length) return `no valid output line (the agent printed ${r.rejectedLines.length} malformed or unknown line(s))`;
  return 'the agent printed no output line for it';
}

/**
 * The result of a bundle that cannot run at all: its agent.yaml is not valid (a TLA broke it).
 * Every task is an agent error naming the problems — the MRA scores 0, never fails the run.
 */
export function invalidBundleResult(tasks: readonly { id: string }[], problems: readonly string[], isolation: IsolationLevel): ShardRunResult {
  const cause = `the bundle is not valid, so the agent could not run: ${problems.slice(0, 3).join('; ').slice(0, 1500)}`;
  return { outcomes: tasks.map((t) => ({ id: t.id, error: 'agent_error' as const, cause })), rejectedLines: [], exitCode: null, timedOut: false, stderrTail: '', isolation, wallMs: 0 };
}

export interface ShardRunResult {
  outcomes: TaskOutcome[];
  /** stdout lines that were not `{"id","output"}` JSON, named an unknown id, or repeated an id. */
  rejectedLines: { line: number; reason: string; text: string }[];
  exitCode: number | null;
  timedOut: boolean;
  /** Why the harness killed it, if it did (wall clock, disk quota). */
  killedFor?: SandboxExit['killedFor'];
  stderrTail: string;
  isolation: IsolationLevel;
  wallMs: number;
}

/**
 * Runs an RA bundle's entrypoint once over tasks (README, "RA bundles and the RA protocol"): task inputs as JSON
 * lines on stdin, one `{"id","output"}` line per task on stdout, logs on stderr. Missing and
 * malformed lines never throw: they become failed tasks, reported in `rejectedLines`.
 */
export async function runAgentOnTasks(opts: {
  bundleDir: string;
  entrypoint: string[];
  tasks: AgentInput[];
  env: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  /** Gateway socket, read-only inputs and level of the sandbox (see core/sandbox.ts). */
  sandbox?: Pick<SandboxOptions, 'gateway' | 'readOnly' | 'level'>;
  /** Called once per accepted output line (progress). */
  onOutput?: (id: string) => void;
}): Promise<ShardRunResult> {
  const started = Date.now();
  // A loopback OPENAI_BASE_URL without a gateway socket is relayed, so it works at every sandbox level.
  const relay = opts.sandbox?.gateway || !opts.env.OPENAI_BASE_URL ? undefined : await loopbackRelay(opts.env.OPENAI_BASE_URL);
  const gateway = relay ? { gateway: { baseUrl: opts.env.OPENAI_BASE_URL, socketPath: relay.socketPath } } : {};
  const proc = spawnSandboxed(opts.entrypoint, { cwd: opts.bundleDir, env: opts.env, limits: opts.limits, ...opts.sandbox, ...gateway });
  const wanted = new Set(opts.tasks.map((t) => t.id));
  const outputs = new Map<string, string>();
  const rejectedLines: ShardRunResult['rejectedLines'] = [];
  // The first 1000 are kept: enough to diagnose, bounded however much an agent prints.
  const reject = (r: ShardRunResult['rejectedLines'][number]) => {
    if (rejectedLines.length < 1000) rejectedLines.push(r);
  };
  let stderr = '';
  let buf = '';
  let lineNo = 0;
  let skipping = false;
  const take = (raw: string) => {
    lineNo++;
    const text = raw.trim();
    if (text === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      reject({ line: lineNo, reason: 'not JSON', text: text.slice(0, 200) });
      return;
    }
    const parsed = OutputLine.safeParse(value);
    if (!parsed.success) reject({ line: lineNo, reason: 'not {"id": string, "output": string}', text: text.slice(0, 200) });
    else if (!wanted.has(parsed.data.id)) reject({ line: lineNo, reason: `unknown task id "${parsed.data.id}"`, text: text.slice(0, 200) });
    else if (outputs.has(parsed.data.id)) reject({ line: lineNo, reason: `second output for "${parsed.data.id}" (the first counts)`, text: text.slice(0, 200) });
    else {
      outputs.set(parsed.data.id, parsed.data.output);
      opts.onOutput?.(parsed.data.id);
    }
  };
  proc.child.stdout.setEncoding('utf8');
  proc.child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      if (skipping) skipping = false;
      else take(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    // A line longer than any answer is refused as it grows, so an agent cannot exhaust the harness's memory.
    if (buf.length > MAX_LINE_CHARS) {
      if (!skipping) {
        lineNo++;
        reject({ line: lineNo, reason: `line longer than ${MAX_LINE_CHARS} characters`, text: buf.slice(0, 200) });
      }
      buf = '';
      skipping = true;
    }
  });
  proc.child.stderr.setEncoding('utf8');
  proc.child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  proc.child.stdin.on('error', () => {
    /* the agent may exit without reading all of stdin: its tasks then count as missing */
  });
  proc.child.stdin.end(opts.tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
  const end = await proc.done;
  await relay?.close();
  if (buf.trim() !== '' && !skipping) take(buf);
  const cause = missingOutputCause({ exitCode: end.code, killedFor: end.killedFor, rejectedLines });
  return {
    outcomes: opts.tasks.map((t) => (outputs.has(t.id) ? { id: t.id, output: outputs.get(t.id) as string } : { id: t.id, error: 'agent_error' as const, cause })),
    rejectedLines,
    exitCode: end.code,
    timedOut: end.timedOut,
    ...(end.killedFor ? { killedFor: end.killedFor } : {}),
    stderrTail: stderr,
    isolation: proc.isolation,
    wallMs: Date.now() - started,
  };
}
