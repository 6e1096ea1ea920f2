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

  test('GIVEN a request WHEN its prompt is bounded THEN it is the UTF-8 bytes of the JSON of everything sent but the limits, plus the margins', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const tool_calls = [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":"ü"}' } }];
    const messages = [{ role: 'user', content: 'ü€' }, { role: 'assistant', tool_calls }, { role: 'tool', tool_call_id: 'c', content: 'ok' }];
    const sent = { messages, tools, response_format: { type: 'json_object' }, tool_choice: { type: 'function', function: { name: 'f' } } };
    const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
    // 64 for the template, 8 per message, 256 with tools; the limits are not prompt text
    expect(promptUpperBound({ ...sent, max_tokens: 7, max_completion_tokens: 9 } as never)).toBe(64 + 3 * 8 + 256 + bytes(sent));
  });

  test('GIVEN text in every field the allowlist forwards (a refusal, names, ids, stop, user, …) WHEN the prompt is bounded THEN the bound covers the UTF-8 bytes of all of it', () => {
    const t = (n: number) => 'é😀\n"'.repeat(n); // multi-byte, and characters JSON escapes
    const v = ok({
      messages: [
        { role: 'system', content: t(10), name: t(11) },
        { role: 'user', content: [{ type: 'text', text: t(12) }], name: t(13) },
        { role: 'assistant', content: t(14), refusal: t(15), name: t(16), tool_calls: [{ id: t(17), type: 'function', function: { name: t(18), arguments: t(19) } }] },
        { role: 'tool', tool_call_id: t(20), content: t(21) },
      ],
      tools: [{ type: 'function', function: { name: t(22), description: t(23), parameters: { type: 'object', properties: { [t(24)]: { type: 'string', description: t(25) } } } } }],
      tool_choice: { type: 'function', function: { name: t(26) } },
      response_format: { type: 'json_schema', json_schema: { name: t(27), schema: { description: t(28) } } },
      stop: [t(29)],
      user: t(30),
      safety_identifier: t(31),
      prompt_cache_key: t(32),
      reasoning_effort: t(33),
      verbosity: t(34),
      max_tokens: 5,
    });
    // Every string (keys included) the request carries, as a byte-level tokenizer could count it
    const leaves = (x: unknown): number => (typeof x === 'string' ? Buffer.byteLength(x) : Array.isArray(x) ? x.reduce((n: number, y) => n + leaves(y), 0) : typeof x === 'object' && x !== null ? Object.entries(x).reduce((n, [k, y]) => n + Buffer.byteLength(k) + leaves(y), 0) : 0);
    const text = leaves(v.request);
    expect(text).toBeGreaterThan(40 * 32);
    expect(promptUpperBound(v.request)).toBeGreaterThanOrEqual(64 + 4 * 8 + text);
  });

  test('GIVEN an assistant message with a long refusal WHEN the prompt is bounded THEN the refusal is counted', () => {
    const refusal = 'I cannot help with that. '.repeat(4000); // 100,000 bytes
    const v = ok({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, refusal }], max_tokens: 1 });
    expect(promptUpperBound(v.request)).toBeGreaterThan(100_000);
  });
});

describe('request policy: keys, depth and text that could break the gateway or an endpoint', () => {
  const refusal = (raw: unknown) => {
    const r = sanitizeChatRequest(raw);
    return r.ok ? undefined : r.refusal;
  };
  const msgs = [{ role: 'user', content: 'x' }];

  test.each(['hasOwnProperty', 'isPrototypeOf', '__lookupGetter__', 'toString', 'valueOf', 'propertyIsEnumerable', '__defineSetter__'])('GIVEN the top-level field "%s" (a key every object inherits) WHEN sanitized THEN it is refused as a field the gateway does not forward', (key) => {
    expect(refusal({ messages: msgs, [key]: 'anything' })).toEqual({ field: key, message: expect.stringContaining('not a chat-completions field the gateway forwards') });
    expect(refusal({ messages: msgs, [key]: { nested: true } })?.field).toBe(key);
  });

  test.each([
    ['__proto__ at the top level', '{"messages": [{"role": "user", "content": "x"}], "__proto__": {"temperature": 0}}', '__proto__'],
    ['__proto__ in a message', '{"messages": [{"role": "user", "content": "x", "__proto__": {"x": 1}}]}', 'messages[0].__proto__'],
    ['constructor in a tool schema', '{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"constructor": {"type": "string"}}}}}]}', 'tools[0].function.parameters.properties.constructor'],
    ['prototype in logit_bias', '{"messages": [{"role": "user", "content": "x"}], "logit_bias": {"prototype": 1}}', 'logit_bias.prototype'],
  ])('GIVEN %s WHEN sanitized THEN it is refused naming the key', (_name, text, field) => {
    expect(refusal(JSON.parse(text))).toEqual({ field, message: expect.stringContaining('is refused anywhere in a request') });
  });

  test('GIVEN a value nested deeper than 64 levels WHEN sanitized THEN it is refused naming the field; 64 levels pass', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = { type: 'string' };
      for (let i = 0; i < levels; i++) v = { type: 'array', items: v };
      return v;
    };
    // body (1), tools (2), tool (3), function (4), parameters (5): parameters nested n more levels
    const withTools = (n: number) => ({ messages: msgs, tools: [{ type: 'function', function: { name: 'f', parameters: nest(n) } }] });
    expect(refusal(withTools(59))).toBeUndefined();
    const deep = refusal(withTools(60));
    expect(deep?.message).toMatch(/more than 64 levels deep/);
    expect(deep?.field).toBe(`tools[0].function.parameters${'.items'.repeat(60)}`);
    // and a nesting that would overflow any recursive walk is refused the same way, not thrown
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    expect(refusal({ messages: msgs, stop: v })?.message).toMatch(/more than 64 levels deep/);
  });

  test.each([
    ['a lone high surrogate in content', { messages: [{ role: 'user', content: 'ok \ud800 ok' }] }, 'messages[0].content'],
    ['a lone low surrogate in a text part', { messages: [{ role: 'user', content: [{ type: 'text', text: '\udc00' }] }] }, 'messages[0].content[0].text'],
    ['a reversed pair in a refusal', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', refusal: '\ude00\ud83d' }] }, 'messages[1].refusal'],
    ['a lone surrogate in a tool argument', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a": "\ud800"}' } }] }] }, 'messages[1].tool_calls[0].function.arguments'],
    ['a lone surrogate in stop', { messages: [{ role: 'user', content: 'x' }], stop: ['a', '\udfff'] }, 'stop[1]'],
    ['a lone surrogate in a schema key', { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: { properties: { 'k\ud800': {} } } } }] }, 'tools[0].function.parameters.properties'],
  ])('GIVEN %s WHEN sanitized THEN it is refused naming the field', (_name, raw, field) => {
    const r = refusal(raw);
    expect(r?.field).toBe(field);
    expect(r?.message).toMatch(/not well-formed Unicode/);
  });

  test('GIVEN well-formed text with surrogate pairs WHEN sanitized THEN it is accepted', () => {
    expect(refusal({ messages: [{ role: 'user', content: '😀 \ud83d\ude00' }] })).toBeUndefined();
  });
});
