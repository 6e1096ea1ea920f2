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
