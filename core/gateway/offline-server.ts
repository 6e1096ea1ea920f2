import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatRequest } from './chat';
import { offlineChatCompletion, OFFLINE_MODEL_NAME } from './offline-model';

/**
 * The offline model as a standalone OpenAI-compatible HTTP server (`uplift offline-model`), for
 * benchmarks that need an endpoint with a fixed latency and for trying an RA by hand.
 */
export async function serveOfflineModel(opts: { port?: number; host?: string; latencyMs?: number } = {}): Promise<{ baseUrl: string; server: Server; close(): Promise<void> }> {
  const latency = opts.latencyMs ?? 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const url = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
      if (req.method === 'GET' && url === '/v1/models') return send(200, { object: 'list', data: [{ id: OFFLINE_MODEL_NAME, object: 'model', owned_by: 'uplift' }] });
      if (req.method !== 'POST' || url !== '/v1/chat/completions') return send(404, { error: { message: `not found: ${req.method} ${url}` } });
      let parsed;
      try {
        parsed = ChatRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        return send(400, { error: { message: 'request body is not JSON' } });
      }
      if (!parsed.success) return send(400, { error: { message: `invalid chat request: ${parsed.error.issues[0].message}` } });
      const body = offlineChatCompletion(parsed.data);
      if (latency > 0) void sleep(latency).then(() => send(200, body));
      else send(200, body);
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
