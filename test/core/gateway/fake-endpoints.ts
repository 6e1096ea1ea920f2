import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TranscriptWriter } from '../../../core/transcript';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake OpenAI-compatible endpoint on 127.0.0.1. */
export interface FakeEndpoint {
  baseUrl: string;
  /** Every request body it received (parsed). */
  seen: Record<string, unknown>[];
  /** Tokens it billed: the sum of every answer's prompt + completion tokens. */
  billed: number;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 30000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * An endpoint that bills what it generates, as a careless real one would: prompt tokens are one
 * per UTF-8 byte of every text it is sent (the most a byte-level tokenizer can count: contents,
 * and every other string of a message, its role, name, refusal, tool-call id) plus 3 per
 * message and 3 per request, 765 per image, 1000 per audio clip, 2000 per file, the bytes of tool,
 * legacy-function and response-format schemas; completion tokens run to the limit it honours
 * (`max_completion_tokens`, else `max_tokens`, else 50,000: it never stops early), times `n`, plus
 * the predicted output; audio output, web search and the priority tier add more. It streams when
 * asked (the usage chunk only with `stream_options.include_usage`), and bills either way.
 */
export async function startBillingEndpoint(): Promise<FakeEndpoint> {
  const fake: FakeEndpoint = { baseUrl: '', seen: [], billed: 0, close: async () => undefined };
  const { server, baseUrl } = await listen((_req, res, text) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    fake.seen.push(body);
    const messages = (body.messages ?? []) as Record<string, unknown>[];
    let prompt = 3;
    for (const m of messages) {
      prompt += 3;
      for (const [k, v] of Object.entries(m)) if (k !== 'content' && typeof v === 'string') prompt += bytes(v);
      if (typeof m.content === 'string') prompt += bytes(m.content);
      if (Array.isArray(m.content))
        for (const p of m.content as { type: string; text?: string }[]) prompt += p.type === 'text' ? bytes(p.text ?? '') : p.type === 'image_url' ? 765 : p.type === 'input_audio' ? 1000 : 2000;
      if (m.tool_calls) prompt += bytes(JSON.stringify(m.tool_calls));
    }
    for (const k of ['tools', 'functions', 'response_format']) if (body[k] !== undefined) prompt += bytes(JSON.stringify(body[k]));
    const limit = (body.max_completion_tokens as number | undefined) ?? (body.max_tokens as number | undefined) ?? 50_000;
    const n = (body.n as number | undefined) ?? 1;
    let completion = limit * n;
    if (body.prediction) completion += bytes(JSON.stringify(body.prediction));
    if (body.audio || (Array.isArray(body.modalities) && body.modalities.includes('audio'))) completion += 5000;
    if (body.web_search_options) prompt += 10_000;
    if (body.service_tier === 'priority') completion *= 2;
    fake.billed += prompt + completion;
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    const content = 'w '.repeat(Math.min(limit, 2000));
    const choices = Array.from({ length: n }, (_, index) => ({ index, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'length' }));
    if (body.stream === true) {
      const include = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      const events = choices.map((c) => ({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [{ index: c.index, delta: { role: 'assistant', content }, finish_reason: 'length' }] }));
      if (include) events.push({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [], usage } as never);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n');
      return;
    }
    sendJson(res, 200, { id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model: String(body.model), choices, usage });
  });
  fake.baseUrl = baseUrl;
  fake.close = closer(server);
  return fake;
}

/** What a scripted endpoint does with one request. */
export type Action =
  /** Answers (after `delayMs`, billing it even when the caller has gone by then). */
  | { ok: true; usage?: { prompt_tokens: number; completion_tokens: number }; delayMs?: number }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Closes the connection without an answer. */
  | { drop: true }
  /** Never answers. */
  | { hang: true };

/**
 * An endpoint whose answer to each request is chosen by `script(body, attempt)`, where `attempt`
 * counts the requests with the same last message (1 for the first). Bills 10 + 5 tokens for every
 * success, and whatever usage a scripted failure's body reports.
 */
export async function startScriptedEndpoint(script: (body: Record<string, unknown>, attempt: number) => Action): Promise<FakeEndpoint & { attempts: Map<string, number>; abandoned: number }> {
  const attempts = new Map<string, number>();
  const fake: FakeEndpoint & { attempts: Map<string, number>; abandoned: number } = { baseUrl: '', seen: [], billed: 0, attempts, abandoned: 0, close: async () => undefined };
  const { server, baseUrl } = await listen((req, res, text) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    fake.seen.push(body);
    const messages = body.messages as { content: string }[];
    const key = messages[messages.length - 1].content;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const action = script(body, attempt);
    if ('drop' in action) return req.socket.destroy();
    if ('hang' in action) return;
    if ('ok' in action) {
      const usage = action.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
      const answer = () => {
        fake.billed += usage.prompt_tokens + usage.completion_tokens;
        sendJson(res, 200, { id: 'chatcmpl-s', object: 'chat.completion', created: 0, model: String(body.model), choices: [{ index: 0, message: { role: 'assistant', content: `answer to ${key}` }, finish_reason: 'stop' }], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
      };
      if (!action.delayMs) return answer();
      // The caller closing the connection first (the gateway aborting) is counted; the endpoint bills the answer all the same.
      res.on('close', () => {
        if (!res.writableFinished) fake.abandoned++;
      });
      return void setTimeout(answer, action.delayMs);
    }
    const u = (action.body as { usage?: { prompt_tokens: number; completion_tokens: number } } | undefined)?.usage;
    if (u) fake.billed += u.prompt_tokens + u.completion_tokens;
    sendJson(res, action.status, action.body ?? { error: { message: `scripted HTTP ${action.status}`, type: 'server_error' } }, action.headers);
  });
  fake.baseUrl = baseUrl;
  fake.close = closer(server);
  return fake;
}

/**
 * POSTs a JSON body to the gateway (a string is sent as the JSON text it is: for bodies
 * JSON.stringify cannot write, such as values nested 100,000 deep); returns the status, the parsed
 * body (or the raw text of a stream) and the content type.
 */
export async function post(baseUrl: string, key: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> & { error?: { message: string; code?: string; param?: string } }; text: string; type: string }> {
  const r = await fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  const type = r.headers.get('content-type') ?? '';
  let json = {} as Record<string, unknown>;
  if (type.startsWith('application/json')) json = JSON.parse(text) as Record<string, unknown>;
  return { status: r.status, json, text, type };
}

/** A transcript in a temp file, a reader of its events, and an idempotent close (the reader closes it first). */
export function tempTranscript(prefix: string): { transcript: TranscriptWriter; events: () => Promise<Record<string, unknown>[]>; close: () => Promise<void> } {
  const path = join(mkdtempSync(join(tmpdir(), prefix)), 't.jsonl');
  const transcript = new TranscriptWriter(path);
  let closed = false;
  const close = async () => {
    if (!closed) await transcript.close();
    closed = true;
  };
  const events = async () => {
    await close();
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { transcript, events, close };
}
