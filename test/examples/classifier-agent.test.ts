import { join } from 'node:path';
import { ModelGateway, OfflineUpstream } from '../../core/gateway/gateway';
import { readManifest } from '../../core/ra/bundle';
import { fakeEndpoint } from '../support/numbered-endpoint';
import { runAgentOnTasks } from '../../core/ra/protocol';

const bundleDir = join(__dirname, '../../examples/agents/classifier');
const entrypoint = readManifest(bundleDir).entrypoint;
const labels = ['TAI safety research', 'not TAI safety research'];
const tasks = Array.from({ length: 12 }, (_, i) => ({ id: `t${i}`, text: `abstract number ${i}`, labels }));

const reply = (content: string) => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] } });

describe('classifier RA', () => {
  test('answers every task through the gateway, mapping replies onto the labels', async () => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 1_000_000 });
    const env = { ...gw.agentEnv(await gw.start()), UPLIFT_CONCURRENCY: '4' };
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint, tasks, env });
      expect(r.stderrTail).toBe('');
      expect(r.exitCode).toBe(0);
      expect(r.outcomes.every((o) => 'output' in o && labels.includes(o.output))).toBe(true);
      expect(gw.usage.calls).toBe(tasks.length);
    } finally {
      await gw.stop();
    }
  });

  test('a refused call (budget spent) leaves its task without output and says why on stderr', async () => {
    const refusal = { status: 429, body: { error: { message: 'token budget of 10 tokens for this job is spent', code: 'budget_exhausted' } } };
    const ep = await fakeEndpoint((n) => (n < 5 ? reply('not TAI safety research.') : refusal));
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint, tasks, env: { OPENAI_BASE_URL: ep.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '1' } });
      expect(r.outcomes.filter((o) => 'output' in o)).toHaveLength(5);
      expect(r.outcomes.filter((o) => 'output' in o).map((o) => (o as { output: string }).output)).toEqual(Array(5).fill('not TAI safety research'));
      expect(r.stderrTail).toContain('HTTP 429: token budget of 10 tokens for this job is spent');
      expect(r.exitCode).toBe(0);
    } finally {
      ep.server.close();
    }
  });

  test('a keep-alive connection the server closed is reopened, so no task is lost', async () => {
    const ep = await fakeEndpoint(() => reply('TAI safety research'), true);
    try {
      const r = await runAgentOnTasks({ bundleDir, entrypoint, tasks, env: { OPENAI_BASE_URL: ep.baseUrl, OPENAI_API_KEY: 'k', UPLIFT_CONCURRENCY: '2' } });
      expect(r.stderrTail).toBe('');
      expect(r.outcomes.filter((o) => 'output' in o)).toHaveLength(tasks.length);
      expect(ep.calls()).toBe(tasks.length);
    } finally {
      ep.server.close();
    }
  });
});
