import type { ChatRequest } from './chat';

/**
 * What the gateway forwards of an agent's chat-completions request. The forwarded request is
 * rebuilt from an allowlist: every field the gateway can meter (its cost is prompt tokens it
 * reserves for, or completion tokens bounded by the limit it sets) is kept; a field that can bill
 * what the gateway cannot reserve for, or that it does not know, is refused with HTTP 400 naming
 * the field and why. A field set to `null` counts as absent (clients often send those).
 */

/** A refused request: the field (a JSON path such as `messages[2].content[1].type`) and why. */
export interface Refusal {
  field: string;
  message: string;
}

/** How the agent asked for the answer: a JSON body, or a server-sent-event stream (served from the complete answer). */
export type Delivery = { stream: false } | { stream: true; includeUsage: boolean };

export interface SanitizedRequest {
  /** The request to forward (the gateway sets the completion-token limit on it). */
  request: ChatRequest;
  delivery: Delivery;
  /** The completion-token limit fields the caller set, with their values (the gateway caps each). */
  limits: { max_tokens?: number; max_completion_tokens?: number };
}

/** Fields that are refused, and why. */
export const REFUSED_FIELDS: Readonly<Record<string, string>> = {
  functions: 'legacy function calling is not forwarded: send the same schemas as `tools` (type "function")',
  function_call: 'legacy function calling is not forwarded: use `tool_choice`',
  audio: 'audio output is billed as audio tokens, which the gateway does not meter',
  modalities: 'only text output is forwarded (audio output is billed as audio tokens, which the gateway does not meter); leave `modalities` unset or ["text"]',
  prediction: 'predicted outputs bill rejected prediction tokens as completion tokens beyond the limit the gateway reserves for',
  web_search_options: 'web search is billed per search, outside token usage',
  service_tier: 'the service tier changes the price per token, which the job budget does not know',
  store: 'the gateway does not let agents keep completions at the provider; leave `store` unset or false',
  metadata: 'metadata is only used with `store`, which the gateway does not forward',
};

/** Fields kept as they are (after a type check), beyond messages, tools, limits, n and stream, which have their own rules. A Map: only its own keys match, never `Object.prototype`'s. */
const PLAIN_FIELDS: ReadonlyMap<string, (v: unknown) => string | undefined> = new Map(Object.entries({
  temperature: number,
  top_p: number,
  presence_penalty: number,
  frequency_penalty: number,
  seed: integer(Number.MIN_SAFE_INTEGER),
  stop: (v) => (typeof v === 'string' || (Array.isArray(v) && v.length <= 4 && v.every((s) => typeof s === 'string')) ? undefined : 'must be a string or an array of at most 4 strings'),
  user: string,
  safety_identifier: string,
  prompt_cache_key: string,
  parallel_tool_calls: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  tool_choice: (v) => (typeof v === 'string' || isObject(v) ? undefined : 'must be "none", "auto", "required" or an object naming a tool'),
  response_format: (v) => (isObject(v) && typeof own(v, 'type') === 'string' ? undefined : 'must be an object with a `type` ("text", "json_object" or "json_schema")'),
  logprobs: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  top_logprobs: integer(0),
  logit_bias: (v) => (isObject(v) && Object.values(v).every((x) => typeof x === 'number') ? undefined : 'must be an object of token ids to numbers'),
  reasoning_effort: string,
  verbosity: string,
}));

/** Fields the gateway reads but never forwards as sent: model (the gateway's), n (only 1), stream (served from a complete answer). */
const OWN_FIELDS = ['model', 'messages', 'max_tokens', 'max_completion_tokens', 'n', 'stream', 'tools'];

/** Every top-level field the gateway accepts, for error messages. */
export const ALLOWED_FIELDS: readonly string[] = [...OWN_FIELDS, 'stream_options', ...PLAIN_FIELDS.keys()];

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal']);

/**
 * Checks an agent's request and rebuilds it from the allowlist, or says which field is refused and
 * why. `model` is dropped (the upstream sets its own); `n` must be 1; `stream: true` is answered as
 * a stream the gateway builds from the complete answer (the upstream is never asked to stream).
 */
export function sanitizeChatRequest(raw: unknown): { ok: true; value: SanitizedRequest } | { ok: false; refusal: Refusal } {
  const refuse = (field: string, message: string) => ({ ok: false as const, refusal: { field, message } });
  if (!isObject(raw)) return refuse('(body)', 'the request body must be a JSON object');
  const malformed = checkJsonValue(raw, '', 1);
  if (malformed) return { ok: false, refusal: malformed };
  const out: Record<string, unknown> = {};
  const limits: SanitizedRequest['limits'] = {};
  let delivery: Delivery = { stream: false };
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    if (key === 'model') {
      if (typeof value !== 'string') return refuse('model', 'must be a string');
    } else if (key === 'messages') {
      const m = sanitizeMessages(value);
      if ('field' in m) return { ok: false, refusal: m };
      out.messages = m.messages;
    } else if (key === 'max_tokens' || key === 'max_completion_tokens') {
      if (!Number.isSafeInteger(value) || (value as number) < 1) return refuse(key, 'must be a whole number of tokens >= 1');
      limits[key] = value as number;
    } else if (key === 'n') {
      if (value !== 1) return refuse('n', `only n = 1 is forwarded (received ${JSON.stringify(value)}): the gateway reserves tokens for one answer per call. Make one call per answer you need`);
    } else if (key === 'stream') {
      if (typeof value !== 'boolean') return refuse('stream', 'must be true or false');
      if (value) delivery = { stream: true, includeUsage: delivery.stream ? delivery.includeUsage : false };
    } else if (key === 'stream_options') {
      if (own(raw, 'stream') !== true) return refuse('stream_options', 'only allowed with `stream: true`');
      const extra = isObject(value) ? Object.keys(value).find((k) => k !== 'include_usage' && value[k] !== null) : '(not an object)';
      if (extra !== undefined) return refuse(`stream_options${isObject(value) ? `.${extra}` : ''}`, 'only `stream_options.include_usage` is supported');
      delivery = { stream: true, includeUsage: isObject(value) && own(value, 'include_usage') === true };
    } else if (key === 'tools') {
      const t = sanitizeTools(value);
      if (t) return { ok: false, refusal: t };
      if ((value as unknown[]).length > 0) out.tools = value;
    } else if (PLAIN_FIELDS.has(key)) {
      const problem = (PLAIN_FIELDS.get(key) as (v: unknown) => string | undefined)(value);
      if (problem) return refuse(key, problem);
      out[key] = value;
    } else if (key === 'store' && value === false) {
      continue;
    } else if (key === 'modalities' && Array.isArray(value) && value.length === 1 && value[0] === 'text') {
      continue;
    } else if (Object.hasOwn(REFUSED_FIELDS, key)) {
      return refuse(key, REFUSED_FIELDS[key]);
    } else {
      return refuse(key, `not a chat-completions field the gateway forwards (it forwards only: ${ALLOWED_FIELDS.join(', ')})`);
    }
  }
  if (!Array.isArray(out.messages)) return refuse('messages', 'required: a non-empty array of messages');
  return { ok: true, value: { request: out as ChatRequest, delivery, limits } };
}

function sanitizeMessages(value: unknown): { messages: Record<string, unknown>[] } | Refusal {
  if (!Array.isArray(value) || value.length === 0) return { field: 'messages', message: 'must be a non-empty array of messages' };
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < value.length; i++) {
    const m = value[i] as unknown;
    const at = `messages[${i}]`;
    if (!isObject(m)) return { field: at, message: 'must be an object with a role and content' };
    const role = own(m, 'role');
    if (typeof role !== 'string' || !ROLES.has(role))
      return { field: `${at}.role`, message: `must be one of ${[...ROLES].join(', ')} (received ${JSON.stringify(role)})${role === 'function' ? ': legacy function messages are not forwarded, reply to tool calls with role "tool"' : ''}` };
    const msg: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(m)) {
      if (v === null || v === undefined) continue;
      if (key === 'annotations') continue; // output-only (URL citations of an earlier answer): dropped
      if (!MESSAGE_FIELDS.has(key)) {
        const why = key === 'audio' ? 'audio is not forwarded' : key === 'function_call' ? 'legacy function calling is not forwarded: use tool_calls' : `not a message field the gateway forwards (it forwards: ${[...MESSAGE_FIELDS].join(', ')})`;
        return { field: `${at}.${key}`, message: why };
      }
      if (key === 'content') {
        const c = checkContent(v, `${at}.content`);
        if (c) return c;
      } else if (key === 'tool_calls') {
        const c = checkToolCalls(v, `${at}.tool_calls`);
        if (c) return c;
      } else if (typeof v !== 'string') {
        return { field: `${at}.${key}`, message: 'must be a string' };
      }
      msg[key] = v;
    }
    messages.push(msg);
  }
  return { messages };
}

function checkContent(v: unknown, at: string): Refusal | undefined {
  if (typeof v === 'string') return undefined;
  if (!Array.isArray(v)) return { field: at, message: 'must be a string or an array of text parts' };
  for (let j = 0; j < v.length; j++) {
    const part = v[j] as unknown;
    if (!isObject(part)) return { field: `${at}[${j}]`, message: 'must be a text part {"type": "text", "text": "..."}' };
    const type = own(part, 'type');
    if (type !== 'text') {
      const what = type === 'image_url' ? 'images (and the URLs they point to)' : type === 'input_audio' ? 'audio input' : type === 'file' ? 'files' : `"${String(type)}" parts`;
      return { field: `${at}[${j}].type`, message: `${what} are not forwarded: the gateway meters text only. Send the content as text` };
    }
    if (typeof own(part, 'text') !== 'string') return { field: `${at}[${j}].text`, message: 'must be a string' };
    const extra = Object.keys(part).find((k) => k !== 'type' && k !== 'text' && part[k] !== null);
    if (extra) return { field: `${at}[${j}].${extra}`, message: 'a text part has only `type` and `text`' };
  }
  return undefined;
}

function checkToolCalls(v: unknown, at: string): Refusal | undefined {
  if (!Array.isArray(v)) return { field: at, message: 'must be an array of tool calls' };
  for (let j = 0; j < v.length; j++) {
    const c = v[j] as unknown;
    const fn = isObject(c) ? own(c, 'function') : undefined;
    if (!isObject(c) || !isObject(fn) || typeof own(fn, 'name') !== 'string')
      return { field: `${at}[${j}]`, message: 'must be {"id", "type": "function", "function": {"name", "arguments"}}' };
    const type = own(c, 'type');
    if (type !== undefined && type !== 'function') return { field: `${at}[${j}].type`, message: 'only "function" tool calls are forwarded' };
  }
  return undefined;
}

function sanitizeTools(v: unknown): Refusal | undefined {
  if (!Array.isArray(v)) return { field: 'tools', message: 'must be an array of {"type": "function", "function": {...}}' };
  for (let j = 0; j < v.length; j++) {
    const t = v[j] as unknown;
    if (!isObject(t)) return { field: `tools[${j}]`, message: 'must be {"type": "function", "function": {"name", "description", "parameters"}}' };
    const type = own(t, 'type');
    if (type !== 'function') return { field: `tools[${j}].type`, message: `only "function" tools are forwarded (received ${JSON.stringify(type)}): built-in tools are billed outside token usage` };
    const fn = own(t, 'function');
    if (!isObject(fn) || typeof own(fn, 'name') !== 'string') return { field: `tools[${j}].function`, message: 'must be an object with a `name`' };
    const extra = Object.keys(t).find((k) => k !== 'type' && k !== 'function' && t[k] !== null);
    if (extra) return { field: `tools[${j}].${extra}`, message: 'a tool has only `type` and `function`' };
  }
  return undefined;
}

/** Deepest nesting of arrays and objects a request may have: far more than any real tool schema, and a bound on every recursive walk of it (JSON.stringify overflows the stack around 10,000 levels). */
export const MAX_JSON_DEPTH = 64;
/** Keys refused anywhere in a request: they name or reach an object's prototype. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Checks every value of a request, at any depth, before anything else reads it: nesting at most
 * MAX_JSON_DEPTH levels; no `__proto__`, `constructor` or `prototype` key; every string and key
 * well-formed Unicode (a lone surrogate, e.g. "\ud800", is not text an endpoint can encode: one
 * that crashes on it would turn an agent's request into an infrastructure failure of its choosing).
 */
function checkJsonValue(v: unknown, at: string, depth: number): Refusal | undefined {
  const r = findMalformed(v, depth);
  return r && { field: r.path.reduceRight(joinPath, at) || '(body)', message: r.message };
}

/** A step of a JSON path: an array index, or an object key. */
type PathStep = number | { key: string };

/** `at` followed by one more step, as refusals name fields: `a.b`, `a[0]`, `a["odd key"]`. */
function joinPath(at: string, step: PathStep): string {
  if (typeof step === 'number') return `${at}[${step}]`;
  return /^[\w$-]+$/.test(step.key) ? (at ? `${at}.${step.key}` : step.key) : `${at}[${JSON.stringify(step.key)}]`;
}

/**
 * The walk of checkJsonValue. Paths are built only for the value it refuses (steps collected as
 * it returns, innermost first), never for the values it accepts: it runs on every call.
 */
function findMalformed(v: unknown, depth: number): { path: PathStep[]; message: string } | undefined {
  if (typeof v === 'string') return isWellFormed(v) ? undefined : { path: [], message: 'is not well-formed Unicode (it holds a lone surrogate such as "\\ud800"): send valid UTF-8 text' };
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth > MAX_JSON_DEPTH) return { path: [], message: `nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep: flatten it` };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = findMalformed(v[i] as unknown, depth + 1);
      if (r) {
        r.path.push(i);
        return r;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (!isWellFormed(key)) return { path: [], message: `has a key that is not well-formed Unicode (${JSON.stringify(key)}): send valid UTF-8 text` };
    if (PROTOTYPE_KEYS.has(key)) return { path: [{ key }], message: `the key "${key}" is refused anywhere in a request (it names an object's prototype)` };
    const r = findMalformed((v as Record<string, unknown>)[key], depth + 1);
    if (r) {
      r.path.push({ key });
      return r;
    }
  }
  return undefined;
}

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 lib types): no lone surrogate. */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** An object's own property, never one inherited from `Object.prototype`. */
function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function number(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a number';
}

function string(v: unknown): string | undefined {
  return typeof v === 'string' ? undefined : 'must be a string';
}

function integer(min: number): (v: unknown) => string | undefined {
  return (v) => (Number.isSafeInteger(v) && (v as number) >= min ? undefined : `must be a whole number >= ${min}`);
}
