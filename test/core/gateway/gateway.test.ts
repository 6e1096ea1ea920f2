import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ModelGateway, OfflineUpstream, HttpUpstream } from '../../../core/gateway/gateway';
import { serveOfflineModel } from '../../../core/gateway/offline-server';
import { TranscriptWriter } from '../../../core/transcript';

const PROMPT = 'Answer with exactly one of these labels: yes | no\n\nText: reward hacking\nLabel: yes\n\nText: pasta recipes\nLabel: no\n\nText: reward models gamed\nLabel:';

async function withGateway<T>(budget: number, f: (client: OpenAI, gw: ModelGateway, transcriptPath: string) => Promise<T>): Promise<T> {
  const transcriptPath = join(mkdtempSync(join(tmpdir(), 'gw-')), 't.jsonl');
  const transcript = new TranscriptWriter(transcriptPath);
  const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: budget, transcript });
  const url = await gw.start();
  const env = gw.agentEnv(url);
  const client = new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, maxRetries: 0 });
  try {
    return await f(client, gw, transcriptPath);
  } finally {
    await gw.stop();
    await transcript.close();
  }
}

describe('model gateway', () => {
  test('the openai client talks to the offline model through it, with usage metered', async () => {
    await withGateway(100_000, async (client, gw) => {
      const r = await client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: PROMPT }] });
      expect(r.choices[0].message.content).toBe('yes');
      expect(r.usage?.total_tokens).toBeGreaterThan(0);
      expect(gw.usage).toEqual({ calls: 1, rejected: 0, taskRejected: 0, promptTokens: r.usage?.prompt_tokens, completionTokens: r.usage?.completion_tokens, totalTokens: r.usage?.total_tokens, retries: 0, upstreamFailures: 0 });
    });
  });

  test('once the token budget is spent it answers 429 budget_exhausted and forwards nothing', async () => {
    // GIVEN a budget that fits about two calls
    await withGateway(120, async (client, gw, transcriptPath) => {
      const call = () => client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: PROMPT }], max_tokens: 5 });
      await call();
      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) await call().catch((e: unknown) => errors.push(e));
      // THEN later calls are refused with a clear error, and spend never passes the budget
      expect(errors.length).toBeGreaterThan(0);
      const err = errors[0] as InstanceType<typeof OpenAI.RateLimitError>;
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.message).toMatch(/token budget of 120 tokens for this job is spent/);
      expect(gw.usage.totalTokens).toBeLessThanOrEqual(120);
      expect(gw.usage.rejected).toBe(errors.length);
      await new Promise((r) => setTimeout(r, 50));
      const lines = readFileSync(transcriptPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
      expect(lines.filter((l) => l.kind === 'model_rejected')).toHaveLength(errors.length);
    });
  });

  test('concurrent calls cannot together overrun the budget', async () => {
    await withGateway(1000, async (client, gw) => {
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: PROMPT }], max_tokens: 4 })));
      expect(results.some((r) => r.status === 'rejected')).toBe(true);
      expect(gw.usage.totalTokens).toBeLessThanOrEqual(1000);
    });
  });

  test('the last call before the budget runs out is cut to what is left, so spend lands exactly on the budget', async () => {
    // GIVEN a two-message prompt whose answer takes 7 tokens, and a budget for 3 calls and a bit
    const messages = [
      { role: 'system' as const, content: 'You label abstracts. Be brief.' },
      { role: 'user' as const, content: 'Answer with exactly one of these labels: TAI safety research | not TAI safety research\n\nAbstract: pasta recipes\nLabel: not TAI safety research\n\nAbstract: pasta sauces\nLabel:' },
    ];
    const promptTokens = messages.reduce((n, m) => n + Math.ceil(m.content.length / 4) + 4, 0);
    const budget = 3 * (promptTokens + 7) + promptTokens + 3;
    await withGateway(budget, async (client, gw) => {
      const answers: { content: string | null; finish: string }[] = [];
      let refused = 0;
      for (let i = 0; i < 5; i++) {
        try {
          const r = await client.chat.completions.create({ model: 'offline', messages, max_tokens: 16 });
          answers.push({ content: r.choices[0].message.content, finish: r.choices[0].finish_reason });
        } catch {
          refused++;
        }
      }
      // THEN three full answers, a fourth cut at 3 tokens, then refusals, and not one token over
      expect(answers).toEqual([...Array(3).fill({ content: 'not TAI safety research', finish: 'stop' }), { content: 'not TAI ', finish: 'length' }]);
      expect(refused).toBe(1);
      expect(gw.usage.totalTokens).toBe(budget);
    });
  });

  test('records every forwarded call in the transcript', async () => {
    await withGateway(100_000, async (client, _gw, transcriptPath) => {
      await client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: PROMPT }] });
      await client.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: 'hello' }] });
      await new Promise((r) => setTimeout(r, 50));
      const calls = readFileSync(transcriptPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; request: { messages: { content: string }[] }; usage: unknown });
      expect(calls.map((c) => c.kind)).toEqual(['model_call', 'model_call']);
      expect(calls[1].request.messages[0].content).toBe('hello');
      expect(calls[0].usage).toBeTruthy();
    });
  });

  test('refuses a wrong key: agents only hold the per-job token', async () => {
    await withGateway(100_000, async (_client, gw) => {
      const url = (gw as unknown as { server: { address(): { port: number } } }).server.address().port;
      const bad = new OpenAI({ baseURL: `http://127.0.0.1:${url}/v1`, apiKey: 'sk-real-looking', maxRetries: 0 });
      await expect(bad.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      expect(gw.jobToken).toMatch(/^uplift-job-[0-9a-f]{24}$/);
    });
  });

  test('forwards to any OpenAI-compatible URL with the real key, which agents never see', async () => {
    const upstream = await serveOfflineModel({ latencyMs: 5 });
    const gw = new ModelGateway({ upstream: new HttpUpstream(upstream.baseUrl, 'real-secret', 'offline'), tokenBudget: 10_000 });
    try {
      const env = gw.agentEnv(await gw.start());
      expect(Object.values(env).join(' ')).not.toContain('real-secret');
      const client = new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: env.UPLIFT_MODEL, messages: [{ role: 'user', content: PROMPT }] });
      expect(r.choices[0].message.content).toBe('yes');
      expect(gw.usage.calls).toBe(1);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe('model gateway: completion-token field', () => {
  test('a max_completion_tokens request is forwarded with max_completion_tokens, capped at what is left', async () => {
    // GIVEN an upstream that records what it receives
    const seen: Record<string, unknown>[] = [];
    const upstream = { model: 'm', chat: async (b: Record<string, unknown>) => (seen.push(b), { status: 200, body: { choices: [{ message: { content: 'x' } }], usage: { prompt_tokens: 5, completion_tokens: 1 } } }) };
    const gw = new ModelGateway({ upstream: upstream as never, tokenBudget: 400 });
    try {
      const env = gw.agentEnv(await gw.start());
      const client = new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, maxRetries: 0 });
      await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 1000 });
      await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 7 });
      // THEN the reasoning-model field is kept (and capped); the classic one stays classic
      expect(seen[0].max_tokens).toBeUndefined();
      expect(seen[0].max_completion_tokens).toBeLessThanOrEqual(400);
      expect(seen[1]).toMatchObject({ max_tokens: 7 });
      expect(seen[1].max_completion_tokens).toBeUndefined();
    } finally {
      await gw.stop();
    }
  });
});
