import type { ChatRequest } from '../../../../core/gateway/chat';
import { offlineReply as offlineModelReply } from '../../../../core/gateway/offline-model';
import { promptInjectionKind, type PiSpecFields, type PiTask } from '../../../../core/cbm/prompt-injection';
import { renderChat, type ChatTemplates } from '../../../../core/cbm/prompt-injection/defences';
import type { Judge } from '../../../../core/cbm/types';

/** The chat-assistant's templates as shipped (examples/agents/chat-assistant). */
export const SHIPPED: ChatTemplates = { system: '{{system}}\n', user: '{{user}}\n', config: { datamark: '', max_tokens: 300 } };

export const SPEC: PiSpecFields = { judge: { model: { provider: 'offline', latencyMs: 0 }, tokensPerTask: 400 } };

/** What the offline model answers a request (its judge calls and chats), exactly as the offline server dispatches it. */
export function offlineReply(messages: ChatRequest['messages']): string {
  return offlineModelReply({ messages });
}

/** The offline judge, as a Judge. */
export const offlineJudge: Judge = { ask: async (messages) => offlineReply(messages) };

/** Scores of tasks when the chat-assistant with templates `t` runs on the offline model, judged by the offline judge. */
export async function offlineRates(tasks: readonly PiTask[], t: ChatTemplates): Promise<{ objective: number; guard: number }> {
  let attacks = 0;
  let failed = 0;
  let benign = 0;
  let helped = 0;
  for (const task of tasks) {
    const input = promptInjectionKind.toInput(task, { task: '', source: '', variants: [], dev: { attacks: 0, benign: 0 } }) as unknown as { system: string; user: string };
    const chat = renderChat(t, input);
    const output = offlineReply([
      { role: 'system', content: chat.system },
      { role: 'user', content: chat.user },
    ]).trim();
    const s = await promptInjectionKind.score(task, output, { judge: offlineJudge }, SPEC, { task: '', source: '', variants: [], dev: { attacks: 0, benign: 0 } });
    if (task.set === 'objective') {
      attacks++;
      failed += s;
    } else {
      benign++;
      helped += s;
    }
  }
  return { objective: failed / attacks, guard: helped / benign };
}
