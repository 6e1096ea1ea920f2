import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatRequest } from './chat';
import { offlineChatCompletion, OFFLINE_MODEL_NAME } from './offline-model';

/** Answers kept by request body (the offline model is deterministic): enough for any benchmark's distinct prompts. */
const ANSWER_CACHE_ENTRIES = 4096;

/**
 * The offline model as a standalone OpenAI-compatible HTTP server (`uplift offline-model`), for
 * benchmarks that need an endpoint with a fixed latency and for trying an RA by hand.
 *
 * It stands in for a remote endpoint, whose own work costs the harness's machine nothing: so it
 * answers each call `latencyMs` after the call's body arrived, and spends as little CPU as it
 * can meanwhile (a benchmark's harness shares the cores with it). Answers are a pure function of
 * the request body, so a body seen before is answered from a bounded cache, without parsing it again.
 */
export async function serveOfflineModel(opts: { port?: number; host?: string; latencyMs?: number } = {}): Promise<{ baseUrl: string; server: Server; close(): Promise<void> }> {
  const latency = opts.latencyMs ?? 0;
  const answers = new Map<string, { status: number; text: string }>();
  const answer = (body: string): { status: number; text: string } => {
    const cached = answers.get(body);
    if (cached) return cached;
    let parsed;
    try {
      parsed = ChatRequest.safeParse(JSON.parse(body));
    } catch {
      return { status: 400, text: JSON.stringify({ error: { message: 'request body is not JSON' } }) };
    }
    const a = parsed.success ? { status: 200, text: JSON.stringify(offlineChatCompletion(parsed.data)) } : { status: 400, text: JSON.stringify({ error: { message: `invalid chat request: ${parsed.error.issues[0].message}` } }) };
    // Oldest first out: a Map iterates in insertion order.
    if (answers.size >= ANSWER_CACHE_ENTRIES) answers.delete(answers.keys().next().value as string);
    answers.set(body, a);
    return a;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const url = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
      if (req.method === 'GET' && url === '/v1/models') return send(200, JSON.stringify({ object: 'list', data: [{ id: OFFLINE_MODEL_NAME, object: 'model', owned_by: 'uplift' }] }));
      if (req.method !== 'POST' || url !== '/v1/chat/completions') return send(404, JSON.stringify({ error: { message: `not found: ${req.method} ${url}` } }));
      const a = answer(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      // A malformed request is refused at once, as an endpoint does; an answer comes after the latency.
      if (latency > 0 && a.status === 200) setTimeout(send, latency, a.status, a.text);
      else send(a.status, a.text);
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise<void>((r) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://${opts.host ?? '127.0.0.1'}:${port}/v1`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
