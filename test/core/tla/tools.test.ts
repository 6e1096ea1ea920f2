import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindPromptsDir } from '../../../core/cbm/registry';
import { evalSample, loadPrompt } from '../../../core/tla/react';
import { editFile, formatExec, parseToolCall, resolveInWorkspace, toolDefinitions, truncateMiddle, viewFile } from '../../../core/tla/tools';
import { DATASET } from './react-fixture';

const rt = { paths: { workspace: '/workspace', dev: '/data/dev.jsonl', data: '/data' } };

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tools-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('react tools', () => {
  test('the tool definitions are function tools with JSON Schema parameters', () => {
    const defs = toolDefinitions();
    expect(defs.map((d) => d.function.name)).toEqual(['bash', 'python', 'view_file', 'edit_file', 'evaluate', 'submit']);
    const edit = defs.find((d) => d.function.name === 'edit_file')?.function.parameters as { required: string[]; properties: Record<string, unknown>; $schema?: string };
    expect(edit.required).toEqual(['path', 'old_str', 'new_str']);
    expect(edit.$schema).toBeUndefined();
  });

  test('parseToolCall accepts good calls and explains bad ones', () => {
    expect(parseToolCall('bash', '{"command": "ls"}')).toEqual({ ok: true, name: 'bash', args: { command: 'ls' } });
    expect(parseToolCall('evaluate', '')).toEqual({ ok: true, name: 'evaluate', args: {} });
    expect(parseToolCall(undefined, '{}')).toEqual({ ok: false, error: 'error: there is no tool "". Available tools: bash, python, view_file, edit_file, evaluate, submit.' });
    expect(parseToolCall('bash', '["ls"]')).toEqual({ ok: false, error: 'error: the arguments of bash must be a JSON object (received ["ls"]), e.g. {"command": "ls -la"}' });
    expect(parseToolCall('bash', '{"command": 3}')).toMatchObject({ ok: false, error: expect.stringMatching(/^error: bad arguments for bash: command: .*expected string/) });
  });

  test('edit_file replaces one exact occurrence, creates files, and refuses ambiguous or missing text', () => {
    const dir = workspace({ 'p.txt': 'alpha\nbeta\n  gamma\nbeta\n' });
    expect(editFile(rt, dir, { path: 'p.txt', old_str: 'alpha', new_str: 'ALPHA' })).toMatch(/^edited \/workspace\/p\.txt: replaced 1 occurrence \(now lines 1-1\)/);
    expect(editFile(rt, dir, { path: 'p.txt', old_str: 'beta', new_str: 'x' })).toBe('error: old_str occurs 2 times in /workspace/p.txt (at lines 2, 4); nothing was changed. Include more surrounding text so that it occurs once.');
    expect(editFile(rt, dir, { path: 'p.txt', old_str: 'beta gamma', new_str: 'x' })).toBe(
      'error: old_str was not found in /workspace/p.txt; nothing was changed. It does occur if whitespace is ignored: copy the exact spaces and line breaks from view_file.',
    );
    expect(editFile(rt, dir, { path: 'new/n.txt', old_str: '', new_str: 'x' })).toBe('error: new/n.txt: its directory does not exist in /workspace. Create it with bash (mkdir -p) first.');
    expect(editFile(rt, dir, { path: '/workspace/n.txt', old_str: '', new_str: 'one\ntwo' })).toBe('created /workspace/n.txt (2 lines).');
    expect(editFile(rt, dir, { path: 'n.txt', old_str: '', new_str: 'again' })).toMatch(/^error: old_str is empty, which creates a new file, but \/workspace\/n\.txt already exists/);
    expect(readFileSync(join(dir, 'p.txt'), 'utf8')).toBe('ALPHA\nbeta\n  gamma\nbeta\n');
  });

  test('the file tools stay inside the workspace, links included', () => {
    const dir = workspace({ 'a.txt': '1\n2\n3\n' });
    mkdirSync(join(dir, 'sub'));
    symlinkSync('/etc', join(dir, 'sub', 'etc'));
    expect(viewFile(rt, dir, { path: 'a.txt', start_line: 2 })).toBe('/workspace/a.txt (lines 2-3 of 3):\n2\t2\n3\t3');
    expect(viewFile(rt, dir, { path: '/etc/passwd' })).toMatch(/^error: \/etc\/passwd is outside the agent directory \/workspace/);
    expect(viewFile(rt, dir, { path: 'sub/etc/passwd' })).toBe('error: sub/etc/passwd leads outside the agent directory (a symbolic link); the file tools refuse it.');
    expect(resolveInWorkspace(dir, '/workspace', 'sub/../a.txt')).toEqual({ ok: true, path: join(dir, 'a.txt'), shown: '/workspace/a.txt' });
    expect(viewFile(rt, dir, { path: '.' })).toBe('/workspace/ holds 2 entries:\na.txt\nsub/');
  });

  test('long outputs are cut in the middle with a note; command results say how they ended', () => {
    const cut = truncateMiddle('a'.repeat(600) + 'b'.repeat(600), 100);
    expect(cut.startsWith('a'.repeat(60) + '\n[... 1100 characters omitted')).toBe(true);
    expect(cut.endsWith('b'.repeat(40))).toBe(true);
    expect(formatExec({ exitCode: 2, signal: null, stdout: 'out\n', stderr: 'err\n', droppedChars: 0, wallMs: 1 }, 10)).toBe('exit code 2\nstdout:\nout\nstderr:\nerr');
    expect(formatExec({ exitCode: null, signal: 'SIGKILL', killedFor: 'wall_time', stdout: '', stderr: '', droppedChars: 5, wallMs: 1 }, 10)).toBe(
      'killed: over its wall-clock limit of 10 s\n(no output)\n[5 further characters of output were not kept]',
    );
  });

  test('the system prompt loads from core/tla/prompts, the variant templates from the kind\'s prompts, and the eval sample is fixed per seed', () => {
    const vars = { workspace: '/workspace', prompt_file: 'prompt.txt', token_budget: '1,000', data_path: '/data' };
    const kindDir = kindPromptsDir('classification');
    expect(loadPrompt('react-simple', vars, kindDir)).toContain('the prompt file `prompt.txt` in /workspace');
    expect(loadPrompt('react-simple', vars, kindDir)).toContain('the label set is at /data/labels.json');
    expect(loadPrompt('react-hard', vars, kindDir)).toBe('Goal: improve the accuracy of the agent in /workspace on its task. Use the tools.\n');
    expect(loadPrompt('react-system', vars)).toContain('a budget of 1,000 tokens');
    expect(() => loadPrompt('react-medium', vars, kindDir)).toThrow(/prompt template .*react-medium\.md is missing/);
    // The variant templates are the kind's: core/tla/prompts holds none.
    expect(() => loadPrompt('react-simple', vars)).toThrow(/prompt template .*react-simple\.md is missing/);
    const a = evalSample(DATASET.dev, 10, 1).map((e) => e.id);
    expect(evalSample(DATASET.dev, 10, 1).map((e) => e.id)).toEqual(a);
    expect(evalSample(DATASET.dev, 10, 2).map((e) => e.id)).not.toEqual(a);
    expect(evalSample(DATASET.dev, 1000, 1)).toHaveLength(DATASET.dev.length);
  });
});
