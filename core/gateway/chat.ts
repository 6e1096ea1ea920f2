import { z } from 'zod';

/** The part of an OpenAI chat-completions request the gateway and the offline model read; the rest passes through. */
export const ChatRequest = z.looseObject({
  model: z.string().optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]).optional() })).min(1),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

export const Usage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

/** Plain text of a message content (string or content parts). */
export function contentText(content: ChatRequest['messages'][number]['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

/** Rough token estimate (4 characters a token): the offline model's exact count, and the gateway's pre-call reservation. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Prompt tokens of a request's messages: ceil(characters ÷ 4) + 4 per message. The offline
 * model's exact count, and what the gateway reserves for them before a call (so with the offline
 * model a job's spend can never pass its budget).
 */
export function promptTokens(req: ChatRequest): number {
  return req.messages.reduce((n, m) => n + estimateTokens(contentText(m.content)) + 4, 0);
}

/** Bytes of a string in UTF-8. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Reserved for the chat template around the messages (start/end markers, a system preamble some open models add). */
export const TEMPLATE_RESERVE = 64;
/** Reserved per message for its role and markers. */
export const MESSAGE_RESERVE = 8;
/** Reserved once for a request with tools: the instructions some chat templates wrap tool definitions in. */
export const TOOLS_RESERVE = 256;

/** The completion-token limit fields: the gateway sets them (they are not prompt text), so the prompt bound leaves them out. */
const LIMIT_FIELDS = new Set(['max_tokens', 'max_completion_tokens']);

/**
 * An upper bound on the prompt tokens a real endpoint can count for a request: a token of a
 * byte-level tokenizer (BPE, or SentencePiece with byte fallback) covers at least one byte, so
 * the UTF-8 bytes of the JSON serialization of everything forwarded (but the limit fields) bound
 * its tokens, whatever field a text travels in (contents, names, refusals, tool calls, tool ids,
 * tool and response-format schemas, `stop`, …): JSON escaping only adds bytes to a string, and
 * keys, quotes and brackets only add more. Nothing is enumerated, so a field the allowlist
 * forwards cannot be missed. Fixed margins cover the chat template's own tokens. Far above
 * ceil(characters ÷ 4) for English, which real tokenizers count close to: the price of never
 * reserving less than a call can bill.
 */
export function promptUpperBound(req: ChatRequest): number {
  // The gateway's rebuilt requests carry no limit field yet: then the request itself is what is sent.
  const sent = Object.keys(req).some((k) => LIMIT_FIELDS.has(k)) ? Object.fromEntries(Object.entries(req).filter(([k]) => !LIMIT_FIELDS.has(k))) : req;
  const tools = (req as { tools?: unknown }).tools;
  return TEMPLATE_RESERVE + MESSAGE_RESERVE * req.messages.length + (Array.isArray(tools) && tools.length > 0 ? TOOLS_RESERVE : 0) + utf8Bytes(JSON.stringify(sent));
}

/** Tool definitions and tool calls of a request, as text. */
export function toolText(req: ChatRequest): string {
  const calls = req.messages.map((m) => (m as { tool_calls?: unknown }).tool_calls).filter((c) => c !== undefined);
  const tools = (req as { tools?: unknown }).tools;
  return (tools === undefined ? '' : JSON.stringify(tools)) + (calls.length ? JSON.stringify(calls) : '');
}
