import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatRequest, estimateTokens, promptTokens, Usage } from './chat';
import { offlineChatCompletion, OFFLINE_MODEL_NAME } from './offline-model';
import type { TranscriptWriter } from '../transcript';

/** Completion tokens reserved for a call that sets no max_tokens. */
const DEFAULT_COMPLETION_RESERVE = 4096;

/** Where the gateway sends a call: the offline model in-process, or any OpenAI-compatible URL. */
export interface Upstream {
  readonly model: string;
  chat(body: ChatRequest): Promise<{ status: number; body: unknown }>;
}

/** The offline stand-in, answered in-process, with an optional fixed latency per call (benchmarks). */
export class OfflineUpstream implements Upstream {
  readonly model = OFFLINE_MODEL_NAME;
  constructor(private readonly latencyMs = 0) {}
  async chat(body: ChatRequest): Promise<{ status: number; body: unknown }> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return { status: 200, body: offlineChatCompletion(body) };
  }
}

/**
 * Forwards to an OpenAI-compatible endpoint with the real key, which agents never see. Uses
 * node:http(s) with a keep-alive agent (cheaper per call than fetch: the gateway sits on every
 * model call of a shard).
 */
export class HttpUpstream implements Upstream {
  private readonly url: URL;
  private readonly agent: http.Agent;
  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    readonly model: string,
  ) {
    this.url = new URL(`${baseUrl.replace(/\/$/, '')}/chat/completions`);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 512 });
  }
  chat(body: ChatRequest): Promise<{ status: number; body: unknown }> {
    const payload = JSON.stringify({ ...body, model: this.model });
    const request = this.url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${this.apiKey}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = { error: { message: `upstream returned non-JSON (HTTP ${res.statusCode}): ${text.slice(0, 200)}` } };
            }
            resolve({ status: res.statusCode ?? 502, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * One job's token budget: what was spent and what calls in flight have reserved. Gateways of one
 * job share it (a TLA's own model and the RA it evaluates), so the job has a single exact budget.
 */
export class TokenLedger {
  private spentTokens = 0;
  private reservedTokens = 0;
  constructor(
    /** Tokens (prompt + completion) the job may spend. */
    readonly budget: number,
  ) {
    if (!Number.isFinite(budget) || budget < 0) throw new RangeError(`token budget must be a number >= 0 (received ${budget})`);
  }
  get spent(): number {
    return this.spentTokens;
  }
  get reserved(): number {
    return this.reservedTokens;
  }
  /** What a new call may still reserve. */
  get left(): number {
    return this.budget - this.spentTokens - this.reservedTokens;
  }
  reserve(tokens: number): void {
    this.reservedTokens += tokens;
  }
  release(tokens: number): void {
    this.reservedTokens -= tokens;
  }
  spend(tokens: number): void {
    this.spentTokens += tokens;
  }
}

export interface GatewayOptions {
  upstream: Upstream;
  /** Tokens (prompt + completion) this job may spend; give this or `ledger`. */
  tokenBudget?: number;
  /** A budget shared with other gateways of the same job; give this or `tokenBudget`. */
  ledger?: TokenLedger;
  transcript?: TranscriptWriter;
  /** Record request/response bodies in the transcript (true), or only usage (false). @default true */
  recordBodies?: boolean;
  /** Written as `gateway` on its transcript events, to tell the gateways of one job apart (e.g. `tla`, `ra`). */
  name?: string;
}

export interface GatewayUsage {
  calls: number;
  rejected: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/**
 * The model gateway of DESIGN.md: an OpenAI-compatible proxy on loopback that every agent call
 * goes through. It checks the per-job key, meters tokens from `usage`, refuses calls once the
 * job's token budget is spent (HTTP 429, code `budget_exhausted`), caps `max_tokens` at what is
 * left, and records every call to the transcript.
 *
 * Exactness: before forwarding, a call reserves ceil(prompt characters ÷ 4) + its max_tokens
 * (4096 when it sets none); a call that cannot reserve is refused, so concurrent calls cannot
 * together overrun the budget by more than the estimate's error on prompt tokens. An upstream
 * answer without `usage` is charged at the estimate. Gateways sharing a TokenLedger share all of this.
 *
 * It listens on loopback TCP, and optionally on a Unix socket too (`listenUnix`), which a
 * sandbox without a network reaches through a forwarder (core/sandbox.ts).
 */
export class ModelGateway {
  /** The per-job key agents use; never the real key. */
  readonly jobToken = `uplift-job-${randomBytes(12).toString('hex')}`;
  /** The budget this gateway draws on (its own, or shared with the job's other gateways). */
  readonly ledger: TokenLedger;
  private server?: Server;
  private unixServer?: { server: Server; path: string };
  private readonly used: GatewayUsage = { calls: 0, rejected: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 };

  constructor(private readonly opts: GatewayOptions) {
    if (opts.ledger && opts.tokenBudget !== undefined && opts.tokenBudget !== opts.ledger.budget)
      throw new RangeError(`give the gateway tokenBudget or a ledger, not both (received tokenBudget ${opts.tokenBudget} and a ledger of ${opts.ledger.budget})`);
    if (!opts.ledger && opts.tokenBudget === undefined) throw new RangeError('the gateway needs tokenBudget or a shared ledger');
    this.ledger = opts.ledger ?? new TokenLedger(opts.tokenBudget as number);
  }

  /** Usage of the calls through this gateway (a shared ledger also counts the other gateways' calls). */
  get usage(): GatewayUsage {
    return { ...this.used };
  }

  /** The model name agents see (UPLIFT_MODEL). */
  get model(): string {
    return this.opts.upstream.model;
  }

  get remaining(): number {
    return Math.max(0, this.ledger.left);
  }

  /** Starts listening on 127.0.0.1 (random port); returns the base URL agents get as OPENAI_BASE_URL. */
  async start(): Promise<string> {
    const server = this.newServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  /** Also serves on a Unix socket at `path` (mode 0666: the per-job key still guards it), for sandboxes without a network. */
  async listenUnix(path: string): Promise<void> {
    const server = this.newServer();
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    chmodSync(path, 0o666);
    this.unixServer = { server, path };
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.unixServer?.server].filter((s): s is Server => s !== undefined);
    const unixPath = this.unixServer?.path;
    this.server = undefined;
    this.unixServer = undefined;
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    if (unixPath) rmSync(unixPath, { force: true });
  }

  private newServer(): Server {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.reply(res, 500, { error: { message: `gateway error: ${(e as Error).message}`, type: 'server_error' } }));
    });
    server.keepAliveTimeout = 30000;
    server.maxRequestsPerSocket = 0;
    return server;
  }

  /** Environment an agent gets: the gateway URL, the per-job key, the model name. Nothing else. */
  agentEnv(baseUrl: string): Record<string, string> {
    return { OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: this.jobToken, UPLIFT_MODEL: this.opts.upstream.model };
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    if ((req.headers.authorization ?? '') !== `Bearer ${this.jobToken}`) {
      await this.readBody(req);
      return this.reply(res, 401, { error: { message: 'invalid API key: use the OPENAI_API_KEY the harness gave this job', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && url === '/v1/models') {
      return this.reply(res, 200, { object: 'list', data: [{ id: this.opts.upstream.model, object: 'model', owned_by: 'uplift' }] });
    }
    if (req.method !== 'POST' || url !== '/v1/chat/completions') {
      await this.readBody(req);
      return this.reply(res, 404, { error: { message: `the gateway serves POST /v1/chat/completions and GET /v1/models, not ${req.method} ${url}`, type: 'invalid_request_error' } });
    }
    let parsed: ChatRequest;
    try {
      const r = ChatRequest.safeParse(JSON.parse(await this.readBody(req)));
      if (!r.success) return this.reply(res, 400, { error: { message: `invalid chat request: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`, type: 'invalid_request_error' } });
      parsed = r.data;
    } catch {
      return this.reply(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
    }
    const promptEstimate = promptTokens(parsed) + estimateTokens(toolText(parsed));
    const left = this.ledger.left;
    const wanted = parsed.max_completion_tokens ?? parsed.max_tokens;
    const cap = wanted ?? DEFAULT_COMPLETION_RESERVE;
    const maxTokens = Math.min(cap, left - promptEstimate);
    if (maxTokens < 1) {
      this.used.rejected++;
      const message = `token budget of ${this.ledger.budget} tokens for this job is spent (used ${this.ledger.spent}, reserved by calls in flight ${this.ledger.reserved}, this call needs about ${promptEstimate + 1})`;
      this.opts.transcript?.write('model_rejected', { ...this.label(), reason: 'budget_exhausted', message });
      return this.reply(res, 429, { error: { message, type: 'insufficient_quota', code: 'budget_exhausted' } });
    }
    const reservation = promptEstimate + maxTokens;
    this.ledger.reserve(reservation);
    const started = Date.now();
    let result: { status: number; body: unknown };
    try {
      const forwarded: ChatRequest = { ...parsed };
      if (wanted !== undefined || maxTokens < cap) {
        // Keep the caller's field: newer (reasoning) models accept only max_completion_tokens.
        if (parsed.max_completion_tokens !== undefined) forwarded.max_completion_tokens = maxTokens;
        else forwarded.max_tokens = maxTokens;
      }
      result = await this.opts.upstream.chat(forwarded);
    } catch (e) {
      result = { status: 502, body: { error: { message: `upstream unreachable: ${(e as Error).message}`, type: 'upstream_error' } } };
    } finally {
      this.ledger.release(reservation);
    }
    const body = result.body as { usage?: unknown; choices?: unknown } | null;
    const reported = Usage.safeParse(body?.usage);
    // An answer without usage is charged at the estimate: the budget holds whatever the upstream reports.
    const usage =
      reported.success || result.status !== 200
        ? reported
        : { success: true as const, data: { prompt_tokens: promptEstimate, completion_tokens: Math.min(maxTokens, estimateTokens(JSON.stringify(body?.choices ?? ''))) } };
    this.used.calls++;
    if (usage.success) {
      this.used.promptTokens += usage.data.prompt_tokens;
      this.used.completionTokens += usage.data.completion_tokens;
      this.used.totalTokens += usage.data.prompt_tokens + usage.data.completion_tokens;
      this.ledger.spend(usage.data.prompt_tokens + usage.data.completion_tokens);
    }
    this.opts.transcript?.write('model_call', {
      ...this.label(),
      ...(usage.success && !reported.success ? { usageEstimated: true } : {}),
      status: result.status,
      latencyMs: Date.now() - started,
      usage: usage.success ? usage.data : null,
      ...(this.opts.recordBodies === false ? {} : { request: parsed, response: result.body }),
    });
    this.reply(res, result.status, result.body);
  }

  private label(): Record<string, string> {
    return this.opts.name ? { gateway: this.opts.name } : {};
  }
}

/** Tool definitions and tool calls of a request, as text: part of its prompt-token estimate. */
function toolText(req: ChatRequest): string {
  const calls = req.messages.map((m) => (m as { tool_calls?: unknown }).tool_calls).filter((c) => c !== undefined);
  const tools = (req as { tools?: unknown }).tools;
  return (tools === undefined ? '' : JSON.stringify(tools)) + (calls.length ? JSON.stringify(calls) : '');
}
