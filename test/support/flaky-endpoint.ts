import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatRequest } from '../../core/gateway/chat';
import { offlineChatCompletion } from '../../core/gateway/offline-model';

/** How the endpoint answers the next call: the offline model's answer, an HTTP error, or a dropped connection. */
export type Fault = 'ok' | { status: number; retryAfter?: string } | 'drop';

/**
 * An OpenAI-compatible endpoint on loopback that answers like the offline model (so scores are
 * computed, never scripted) and can be made to fail: `down()` stops listening (connection
 * refused), `faults` picks a failure per call (e.g. a third of calls 429/5xx/dropped).
 */
export class FlakyEndpoint {
  private server?: Server;
  port = 0;
  calls = 0;
  failures = 0;
  /** Chooses each call's fate from its number and its request body; default: always answer. */
  fault: (call: number, body: string) => Fault = () => 'ok';
  /** Told of every call it answered: the request, its Authorization header and the usage it billed. */
  onAnswer: (request: ChatRequest, authorization: string, usage: { prompt_tokens: number; completion_tokens: number }) => void = () => undefined;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: calls are refused at the socket, as with an endpoint that is down. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const call = ++this.calls;
    const fate = this.fault(call, Buffer.concat(chunks).toString('utf8'));
    if (fate === 'drop') {
      this.failures++;
      req.socket.destroy();
      return;
    }
    if (fate !== 'ok') {
      this.failures++;
      const text = JSON.stringify({ error: { message: `injected failure ${fate.status}`, type: 'server_error' } });
      res.writeHead(fate.status, { 'content-type': 'application/json', ...(fate.retryAfter ? { 'retry-after': fate.retryAfter } : {}) });
      res.end(text);
      return;
    }
    const request = ChatRequest.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    const body = offlineChatCompletion(request) as { usage: { prompt_tokens: number; completion_tokens: number } };
    this.onAnswer(request, String(req.headers.authorization), body.usage);
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
