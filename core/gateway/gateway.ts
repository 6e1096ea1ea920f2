import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promptUpperBound, Usage, type ChatRequest } from './chat';
import { sanitizeChatRequest, type Delivery } from './request-policy';
import { backoffMs, classifyAnswer, classifyError, retryAfterMs, retryPolicy, type RetryOptions, type RetryPolicy, type Verdict } from './retry';
import type { Upstream, UpstreamAnswer } from './upstreams';
import type { TranscriptWriter } from '../transcript';

export { HttpUpstream, OfflineUpstream, UpstreamTimeoutError, publicEndpoint, type HttpUpstreamOptions, type LimitField, type Upstream, type UpstreamAnswer } from './upstreams';
export type { RetryOptions } from './retry';

/** Completion tokens reserved for a call that sets no limit (capped at what is left). */
export const DEFAULT_COMPLETION_RESERVE = 4096;
/** Largest request body the gateway reads. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long stop() waits for calls in flight to be answered (and metered) before it charges their reservations and aborts them. */
export const DEFAULT_STOP_GRACE_MS = 30_000;

/**
 * Tokens an endpoint may report beyond a call's reservation before its usage is an accounting
 * failure rather than an overrun: 5% + 64. The reservation's prompt part is a UTF-8 byte bound of
 * the JSON sent plus template margins, several times what real tokenizers count, so an honest
 * endpoint overruns it only by a template a few tokens per message heavier than the margins, or
 * a few special tokens (BOS/EOS, tool-call markers) counted its own way: a few percent and a few
 * dozen tokens at most. An endpoint reporting more cannot have billed it for this request; it
 * is broken (or lies), and the gateway will not let it drain the budget.
 */
export function usageTolerance(reservation: number): number {
  return Math.ceil(reservation * 0.05) + 64;
}

/**
 * The largest reservation r with r + usageTolerance(r) <= left: what a call may reserve so that
 * even the most an endpoint may believably report keeps the job within its budget.
 */
export function largestReservationWithin(left: number): number {
  let r = Math.max(0, Math.floor((left - 64) / 1.05));
  while (r > 0 && r + usageTolerance(r) > left) r--;
  return r;
}

/**
 * The most a call of `request` with completion limit `maxTokens` can hold on a gateway's ledger:
 * the upstream's prompt reservation (plus the slack it has overrun by so far), the limit, and the
 * tolerated overrun for an upstream that is not exact.
 */
export function callHold(upstream: Pick<Upstream, 'promptReserve' | 'exactUsage'>, request: ChatRequest, maxTokens: number, slack = 0): number {
  const reservation = (upstream.promptReserve ? upstream.promptReserve(request) : promptUpperBound(request)) + slack + maxTokens;
  return reservation + (upstream.exactUsage === true ? 0 : usageTolerance(reservation));
}

/** After refusing a body as too large, the gateway discards at most this much more of it before closing the connection. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

/**
 * One job's token budget: what was spent and what calls in flight have reserved. Gateways of one
 * job share it (a TLA's own model and the RA it evaluates), so the job has a single exact budget.
 * A sub-allowance (`sub`, e.g. one task's) is a ledger of its own whose reservations and spend are
 * also its parent's, and which never allows more than is left of the parent.
 */
export class TokenLedger {
  private spentTokens = 0;
  private reservedTokens = 0;
  constructor(
    /** Tokens (prompt + completion) the job may spend. */
    readonly budget: number,
    /** The ledger this one is a sub-allowance of: everything reserved or spent here is too. */
    readonly parent?: TokenLedger,
  ) {
    if (!Number.isFinite(budget) || budget < 0) throw new RangeError(`token budget must be a number >= 0 (received ${budget})`);
  }
  get spent(): number {
    return this.spentTokens;
  }
  get reserved(): number {
    return this.reservedTokens;
  }
  /** What a new call may still reserve: what is left of this ledger's own budget, never more than what is left of its parent's. */
  get left(): number {
    const own = this.budget - this.spentTokens - this.reservedTokens;
    return this.parent ? Math.min(own, this.parent.left) : own;
  }
  reserve(tokens: number): void {
    this.reservedTokens += tokens;
    this.parent?.reserve(tokens);
  }
  release(tokens: number): void {
    this.reservedTokens -= tokens;
    this.parent?.release(tokens);
  }
  spend(tokens: number): void {
    this.spentTokens += tokens;
    this.parent?.spend(tokens);
  }
  /** A sub-allowance of `budget` tokens drawing on this ledger. */
  sub(budget: number): TokenLedger {
    return new TokenLedger(budget, this);
  }
}

/**
 * A sub-allowance of a gateway's budget with a key of its own (ModelGateway.openAllowance): calls
 * made with its key draw on its ledger, which draws on the gateway's. One per task of a per-task
 * run, so one task's agent can never spend another's share.
 */
export interface TokenAllowance {
  /** The key its calls are made with (the agent's OPENAI_API_KEY); refused once closed. */
  readonly apiKey: string;
  /** Written as `allowance` on its transcript events (e.g. the task id). */
  readonly label: string;
  readonly ledger: TokenLedger;
  /** Calls refused because this allowance was spent (while the gateway's budget was not). */
  readonly rejected: number;
  /** Refuses its key from now on (calls in flight are still metered on its ledger). */
  close(): void;
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
  /** Largest request body read; a larger one is answered 413 without being read. @default 4 MiB */
  maxBodyBytes?: number;
  /** Completion tokens reserved (and set as the limit) for a call that sets none. @default 4096 */
  defaultCompletionReserve?: number;
  /** How upstream failures are retried. */
  retry?: RetryOptions;
  /**
   * How long stop() waits for calls in flight (never longer than the upstream's `timeoutMs`):
   * those answered meanwhile are metered as usual; the rest are charged their whole reservation
   * and aborted. @default 30000
   */
  stopGraceMs?: number;
  /** The upstream is this gateway's alone: stop() closes it too (its kept-alive connections). @default false */
  ownsUpstream?: boolean;
}

export interface GatewayUsage {
  /** Calls forwarded upstream (whatever their outcome). */
  calls: number;
  /** Calls refused because the token budget was spent (HTTP 429 `budget_exhausted`). */
  rejected: number;
  /** Calls refused because the caller's own allowance (openAllowance, e.g. a task's) was spent while the budget was not: the same HTTP 429, not counted in `rejected`. */
  taskRejected: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Upstream attempts that were retries of a failed attempt. */
  retries: number;
  /** Calls that still failed after their retries (answered 502 `upstream_unavailable`). */
  upstreamFailures: number;
}

/** The last call that failed after its retries: which endpoint, what it last answered, and how many calls failed so far. */
export interface InfraFailure {
  endpoint: string;
  /** The endpoint's last HTTP status, or null when it gave none (connection refused or reset, timeout). */
  status: number | null;
  message: string;
  calls: number;
}

/** A call forwarded upstream and not yet settled: what stop() waits for, or charges and aborts. */
interface InFlightCall {
  /** The ledger it draws on: the gateway's, or its caller's allowance. */
  ledger: TokenLedger;
  allowance?: OpenAllowance;
  promptReserve: number;
  maxTokens: number;
  reservation: number;
  /** What the call holds on the ledger: its reservation plus the usage tolerance, so even a believable overrun stays within the budget. */
  held: number;
  forwarded: ChatRequest;
  started: number;
  retries: number;
  /**
   * Aborts the upstream attempt (stop() gave up on it). Shared by every call forwarded before
   * that stop(): it gives up on all the calls still in flight at once, and a controller per call
   * (with its listener on the upstream's request) is work on every call for what happens at most once.
   */
  abort: AbortController;
  /** Its reservation went back to the ledger. */
  released: boolean;
  /** stop() charged its reservation and aborted it: nothing more is metered for it. */
  abandoned: boolean;
  /** Resolves when the call has been settled by its own handler. */
  done: Promise<void>;
  finish: () => void;
}

/**
 * The model gateway: an OpenAI-compatible proxy on loopback that every agent call goes through
 * (README, "The model gateway"). It checks the per-job key, forwards only what it can meter
 * (request-policy.ts), reserves an upper bound of what a call can bill before forwarding, refuses
 * calls once the job's token budget is spent (HTTP 429, code `budget_exhausted`), retries
 * upstream failures and reports persistent ones as infrastructure failures (HTTP 502, code
 * `upstream_unavailable`), meters `usage`, and records every call to the transcript.
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
  private readonly used: GatewayUsage = { calls: 0, rejected: 0, taskRejected: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, retries: 0, upstreamFailures: 0 };
  /** Open allowances by key. */
  private readonly allowances = new Map<string, OpenAllowance>();
  private lastFailure?: InfraFailure;
  private readonly retry: RetryPolicy;
  private readonly maxBodyBytes: number;
  private readonly defaultReserve: number;
  /** Prompt tokens an upstream has reported beyond its reservation (the most so far), added to later reservations. */
  private promptSlack = 0;
  /** Aborted by stop(): calls waiting to retry give up, and no new call is forwarded. */
  private stopping = new AbortController();
  private readonly stopGraceMs: number;
  private readonly inFlight = new Set<InFlightCall>();
  /** The `abort` of calls forwarded from now on (InFlightCall.abort); replaced when stop() gives up on the calls in flight. */
  private abandoning = sharedController();

  constructor(private readonly opts: GatewayOptions) {
    if (opts.ledger && opts.tokenBudget !== undefined && opts.tokenBudget !== opts.ledger.budget)
      throw new RangeError(`give the gateway tokenBudget or a ledger, not both (received tokenBudget ${opts.tokenBudget} and a ledger of ${opts.ledger.budget})`);
    if (!opts.ledger && opts.tokenBudget === undefined) throw new RangeError('the gateway needs tokenBudget or a shared ledger');
    this.ledger = opts.ledger ?? new TokenLedger(opts.tokenBudget as number);
    this.retry = retryPolicy(opts.retry);
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!(this.maxBodyBytes >= 1)) throw new RangeError(`maxBodyBytes must be >= 1 (received ${opts.maxBodyBytes})`);
    this.defaultReserve = opts.defaultCompletionReserve ?? DEFAULT_COMPLETION_RESERVE;
    if (!Number.isInteger(this.defaultReserve) || this.defaultReserve < 1) throw new RangeError(`defaultCompletionReserve must be a whole number >= 1 (received ${opts.defaultCompletionReserve})`);
    this.stopGraceMs = opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    if (!Number.isFinite(this.stopGraceMs) || this.stopGraceMs < 0) throw new RangeError(`stopGraceMs must be a number of milliseconds >= 0 (received ${opts.stopGraceMs})`);
  }

  /** Usage of the calls through this gateway (a shared ledger also counts the other gateways' calls). */
  get usage(): GatewayUsage {
    return { ...this.used };
  }

  /** The last call that failed after retries (the endpoint was down, out of quota, or refused the gateway's key), or undefined. */
  get infraFailure(): InfraFailure | undefined {
    return this.lastFailure ? { ...this.lastFailure } : undefined;
  }

  /** The model name agents see (UPLIFT_MODEL). */
  get model(): string {
    return this.opts.upstream.model;
  }

  /** Where calls go (a base URL, `offline`, or `custom upstream`). */
  get endpoint(): string {
    return this.opts.upstream.endpoint ?? 'custom upstream';
  }

  get remaining(): number {
    return Math.max(0, this.ledger.left);
  }

  /** Starts listening on 127.0.0.1 (random port); returns the base URL agents get as OPENAI_BASE_URL. */
  async start(): Promise<string> {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    const server = this.newServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  /** Also serves on a Unix socket at `path` (mode 0666: the per-job key still guards it), for sandboxes without a network. */
  async listenUnix(path: string): Promise<void> {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    const server = this.newServer();
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    chmodSync(path, 0o666);
    this.unixServer = { server, path };
  }

  /**
   * Stops listening and closes the agents' connections; calls waiting to retry give up at once.
   * Then waits for the calls still in flight, at most `stopGraceMs` (and the upstream's timeout),
   * so what the endpoint bills for them is metered before `usage` is read; a call still in flight
   * after that is charged its whole reservation (recorded as `abandoned` in the transcript) and
   * aborted. When it resolves, `usage` and the ledger hold every call this gateway forwarded.
   */
  async stop(): Promise<void> {
    const servers = [this.server, this.unixServer?.server].filter((s): s is Server => s !== undefined);
    const unixPath = this.unixServer?.path;
    this.server = undefined;
    this.unixServer = undefined;
    this.stopping.abort();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    if (unixPath) rmSync(unixPath, { force: true });
    await this.settleInFlight();
    if (this.opts.ownsUpstream) this.opts.upstream.close?.();
  }

  private async settleInFlight(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const timeout = this.opts.upstream.timeoutMs;
    const graceMs = timeout !== undefined && Number.isFinite(timeout) && timeout >= 0 ? Math.min(this.stopGraceMs, timeout) : this.stopGraceMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      void Promise.all([...this.inFlight].map((c) => c.done)).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Calls forwarded after this (the gateway restarted) get a controller of their own: aborting these spares them.
    this.abandoning = sharedController();
    for (const call of [...this.inFlight]) this.abandon(call, graceMs);
  }

  /** Charges a call stop() gave up waiting for its whole reservation (the endpoint may bill that much), and aborts it. */
  private abandon(call: InFlightCall, graceMs: number): void {
    if (call.abandoned) return;
    call.abandoned = true;
    this.releaseCall(call);
    this.inFlight.delete(call);
    const usage = { prompt_tokens: call.promptReserve, completion_tokens: call.maxTokens };
    this.charge(usage, call.ledger);
    this.opts.transcript?.write('model_call', {
      ...this.label(),
      status: null,
      abandoned: true,
      message: `still in flight ${graceMs} ms after the gateway began to stop: charged its whole reservation (what the endpoint may bill for it) and aborted`,
      latencyMs: this.retry.now() - call.started,
      retries: call.retries,
      reserved: call.reservation,
      usage,
      usageEstimated: true,
      ...(this.opts.recordBodies === false ? {} : { request: call.forwarded }),
    });
    call.abort.abort();
    call.finish();
  }

  private releaseCall(call: InFlightCall): void {
    if (call.released) return;
    call.released = true;
    call.ledger.release(call.held);
  }

  private newServer(): Server {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.reply(res, 500, { error: { message: `gateway error: ${(e as Error).message}`, type: 'server_error' } });
      });
    });
    server.keepAliveTimeout = 30000;
    server.maxRequestsPerSocket = 0;
    return server;
  }

  /**
   * The most a call of `request` with completion limit `maxTokens` can hold on the ledger: its
   * prompt reservation (as forward() computes it) plus `maxTokens`, plus the tolerated overrun.
   * The judge client checks a call against its per-task allowance with it before sending it.
   */
  holdFor(request: ChatRequest, maxTokens: number): number {
    return callHold(this.opts.upstream, request, maxTokens, this.promptSlack);
  }

  /**
   * A sub-allowance of `tokens` with a key of its own (see TokenAllowance): calls made with it are
   * refused (HTTP 429 `budget_exhausted`, as when the budget is spent) once they could bill more
   * than is left of it, or of the gateway's budget. Close it when its caller is done.
   */
  openAllowance(tokens: number, label: string): TokenAllowance {
    const a = new OpenAllowance(`uplift-task-${randomBytes(12).toString('hex')}`, label, this.ledger.sub(tokens), (key) => this.allowances.delete(key));
    this.allowances.set(a.apiKey, a);
    return a;
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

  /**
   * The request body, or undefined when it is larger than maxBodyBytes: a declared
   * content-length over the limit is refused before a byte of the body is read, and a chunked body
   * as soon as it passes the limit. What the client still sends is discarded, never buffered.
   */
  private readBody(req: IncomingMessage): Promise<string | undefined> {
    const limit = this.maxBodyBytes;
    const tooLarge = () => {
      let discarded = 0;
      req.removeAllListeners('data');
      req.on('data', (c: Buffer) => {
        discarded += c.length;
        if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
      });
      req.on('error', () => undefined);
      return undefined;
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return Promise.resolve(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > limit) {
          over = true;
          chunks.length = 0;
          resolve(tooLarge());
        } else chunks.push(c);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
      });
      req.on('error', (e) => {
        if (!over) reject(e);
      });
    });
  }

  private tooLarge(res: ServerResponse): void {
    this.reply(res, 413, { error: { message: `request body is larger than the gateway's limit of ${this.maxBodyBytes} bytes: send a shorter prompt`, type: 'invalid_request_error', code: 'request_too_large' } });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    const auth = req.headers.authorization ?? '';
    const allowance = auth.startsWith('Bearer uplift-task-') ? this.allowances.get(auth.slice(7)) : undefined;
    if (auth !== `Bearer ${this.jobToken}` && !allowance) {
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
    const text = await this.readBody(req);
    if (text === undefined) return this.tooLarge(res);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.reply(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
    }
    const checked = sanitizeChatRequest(raw);
    if (!checked.ok) {
      const { field, message } = checked.refusal;
      this.opts.transcript?.write('model_rejected', { ...this.label(), reason: 'invalid_request', field, message });
      return this.reply(res, 400, { error: { message: `the model gateway refuses this request: ${field}: ${message}`, type: 'invalid_request_error', param: field, code: 'unsupported_parameter' } });
    }
    return this.forward(checked.value.request, checked.value.limits, checked.value.delivery, res, allowance);
  }

  private async forward(request: ChatRequest, limits: { max_tokens?: number; max_completion_tokens?: number }, delivery: Delivery, res: ServerResponse, allowance?: OpenAllowance): Promise<void> {
    // A request read while the gateway stops is not forwarded: stop() could not wait for it.
    if (this.stopping.signal.aborted) return this.reply(res, 503, { error: { message: 'the model gateway is stopping (the job is ending): the call was not forwarded', type: 'server_error', code: 'gateway_stopping' } });
    const upstream = this.opts.upstream;
    const slack = this.promptSlack;
    const promptReserve = (upstream.promptReserve ? upstream.promptReserve(request) : promptUpperBound(request)) + slack;
    const set = [limits.max_tokens, limits.max_completion_tokens].filter((x): x is number => x !== undefined);
    const wanted = set.length ? Math.min(...set) : undefined;
    // The largest reservation r whose tolerated overrun still fits what is left: r + usageTolerance(r) <= left
    // (an exact upstream, the offline model, needs no tolerance: its spend lands exactly on the budget).
    const exact = upstream.exactUsage === true;
    const ledger = allowance?.ledger ?? this.ledger;
    const roomIn = (l: TokenLedger) => Math.min(wanted ?? this.defaultReserve, (exact ? l.left : largestReservationWithin(l.left)) - promptReserve);
    const maxTokens = roomIn(ledger);
    // Refused by the caller's allowance only when the gateway's budget would still have taken the call.
    if (maxTokens < 1) return this.budgetExhausted(res, promptReserve + 1 + (exact ? 0 : usageTolerance(promptReserve + 1)), allowance && roomIn(this.ledger) >= 1 ? allowance : undefined);
    const reservation = promptReserve + maxTokens;
    const held = reservation + (exact ? 0 : usageTolerance(reservation));
    ledger.reserve(held);
    // Every limit the caller set is capped (an endpoint may honour either); with none, the gateway sets one.
    const forwarded: ChatRequest = { ...request };
    if (limits.max_tokens !== undefined) forwarded.max_tokens = maxTokens;
    if (limits.max_completion_tokens !== undefined) forwarded.max_completion_tokens = maxTokens;
    if (wanted === undefined) forwarded[upstream.limitField ?? 'max_tokens'] = maxTokens;

    let finish = (): void => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const call: InFlightCall = { ledger, allowance, promptReserve, maxTokens, reservation, held, forwarded, started: this.retry.now(), retries: 0, abort: this.abandoning, released: false, abandoned: false, done, finish };
    this.inFlight.add(call);
    try {
      await this.call(call, slack, delivery, res);
    } finally {
      this.releaseCall(call);
      this.inFlight.delete(call);
      call.finish();
    }
  }

  /** Forwards a reserved call, with retries, and meters and answers it. */
  private async call(call: InFlightCall, slack: number, delivery: Delivery, res: ServerResponse): Promise<void> {
    const upstream = this.opts.upstream;
    const { promptReserve, maxTokens, reservation, forwarded, started } = call;
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const p = this.retry;
    const stopSignal = this.stopping.signal;
    // Past this, reported usage cannot be what the request billed: an accounting failure, not an overrun.
    const believable = reservation + usageTolerance(reservation);
    let answer: UpstreamAnswer | undefined;
    let verdict: Verdict = { kind: 'fail', status: null, message: 'no attempt was made' };
    let gaveUp = '';
    let failedAttemptTokens = 0;
    let outOfBudget = false;
    let unbelievable: { reported: Usage; charged: Usage } | undefined;
    // The usage the last attempt's answer reports (read once per answer).
    let billed: ReturnType<typeof Usage.safeParse> | undefined;
    this.used.calls++;
    try {
      for (let attempt = 1; ; attempt++) {
        answer = undefined;
        try {
          answer = await upstream.chat(forwarded, call.abort.signal);
          verdict = classifyAnswer(answer.status, answer.body);
        } catch (e) {
          verdict = classifyError(e);
        }
        // stop() gave up on this call and charged its whole reservation: nothing more is metered.
        if (call.abandoned) return;
        billed = Usage.safeParse((answer?.body as { usage?: unknown } | null)?.usage);
        if (billed.success && billed.data.prompt_tokens + billed.data.completion_tokens > believable) {
          // Charged what it reports only up to the reservation, and never retried: a broken meter must not drain the budget.
          const prompt = Math.min(billed.data.prompt_tokens, reservation);
          const charged = { prompt_tokens: prompt, completion_tokens: Math.min(billed.data.completion_tokens, reservation - prompt) };
          this.charge(charged, call.ledger);
          unbelievable = { reported: billed.data, charged };
          break;
        }
        if (verdict.kind === 'answer') break;
        // A failed attempt the upstream still reports usage for was billed: it counts.
        if (billed.success) {
          failedAttemptTokens += this.charge(billed.data, call.ledger);
          if (call.ledger.left < 0) {
            outOfBudget = true;
            break;
          }
        }
        if (verdict.kind === 'fail') break;
        if (attempt >= p.attempts) {
          gaveUp = `${attempt} attempts`;
          break;
        }
        if (clientGone || stopSignal.aborted) {
          gaveUp = clientGone ? 'the agent closed the connection' : 'the gateway is stopping';
          break;
        }
        const now = p.now();
        const asked = retryAfterMs(answer?.headers, now);
        const delay = Math.max(asked ?? 0, backoffMs(p, attempt - 1));
        if (now - started + delay > p.totalMs) {
          gaveUp = `${attempt} attempt(s); ${asked !== undefined && asked >= delay ? `it asked to retry after ${asked} ms, ` : ''}the next would start after the ${p.totalMs} ms retry window`;
          break;
        }
        try {
          await p.sleep(delay, stopSignal);
        } catch {
          gaveUp = 'the gateway is stopping';
          break;
        }
        if (call.abandoned) return;
        call.retries++;
        this.used.retries++;
      }
    } finally {
      this.releaseCall(call);
    }
    const retries = call.retries;
    const latencyMs = p.now() - started;
    // The request as forwarded (allowlisted, limits capped): what the upstream billed.
    const bodies = (response: unknown) => (this.opts.recordBodies === false ? {} : { request: forwarded, response });

    if (unbelievable) {
      const { reported, charged } = unbelievable;
      const total = reported.prompt_tokens + reported.completion_tokens;
      this.used.upstreamFailures++;
      const detail = `the endpoint reported ${total} tokens (prompt ${reported.prompt_tokens}, completion ${reported.completion_tokens}) for a call that could bill at most ${reservation}`;
      const failure: InfraFailure = { endpoint: this.endpoint, status: answer?.status ?? null, message: detail, calls: this.used.upstreamFailures };
      this.lastFailure = failure;
      this.opts.transcript?.write('model_failed', { ...this.label(), endpoint: failure.endpoint, status: failure.status, message: detail, accountingFailure: true, attempts: retries + 1, retries, latencyMs, reserved: reservation, reportedUsage: reported, usage: charged, ...(failedAttemptTokens ? { failedAttemptTokens } : {}), ...bodies(answer?.body) });
      const message = `the model endpoint ${failure.endpoint} failed to account for a call: ${detail} (its reservation), so its usage cannot be trusted; the gateway charged ${charged.prompt_tokens + charged.completion_tokens} and did not pass the answer on. This is an infrastructure failure, not the agent's`;
      return this.reply(res, 502, { error: { message, type: 'upstream_error', code: 'upstream_unavailable', endpoint: failure.endpoint, upstream_status: failure.status } });
    }
    if (outOfBudget) {
      this.opts.transcript?.write('model_call', { ...this.label(), status: answer?.status ?? null, latencyMs, retries, usage: null, failedAttemptTokens, ...bodies(answer?.body) });
      return this.budgetExhausted(res, reservation, call.allowance && this.ledger.left >= 0 ? call.allowance : undefined);
    }
    if (verdict.kind !== 'answer') {
      this.used.upstreamFailures++;
      const failure: InfraFailure = { endpoint: this.endpoint, status: verdict.status, message: verdict.message, calls: this.used.upstreamFailures };
      this.lastFailure = failure;
      const last = failure.status === null ? `no answer (${failure.message})` : `HTTP ${failure.status}: ${failure.message}`;
      const message = `the model endpoint ${failure.endpoint} is unavailable${gaveUp ? ` after ${gaveUp}` : ''}; it last answered ${last}. This is an infrastructure failure, not the agent's`;
      // 'model_failed' is a transcript kind for calls that failed after retries.
      this.opts.transcript?.write('model_failed', { ...this.label(), endpoint: failure.endpoint, status: failure.status, message: failure.message, attempts: retries + 1, retries, latencyMs, failedAttemptTokens, ...bodies(answer?.body) });
      return this.reply(res, 502, { error: { message, type: 'upstream_error', code: 'upstream_unavailable', endpoint: failure.endpoint, upstream_status: failure.status } });
    }

    // The answer (a success, or a 4xx passed to the agent).
    if (!answer) throw new Error('an upstream answer was classified without one');
    const ok = answer.status >= 200 && answer.status < 300;
    // The answer of the last attempt, whose usage the loop read.
    const reported = billed ?? Usage.safeParse((answer.body as { usage?: unknown } | null)?.usage);
    // A success without usage is charged its whole reservation: the budget holds whatever the upstream does not report.
    const usage = reported.success ? reported.data : ok ? { prompt_tokens: promptReserve, completion_tokens: maxTokens } : undefined;
    if (usage) this.charge(usage, call.ledger);
    let overrun: Record<string, number> | undefined;
    if (reported.success) {
      const { prompt_tokens: prompt, completion_tokens: completion } = reported.data;
      if (prompt > promptReserve || prompt + completion > reservation) overrun = { reservedPrompt: promptReserve, reserved: reservation, reportedPrompt: prompt, reported: prompt + completion };
      // Later calls reserve the prompt excess on top: a template's tokens the margins missed are missed once.
      if (prompt > promptReserve) this.promptSlack = Math.max(this.promptSlack, slack + prompt - promptReserve);
    }
    this.opts.transcript?.write('model_call', {
      ...this.label(),
      ...(call.allowance ? { allowance: call.allowance.label } : {}),
      ...(usage && !reported.success ? { usageEstimated: true } : {}),
      status: answer.status,
      latencyMs,
      retries,
      reserved: reservation,
      usage: usage ?? null,
      ...(overrun ? { overrun } : {}),
      ...(failedAttemptTokens ? { failedAttemptTokens } : {}),
      ...(delivery.stream ? { stream: true } : {}),
      ...bodies(answer.body),
    });
    if (ok && delivery.stream) return this.replyStream(res, answer.body, delivery.includeUsage);
    this.reply(res, answer.status, answer.body);
  }

  /** Spends a reported usage on a call's ledger (the gateway's, or an allowance that draws on it) and this gateway's counts; returns its total. */
  private charge(u: Usage, ledger: TokenLedger): number {
    const total = u.prompt_tokens + u.completion_tokens;
    this.used.promptTokens += u.prompt_tokens;
    this.used.completionTokens += u.completion_tokens;
    this.used.totalTokens += total;
    ledger.spend(total);
    return total;
  }

  /** Refuses a call: the job's budget is spent, or (`allowance`) the caller's own allowance is while the job's is not. */
  private budgetExhausted(res: ServerResponse, needs: number, allowance?: OpenAllowance): void {
    const l = allowance?.ledger ?? this.ledger;
    const whose = allowance ? `token allowance of ${l.budget} tokens for task ${allowance.label}` : `token budget of ${l.budget} tokens for this job`;
    const message = `${whose} is spent (used ${l.spent}, reserved by calls in flight ${l.reserved}, this call needs about ${needs})`;
    if (allowance) {
      this.used.taskRejected++;
      allowance.rejected++;
    } else this.used.rejected++;
    this.opts.transcript?.write('model_rejected', { ...this.label(), ...(allowance ? { allowance: allowance.label, scope: 'task' } : {}), reason: 'budget_exhausted', message });
    this.reply(res, 429, { error: { message, type: 'insufficient_quota', code: 'budget_exhausted' } });
  }

  /**
   * Serves a complete chat.completion as the server-sent events of a stream (`stream: true`): one
   * chunk with each choice's whole message, one with its finish reason, the usage chunk when
   * `stream_options.include_usage` asked for it, then `[DONE]`.
   */
  private replyStream(res: ServerResponse, body: unknown, includeUsage: boolean): void {
    const b = (body ?? {}) as { id?: string; created?: number; model?: string; system_fingerprint?: string; choices?: unknown; usage?: unknown };
    const base = { id: b.id ?? 'chatcmpl-gateway', object: 'chat.completion.chunk', created: b.created ?? Math.floor(Date.now() / 1000), model: b.model ?? this.model, ...(b.system_fingerprint ? { system_fingerprint: b.system_fingerprint } : {}) };
    const choices = Array.isArray(b.choices) ? (b.choices as { index?: number; message?: Record<string, unknown>; finish_reason?: string; logprobs?: unknown }[]) : [];
    const events: unknown[] = [];
    const u = includeUsage ? { usage: null } : {};
    choices.forEach((c, i) => {
      const index = c.index ?? i;
      const m = c.message ?? {};
      const delta: Record<string, unknown> = { role: m.role ?? 'assistant', content: m.content ?? null };
      if (typeof m.refusal === 'string') delta.refusal = m.refusal;
      if (Array.isArray(m.tool_calls)) delta.tool_calls = (m.tool_calls as Record<string, unknown>[]).map((t, k) => ({ index: k, ...t }));
      events.push({ ...base, choices: [{ index, delta, logprobs: c.logprobs ?? null, finish_reason: null }], ...u });
      events.push({ ...base, choices: [{ index, delta: {}, logprobs: null, finish_reason: c.finish_reason ?? 'stop' }], ...u });
    });
    if (includeUsage) events.push({ ...base, choices: [], usage: b.usage ?? null });
    const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private label(): Record<string, string> {
    return this.opts.name ? { gateway: this.opts.name } : {};
  }
}

/** An AbortController whose signal every call in flight listens to: no warning for more than 10 listeners. */
function sharedController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

/** An allowance the gateway serves (see TokenAllowance). */
class OpenAllowance implements TokenAllowance {
  rejected = 0;
  constructor(
    readonly apiKey: string,
    readonly label: string,
    readonly ledger: TokenLedger,
    private readonly onClose: (key: string) => void,
  ) {}
  close(): void {
    this.onClose(this.apiKey);
  }
}
