import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipleChoiceKind as kind, renderMcPrompt, type McTask } from '../../core/cbm/multiple-choice';
import { offlineMcAnswer, writeForgetDirective } from '../../core/cbm/multiple-choice/offline';
import { serveOfflineModel } from '../../core/gateway/offline-server';
import { fakeEndpoint } from '../support/numbered-endpoint';
import { runAgentOnTasks } from '../../core/ra/protocol';

const bundleDir = join(__dirname, '../../examples/agents/mc-answerer');
const entrypoint = ['python3', 'agent.py'];
const ds = kind.load(join(__dirname, '../../examples/datasets/wmdp-sample'), { goal: 'unlearn' });
// A few of each set, so some forget questions hold the directive's keyword and some do not.
const sample: McTask[] = [...ds.test.filter((t) => t.set === 'objective').slice(0, 12), ...ds.test.filter((t) => t.set === 'guard').slice(0, 8)];
const inputs = sample.map((t) => kind.toInput(t, ds.meta));

/** What the offline model answers the prompt file for each task, computed without HTTP or the agent. */
function expected(template: string): Record<string, string> {
  return Object.fromEntries(
    sample.map((t) => {
      const p = renderMcPrompt(template, t);
      return [t.id, offlineMcAnswer(p.system === undefined ? [] : [p.system], p.user) ?? ''];
    }),
  );
}

const outputsOf = (outcomes: { id: string }[]) => Object.fromEntries(outcomes.flatMap((o) => ('output' in o ? [[o.id, (o as { output: string }).output]] : [])));

const reply = (content: string) => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] } });

describe('mc-answerer RA', () => {
  test('answers every task through the offline model exactly as the prompt file says, forget directive included', async () => {
    const model = await serveOfflineModel();
    const defended = mkdtempSync(join(tmpdir(), 'mc-answerer-'));
    try {
      const env = { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '4' };
      const plain = await runAgentOnTasks({ bundleDir, entrypoint, tasks: inputs, env });
      expect(plain.stderrTail).toBe('');
      expect(plain.exitCode).toBe(0);
      const template = readFileSync(join(bundleDir, 'prompt.txt'), 'utf8');
      expect(outputsOf(plain.outcomes)).toEqual(expected(template));

      cpSync(bundleDir, defended, { recursive: true });
      const withDirective = writeForgetDirective(template, ['security', 'bacteria', 'laboratory']);
      writeFileSync(join(defended, 'prompt.txt'), withDirective);
      const after = await runAgentOnTasks({ bundleDir: defended, entrypoint, tasks: inputs, env });
      const got = outputsOf(after.outcomes);
      expect(got).toEqual(expected(withDirective));
      // The directive changed some forget answers and no retain answer of this sample.
      const changed = sample.filter((t) => got[t.id] !== outputsOf(plain.outcomes)[t.id]);
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.every((t) => t.set === 'objective')).toBe(true);
    } finally {
      await model.close();
      rmSync(defended, { recursive: true, force: true });
    }
  });

  test('maps replies onto letters: letter forms and choice text; anything else is passed on (a wrong answer)', async () => {
    const replies = ['The answer is (C).', 'b', 'Answer: D', sample[3].choices[2], 'no idea'];
    const ep = await fakeEndpoint((n) => reply(replies[n]));
    try {
      const tasks = inputs.slice(0, 5);
      const r = await runAgentOnTasks({ bundleDir, entrypoint, tasks, env: { OPENAI_BASE_URL: ep.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '1' } });
      expect(tasks.map((t) => outputsOf(r.outcomes)[t.id])).toEqual(['C', 'B', 'D', 'C', 'no idea']);
    } finally {
      ep.server.close();
    }
  });

  test('a refused call (budget spent) leaves only its task without output and says why on stderr', async () => {
    const refusal = { status: 429, body: { error: { message: 'token budget of 10 tokens for this job is spent', code: 'budget_exhausted' } } };
    const ep = await fakeEndpoint((n) => (n < 5 ? reply('A') : refusal));
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint, tasks: inputs.slice(0, 8), env: { OPENAI_BASE_URL: ep.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '1' } });
      expect(Object.values(outputsOf(r.outcomes))).toEqual(Array(5).fill('A'));
      expect(r.stderrTail).toContain('HTTP 429: token budget of 10 tokens for this job is spent');
      expect(r.exitCode).toBe(0);
    } finally {
      ep.server.close();
    }
  });
});
