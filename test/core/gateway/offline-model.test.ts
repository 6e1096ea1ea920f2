import { offlineAnswer, parseClassificationPrompt } from '../../../core/cbm/classification/offline';
import { offlineChatCompletion, offlineReply } from '../../../core/gateway/offline-model';

describe('offline model', () => {
  const header = 'Answer with exactly one of these labels: TAI safety research | not TAI safety research\n\nExamples:\n\n';
  const query = (text: string) => `Now classify this abstract.\nAbstract: ${text}\nLabel:`;

  test('with no labelled example it answers the first allowed label', () => {
    expect(offlineAnswer(header + query('anything at all'))).toBe('TAI safety research');
    expect(offlineAnswer('no labels here')).toBe('unknown');
  });

  test('answers the label of the most similar example, so better examples change its answers', () => {
    const ex = (t: string, l: string) => `Abstract: ${t}\nLabel: ${l}\n\n`;
    const prompt = header + ex('reward hacking by deceptive policies in reinforcement learning', 'TAI safety research') + ex('convolutional networks for retinal image segmentation', 'not TAI safety research');
    expect(offlineAnswer(prompt + query('segmentation of retinal images with convolutional networks'))).toBe('not TAI safety research');
    expect(offlineAnswer(prompt + query('deceptive policies that exploit reward'))).toBe('TAI safety research');
  });

  test('ignores the instruction line above the query', () => {
    const p = parseClassificationPrompt(header + 'Abstract: a b c\nLabel: x\n\n' + query('the query text'));
    expect(p.query).toBe('the query text');
    expect(p.examples).toEqual([{ text: 'a b c', label: 'x' }]);
    expect(p.labels).toEqual(['TAI safety research', 'not TAI safety research']);
  });

  test('the chat endpoint answers a classification request from its last user message', () => {
    const ex = (t: string, l: string) => `Abstract: ${t}\nLabel: ${l}\n\n`;
    const prompt = header + ex('reward hacking by deceptive policies', 'TAI safety research') + ex('retinal image segmentation', 'not TAI safety research') + query('segmentation of retinal images');
    const messages = [
      { role: 'system' as const, content: 'You are a classifier.' },
      { role: 'user' as const, content: 'no labels here' },
      { role: 'assistant' as const, content: 'unknown' },
      { role: 'user' as const, content: prompt },
    ];
    expect(offlineReply({ model: 'offline', messages })).toBe(offlineAnswer(prompt));
    expect(offlineReply({ model: 'offline', messages })).toBe('not TAI safety research');
  });

  test('stops at max_tokens like a real endpoint: the answer is cut and finish_reason is length', () => {
    const messages = [{ role: 'user' as const, content: header + query('x y z') }];
    const full = offlineChatCompletion({ model: 'offline', messages, max_tokens: 7 }) as { choices: { message: { content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect([full.choices[0].message.content, full.choices[0].finish_reason, full.usage.completion_tokens]).toEqual(['TAI safety research', 'stop', 6]);
    const cut = offlineChatCompletion({ model: 'offline', messages, max_completion_tokens: 3 }) as typeof full;
    expect([cut.choices[0].message.content, cut.choices[0].finish_reason, cut.usage.completion_tokens]).toEqual(['TAI safe', 'length', 3]);
  });

  test('is deterministic and reports usage in the OpenAI wire format', () => {
    const req = { model: 'offline', messages: [{ role: 'user', content: header + query('x y z') }] };
    const a = offlineChatCompletion(req);
    expect(a).toEqual(offlineChatCompletion(req));
    const usage = a.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).toBe(Math.ceil((header + query('x y z')).length / 4) + 4);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(a.object).toBe('chat.completion');
  });
});
