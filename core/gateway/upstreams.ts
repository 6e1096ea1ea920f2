import * as http from 'node:http';
import * as https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { estimateTokens, promptTokens, promptUpperBound, toolText, type ChatRequest } from './chat';
import { offlineChatCompletion, OFFLINE_MODEL_NAME } from './offline-model';

/** An upstream's answer: HTTP status, parsed body, and the response headers (for Retry-After). */
export interface UpstreamAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string | string[] | undefined>;
}

/** The completion-token limit field an upstream is sent when the agent set none. */
export type LimitField = 'max_tokens' | 'max_completion_tokens';

/**
 * Where the gateway sends a call: the offline model in-process, or any OpenAI-compatible URL.
 * `chat` may throw on a transport failure (connection refused or reset, timeout): the gateway
 * retries those.
 */
export interface Upstream {
  /** The model name agents see (UPLIFT_MODEL); the upstream sets it on every request it sends. */
  readonly model: string;
  /** Where calls go, for error messages and `infraFailure`: a base URL (never a key), or `offline`. The gateway says `custom upstream` when unset. */
  readonly endpoint?: string;
  /** The limit field set on a request whose agent set none. @default 'max_tokens' */
  readonly limitField?: LimitField;
  /**
   * Prompt tokens to reserve for a request: at least what this upstream can bill for it. When
   * unset the gateway uses `promptUpperBound` (UTF-8 bytes plus margins), right for any byte-level tokenizer.
   */
  promptReserve?(req: ChatRequest): number;
  /** Its usage never exceeds what promptReserve and the completion limit reserve (the offline model): calls hold no overrun tolerance. */
  readonly exactUsage?: boolean;
  /** One attempt's time limit, if it has one: the gateway's stop() waits no longer than this for a call in flight. */
  readonly timeoutMs?: number;
  /** One attempt. `signal` aborts it (the gateway stopped and gave up on the call): it should then reject at once. */
  chat(body: ChatRequest, signal?: AbortSignal): Promise<UpstreamAnswer>;
  /** Closes what it keeps open between calls (kept-alive connections); it is not used after. */
  close?(): void;
}

/** The offline stand-in, answered in-process, with an optional fixed latency per call (benchmarks). */
export class OfflineUpstream implements Upstream {
  readonly model = OFFLINE_MODEL_NAME;
  readonly endpoint = 'offline';
  readonly limitField = 'max_tokens' as const;
  readonly exactUsage = true;
  constructor(private readonly latencyMs = 0) {}
  /** Exact: the offline model counts ceil(characters ÷ 4) + 4 per message (tools are not in its count, so reserving for them only adds). */
  promptReserve(req: ChatRequest): number {
    return promptTokens(req) + estimateTokens(toolText(req));
  }
  async chat(body: ChatRequest, signal?: AbortSignal): Promise<UpstreamAnswer> {
    if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal });
    return { status: 200, body: offlineChatCompletion(body) };
  }
}

export interface HttpUpstreamOptions {
  /** One attempt's time limit, from sending the request to the end of the answer. @default 300000 */
  timeoutMs?: number;
  /**
   * The limit field for a request whose agent set none. @default `max_completion_tokens` for
   * api.openai.com (its reasoning models refuse max_tokens), else `max_tokens` (which every
   * OpenAI-compatible server honours).
   */
  limitField?: LimitField;
}

/** An upstream attempt that took longer than its time limit. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/**
 * Forwards to an OpenAI-compatible endpoint with the real key, which agents never see. Uses
 * node:http(s) with a keep-alive agent (cheaper per call than fetch: the gateway sits on every
 * model call of a shard). One attempt per `chat`; the gateway retries.
 */
export class HttpUpstream implements Upstream {
  readonly endpoint: string;
  readonly limitField: LimitField;
  private readonly url: URL;
  private readonly agent: http.Agent;
  /** node:http(s).request and its options but the headers, worked out once: the URL is not parsed again per call. */
  private readonly send: typeof http.request;
  private readonly target: http.RequestOptions;
  readonly timeoutMs: number;
  /** `apiKey` undefined: calls carry no Authorization header (a keyless server on this machine or a private network). */
  constructor(
    baseUrl: string,
    private readonly apiKey: string | undefined,
    readonly model: string,
    opts: HttpUpstreamOptions = {},
  ) {
    this.url = new URL(`${baseUrl.replace(/\/$/, '')}/chat/completions`);
    this.endpoint = publicEndpoint(baseUrl);
    this.limitField = opts.limitField ?? (this.url.hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens');
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    const secure = this.url.protocol === 'https:';
    // Keep-alive, and more sockets than calls an RA keeps in flight: a call never waits for a
    // socket, and never pays a new connection (or TLS handshake) once the pool is warm.
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512, scheduling: 'lifo' });
    this.send = secure ? https.request : http.request;
    const u = this.url;
    this.target = {
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
      method: 'POST',
      agent: this.agent,
      ...(u.username || u.password ? { auth: `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` } : {}),
    };
  }

  /** Connections the upstream holds open now (in use or idle): what keep-alive reuses. */
  get openConnections(): number {
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  promptReserve(req: ChatRequest): number {
    return promptUpperBound(req);
  }

  chat(body: ChatRequest, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const payload = JSON.stringify({ ...body, model: this.model });
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      const req = this.send(
        { ...this.target, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => settle(() => reject(e)));
          res.on('close', () => {
            if (!res.complete) settle(() => reject(new Error('the upstream closed the connection mid-answer')));
          });
          res.on('end', () =>
            settle(() => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 502;
              try {
                resolve({ status, body: JSON.parse(text), headers: res.headers });
              } catch {
                // A success that is not JSON (a proxy's page, a cut answer) is a failure, and retried.
                resolve({ status: status < 300 ? 502 : status, body: { error: { message: `upstream returned non-JSON (HTTP ${status}): ${text.slice(0, 200)}`, type: 'upstream_error' } }, headers: res.headers });
              }
            }),
          );
        },
      );
      const timer = setTimeout(() => req.destroy(new UpstreamTimeoutError(this.timeoutMs)), this.timeoutMs);
      const onAbort = () => req.destroy(new Error('aborted: the gateway stopped waiting for this answer'));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => settle(() => reject(e)));
      req.end(payload);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** A base URL fit for logs and error messages: no credentials, no query. */
export function publicEndpoint(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
