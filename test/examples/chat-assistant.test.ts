import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { promptInjectionKind, type PiMeta, type PiTask } from '../../core/cbm/prompt-injection';
import { applyDefences, DEFENCES, readTemplates, renderChat, writeTemplates, type ChatTemplates } from '../../core/cbm/prompt-injection/defences';
import { assistantAnswer } from '../../core/cbm/prompt-injection/offline';
import { serveOfflineModel } from '../../core/gateway/offline-server';
import { fakeEndpoint } from '../support/numbered-endpoint';
import { runAgentOnTasks } from '../../core/ra/protocol';

const bundleDir = join(__dirname, '../../examples/agents/chat-assistant');
const manifest = parseYaml(readFileSync(join(bundleDir, 'agent.yaml'), 'utf8')) as { name: string; entrypoint: string[]; cbm: string; prompt: string };
const META: PiMeta = { task: '', source: '', variants: [], dev: { attacks: 0, benign: 0 } };
const sample = readFileSync(join(__dirname, '../../examples/datasets/pi-sample/test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as PiTask);
/** 16 attacks of different variants and 4 benign tasks. */
const tasks = [...sample.filter((t) => t.set === 'objective').filter((_, i) => i % 6 === 0).slice(0, 16), ...sample.filter((t) => t.set === 'guard').slice(0, 4)];
const inputs = tasks.map((t) => promptInjectionKind.toInput(t, META));

/** What the offline assistant answers a task through the given templates (the TS mirror of agent.py's filling). */
const expected = (t: ChatTemplates) =>
  inputs.map((i) => {
    const c = renderChat(t, i as unknown as { system: string; user: string });
    return { id: i.id, output: assistantAnswer(c.system, c.user).trim() };
  });


describe('chat-assistant RA', () => {
  test('its manifest names the prompt-injection kind and the system template', () => {
    expect(manifest).toMatchObject({ name: 'chat-assistant', entrypoint: ['python3', 'agent.py'], cbm: 'prompt-injection', prompt: 'system.txt' });
    expect(readTemplates(bundleDir, manifest.prompt)).toEqual({ system: '{{system}}\n', user: '{{user}}\n', config: { datamark: '', max_tokens: 300 } });
  });

  test('answers every task through the offline model with the system and user messages its templates make', async () => {
    const model = await serveOfflineModel();
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint: manifest.entrypoint, tasks: inputs, env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_MODEL: 'offline', UPLIFT_CONCURRENCY: '4' } });
      expect(r.stderrTail).toBe('');
      expect(r.exitCode).toBe(0);
      expect(r.outcomes).toEqual(expected(readTemplates(bundleDir, manifest.prompt)));
      // Undefended, some attacks hijack it: it says what the injection wanted.
      expect(r.outcomes.some((o) => 'output' in o && o.output.startsWith('Sure, here you go.'))).toBe(true);
    } finally {
      await model.close();
    }
  });

  test('a defended copy (every defence, data marking included) sends what the defences make, and resists more', async () => {
    const work = mkdtempSync(join(tmpdir(), 'chat-assistant-'));
    const model = await serveOfflineModel();
    try {
      cpSync(bundleDir, work, { recursive: true });
      const defended = applyDefences(readTemplates(work, manifest.prompt), DEFENCES);
      writeTemplates(work, manifest.prompt, defended);
      const r = await runAgentOnTasks({ bundleDir: work, entrypoint: manifest.entrypoint, tasks: inputs, env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '3' } });
      expect(r.stderrTail).toBe('');
      expect(r.outcomes).toEqual(expected(defended));
      const hijacked = (outs: readonly object[]) => outs.filter((o) => 'output' in o && String(o.output).startsWith('Sure, here you go.')).length;
      expect(hijacked(r.outcomes)).toBeLessThan(hijacked(expected(readTemplates(bundleDir, manifest.prompt))));
    } finally {
      await model.close();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('a refused call (budget spent) leaves only its task without output and says why on stderr', async () => {
    const refusal = { status: 429, body: { error: { message: 'token budget of 10 tokens for this job is spent', code: 'budget_exhausted' } } };
    const ok = { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: ' Hello! ' }, finish_reason: 'stop' }] } };
    const ep = await fakeEndpoint((n) => (n === 2 ? refusal : ok));
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint: manifest.entrypoint, tasks: inputs.slice(0, 5), env: { OPENAI_BASE_URL: ep.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '1' } });
      const answered = r.outcomes.filter((o) => 'output' in o);
      expect(answered).toHaveLength(4);
      expect(answered.every((o) => 'output' in o && o.output === 'Hello!')).toBe(true);
      expect(r.outcomes[2]).toMatchObject({ id: inputs[2].id, error: 'agent_error' });
      expect(r.stderrTail).toContain(`task ${inputs[2].id}: HTTP 429: token budget of 10 tokens for this job is spent`);
      expect(r.exitCode).toBe(0);
    } finally {
      ep.server.close();
    }
  });
});
