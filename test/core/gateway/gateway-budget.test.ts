import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { HttpUpstream, ModelGateway, usageTolerance, type Upstream } from '../../../core/gateway/gateway';
import { TranscriptWriter } from '../../../core/transcript';
import { post, startBillingEndpoint, tempTranscript, type FakeEndpoint } from './fake-endpoints';

const user = (content: unknown) => ({ role: 'user', content });
const text = 'Classify this abstract about reward hacking in reinforcement learning agents. ';
const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field_${i}`, { type: 'string', description: `the ${i}th field of the answer, described at length` }])) };

/** A request whose tool parameters are arrays nested 100,000 deep, as JSON text (JSON.stringify of such a value overflows the stack). */
const DEEP_TOOLS = `{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": ${'['.repeat(100_000)}1${']'.repeat(100_000)}}}]}`;

/** Request shapes the gateway forwards (rewritten to what it can meter). */
const ACCEPTED: Record<string, Record<string, unknown>> = {
  'no completion limit': { messages: [user(text)] },
  'a huge max_tokens': { messages: [user(text)], max_tokens: 1_000_000 },
  'a huge max_completion_tokens': { messages: [user(text)], max_completion_tokens: 1_000_000 },
  'both limits, the larger on the field the endpoint honours': { messages: [user(text)], max_tokens: 10, max_completion_tokens: 1_000_000 },
  'n = 1 said explicitly': { messages: [user(text)], n: 1, max_tokens: 50 },
  'stream: true': { messages: [user(text)], stream: true, max_tokens: 1_000_000 },
  'stream with include_usage': { messages: [user(text)], stream: true, stream_options: { include_usage: true } },
  'non-ASCII text (3-4 bytes a character)': { messages: [user('分类这篇摘要😀'.repeat(300))], max_tokens: 20 },
  'text content parts': { messages: [user([{ type: 'text', text }, { type: 'text', text }])], max_tokens: 20 },
  'tools with a big schema, tool_choice, parallel_tool_calls': { messages: [user(text)], tools: [{ type: 'function', function: { name: 'answer', parameters: schema } }], tool_choice: 'auto', parallel_tool_calls: false },
  'a big response_format schema': { messages: [user(text)], response_format: { type: 'json_schema', json_schema: { name: 'a', schema } }, max_completion_tokens: 30 },
  'logprobs and top_logprobs': { messages: [user(text)], logprobs: true, top_logprobs: 5, max_tokens: 8 },
  'a tool-call conversation': {
    messages: [user(text), { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'answer', arguments: JSON.stringify({ x: 'y'.repeat(500) }) } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }],
    tools: [{ type: 'function', function: { name: 'answer', parameters: schema } }],
  },
  'an assistant refusal, names and long tool-call ids': {
    messages: [{ role: 'system', content: 'Be brief.', name: 'n'.repeat(300) }, user(text), { role: 'assistant', content: null, refusal: 'I will not. '.repeat(200) }, { role: 'assistant', content: null, tool_calls: [{ id: 'i'.repeat(500), type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'i'.repeat(500), content: 'ok' }],
    max_tokens: 1,
  },
  'null and harmless fields': { messages: [user(text)], functions: null, n: null, store: false, modalities: ['text'], temperature: 0, seed: 1, stop: ['\n'], user: 'agent' },
};

/** Request shapes the gateway refuses (an object, or JSON text), and the field its 400 names. */
const REFUSED: Record<string, [Record<string, unknown> | string, string]> = {
  'n > 1': [{ messages: [user(text)], n: 3, max_tokens: 100 }, 'n'],
  'an image part': [{ messages: [user([{ type: 'text', text }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])] }, 'messages[0].content[1].type'],
  'an audio part': [{ messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] }, 'messages[0].content[0].type'],
  'a file part': [{ messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] }, 'messages[0].content[0].type'],
  'legacy functions': [{ messages: [user(text)], functions: [{ name: 'f', parameters: schema }] }, 'functions'],
  'legacy function_call': [{ messages: [user(text)], function_call: 'auto' }, 'function_call'],
  'a legacy function message': [{ messages: [user(text), { role: 'function', name: 'f', content: 'x' }] }, 'messages[1].role'],
  'audio output': [{ messages: [user(text)], audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
  'audio modality': [{ messages: [user(text)], modalities: ['text', 'audio'] }, 'modalities'],
  'predicted output': [{ messages: [user(text)], prediction: { type: 'content', content: 'x'.repeat(5000) } }, 'prediction'],
  'web search': [{ messages: [user(text)], web_search_options: {} }, 'web_search_options'],
  'a priority service tier': [{ messages: [user(text)], service_tier: 'priority' }, 'service_tier'],
  'store: true': [{ messages: [user(text)], store: true }, 'store'],
  metadata: [{ messages: [user(text)], metadata: { a: 'b' } }, 'metadata'],
  'stream_options without stream': [{ messages: [user(text)], stream_options: { include_usage: true } }, 'stream_options'],
  'an unknown field': [{ messages: [user(text)], best_of: 4 }, 'best_of'],
  'a built-in tool': [{ messages: [user(text)], tools: [{ type: 'web_search' }] }, 'tools[0].type'],
  'audio in an assistant message': [{ messages: [user(text), { role: 'assistant', audio: { id: 'a1' } }] }, 'messages[1].audio'],
  'no messages': [{ messages: [] }, 'messages'],
  'a key every object inherits': [{ messages: [user(text)], hasOwnProperty: 'x' }, 'hasOwnProperty'],
  '__proto__': [{ messages: [user(text)], ['__proto__']: { temperature: 0 } }, '__proto__'],
  'constructor in a tool schema': [{ messages: [user(text)], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { ['constructor']: { type: 'string' } } } } }] }, 'tools[0].function.parameters.properties.constructor'],
  'tools nested 100,000 deep': [DEEP_TOOLS, `tools[0].function.parameters${'[0]'.repeat(60)}`],
  'a lone surrogate in the content': [{ messages: [user('abc\ud800')] }, 'messages[0].content'],
  'a lone surrogate in a refusal': [{ messages: [user(text), { role: 'assistant', refusal: '\udc00' }] }, 'messages[1].refusal'],
};

async function withBillingGateway<T>(budget: number, f: (gw: ModelGateway, url: string, fake: FakeEndpoint, transcript: () => Record<string, unknown>[]) => Promise<T>): Promise<T> {
  const fake = await startBillingEndpoint();
  const path = join(mkdtempSync(join(tmpdir(), 'gw-budget-')), 't.jsonl');
  const transcript = new TranscriptWriter(path);
  const upstream = new HttpUpstream(fake.baseUrl, 'sk-real', 'fake-model');
  const gw = new ModelGateway({ upstream, tokenBudget: budget, transcript, retry: { attempts: 2, sleep: async () => undefined } });
  const url = await gw.start();
  try {
    return await f(gw, url, fake, () => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
  } finally {
    await gw.stop();
    upstream.close();
    await transcript.close();
    await fake.close();
  }
}

describe('model gateway: the budget holds against everything a request can bill', () => {
  test.each(Object.keys(ACCEPTED))('GIVEN an endpoint that bills what it generates WHEN "%s" is sent, four at a time, until refused THEN it never bills past the budget and the ledger meters all it billed', async (name) => {
    const budget = 12_000;
    await withBillingGateway(budget, async (gw, url, fake) => {
      const statuses: number[] = [];
      for (let round = 0; round < 200 && statuses[statuses.length - 1] !== 429; round++) {
        const results = await Promise.all(Array.from({ length: 4 }, () => post(url, gw.jobToken, ACCEPTED[name])));
        statuses.push(...results.map((r) => r.status).sort());
      }
      // THEN it was answered, then refused once the budget ran out
      expect([statuses[0], statuses[statuses.length - 1]]).toEqual([200, 429]);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      // AND the endpoint billed real tokens, never more than the budget, and the ledger counted every one
      expect(fake.billed).toBeGreaterThan(0);
      expect(fake.billed).toBeLessThanOrEqual(budget);
      expect(gw.ledger.spent).toBe(fake.billed);
      expect(gw.usage.completionTokens).toBeGreaterThan(0);
      expect(gw.usage.promptTokens).toBeGreaterThan(0);
      // AND nothing reached it that it could bill beyond a reservation: one answer, no stream, a limit set
      for (const b of fake.seen) {
        expect(b.n).toBeUndefined();
        expect(b.stream).toBeUndefined();
        expect(b.stream_options).toBeUndefined();
        const limits = [b.max_tokens, b.max_completion_tokens].filter((x) => x !== undefined) as number[];
        expect(limits.length).toBeGreaterThan(0);
        expect(Math.max(...limits)).toBeLessThanOrEqual(budget);
      }
    });
  });

  test('GIVEN an endpoint that bills what it generates WHEN every shape is sent at once, round after round, until all are refused THEN it never bills past the budget', async () => {
    const budget = 150_000;
    await withBillingGateway(budget, async (gw, url, fake) => {
      let answered = 0;
      for (let round = 0; round < 100; round++) {
        const results = await Promise.all([...Object.values(ACCEPTED), ...Object.values(REFUSED).map(([b]) => b)].map((body) => post(url, gw.jobToken, body)));
        answered += results.filter((r) => r.status === 200).length;
        if (results.every((r) => r.status === 429 || r.status === 400)) break;
      }
      expect(answered).toBeGreaterThan(1);
      expect(fake.billed).toBeGreaterThan(budget / 2);
      expect(fake.billed).toBeLessThanOrEqual(budget);
      expect(gw.ledger.spent).toBe(fake.billed);
    });
  });

  test('GIVEN harmless fields, null ones and no-op ones WHEN forwarded THEN the harmless are kept as sent, the rest dropped, and the model is the gateway\'s', async () => {
    await withBillingGateway(100_000, async (gw, url, fake) => {
      const r = await post(url, gw.jobToken, { ...ACCEPTED['null and harmless fields'], model: 'gpt-5-pro', max_tokens: 5 });
      expect(r.status).toBe(200);
      expect(fake.seen[0]).toEqual({ model: 'fake-model', messages: [user(text)], temperature: 0, seed: 1, stop: ['\n'], user: 'agent', max_tokens: 5 });
    });
  });

  test('GIVEN any shape an endpoint could bill beyond a reservation WHEN sent THEN it gets HTTP 400 naming the field, and nothing is forwarded or spent', async () => {
    await withBillingGateway(1_000_000, async (gw, url, fake, transcript) => {
      for (const [name, [body, field]] of Object.entries(REFUSED)) {
        const r = await post(url, gw.jobToken, body);
        expect([name, r.status, r.json.error?.param]).toEqual([name, 400, field]);
        expect(r.json.error?.message).toContain(`${field}: `);
      }
      expect(fake.seen).toHaveLength(0);
      expect(gw.ledger.spent).toBe(0);
      expect(gw.usage).toMatchObject({ calls: 0, rejected: 0 });
      await new Promise((r) => setTimeout(r, 50));
      expect(transcript().filter((e) => e.kind === 'model_rejected' && e.reason === 'invalid_request')).toHaveLength(Object.keys(REFUSED).length);
    });
  });

  test('GIVEN an agent asking for n > 1, an image or legacy functions WHEN refused THEN the message says why and what to do instead', async () => {
    await withBillingGateway(100_000, async (gw, url) => {
      const n = await post(url, gw.jobToken, REFUSED['n > 1'][0]);
      expect(n.json.error?.message).toMatch(/only n = 1 is forwarded \(received 3\).*Make one call per answer/);
      const image = await post(url, gw.jobToken, REFUSED['an image part'][0]);
      expect(image.json.error?.message).toMatch(/images \(and the URLs they point to\) are not forwarded/);
      const fns = await post(url, gw.jobToken, REFUSED['legacy functions'][0]);
      expect(fns.json.error?.message).toMatch(/send the same schemas as `tools`/);
    });
  });

  test('GIVEN both max_tokens and max_completion_tokens WHEN forwarded THEN both are capped to the smaller, within what is left', async () => {
    await withBillingGateway(100_000, async (gw, url, fake) => {
      await post(url, gw.jobToken, { messages: [user('hi')], max_tokens: 10, max_completion_tokens: 1_000_000 });
      await post(url, gw.jobToken, { messages: [user('hi')] });
      await post(url, gw.jobToken, { messages: [user('hi')], max_completion_tokens: 1_000_000 });
      expect(fake.seen[0]).toMatchObject({ max_tokens: 10, max_completion_tokens: 10 });
      // with no limit the gateway sets its default completion reserve, on the field the upstream takes
      expect(fake.seen[1]).toMatchObject({ max_tokens: 4096 });
      expect(fake.seen[1].max_completion_tokens).toBeUndefined();
      // the caller's field is kept (reasoning models accept only max_completion_tokens), capped at what is left
      expect(fake.seen[2].max_tokens).toBeUndefined();
      expect(fake.seen[2].max_completion_tokens).toBeLessThan(100_000);
    });
  });

  test('GIVEN an endpoint that bills one token per byte WHEN the prompt is non-ASCII text THEN the reservation covers it (UTF-8 bytes, not characters ÷ 4)', async () => {
    const prompt = '分类这篇摘要😀'.repeat(500); // 3,500 characters, 11,000 bytes
    await withBillingGateway(12_000, async (gw, url, fake) => {
      const r = await post(url, gw.jobToken, { messages: [user(prompt)], max_tokens: 10 });
      expect(r.status).toBe(200);
      const again = await post(url, gw.jobToken, { messages: [user(prompt)], max_tokens: 10 });
      // THEN the second call, which would bill past the budget, is refused before it is forwarded
      expect(again.status).toBe(429);
      expect(fake.seen).toHaveLength(1);
      expect(fake.billed).toBeLessThanOrEqual(12_000);
    });
  });

  test('GIVEN stream: true WHEN the openai client streams THEN it gets the answer and usage as a stream, and the endpoint was asked for a complete answer', async () => {
    await withBillingGateway(100_000, async (gw, url, fake) => {
      const client = new OpenAI({ baseURL: url, apiKey: gw.jobToken, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true, stream_options: { include_usage: true } });
      let content = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(content).toBe('w w w ');
      expect(usage).toMatchObject({ completion_tokens: 3 });
      expect(fake.seen[0].stream).toBeUndefined();
      expect(gw.ledger.spent).toBe(fake.billed);
    });
  });

  test('GIVEN a streamed tool call WHEN the openai stream helper accumulates it THEN the final completion holds the call', async () => {
    const upstream: Upstream = {
      model: 'm',
      endpoint: 'test',
      chat: async () => ({ status: 200, body: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } }] }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 5, completion_tokens: 7 } } }),
    };
    const gw = new ModelGateway({ upstream, tokenBudget: 10_000 });
    const url = await gw.start();
    try {
      const client = new OpenAI({ baseURL: url, apiKey: gw.jobToken, maxRetries: 0 });
      const stream = client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'go' }], tools: [{ type: 'function', function: { name: 'bash', parameters: { type: 'object' } } }] });
      const final = await stream.finalChatCompletion();
      expect(final.choices[0].message.tool_calls?.[0]).toMatchObject({ id: 'call_1', function: { name: 'bash', arguments: '{"command":"ls"}' } });
      expect(final.choices[0].finish_reason).toBe('tool_calls');
      expect(gw.usage.totalTokens).toBe(12);
    } finally {
      await gw.stop();
    }
  });
});

describe('model gateway: the prompt reservation', () => {
  test('GIVEN an endpoint that bills every byte of a message WHEN 32 concurrent calls each carry a 200 kB assistant refusal and max_tokens 1 THEN the refusals are reserved for, and it never bills past the budget', async () => {
    const budget = 1_000_000;
    const refusal = 'I am sorry, but I cannot help with that request. '.repeat(4000); // 196,000 bytes
    await withBillingGateway(budget, async (gw, url, fake) => {
      const body = { messages: [user('hi'), { role: 'assistant', content: null, refusal }, user('please')], max_tokens: 1 };
      const results = await Promise.all(Array.from({ length: 32 }, () => post(url, gw.jobToken, body)));
      const answered = results.filter((r) => r.status === 200).length;
      // THEN about budget ÷ 200 kB calls were forwarded, the rest refused before they were
      expect(answered).toBeGreaterThanOrEqual(1);
      expect(answered).toBeLessThanOrEqual(5);
      expect(results.filter((r) => r.status === 429)).toHaveLength(32 - answered);
      expect(fake.seen).toHaveLength(answered);
      expect(fake.billed).toBeGreaterThan(answered * 196_000);
      expect(fake.billed).toBeLessThanOrEqual(budget);
      expect(gw.ledger.spent).toBe(fake.billed);
    });
  });

  test('GIVEN an upstream that reports more prompt tokens than reserved WHEN called THEN the ledger spends what it reports, the transcript records the overrun, and later calls reserve that much more', async () => {
    const seen: Record<string, unknown>[] = [];
    const upstream: Upstream = {
      model: 'm',
      endpoint: 'test',
      promptReserve: () => 100,
      chat: async (b) => (seen.push(b), { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 130, completion_tokens: 1 } } }),
    };
    const path = join(mkdtempSync(join(tmpdir(), 'gw-overrun-')), 't.jsonl');
    const transcript = new TranscriptWriter(path);
    const gw = new ModelGateway({ upstream, tokenBudget: 1000, transcript });
    const url = await gw.start();
    try {
      await post(url, gw.jobToken, { messages: [user('hi')], max_tokens: 10 });
      await post(url, gw.jobToken, { messages: [user('hi')], max_tokens: 10 });
      expect(gw.ledger.spent).toBe(262);
      await transcript.close();
      const calls = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; reserved: number; overrun?: unknown });
      expect(calls[0]).toMatchObject({ kind: 'model_call', reserved: 110, overrun: { reservedPrompt: 100, reserved: 110, reportedPrompt: 130, reported: 131 } });
      // THEN the second call reserved the 30 tokens the first overran by, and fit
      expect(calls[1]).toMatchObject({ reserved: 140 });
      expect(calls[1].overrun).toBeUndefined();
    } finally {
      await gw.stop();
    }
  });

  test('GIVEN an upstream without its own promptReserve WHEN a request is reserved THEN the UTF-8 byte bound is used', async () => {
    const upstream: Upstream = { model: 'm', chat: async () => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } } }) };
    const path = join(mkdtempSync(join(tmpdir(), 'gw-bound-')), 't.jsonl');
    const transcript = new TranscriptWriter(path);
    const gw = new ModelGateway({ upstream, tokenBudget: 100_000, transcript });
    const url = await gw.start();
    try {
      await post(url, gw.jobToken, { messages: [user('é'.repeat(1000))], max_tokens: 1 });
      await transcript.close();
      const call = JSON.parse(readFileSync(path, 'utf8').trim()) as { reserved: number };
      // the JSON sent ({"messages":[{"role":"user","content":"éé…"}]}: 43 bytes and 2,000 of content), 8 per message, 64 for the template, 1 completion token
      expect(Buffer.byteLength(JSON.stringify({ messages: [user('é'.repeat(1000))] }))).toBe(2043);
      expect(call.reserved).toBe(2043 + 8 + 64 + 1);
    } finally {
      await gw.stop();
    }
  });

  test('GIVEN an answer without usage WHEN metered THEN it is charged its whole reservation', async () => {
    const upstream: Upstream = { model: 'm', promptReserve: () => 50, chat: async () => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }] } }) };
    const gw = new ModelGateway({ upstream, tokenBudget: 1000 });
    const url = await gw.start();
    try {
      await post(url, gw.jobToken, { messages: [user('hi')], max_tokens: 20 });
      expect(gw.ledger.spent).toBe(70);
    } finally {
      await gw.stop();
    }
  });
});

describe('model gateway: usage an endpoint cannot have billed', () => {
  async function withReporting<T>(report: (attempt: number) => { status: number; body: unknown }, f: (gw: ModelGateway, url: string, attempts: () => number, events: () => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
    let n = 0;
    // Reserves 100 prompt tokens for any request: with max_tokens 100 a call reserves 200, and 200 + 5% + 64 = 274 is believable.
    const upstream: Upstream = { model: 'm', endpoint: 'https://llm.example/v1', promptReserve: () => 100, chat: async () => report(++n) };
    const { transcript, events, close } = tempTranscript('gw-absurd-');
    const gw = new ModelGateway({ upstream, tokenBudget: 10_000, transcript, retry: { sleep: async () => undefined } });
    const url = await gw.start();
    try {
      return await f(gw, url, () => n, events);
    } finally {
      await gw.stop();
      await close();
    }
  }
  const answer = (usage: unknown) => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }], usage } });
  const ask = (url: string, gw: ModelGateway) => post(url, gw.jobToken, { messages: [user('hi')], max_tokens: 100 });

  test('GIVEN an endpoint that reports 1e12 prompt tokens WHEN called THEN it is charged only up to the reservation, the agent gets 502 upstream_unavailable, and the job sees an infrastructure failure saying so', async () => {
    await withReporting(() => answer({ prompt_tokens: 1e12, completion_tokens: 5 }), async (gw, url, attempts, events) => {
      const r = await ask(url, gw);
      expect(r.status).toBe(502);
      expect(r.json.error).toMatchObject({ code: 'upstream_unavailable', type: 'upstream_error', endpoint: 'https://llm.example/v1', upstream_status: 200 });
      expect(r.json.error?.message).toContain('reported 1000000000005 tokens (prompt 1000000000000, completion 5) for a call that could bill at most 200');
      // THEN the ledger holds the reservation, not 1e12, and nothing is left reserved
      expect(gw.ledger.spent).toBe(200);
      expect(gw.ledger.reserved).toBe(0);
      expect(gw.usage).toMatchObject({ calls: 1, promptTokens: 200, completionTokens: 0, totalTokens: 200, upstreamFailures: 1, retries: 0 });
      expect(gw.infraFailure).toEqual({ endpoint: 'https://llm.example/v1', status: 200, message: expect.stringContaining('the endpoint reported 1000000000005 tokens') as unknown, calls: 1 });
      expect(gw.infraFailure?.message).toContain('could bill at most 200');
      // AND it is not retried (another attempt would be charged again)
      expect(attempts()).toBe(1);
      const failed = (await events()).filter((e) => e.kind === 'model_failed');
      expect(failed).toEqual([expect.objectContaining({ accountingFailure: true, reserved: 200, reportedUsage: { prompt_tokens: 1e12, completion_tokens: 5 }, usage: { prompt_tokens: 200, completion_tokens: 0 } })]);
    });
  });

  test('GIVEN usage just within the tolerance (reservation + 5% + 64) WHEN reported THEN it is an overrun, charged as reported; one token more is an accounting failure', async () => {
    await withReporting(() => answer({ prompt_tokens: 174, completion_tokens: 100 }), async (gw, url, _attempts, events) => {
      const within = await ask(url, gw);
      expect(within.status).toBe(200);
      expect(gw.ledger.spent).toBe(274);
      expect(await events()).toEqual([expect.objectContaining({ kind: 'model_call', reserved: 200, overrun: { reservedPrompt: 100, reserved: 200, reportedPrompt: 174, reported: 274 } })]);
      expect(gw.usage.upstreamFailures).toBe(0);
    });
    await withReporting(() => answer({ prompt_tokens: 175, completion_tokens: 100 }), async (gw, url) => {
      const r = await ask(url, gw);
      expect(r.status).toBe(502);
      expect(r.json.error?.message).toContain('reported 275 tokens (prompt 175, completion 100) for a call that could bill at most 200');
      expect(gw.ledger.spent).toBe(200);
      expect(gw.usage.upstreamFailures).toBe(1);
    });
  });

  test('GIVEN a failed attempt whose body reports absurd usage WHEN answered THEN it is charged only up to the reservation and not retried', async () => {
    await withReporting(() => ({ status: 500, body: { error: { message: 'oops' }, usage: { prompt_tokens: 3, completion_tokens: 9e12 } } }), async (gw, url, attempts) => {
      const r = await ask(url, gw);
      expect(r.status).toBe(502);
      expect(r.json.error?.message).toContain('reported 9000000000003 tokens');
      expect(gw.ledger.spent).toBe(200);
      expect(gw.usage).toMatchObject({ promptTokens: 3, completionTokens: 197, upstreamFailures: 1 });
      expect(attempts()).toBe(1);
    });
  });
});

describe('the budget holds even when an endpoint reports the most it may believably bill', () => {
  test('GIVEN an endpoint that reports every call at its reservation plus the whole tolerance WHEN 60 calls race THEN the job spends up to its budget and never past it', async () => {
    // Each call reserves 100 prompt + its limit; the endpoint reports that plus usageTolerance (5% + 64): an overrun, not an accounting failure.
    // It answers only once all 60 calls are in flight (or after 2 s), so the reservations of all it lets through are held at once.
    let arrived = 0;
    let release: () => void = () => undefined;
    const barrier = new Promise<void>((r) => {
      release = r;
      setTimeout(r, 2000);
    });
    const upstream: Upstream = {
      model: 'm',
      endpoint: 'https://llm.example/v1',
      promptReserve: () => 100,
      chat: async (body) => {
        if (++arrived >= 60) release();
        await barrier;
        const reservation = 100 + ((body.max_tokens as number | undefined) ?? 0);
        const total = reservation + usageTolerance(reservation);
        return { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }], usage: { prompt_tokens: total - 1, completion_tokens: 1 } } };
      },
    };
    const gw = new ModelGateway({ upstream, tokenBudget: 10_000 });
    const url = await gw.start();
    try {
      const answers = await Promise.all(Array.from({ length: 60 }, () => post(url, gw.jobToken, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 })));
      // THEN some were answered and the rest refused for the budget, and the ledger never passed it
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(20);
      expect(answers.every((a) => a.status === 200 || (a.status === 429 && a.json.error?.code === 'budget_exhausted'))).toBe(true);
      expect(gw.ledger.spent).toBeLessThanOrEqual(10_000);
      expect(gw.ledger.spent).toBeGreaterThan(9_000);
    } finally {
      await gw.stop();
    }
  });
});
