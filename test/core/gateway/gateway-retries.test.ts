import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpUpstream, ModelGateway, type RetryOptions, type Upstream } from '../../../core/gateway/gateway';
import { retryAfterMs } from '../../../core/gateway/retry';
import { post, startScriptedEndpoint, tempTranscript, type Action } from './fake-endpoints';

/** Waits recorded, never slept: no test here depends on wall time. */
function recordedSleep(): { sleeps: number[]; sleep: NonNullable<RetryOptions['sleep']> } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

interface Harness {
  gw: ModelGateway;
  url: string;
  fake: Awaited<ReturnType<typeof startScriptedEndpoint>>;
  sleeps: number[];
  events: () => Promise<Record<string, unknown>[]>;
}

async function withScripted<T>(script: (body: Record<string, unknown>, attempt: number) => Action, opts: { budget?: number; retry?: RetryOptions; timeoutMs?: number }, f: (h: Harness) => Promise<T>): Promise<T> {
  const fake = await startScriptedEndpoint(script);
  const { sleeps, sleep } = recordedSleep();
  const { transcript, events, close } = tempTranscript('gw-retry-');
  const upstream = new HttpUpstream(fake.baseUrl, 'sk-secret-key', 'm', { timeoutMs: opts.timeoutMs });
  const gw = new ModelGateway({ upstream, tokenBudget: opts.budget ?? 1_000_000, transcript, retry: { sleep, random: () => 0.5, ...opts.retry } });
  const url = await gw.start();
  try {
    return await f({ gw, url, fake, sleeps, events });
  } finally {
    await gw.stop();
    upstream.close();
    await close();
    await fake.close();
  }
}

const ask = (h: Harness, what: string) => post(h.url, h.gw.jobToken, { messages: [{ role: 'user', content: what }], max_tokens: 5 });

describe('model gateway: upstream failures are retried', () => {
  test('GIVEN a storm (a third of calls fail with 429, 500, 503, Retry-After, dropped connections) WHEN 60 calls are made, 6 at a time THEN every call succeeds, each failure is retried once, and nothing is double-charged', async () => {
    // Call i fails its first f(i) attempts, with failure kinds in turn: every third call fails, some twice.
    const kinds: Action[] = [
      { status: 429, body: { error: { message: 'rate limited', type: 'requests', code: 'rate_limit_exceeded' } }, headers: { 'retry-after': '1' } },
      { status: 500 },
      { status: 503, headers: { 'retry-after-ms': '250' } },
      { drop: true },
      { status: 502, body: '<html>bad gateway</html>' },
      { status: 429, body: { error: { message: 'slow down', type: 'tokens' } }, headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } },
    ];
    const failures = (i: number) => (i % 3 === 0 ? 1 + (i % 2) : 0);
    let k = 0;
    const plan = new Map<string, Action[]>();
    for (let i = 0; i < 60; i++) plan.set(`call ${i}`, Array.from({ length: failures(i) }, () => kinds[k++ % kinds.length]));
    const expectedRetries = [...plan.values()].reduce((n, a) => n + a.length, 0);
    await withScripted((body, attempt) => {
      const key = (body.messages as { content: string }[])[0].content;
      return plan.get(key)?.[attempt - 1] ?? { ok: true };
    }, {}, async (h) => {
      const results: Awaited<ReturnType<typeof ask>>[] = [];
      for (let i = 0; i < 60; i += 6) results.push(...(await Promise.all(Array.from({ length: 6 }, (_, j) => ask(h, `call ${i + j}`)))));
      // THEN every call succeeded with its own answer
      expect(results.map((r) => r.status)).toEqual(Array(60).fill(200));
      results.forEach((r, i) => expect((r.json.choices as { message: { content: string } }[])[0].message.content).toBe(`answer to call ${i}`));
      // AND each failure was retried exactly once: no more attempts than failures + calls
      expect(expectedRetries).toBeGreaterThanOrEqual(20);
      expect(h.gw.usage.retries).toBe(expectedRetries);
      expect(h.fake.seen).toHaveLength(60 + expectedRetries);
      expect(h.gw.usage).toMatchObject({ calls: 60, upstreamFailures: 0 });
      expect(h.gw.infraFailure).toBeUndefined();
      // AND only successful answers were charged, once each
      expect(h.gw.ledger.spent).toBe(60 * 15);
      expect(h.gw.ledger.spent).toBe(h.fake.billed);
      expect(h.gw.ledger.reserved).toBe(0);
      // AND every retry waited, at least what the endpoint asked for (1 s after kind 0; else the backoff, 250 or 500 ms here)
      const asked1s = [...plan.values()].flat().filter((a) => a === kinds[0]).length;
      expect(h.sleeps).toHaveLength(expectedRetries);
      expect(h.sleeps.filter((ms) => ms >= 1000)).toHaveLength(asked1s);
      expect(h.sleeps.every((ms) => ms >= 250)).toBe(true);
      const calls = (await h.events()).filter((e) => e.kind === 'model_call');
      expect(calls.reduce((n, e) => n + (e.retries as number), 0)).toBe(expectedRetries);
    });
  });

  test('GIVEN an endpoint that is down (connection refused) WHEN called THEN after bounded retries the agent gets 502 upstream_unavailable naming the endpoint, and the failure is counted', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { sleeps, sleep } = recordedSleep();
    const { transcript, events } = tempTranscript('gw-down-');
    const upstream = new HttpUpstream(`http://127.0.0.1:${port}/v1`, 'sk-secret-key', 'm');
    const gw = new ModelGateway({ upstream, tokenBudget: 10_000, transcript, retry: { attempts: 4, sleep } });
    const url = await gw.start();
    try {
      const r = await post(url, gw.jobToken, { messages: [{ role: 'user', content: 'hi' }] });
      expect(r.status).toBe(502);
      expect(r.json.error).toMatchObject({ code: 'upstream_unavailable', type: 'upstream_error' });
      expect(r.json.error?.message).toContain(`the model endpoint http://127.0.0.1:${port}/v1 is unavailable after 4 attempts`);
      expect(r.json.error?.message).toContain('ECONNREFUSED');
      expect(r.text).not.toContain('sk-secret-key');
      expect(sleeps).toHaveLength(3);
      expect(gw.usage).toMatchObject({ calls: 1, retries: 3, upstreamFailures: 1, totalTokens: 0 });
      expect(gw.infraFailure).toEqual({ endpoint: `http://127.0.0.1:${port}/v1`, status: null, message: expect.stringContaining('ECONNREFUSED'), calls: 1 });
      expect(gw.ledger.reserved).toBe(0);
      // a second call fails the same way and is counted too
      await post(url, gw.jobToken, { messages: [{ role: 'user', content: 'hi' }] });
      expect(gw.infraFailure?.calls).toBe(2);
      const failed = (await events()).filter((e) => e.kind === 'model_failed');
      expect(failed).toHaveLength(2);
      expect(failed[0]).toMatchObject({ endpoint: `http://127.0.0.1:${port}/v1`, status: null, attempts: 4, retries: 3 });
    } finally {
      await gw.stop();
      upstream.close();
    }
  });

  test('GIVEN Retry-After in seconds, as an HTTP date, or retry-after-ms WHEN retried THEN the wait is at least what was asked', async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const answers: Record<string, Action> = {
      seconds: { status: 429, headers: { 'retry-after': '7' } },
      date: { status: 503, headers: { 'retry-after': new Date(now + 9000).toUTCString() } },
      ms: { status: 429, headers: { 'retry-after-ms': '4321' } },
    };
    await withScripted((body, attempt) => (attempt === 1 ? answers[(body.messages as { content: string }[])[0].content] : { ok: true }), { retry: { now: () => now, random: () => 0 } }, async (h) => {
      for (const what of ['seconds', 'date', 'ms']) expect((await ask(h, what)).status).toBe(200);
      expect(h.sleeps).toEqual([7000, 9000, 4321]);
    });
  });

  test('GIVEN Retry-After past the retry window WHEN the endpoint asks for it THEN the gateway gives up at once and says so', async () => {
    await withScripted(() => ({ status: 429, headers: { 'retry-after': '3600' } }), { retry: { totalMs: 60_000 } }, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(502);
      expect(r.json.error?.message).toMatch(/after 1 attempt\(s\); it asked to retry after 3600000 ms, the next would start after the 60000 ms retry window; it last answered HTTP 429/);
      expect(h.sleeps).toEqual([]);
    });
  });

  test('GIVEN an endpoint that keeps failing WHEN the waits would pass the total retry time THEN retrying stops there, before the attempts run out', async () => {
    let clock = 0;
    await withScripted(() => ({ status: 500 }), { retry: { attempts: 100, totalMs: 5000, baseDelayMs: 1000, maxDelayMs: 100_000, random: () => 1, now: () => clock, sleep: async (ms) => void (clock += ms) } }, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(502);
      // waits of 1000 and 2000 ms; a third of 4000 would end at 7000 ms, past 5000
      expect(h.gw.usage.retries).toBe(2);
      expect(h.fake.seen).toHaveLength(3);
    });
  });

  test('GIVEN backoff with full jitter WHEN a call is retried THEN each wait is within [0, base × 2^k], capped', async () => {
    const waits: number[] = [];
    let r = 0;
    const randoms = [1, 0.5, 0, 1, 1];
    await withScripted(() => ({ status: 500 }), { retry: { attempts: 6, baseDelayMs: 100, maxDelayMs: 500, random: () => randoms[r++], sleep: async (ms) => void waits.push(ms) } }, async (h) => {
      await ask(h, 'x');
      expect(waits).toEqual([100, 100, 0, 500, 500]);
    });
  });

  test('GIVEN a 4xx other than 429 WHEN the endpoint answers it THEN it is the agent\'s: passed through, never retried, not an infrastructure failure', async () => {
    await withScripted(() => ({ status: 400, body: { error: { message: "Invalid 'messages[0].content': too long", type: 'invalid_request_error' } } }), {}, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(400);
      expect(r.json.error?.message).toBe("Invalid 'messages[0].content': too long");
      expect(h.gw.usage).toMatchObject({ retries: 0, upstreamFailures: 0 });
      expect(h.fake.seen).toHaveLength(1);
      expect(h.gw.infraFailure).toBeUndefined();
    });
  });

  test.each([
    ['429 insufficient_quota (the account is out of credit)', { status: 429, body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } } }, 429],
    ['401 (the gateway\'s key is refused)', { status: 401, body: { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } } }, 401],
  ] as [string, Action, number][])('GIVEN %s WHEN answered THEN it is not retried but reported as an infrastructure failure', async (_name, action, status) => {
    await withScripted(() => action, {}, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(502);
      expect(r.json.error).toMatchObject({ code: 'upstream_unavailable', upstream_status: status });
      expect(h.fake.seen).toHaveLength(1);
      expect(h.gw.usage).toMatchObject({ retries: 0, upstreamFailures: 1 });
      expect(h.gw.infraFailure).toMatchObject({ status, calls: 1 });
    });
  });

  test('GIVEN an attempt that takes longer than the upstream timeout WHEN it times out THEN it is retried', async () => {
    await withScripted((_b, attempt) => (attempt === 1 ? { hang: true } : { ok: true }), { timeoutMs: 1000 }, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(200);
      expect(h.gw.usage.retries).toBe(1);
      const call = (await h.events()).find((e) => e.kind === 'model_call');
      expect(call).toMatchObject({ retries: 1, status: 200 });
    });
  }, 15_000);

  test('GIVEN a failed attempt whose body still reports usage WHEN retried THEN that usage counts, and the successful answer counts once', async () => {
    await withScripted((_b, attempt) => (attempt === 1 ? { status: 500, body: { error: { message: 'died mid-answer' }, usage: { prompt_tokens: 10, completion_tokens: 3 } } } : { ok: true }), {}, async (h) => {
      expect((await ask(h, 'x')).status).toBe(200);
      expect(h.gw.ledger.spent).toBe(13 + 15);
      expect(h.gw.ledger.spent).toBe(h.fake.billed);
    });
  });

  test('GIVEN an endpoint answering 200 {"error": ...} without choices WHEN called THEN it is an upstream failure: retried, then 502 upstream_unavailable, counted, and charged nothing', async () => {
    await withScripted(() => ({ status: 200, body: { error: { message: 'The server had an error while processing your request', type: 'server_error' } } }), {}, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(502);
      expect(r.json.error).toMatchObject({ code: 'upstream_unavailable', upstream_status: 200 });
      expect(r.json.error?.message).toContain('after 5 attempts; it last answered HTTP 200: an answer without choices: The server had an error while processing your request');
      expect(h.fake.seen).toHaveLength(5);
      expect(h.gw.usage).toMatchObject({ calls: 1, retries: 4, upstreamFailures: 1, totalTokens: 0 });
      expect(h.gw.infraFailure).toMatchObject({ status: 200, calls: 1 });
      expect(h.gw.ledger.spent).toBe(0);
      expect((await h.events()).map((e) => e.kind)).toEqual(['model_failed']);
    });
  });

  test('GIVEN a 2xx without choices once, reporting usage, then an answer WHEN called THEN the answer is passed on after one retry, and both usages are charged', async () => {
    await withScripted((_b, attempt) => (attempt === 1 ? { status: 200, body: { error: { message: 'overloaded' }, usage: { prompt_tokens: 7, completion_tokens: 0 } } } : { ok: true }), {}, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(200);
      expect(h.gw.usage).toMatchObject({ retries: 1, upstreamFailures: 0 });
      expect(h.gw.ledger.spent).toBe(7 + 15);
      expect(h.gw.ledger.spent).toBe(h.fake.billed);
    });
  });

  test.each([
    ['an empty object', {}],
    ['choices that are not an array', { choices: 'yes' }],
    ['a JSON array', [{ index: 0 }]],
  ])('GIVEN a 200 with %s WHEN called THEN it is not an answer', async (_name, body) => {
    await withScripted(() => ({ status: 200, body }), { retry: { attempts: 2 } }, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(502);
      expect(h.gw.usage).toMatchObject({ retries: 1, upstreamFailures: 1, totalTokens: 0 });
    });
  });

  test('GIVEN a 200 with an empty choices list WHEN called THEN it is an answer, passed on for the agent to handle', async () => {
    await withScripted(() => ({ status: 200, body: { id: 'x', object: 'chat.completion', choices: [], usage: { prompt_tokens: 3, completion_tokens: 0 } } }), {}, async (h) => {
      const r = await ask(h, 'x');
      expect(r.status).toBe(200);
      expect(r.json.choices).toEqual([]);
      expect(h.gw.usage).toMatchObject({ retries: 0, upstreamFailures: 0, totalTokens: 3 });
    });
  });

  test('GIVEN the gateway stops while a call waits to retry WHEN it stops THEN the call gives up at once', async () => {
    const upstream: Upstream = { model: 'm', endpoint: 'test', chat: async () => ({ status: 503, body: { error: { message: 'down' } } }) };
    const gw = new ModelGateway({ upstream, tokenBudget: 1000, retry: { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, totalMs: 10_000_000, random: () => 1 } });
    const url = await gw.start();
    const pending = post(url, gw.jobToken, { messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await gw.stop();
    await pending;
    expect(gw.usage).toMatchObject({ retries: 0, upstreamFailures: 1 });
    expect(gw.ledger.reserved).toBe(0);
  }, 15_000);
});

describe('retryAfterMs', () => {
  test('reads seconds, fractions, HTTP dates and retry-after-ms; ignores what it cannot read', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000);
    expect(retryAfterMs({ 'Retry-After': '0.5' }, now)).toBe(500);
    expect(retryAfterMs({ 'retry-after': new Date(now + 3000).toUTCString() }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(now - 3000).toUTCString() }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after-ms': '120', 'retry-after': '9' }, now)).toBe(120);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});
