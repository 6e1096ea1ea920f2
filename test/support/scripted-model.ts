import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One tool call the scripted model makes; `arguments` is sent verbatim when a string (so it may be malformed JSON). */
export interface ScriptedCall {
  name: string;
  arguments: string | Record<string, unknown>;
  id?: string;
}

/** One canned reply, in order: tool calls, plain text (empty string = an empty reply), or any raw body and status. */
export type ScriptStep =
  | { toolCalls: ScriptedCall[]; content?: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { content: string; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { raw: unknown; status?: number };

export interface RecordedRequest {
  /** `turn`: a tool-using call that consumed a script step; `summary`: a call without tools (answered, not scripted). */
  kind: 'turn' | 'summary';
  authorization: string;
  body: { model?: string; messages: { role: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown }[]; tools?: unknown[]; max_tokens?: number };
}

export interface ScriptedModel {
  /** OpenAI-compatible base URL (`…/v1`). */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Script steps not yet replayed. */
  remaining(): number;
  close(): Promise<void>;
}

/** The message the model received as the reply to tool call `id` (from the recorded requests). */
export function toolReply(requests: RecordedRequest[], id: string): string | undefined {
  for (const r of requests) for (const m of r.body.messages) if (m.role === 'tool' && m.tool_call_id === id && typeof m.content === 'string') return m.content;
  return undefined;
}

/**
 * A scripted OpenAI-compatible chat-completions server on loopback, over real HTTP: each call
 * with `tools` replays the next step of the script (then `submit` once the script is done); a
 * call without tools (the react TLA summarising old turns) gets `summary` and consumes nothing.
 * Usage is ceil(characters ÷ 4) of the request's messages and of the reply, unless a step sets it.
 * Every request is recorded. With `apiKey`, other keys get 401.
 */
export async function startScriptedModel(steps: ScriptStep[], opts: { apiKey?: string; summary?: string } = {}): Promise<ScriptedModel> {
  const script = [...steps];
  const requests: RecordedRequest[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return send(401, { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } });
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(404, { error: { message: `not found: ${req.method} ${req.url}` } });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
      const kind = Array.isArray(body.tools) && body.tools.length > 0 ? 'turn' : 'summary';
      requests.push({ kind, authorization: req.headers.authorization ?? '', body });
      const promptTokens = Math.ceil(JSON.stringify(body.messages).length / 4);
      const completion = (message: Record<string, unknown>, usage?: { prompt_tokens: number; completion_tokens: number }, finish = 'stop') => {
        const u = usage ?? { prompt_tokens: promptTokens, completion_tokens: Math.ceil(JSON.stringify(message).length / 4) + 1 };
        return { id: `chatcmpl-scripted-${++n}`, object: 'chat.completion', created: 0, model: body.model ?? 'scripted', choices: [{ index: 0, message, finish_reason: finish }], usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens } };
      };
      if (kind === 'summary') return send(200, completion({ role: 'assistant', content: opts.summary ?? 'Summary (scripted): earlier turns were about editing prompt.txt.' }));
      const step: ScriptStep = script.shift() ?? { toolCalls: [{ name: 'submit', arguments: { note: 'script exhausted' } }] };
      if ('raw' in step) return send(step.status ?? 200, step.raw as object);
      if ('toolCalls' in step) {
        const calls = step.toolCalls.map((c, i) => ({ id: c.id ?? `call_${n + 1}_${i}`, type: 'function', function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) } }));
        return send(200, completion({ role: 'assistant', content: step.content ?? null, tool_calls: calls }, step.usage, 'tool_calls'));
      }
      return send(200, completion({ role: 'assistant', content: step.content }, step.usage));
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    remaining: () => script.length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
