import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { ExecResult, TlaRuntime } from './types';

/**
 * The react TLA's tools: argument schemas (zod, also sent to the model as JSON Schema), and the
 * file tools, which the harness runs itself on the workspace. Every tool answers with text;
 * every misuse is an `error: …` text that says what was wrong and how to call it instead.
 */
export const TOOL_ARGS = {
  bash: z.object({
    command: z.string().min(1).describe('A bash command line; it runs in the agent directory.'),
    timeout_seconds: z.number().int().min(1).max(86400).optional().describe('Wall-clock limit (capped by the TLA settings).'),
  }),
  python: z.object({
    code: z.string().min(1).describe('A Python 3 script, run with the agent directory as working directory.'),
    timeout_seconds: z.number().int().min(1).max(86400).optional().describe('Wall-clock limit (capped by the TLA settings).'),
  }),
  view_file: z.object({
    path: z.string().min(1).describe('File or directory, relative to the agent directory (or absolute inside it).'),
    start_line: z.number().int().min(1).max(10_000_000).optional().describe('First line to show (1-based).'),
    end_line: z.number().int().min(1).max(10_000_000).optional().describe('Last line to show.'),
  }),
  edit_file: z.object({
    path: z.string().min(1).describe('File relative to the agent directory (or absolute inside it).'),
    old_str: z.string().describe('Exact text to replace; it must occur exactly once. Empty: create a new file.'),
    new_str: z.string().describe('Replacement text.'),
  }),
  evaluate: z.object({}),
  submit: z.object({
    note: z.string().optional().describe('What you changed and why (recorded).'),
  }),
} as const;

export type ToolName = keyof typeof TOOL_ARGS;
export const TOOL_NAMES = Object.keys(TOOL_ARGS) as ToolName[];

const DESCRIPTIONS: Record<ToolName, string> = {
  bash: 'Run a bash command in the sandbox, in the agent directory. Returns exit code, stdout and stderr.',
  python: 'Run a Python 3 script in the sandbox, in the agent directory. Returns exit code, stdout and stderr.',
  view_file: 'Show a file of the agent directory with line numbers, or list a directory.',
  edit_file: 'Replace exactly one occurrence of old_str with new_str in a file of the agent directory (old_str empty: create the file).',
  evaluate: 'Run the agent as it is now on a fixed sample of dev tasks; returns the score and some failures, and keeps the bundle as a checkpoint.',
  submit: 'End the work. The best evaluated checkpoint is what gets scored.',
};

/** The tool definitions sent with every model call. */
export function toolDefinitions(): ChatCompletionFunctionTool[] {
  return TOOL_NAMES.map((name) => {
    const { $schema: _drop, ...parameters } = z.toJSONSchema(TOOL_ARGS[name]) as Record<string, unknown>;
    return { type: 'function', function: { name, description: DESCRIPTIONS[name], parameters } };
  });
}

/** A parsed tool call, or the error text to send back instead of running it. */
export type ParsedCall = { ok: true; name: ToolName; args: Record<string, unknown> } | { ok: false; error: string };

const example: Record<ToolName, string> = {
  bash: '{"command": "ls -la"}',
  python: '{"code": "print(1 + 1)"}',
  view_file: '{"path": "prompt.txt"}',
  edit_file: '{"path": "prompt.txt", "old_str": "exact old text", "new_str": "new text"}',
  evaluate: '{}',
  submit: '{"note": "what changed"}',
};

/** Checks a tool call's name and JSON arguments; never throws. */
export function parseToolCall(name: string | undefined, rawArgs: string | undefined): ParsedCall {
  if (!name || !(TOOL_NAMES as string[]).includes(name)) return { ok: false, error: `error: there is no tool "${name ?? ''}". Available tools: ${TOOL_NAMES.join(', ')}.` };
  const tool = name as ToolName;
  const text = (rawArgs ?? '').trim() === '' ? '{}' : (rawArgs as string);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `error: the arguments of ${tool} are not valid JSON (${(e as Error).message}). Received: ${text.slice(0, 300)}. Send one JSON object, e.g. ${example[tool]}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: `error: the arguments of ${tool} must be a JSON object (received ${text.slice(0, 100)}), e.g. ${example[tool]}` };
  const parsed = TOOL_ARGS[tool].safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
    return { ok: false, error: `error: bad arguments for ${tool}: ${problems}. Expected e.g. ${example[tool]}` };
  }
  return { ok: true, name: tool, args: parsed.data as Record<string, unknown> };
}

/** Cuts text longer than `max` characters in the middle, saying how much was left out. */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  const tail = max - head;
  return `${text.slice(0, head)}\n[... ${text.length - max} characters omitted: the output was ${text.length} characters, longer than the ${max} shown. Narrow the command (head, grep, sed -n) to see the part you need ...]\n${text.slice(text.length - tail)}`;
}

/** A command's result as the model sees it. */
export function formatExec(r: ExecResult, timeoutSeconds: number): string {
  const status =
    r.killedFor === 'wall_time'
      ? `killed: over its wall-clock limit of ${timeoutSeconds} s`
      : r.killedFor === 'disk_quota'
        ? 'killed: the agent directory outgrew its disk quota (delete large files)'
        : r.killedFor === 'memory'
          ? 'killed: the sandbox used more memory than its limit (all its processes together)'
          : r.exitCode === null
          ? `killed by signal ${r.signal ?? 'unknown'}`
          : `exit code ${r.exitCode}`;
  const parts = [status];
  if (r.stdout) parts.push(`stdout:\n${r.stdout.replace(/\n$/, '')}`);
  if (r.stderr) parts.push(`stderr:\n${r.stderr.replace(/\n$/, '')}`);
  if (!r.stdout && !r.stderr) parts.push('(no output)');
  if (r.droppedChars > 0) parts.push(`[${r.droppedChars} further characters of output were not kept]`);
  return parts.join('\n');
}

/**
 * Resolves a path the model gave to a host path inside the workspace, refusing anything that
 * leaves it (`..`, absolute paths elsewhere, symbolic links pointing out).
 */
export function resolveInWorkspace(workspace: string, insideWorkspace: string, given: string): { ok: true; path: string; shown: string } | { ok: false; error: string } {
  let rel: string;
  if (isAbsolute(given)) {
    const n = normalize(given);
    if (n !== insideWorkspace && !n.startsWith(insideWorkspace.endsWith('/') ? insideWorkspace : insideWorkspace + '/'))
      return { ok: false, error: `error: ${given} is outside the agent directory ${insideWorkspace}. The file tools work inside it; use bash to read other files.` };
    rel = relative(insideWorkspace, n);
  } else rel = normalize(given);
  if (rel === '..' || rel.startsWith('..' + sep)) return { ok: false, error: `error: ${given} is outside the agent directory ${insideWorkspace}. The file tools work inside it; use bash to read other files.` };
  const host = join(workspace, rel);
  // Follow links only if they stay inside the workspace.
  try {
    const real = realpathSync(existsSync(host) ? host : dirname(host));
    const root = realpathSync(workspace);
    if (real !== root && !real.startsWith(root + sep)) return { ok: false, error: `error: ${given} leads outside the agent directory (a symbolic link); the file tools refuse it.` };
  } catch {
    return { ok: false, error: `error: ${given}: its directory does not exist in ${insideWorkspace}. Create it with bash (mkdir -p) first.` };
  }
  return { ok: true, path: host, shown: rel === '.' ? insideWorkspace : join(insideWorkspace, rel) };
}

/** `view_file`: numbered lines of a file, or a directory listing. */
export function viewFile(runtime: Pick<TlaRuntime, 'paths'>, workspace: string, args: z.infer<typeof TOOL_ARGS.view_file>): string {
  const r = resolveInWorkspace(workspace, runtime.paths.workspace, args.path);
  if (!r.ok) return r.error;
  if (!existsSync(r.path)) return `error: ${r.shown} does not exist. Files here: ${listFiles(workspace).join(', ') || '(none)'}`;
  const st = lstatSync(r.path);
  if (st.isDirectory()) {
    const entries = readdirSync(r.path).sort().map((n) => (lstatSync(join(r.path, n)).isDirectory() ? `${n}/` : n));
    return `${r.shown}/ holds ${entries.length} entries:\n${entries.join('\n')}`;
  }
  if (!st.isFile()) return `error: ${r.shown} is not a regular file.`;
  const text = readFileSync(r.path, 'utf8');
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const start = args.start_line ?? 1;
  const end = Math.min(args.end_line ?? lines.length, lines.length);
  if (start > Math.max(1, lines.length)) return `error: start_line ${start} is past the end of ${r.shown} (${lines.length} lines).`;
  if (end < start) return `error: end_line ${end} is before start_line ${start}.`;
  const width = String(end).length;
  const body = lines
    .slice(start - 1, end)
    .map((l, i) => `${String(start + i).padStart(width)}\t${l}`)
    .join('\n');
  return `${r.shown} (lines ${start}-${end} of ${lines.length}):\n${body}`;
}

/** `edit_file`: replaces exactly one occurrence, or creates a file; errors say why and what to do. */
export function editFile(runtime: Pick<TlaRuntime, 'paths'>, workspace: string, args: z.infer<typeof TOOL_ARGS.edit_file>): string {
  const r = resolveInWorkspace(workspace, runtime.paths.workspace, args.path);
  if (!r.ok) return r.error;
  const exists = existsSync(r.path);
  if (exists && !lstatSync(r.path).isFile()) return `error: ${r.shown} is not a regular file.`;
  if (args.old_str === '') {
    if (exists && readFileSync(r.path, 'utf8') !== '') return `error: old_str is empty, which creates a new file, but ${r.shown} already exists and is not empty. To change it, give the exact text to replace as old_str.`;
    writeFileSync(r.path, args.new_str);
    return `created ${r.shown} (${args.new_str.split('\n').length} lines).`;
  }
  if (!exists) return `error: ${r.shown} does not exist. Files here: ${listFiles(workspace).join(', ') || '(none)'}. To create a file, call edit_file with an empty old_str.`;
  const text = readFileSync(r.path, 'utf8');
  const at: number[] = [];
  for (let i = text.indexOf(args.old_str); i >= 0; i = text.indexOf(args.old_str, i + 1)) at.push(i);
  const lineOf = (i: number) => text.slice(0, i).split('\n').length;
  if (at.length === 0) {
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    const hint = squash(text).includes(squash(args.old_str)) ? ' It does occur if whitespace is ignored: copy the exact spaces and line breaks from view_file.' : ' View the file and copy the exact text.';
    return `error: old_str was not found in ${r.shown}; nothing was changed.${hint}`;
  }
  if (at.length > 1) return `error: old_str occurs ${at.length} times in ${r.shown} (at lines ${at.map(lineOf).join(', ')}); nothing was changed. Include more surrounding text so that it occurs once.`;
  const next = text.slice(0, at[0]) + args.new_str + text.slice(at[0] + args.old_str.length);
  writeFileSync(r.path, next);
  const first = lineOf(at[0]);
  const lines = next.split('\n');
  const last = first + args.new_str.split('\n').length - 1;
  const from = Math.max(1, first - 2);
  const to = Math.min(lines.length, last + 2);
  const snippet = lines
    .slice(from - 1, to)
    .map((l, i) => `${String(from + i).padStart(String(to).length)}\t${l}`)
    .join('\n');
  return `edited ${r.shown}: replaced 1 occurrence (now lines ${first}-${last}). Lines ${from}-${to} now read:\n${snippet}`;
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (out.length >= 50) break;
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...listFiles(p, `${prefix}${name}/`).slice(0, 50 - out.length));
    else out.push(prefix + name);
  }
  return out;
}
