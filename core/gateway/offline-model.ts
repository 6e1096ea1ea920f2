import { createHash } from 'node:crypto';
import { classificationKind } from '../cbm/classification';
import { offlineAnswer as classificationOffline } from '../cbm/classification/offline';
import { CBM_KINDS } from '../cbm/registry';
import { ChatRequest, contentText, estimateTokens, promptTokens } from './chat';

/**
 * The `offline` model: a deterministic stand-in for an LLM, so demos and tests run without a
 * network. Its whole behaviour:
 *
 * 1. It reads the request's last user message and asks each CBM kind in the registry's order
 *    (core/cbm/registry.ts) whether the request is its judge prompt, then whether it has that
 *    kind's shape; the first kind that
 *    recognises it answers (each kind documents its rules: classification in
 *    core/cbm/classification/offline.ts, the others in their folders and docs/). A request no
 *    other kind claims is read as a classification prompt.
 * 2. Usage: prompt tokens = ceil(characters ÷ 4) of all messages + 4 per message; completion
 *    tokens = ceil(answer characters ÷ 4) + 1.
 * 3. Like a real endpoint it stops at `max_completion_tokens` (or `max_tokens`): an answer that
 *    would take more is cut to (limit − 1) × 4 characters, with `finish_reason: "length"` and
 *    completion tokens = the limit.
 *
 * So a prompt edit that would help a real model changes its answers too: an uplift measured with
 * it is computed, never scripted.
 */
export const OFFLINE_MODEL_NAME = 'offline';

/** The offline model's answer to a request (rule 1). */
export function offlineReply(req: ChatRequest): string {
  const userMessages = req.messages.filter((m) => m.role === 'user');
  const last = userMessages.length ? contentText(userMessages[userMessages.length - 1].content) : '';
  const kinds = Object.values(CBM_KINDS);
  // Judge prompts first: they quote an agent's response, which may look like any kind's prompt.
  for (const k of kinds) {
    const verdict = k.offlineJudge?.(last);
    if (verdict !== undefined) return verdict;
  }
  for (const k of kinds) {
    if (k.kind === classificationKind.kind) continue;
    const answer = k.offlineAnswer?.(req, last);
    if (answer !== undefined) return answer;
  }
  return classificationOffline(last);
}

/** A full chat.completion response in the OpenAI wire format, usage included (rule 2). */
export function offlineChatCompletion(req: ChatRequest): Record<string, unknown> {
  const full = offlineReply(req);
  const limit = req.max_completion_tokens ?? req.max_tokens ?? Number.MAX_SAFE_INTEGER;
  const needed = estimateTokens(full) + 1;
  const cut = needed > limit;
  const answer = cut ? full.slice(0, (limit - 1) * 4) : full;
  const completionTokens = cut ? limit : needed;
  const prompt = promptTokens(req);
  const id = createHash('sha256').update(JSON.stringify(req.messages)).digest('hex').slice(0, 24);
  return {
    id: `chatcmpl-offline-${id}`,
    object: 'chat.completion',
    created: 0,
    model: OFFLINE_MODEL_NAME,
    system_fingerprint: 'uplift-offline-v1',
    choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, logprobs: null, finish_reason: cut ? 'length' : 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens },
  };
}
