import { promptUpperBound } from '../../../core/gateway/chat';
import { sanitizeChatRequest } from '../../../core/gateway/request-policy';

const ok = (raw: unknown) => {
  const r = sanitizeChatRequest(raw);
  if (!r.ok) throw new Error(`refused: ${r.refusal.field}: ${r.refusal.message}`);
  return r.value;
};

describe('request policy', () => {
  test('GIVEN an assistant message as an SDK echoes it back (nulls, annotations) WHEN sanitized THEN the nulls and annotations are dropped and the rest kept', () => {
    const v = ok({
      model: 'x',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, refusal: null, audio: null, function_call: null, annotations: [], tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'done' },
      ],
      tools: [],
    });
    expect(v.request).toEqual({
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'done' }],
    });
  });

  test('GIVEN stream and stream_options in either order WHEN sanitized THEN the delivery is a stream with usage, and neither field is forwarded', () => {
    for (const raw of [{ stream: true, stream_options: { include_usage: true } }, { stream_options: { include_usage: true }, stream: true }]) {
      const v = ok({ ...raw, messages: [{ role: 'user', content: 'x' }] });
      expect(v.delivery).toEqual({ stream: true, includeUsage: true });
      expect(v.request).toEqual({ messages: [{ role: 'user', content: 'x' }] });
    }
    expect(ok({ stream: false, messages: [{ role: 'user', content: 'x' }] }).delivery).toEqual({ stream: false });
  });

  test('GIVEN limits WHEN sanitized THEN they are returned to be capped, not forwarded as sent; a bad one is refused', () => {
    expect(ok({ messages: [{ role: 'user', content: 'x' }], max_tokens: 9, max_completion_tokens: 7 }).limits).toEqual({ max_tokens: 9, max_completion_tokens: 7 });
    const r = sanitizeChatRequest({ messages: [{ role: 'user', content: 'x' }], max_tokens: 0 });
    expect(r.ok ? undefined : r.refusal.field).toBe('max_tokens');
  });

  test('GIVEN a body that is not an object or has no messages WHEN sanitized THEN it is refused naming what is missing', () => {
    const field = (raw: unknown) => {
      const r = sanitizeChatRequest(raw);
      return r.ok ? undefined : r.refusal.field;
    };
    expect(field([])).toBe('(body)');
    expect(field({ temperature: 0 })).toBe('messages');
    expect(field({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }] }] })).toBe('messages[0].content[0].cache_control');
    expect(field({ messages: [{ role: 'user', content: 'x' }], temperature: 'hot' })).toBe('temperature');
  });

  test('GIVEN a request WHEN its prompt is bounded THEN every text it sends is counted in UTF-8 bytes, plus the margins', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const tool_calls = [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":"ü"}' } }];
    const req = { messages: [{ role: 'user', content: 'ü€' }, { role: 'assistant', tool_calls }, { role: 'tool', tool_call_id: 'c', content: 'ok' }], tools, response_format: { type: 'json_object' }, tool_choice: { type: 'function', function: { name: 'f' } } };
    const bytes = (x: unknown) => Buffer.byteLength(typeof x === 'string' ? x : JSON.stringify(x));
    const expected = 64 + (8 + 4 + 5) + (8 + 9 + bytes(tool_calls)) + (8 + 4 + 1 + 2) + 256 + bytes(tools) + bytes(req.tool_choice) + bytes(req.response_format);
    expect(promptUpperBound(req as never)).toBe(expected);
  });
});
