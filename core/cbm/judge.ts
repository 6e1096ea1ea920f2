import { callHold, type ModelGateway, type Upstream } from '../gateway/gateway';
import { JudgeUnavailableError, JudgeVerdictError, type Judge } from './types';

/**
 * The least `judge.tokensPerTask` can be for a judge model: what judging an empty response of the
 * hungriest task holds on the judge's ledger (its upstream's prompt bound, the verdict's tokens and
 * the tolerated overrun). A smaller allowance could judge no response at all.
 */
export function judgeAllowanceFloor(upstream: Pick<Upstream, 'promptReserve' | 'exactUsage'>, messages: readonly { role: string; content: string }[][]): number {
  return Math.max(0, ...messages.map((m) => callHold(upstream, { messages: [...m], max_tokens: JUDGE_MAX_TOKENS }, JUDGE_MAX_TOKENS)));
}

/** A response whose judge call would not fit the CBM's per-task judge allowance: the agent's doing (scored 0), never the judge's. */
export class JudgeAllowanceError extends Error {}

/** Completion tokens a judge call asks for when the kind sets none: a one-word verdict. */
export const JUDGE_MAX_TOKENS = 8;

/**
 * The judge a scorer asks, in the harness (never in an agent's sandbox): calls go through
 * `gateway` — metered, on the judge's own budget, retried on transient failures — at `baseUrl`
 * with the gateway's job token. A call that could hold more than `tokensPerTask` on the ledger is
 * refused before it is sent ({@link JudgeAllowanceError}), so the budget (tasks × tokensPerTask)
 * always covers every task. An endpoint that failed after retries, or a malformed answer, rejects
 * with {@link JudgeUnavailableError}: the task is an infra_error, never a score. A call refused for
 * its content (HTTP 400/422) rejects with {@link JudgeVerdictError}: the response's doing.
 */
export function gatewayJudge(gateway: ModelGateway, baseUrl: string, tokensPerTask: number): Judge {
  return {
    async ask(messages, opts = {}) {
      const maxTokens = opts.maxTokens ?? JUDGE_MAX_TOKENS;
      const request = { model: gateway.model, messages, max_tokens: maxTokens, temperature: 0 };
      const hold = gateway.holdFor(request, maxTokens);
      if (hold > tokensPerTask)
        throw new JudgeAllowanceError(`the response is too long to judge within the CBM's judge.tokensPerTask (${tokensPerTask} tokens; this call could take ${hold})`);
      let res: Response;
      try {
        res = await fetch(`${baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.jobToken}` }, body: JSON.stringify(request) });
      } catch (e) {
        throw new JudgeUnavailableError(`the judge's gateway did not answer (${(e as Error).message})`);
      }
      const text = await res.text();
      let body: { choices?: { message?: { content?: string | null } }[]; error?: { message?: string } } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        /* reported below */
      }
      // The judge refused the call for what it holds (a content filter): the response's doing, not the endpoint's.
      if (res.status === 400 || res.status === 422) throw new JudgeVerdictError(`the judge ${gateway.endpoint} refused to judge this response: HTTP ${res.status}: ${(body.error?.message ?? text).slice(0, 300)}`);
      if (!res.ok) throw new JudgeUnavailableError(`the judge ${gateway.endpoint} failed: HTTP ${res.status}: ${(body.error?.message ?? text).slice(0, 300)}`);
      const content = body.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new JudgeUnavailableError(`the judge ${gateway.endpoint} answered without a message: ${text.slice(0, 200)}`);
      return content;
    },
  };
}
