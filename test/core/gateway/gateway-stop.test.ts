import { spawn } from 'node:child_process';
import { HttpUpstream, ModelGateway, type Upstream } from '../../../core/gateway/gateway';
import { post, startScriptedEndpoint, tempTranscript } from './fake-endpoints';

/** Polls `cond` every 10 ms, for at most `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * An agent process: fires `n` calls at the gateway and keeps running, never reading the answers.
 * Returns a function that kills it (the agent exits with its calls in flight) and resolves when it is gone.
 */
function startAgent(url: string, key: string, n: number): () => Promise<void> {
  const script = `
    const [url, key, n] = process.argv.slice(1);
    for (let i = 0; i < Number(n); i++)
      fetch(url + '/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + key }, body: JSON.stringify({ messages: [{ role: 'user', content: 'task ' + i }], max_tokens: 5 }) }).catch(() => {});
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, url, key, String(n)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return async () => {
    child.kill('SIGKILL');
    await exited;
  };
}

async function withSlowEndpoint<T>(stopGraceMs: number | undefined, f: (h: { gw: ModelGateway; url: string; fake: Awaited<ReturnType<typeof startScriptedEndpoint>>; events: () => Promise<Record<string, unknown>[]> }) => Promise<T>): Promise<T> {
  // Answers every call after 2 s, and bills it (10 + 5 tokens) whether or not anyone is still listening.
  const fake = await startScriptedEndpoint(() => ({ ok: true, delayMs: 2000 }));
  const { transcript, events, close } = tempTranscript('gw-stop-');
  const upstream = new HttpUpstream(fake.baseUrl, 'sk-real', 'm');
  const gw = new ModelGateway({ upstream, tokenBudget: 1_000_000, transcript, ...(stopGraceMs === undefined ? {} : { stopGraceMs }) });
  const url = await gw.start();
  try {
    return await f({ gw, url, fake, events });
  } finally {
    await gw.stop();
    upstream.close();
    await close();
    await fake.close();
  }
}

describe('model gateway: stopping with calls in flight', () => {
  test('GIVEN an agent that fires calls at a slow endpoint and exits WHEN stop() is called at once THEN it waits for the answers, and usage and the ledger hold what the endpoint billed', async () => {
    await withSlowEndpoint(undefined, async ({ gw, url, fake, events }) => {
      const killAgent = startAgent(url, gw.jobToken, 6);
      await until(() => fake.seen.length === 6);
      await killAgent();
      const t0 = Date.now();
      await gw.stop();
      // THEN stop() waited for the answers (about 2 s after they were asked for)
      expect(Date.now() - t0).toBeGreaterThan(500);
      expect(fake.billed).toBe(6 * 15);
      expect(gw.usage).toMatchObject({ calls: 6, promptTokens: 60, completionTokens: 30, totalTokens: 90, upstreamFailures: 0 });
      expect(gw.ledger.spent).toBe(fake.billed);
      expect(gw.ledger.reserved).toBe(0);
      const calls = (await events()).filter((e) => e.kind === 'model_call');
      expect(calls).toHaveLength(6);
      expect(calls.every((c) => c.status === 200 && c.abandoned === undefined)).toBe(true);
    });
  }, 20_000);

  test('GIVEN calls still in flight after the grace period WHEN stop() returns THEN each is charged its whole reservation, recorded as abandoned, and aborted; its late answer is not charged again', async () => {
    await withSlowEndpoint(300, async ({ gw, url, fake, events }) => {
      const killAgent = startAgent(url, gw.jobToken, 4);
      await until(() => fake.seen.length === 4);
      await killAgent();
      const t0 = Date.now();
      await gw.stop();
      expect(Date.now() - t0).toBeLessThan(1500);
      const calls = (await events()).filter((e) => e.kind === 'model_call');
      expect(calls).toHaveLength(4);
      const reserved = calls.reduce((n, c) => n + (c.reserved as number), 0);
      for (const c of calls) {
        expect(c).toMatchObject({ status: null, abandoned: true, usageEstimated: true, usage: { prompt_tokens: (c.reserved as number) - 5, completion_tokens: 5 } });
        expect(c.message).toMatch(/still in flight 300 ms after the gateway began to stop: charged its whole reservation/);
      }
      expect(gw.usage).toMatchObject({ calls: 4, totalTokens: reserved, upstreamFailures: 0 });
      expect(gw.ledger.spent).toBe(reserved);
      expect(gw.ledger.reserved).toBe(0);
      // AND the upstream requests were aborted; the endpoint bills them anyway, within what was charged
      await until(() => fake.abandoned === 4);
      await until(() => fake.billed === 4 * 15, 5000);
      expect(gw.ledger.spent).toBe(reserved);
      expect(gw.ledger.spent).toBeGreaterThanOrEqual(fake.billed);
    });
  }, 20_000);

  test('GIVEN an upstream with a 200 ms timeout that never answers (nor honours the abort) WHEN stop() is called THEN it waits no longer than that timeout, and charges the reservation', async () => {
    let asked = 0;
    const upstream: Upstream = { model: 'm', endpoint: 'test', timeoutMs: 200, promptReserve: () => 40, chat: () => (asked++, new Promise(() => undefined)) };
    const gw = new ModelGateway({ upstream, tokenBudget: 1000 });
    const url = await gw.start();
    const pending = post(url, gw.jobToken, { messages: [{ role: 'user', content: 'x' }], max_tokens: 10 }).catch((e: unknown) => e);
    await until(() => asked === 1);
    const t0 = Date.now();
    await gw.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    await pending;
    expect(gw.ledger.spent).toBe(50);
    expect(gw.ledger.reserved).toBe(0);
    expect(gw.usage).toMatchObject({ calls: 1, promptTokens: 40, completionTokens: 10 });
  }, 10_000);
});
