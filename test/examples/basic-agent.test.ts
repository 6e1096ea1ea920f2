import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentManifest } from '../../core/ra/bundle';
import { startScriptedModel, toolReply, type ScriptStep, type ScriptedModel } from '../support/scripted-model';

/**
 * The workspace-CBM example RAs, run as the harness would (minus the sandbox): plain python3 with
 * the task's workspace as cwd, the bundle at UPLIFT_AGENT_DIR, one task line on stdin, a scripted
 * OpenAI-compatible model as OPENAI_BASE_URL.
 */
const examples = join(__dirname, '../../examples/agents');
const AGENTS = ['basic-agent', 'basic-agent-edit'] as const;
const KEY = 'job-token-1';
const BUGGY = 'def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n';
const TASK = { id: 'calc-1', instructions: 'add(2, 3) returns -1 instead of 5. Fix add in calc.py.' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tmp: string;
let model: ScriptedModel | undefined;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'basic-agent-'));
});
afterEach(async () => {
  await model?.close();
  model = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh copy of the bundle (so the run cannot touch the repository's) and a workspace with the buggy repo. */
function setup(agent: string): { bundle: string; ws: string } {
  const bundle = join(tmp, 'bundle');
  cpSync(join(examples, agent), bundle, { recursive: true });
  const ws = join(tmp, 'ws');
  mkdirSync(ws);
  writeFileSync(join(ws, 'calc.py'), BUGGY);
  writeFileSync(join(ws, 'README.md'), '# calc\n');
  return { bundle, ws };
}

async function runAgent(bundle: string, ws: string, baseUrl: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: KEY, UPLIFT_MODEL: 'ra-model', UPLIFT_AGENT_DIR: bundle, ...extraEnv };
  const child = spawn('python3', [join(bundle, 'agent.py')], { cwd: ws, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.end(JSON.stringify(TASK) + '\n');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

/** The one output line the agent must print, parsed. */
function outputLine(r: Run): { id: string; output: string } {
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as { id: string; output: string };
}

async function script(steps: ScriptStep[]): Promise<ScriptedModel> {
  model = await startScriptedModel(steps, { apiKey: KEY });
  return model;
}

/** Path → sha256 of every file under `dir` (directories included as entries). */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, { [`${prefix}${name}/`]: 'dir' }, snapshot(p, `${prefix}${name}/`));
    else out[prefix + name] = createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

describe.each(AGENTS)('%s', (agent) => {
  test('manifest: workspace CBM, python3 agent.py, prompt.md exists', () => {
    const raw = parseYaml(readFileSync(join(examples, agent, 'agent.yaml'), 'utf8')) as unknown;
    const m = AgentManifest.extend({ cbm: z.literal('workspace') }).parse(raw);
    expect(m).toMatchObject({ name: agent, entrypoint: ['python3', 'agent.py'], cbm: 'workspace', prompt: 'prompt.md' });
    expect(existsSync(join(examples, agent, 'prompt.md'))).toBe(true);
  });

  test('(a) fixes the bug with bash sed, finishes on a reply without tool call, and the model sees every tool result', async () => {
    const { bundle, ws } = setup(agent);
    const m = await script([
      { toolCalls: [{ id: 'c1', name: 'bash', arguments: { command: 'cat calc.py' } }] },
      { toolCalls: [{ id: 'c2', name: 'bash', arguments: { command: "sed -i '2s/a - b/a + b/' calc.py && echo patched" } }] },
      { toolCalls: [{ id: 'c3', name: 'python', arguments: { code: 'import calc; print("add:", calc.add(2, 3))' } }, { id: 'c4', name: 'bash', arguments: { command: 'exit 3' } }] },
      { content: 'Fixed add in calc.py: it subtracted instead of adding.' },
    ]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'Fixed add in calc.py: it subtracted instead of adding.' });
    expect(readFileSync(join(ws, 'calc.py'), 'utf8')).toBe(BUGGY.replace('a - b', 'a + b'));
    expect(m.remaining()).toBe(0);
    expect(m.requests).toHaveLength(4);

    const first = m.requests[0];
    expect(first.authorization).toBe(`Bearer ${KEY}`);
    expect(first.body.model).toBe('ra-model');
    expect(first.body.messages.slice(0, 2)).toEqual([
      { role: 'system', content: readFileSync(join(bundle, 'prompt.md'), 'utf8') },
      { role: 'user', content: TASK.instructions },
    ]);
    const toolNames = (first.body.tools as { function: { name: string } }[]).map((t) => t.function.name);
    expect(toolNames).toEqual(agent === 'basic-agent' ? ['bash', 'python', 'submit'] : ['bash', 'python', 'edit_file', 'submit']);

    expect(toolReply(m.requests, 'c1')).toBe(`exit code: 0\n${BUGGY}`);
    expect(toolReply(m.requests, 'c2')).toBe('exit code: 0\npatched\n');
    expect(toolReply(m.requests, 'c3')).toBe('exit code: 0\nadd: 5\n');
    expect(toolReply(m.requests, 'c4')).toBe('exit code: 3\n(no output)');
    // The last request carries the whole history: the assistant's calls, then one reply per call.
    const last = m.requests[3].body.messages;
    expect(last.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool', 'tool']);
    expect(r.stderr).toContain('answered without a tool call');
  });

  test('(b) a long tool output reaches the model cut to its first and last 2,000 characters, with a note', async () => {
    const { bundle, ws } = setup(agent);
    const m = await script([{ toolCalls: [{ id: 'long', name: 'bash', arguments: { command: 'seq 1 20000' } }] }, { toolCalls: [{ name: 'submit', arguments: { summary: 'looked at numbers' } }] }]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'looked at numbers' });
    const full = `exit code: 0\n${Array.from({ length: 20000 }, (_, i) => i + 1).join('\n')}\n`;
    const seen = toolReply(m.requests, 'long') ?? '';
    expect(seen.length).toBeLessThan(4300);
    expect(seen.startsWith(full.slice(0, 2000))).toBe(true);
    expect(seen.endsWith(full.slice(-2000))).toBe(true);
    expect(seen).toContain(`[... ${full.length - 4000} characters omitted (the output had ${full.length})`);
    expect(seen).not.toContain('\n10000\n');
  });

  test('(c) UPLIFT_MAX_STEPS stops the loop after that many model calls, and the output line is still printed', async () => {
    const { bundle, ws } = setup(agent);
    const m = await script(Array.from({ length: 6 }, (_, i) => ({ toolCalls: [{ name: 'bash', arguments: { command: `echo step${i} >> log.txt` } }] })));
    const r = await runAgent(bundle, ws, m.baseUrl, { UPLIFT_MAX_STEPS: '3' });
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'stopped early: reached the step limit of 3 model calls without finishing' });
    expect(m.requests).toHaveLength(3);
    expect(m.remaining()).toBe(3);
    expect(readFileSync(join(ws, 'log.txt'), 'utf8')).toBe('step0\nstep1\nstep2\n');
    expect(r.stderr).toContain('reached the step limit (3 model calls)');
  });

  test.each([
    ['429 (budget spent)', { raw: { error: { message: 'token budget of 100 tokens for this job is spent', code: 'budget_exhausted' } }, status: 429 }, 'HTTP 429: token budget of 100 tokens for this job is spent'],
    ['500 with a non-JSON body', { raw: 'upstream exploded', status: 500 }, 'HTTP 500: upstream exploded'],
  ] as [string, ScriptStep, string][])('(d) a %s ends the run gracefully: stderr says why, the output line says it stopped early, earlier edits stay', async (_name, failure, message) => {
    const { bundle, ws } = setup(agent);
    const m = await script([{ toolCalls: [{ name: 'bash', arguments: { command: "sed -i '2s/a - b/a + b/' calc.py" } }] }, failure, { content: 'never reached' }]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: `stopped early at step 2: the model call failed (${message})` });
    expect(r.stderr).toContain(`step 2: model call failed: ${message}`);
    expect(m.remaining()).toBe(1);
    expect(readFileSync(join(ws, 'calc.py'), 'utf8')).toContain('return a + b');
  });

  test('(d) an endpoint that refuses connections also ends with the output line', async () => {
    const { bundle, ws } = setup(agent);
    const closed = await startScriptedModel([]);
    const url = closed.baseUrl;
    await closed.close();
    const r = await runAgent(bundle, ws, url);
    expect(r.code).toBe(0);
    expect(outputLine(r).output).toMatch(/^stopped early at step 1: the model call failed \(request failed: .*refused/);
    expect(r.stderr).toContain('model call failed');
  });

  test('(f) touches only its cwd: the bundle folder is byte-for-byte unchanged after a run that writes and imports', async () => {
    const { bundle, ws } = setup(agent);
    const before = snapshot(bundle);
    const m = await script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'mkdir -p notes && echo hi > notes/a.txt' } }] },
      { toolCalls: [{ name: 'python', arguments: { code: 'import calc\nopen("out.txt", "w").write(str(calc.add(1, 1)))' } }] },
      { toolCalls: [{ name: 'submit', arguments: { summary: 'done' } }] },
    ]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'done' });
    expect(snapshot(bundle)).toEqual(before);
    expect(readFileSync(join(ws, 'notes/a.txt'), 'utf8')).toBe('hi\n');
    expect(readFileSync(join(ws, 'out.txt'), 'utf8')).toBe('0');
    expect(existsSync(join(tmp, 'out.txt'))).toBe(false);
  });
});

describe('basic-agent vs basic-agent-edit', () => {
  test('basic-agent has no edit_file: a call to it is answered with an error naming the tools it has', async () => {
    const { bundle, ws } = setup('basic-agent');
    const m = await script([{ toolCalls: [{ id: 'e', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'a - b', new_str: 'a + b' } }] }, { content: 'gave up' }]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'gave up' });
    expect(toolReply(m.requests, 'e')).toBe("error: unknown tool 'edit_file'; the tools are bash, python and submit.");
    expect(readFileSync(join(ws, 'calc.py'), 'utf8')).toBe(BUGGY);
  });

  test('(e) basic-agent-edit edit_file replaces exactly one occurrence and explains every refusal, changing nothing', async () => {
    const { bundle, ws } = setup('basic-agent-edit');
    const m = await script([
      { toolCalls: [{ id: 'many', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'return a - b', new_str: 'return a + b' } }] },
      { toolCalls: [{ id: 'ok', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'def add(a, b):\n    return a - b', new_str: 'def add(a, b):\n    return a + b' } }] },
      { toolCalls: [{ id: 'again', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'def add(a, b):\n    return a - b', new_str: 'X' } }] },
      { toolCalls: [{ id: 'spaces', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'def sub(a, b):  return a - b', new_str: 'X' } }] },
      { toolCalls: [{ id: 'missing', name: 'edit_file', arguments: { path: 'nope.py', old_str: 'x', new_str: 'y' } }] },
      { toolCalls: [{ id: 'outside', name: 'edit_file', arguments: { path: '../escape.py', old_str: '', new_str: 'x = 1\n' } }] },
      { toolCalls: [{ id: 'exists', name: 'edit_file', arguments: { path: 'README.md', old_str: '', new_str: 'overwrite' } }] },
      { toolCalls: [{ id: 'create', name: 'edit_file', arguments: { path: 'tests/test_calc.py', old_str: '', new_str: 'from calc import add\n\nassert add(2, 3) == 5\n' } }] },
      { toolCalls: [{ id: 'badjson', name: 'edit_file', arguments: '{"path": "calc.py", old_str' }] },
      { toolCalls: [{ id: 'badargs', name: 'edit_file', arguments: { path: 'calc.py', old_str: 'a' } }] },
      { toolCalls: [{ name: 'submit', arguments: { summary: 'fixed add with edit_file' } }] },
    ]);
    const r = await runAgent(bundle, ws, m.baseUrl);
    expect(r.code).toBe(0);
    expect(outputLine(r)).toEqual({ id: 'calc-1', output: 'fixed add with edit_file' });
    expect(readFileSync(join(ws, 'calc.py'), 'utf8')).toBe('def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n');
    expect(readFileSync(join(ws, 'README.md'), 'utf8')).toBe('# calc\n');
    expect(readFileSync(join(ws, 'tests/test_calc.py'), 'utf8')).toBe('from calc import add\n\nassert add(2, 3) == 5\n');
    expect(existsSync(join(tmp, 'escape.py'))).toBe(false);

    const reply = (id: string) => toolReply(m.requests, id);
    expect(reply('many')).toBe('error: old_str occurs 2 times in calc.py (at lines 2, 6); nothing was changed. Include more surrounding text so that it occurs once.');
    expect(reply('ok')).toBe('edited calc.py: replaced 1 occurrence (now lines 1-2). Lines 1-4 now read:\n1\tdef add(a, b):\n2\t    return a + b\n3\t\n4\t');
    expect(reply('again')).toMatch(/^error: old_str was not found in calc\.py; nothing was changed\./);
    expect(reply('spaces')).toBe('error: old_str was not found in calc.py; nothing was changed. It does occur if whitespace is ignored: copy the exact spaces and line breaks.');
    expect(reply('missing')).toBe('error: nope.py does not exist; nothing was changed. To create a file, call edit_file with an empty old_str.');
    expect(reply('outside')).toBe('error: ../escape.py is outside the working directory; give a path inside it.');
    expect(reply('exists')).toMatch(/^error: old_str is empty, which creates a new file, but README\.md already exists and is not empty/);
    expect(reply('create')).toBe('created tests/test_calc.py (3 lines).');
    expect(reply('badjson')).toMatch(/^error: the arguments are not valid JSON/);
    expect(reply('badargs')).toMatch(/^error: edit_file needs \{"path"/);
  });
});
