import { z } from 'zod';
import type { TaskInput } from '../cbm/dataset';
import { spawnSandboxed, type IsolationLevel, type SandboxLimits } from '../sandbox';

/** One stdout line of the RA protocol. */
export const OutputLine = z.object({ id: z.string(), output: z.string() });

/** Per task: the agent's output, or why there is none. A task without output scores as a failure. */
export type TaskOutcome = { id: string; output: string } | { id: string; error: 'missing' };

export interface ShardRunResult {
  outcomes: TaskOutcome[];
  /** stdout lines that were not `{"id","output"}` JSON, named an unknown id, or repeated an id. */
  rejectedLines: { line: number; reason: string; text: string }[];
  exitCode: number | null;
  timedOut: boolean;
  stderrTail: string;
  isolation: IsolationLevel;
  wallMs: number;
}

/**
 * Runs an RA bundle's entrypoint once over tasks (DESIGN.md, RA protocol): task inputs as JSON
 * lines on stdin, one `{"id","output"}` line per task on stdout, logs on stderr. Missing and
 * malformed lines never throw: they become failed tasks, reported in `rejectedLines`.
 */
export async function runAgentOnTasks(opts: {
  bundleDir: string;
  entrypoint: string[];
  tasks: TaskInput[];
  env: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  /** Called once per accepted output line (progress). */
  onOutput?: (id: string) => void;
}): Promise<ShardRunResult> {
  const started = Date.now();
  const proc = spawnSandboxed(opts.entrypoint, { cwd: opts.bundleDir, env: opts.env, limits: opts.limits });
  const wanted = new Set(opts.tasks.map((t) => t.id));
  const outputs = new Map<string, string>();
  const rejectedLines: ShardRunResult['rejectedLines'] = [];
  let stderr = '';
  let buf = '';
  let lineNo = 0;
  const take = (raw: string) => {
    lineNo++;
    const text = raw.trim();
    if (text === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      rejectedLines.push({ line: lineNo, reason: 'not JSON', text: text.slice(0, 200) });
      return;
    }
    const parsed = OutputLine.safeParse(value);
    if (!parsed.success) rejectedLines.push({ line: lineNo, reason: 'not {"id": string, "output": string}', text: text.slice(0, 200) });
    else if (!wanted.has(parsed.data.id)) rejectedLines.push({ line: lineNo, reason: `unknown task id "${parsed.data.id}"`, text: text.slice(0, 200) });
    else if (outputs.has(parsed.data.id)) rejectedLines.push({ line: lineNo, reason: `second output for "${parsed.data.id}" (the first counts)`, text: text.slice(0, 200) });
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
      take(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
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
  if (buf.trim() !== '') take(buf);
  return {
    outcomes: opts.tasks.map((t) => (outputs.has(t.id) ? { id: t.id, output: outputs.get(t.id) as string } : { id: t.id, error: 'missing' as const })),
    rejectedLines,
    exitCode: end.code,
    timedOut: end.timedOut,
    stderrTail: stderr,
    isolation: proc.isolation,
    wallMs: Date.now() - started,
  };
}
