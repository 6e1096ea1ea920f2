import { setTimeout as sleepTimer } from 'node:timers/promises';

/** How the gateway retries an upstream that fails. */
export interface RetryOptions {
  /** Attempts per call, the first included. @default 5 */
  attempts?: number;
  /** No attempt starts, and no wait is begun that would end, later than this after the call's first attempt. @default 60000 */
  totalMs?: number;
  /** Backoff before retry k (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs × 2^k)] ("full jitter"). @default 500 */
  baseDelayMs?: number;
  /** @default 20000 */
  maxDelayMs?: number;
  /** Waits (tests inject one that records and returns at once). Rejects when `signal` aborts (the gateway stops). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
  /** @default Date.now */
  now?: () => number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  totalMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  sleep: (ms, signal) => sleepTimer(ms, undefined, { signal }),
  random: Math.random,
  now: Date.now,
};

export function retryPolicy(opts: RetryOptions = {}): RetryPolicy {
  const p = { ...DEFAULT_RETRY, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as RetryPolicy;
  if (!Number.isInteger(p.attempts) || p.attempts < 1) throw new RangeError(`retry.attempts must be a whole number >= 1 (received ${p.attempts})`);
  for (const k of ['totalMs', 'baseDelayMs', 'maxDelayMs'] as const) if (!(p[k] >= 0)) throw new RangeError(`retry.${k} must be >= 0 (received ${p[k]})`);
  return p;
}

/** Full-jitter exponential backoff before retry `k` (0-based). */
export function backoffMs(p: RetryPolicy, k: number): number {
  return Math.floor(p.random() * Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** k));
}

/**
 * The wait an upstream asked for, in ms: `retry-after-ms` (OpenAI), else `Retry-After` in seconds
 * or as an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined> | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const get = (name: string): string | undefined => {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const v = key === undefined ? undefined : headers[key];
    return Array.isArray(v) ? v[0] : v;
  };
  const ms = get('retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const ra = get('retry-after');
  if (ra === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What to do with an upstream answer or error. */
export type Verdict =
  /** Pass to the agent as it is (a success with choices, or a 4xx that is the agent's request's fault). */
  | { kind: 'answer' }
  /** A transient failure: retry (429, 5xx, 408, no JSON, a 2xx without choices, connection errors and timeouts). */
  | { kind: 'retry'; status: number | null; message: string }
  /** A failure retrying cannot fix and that is not the agent's fault (the gateway's key or account): report it as an infrastructure failure now. */
  | { kind: 'fail'; status: number | null; message: string };

/** Codes of an upstream 429 that mean the account is out of credit or over its plan: waiting does not help. */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active', 'access_terminated']);

/** Classifies an upstream answer (status and parsed body). */
export function classifyAnswer(status: number, body: unknown): Verdict {
  if (status >= 200 && status < 300) {
    // A success is an answer only with `choices` (an empty list is the agent's to handle): `200 {"error": ...}`, which some proxies send, is a failure, retried like a 5xx.
    const choices = typeof body === 'object' && body !== null && Object.hasOwn(body, 'choices') ? (body as { choices: unknown }).choices : undefined;
    if (Array.isArray(choices)) return { kind: 'answer' };
    return { kind: 'retry', status, message: `an answer without choices: ${answerMessage(body)}` };
  }
  // Worked out only here, for an answer that is not a success: never on the path of every call.
  const err = (body as { error?: { message?: unknown; code?: unknown; type?: unknown } } | null)?.error;
  const message = answerMessage(body);
  const code = typeof err?.code === 'string' ? err.code : typeof err?.type === 'string' ? err.type : '';
  if (status === 429 && QUOTA_CODES.has(code)) return { kind: 'fail', status, message };
  // The agent never holds the upstream's key: a refused key is the job's configuration, not the agent's request.
  if (status === 401 || status === 403) return { kind: 'fail', status, message };
  if (status === 404 && code === 'model_not_found') return { kind: 'fail', status, message };
  if (status === 429 || status === 408 || status >= 500) return { kind: 'retry', status, message };
  return { kind: 'answer' };
}

/** What an upstream answer says went wrong: its error message, else (the start of) the body. */
function answerMessage(body: unknown): string {
  const err = (body as { error?: { message?: unknown } } | null)?.error;
  return typeof err?.message === 'string' ? err.message : typeof body === 'string' ? body : JSON.stringify(body ?? null).slice(0, 300);
}

/** Classifies an error thrown by an upstream call (connection refused or reset, timeout, …): always transient. */
export function classifyError(e: unknown): Verdict {
  const err = e as { message?: string; code?: string };
  const message = `${err.code && !String(err.message).includes(err.code) ? `${err.code}: ` : ''}${err.message ?? String(e)}`;
  return { kind: 'retry', status: null, message };
}
