import { dataUrl, imagePart, PNG_BASE64 } from '../../test/openai/images';
import { parseMessages } from './chat-messages';
import { OpenAiRequestError } from './openai-error';

function refusalOf(messages: unknown): OpenAiRequestError {
  try {
    parseMessages(messages);
  } catch (error) {
    if (error instanceof OpenAiRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('the messages were accepted');
}

function assistantCalling(...calls: Array<{ id: string; name: string; arguments: string }>): Record<string, unknown> {
  return {
    role: 'assistant',
    content: null,
    tool_calls: calls.map(({ id, name, arguments: args }) => ({
      id,
      type: 'function',
      function: { name, arguments: args },
    })),
  };
}

describe(parseMessages.name, () => {
  it('turns assistant tool calls into calls with their arguments as objects', () => {
    const messages = parseMessages([
      { role: 'user', content: 'Weather in Oslo and the time?' },
      assistantCalling(
        { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo","units":{"temp":"C"}}' },
        { id: 'call_b', name: 'get_time', arguments: '{}' },
      ),
    ]);
    expect(messages[1]).toEqual({
      role: 'assistant',
      content: '',
      toolCalls: [
        { name: 'get_weather', arguments: { city: 'Oslo', units: { temp: 'C' } } },
        { name: 'get_time', arguments: {} },
      ],
    });
  });

  it('names each tool result by the call its tool_call_id answers, whatever their order', () => {
    const messages = parseMessages([
      { role: 'user', content: 'Weather and time?' },
      assistantCalling(
        { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { id: 'call_b', name: 'get_time', arguments: '{}' },
      ),
      { role: 'tool', tool_call_id: 'call_b', content: '12:00' },
      { role: 'tool', tool_call_id: 'call_a', content: [{ type: 'text', text: '{"temperature": 21}' }] },
    ]);
    expect(messages.slice(2)).toEqual([
      { role: 'tool', content: '12:00', toolName: 'get_time' },
      { role: 'tool', content: '{"temperature": 21}', toolName: 'get_weather' },
    ]);
  });

  it('keeps the text of an assistant message that also called tools', () => {
    const [message] = parseMessages([
      { ...assistantCalling({ id: 'c', name: 'f', arguments: '{}' }), content: 'Let me check.' },
    ]);
    expect(message).toMatchObject({ content: 'Let me check.', toolCalls: [{ name: 'f', arguments: {} }] });
  });

  it('puts the images of a user message beside its text, base64 without the data URL prefix', () => {
    const [message] = parseMessages([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is on these?' },
          imagePart(dataUrl(PNG_BASE64)),
          { type: 'text', text: 'Be brief.' },
          imagePart(dataUrl(PNG_BASE64)),
        ],
      },
    ]);
    expect(message).toEqual({
      role: 'user',
      content: 'What is on these?\nBe brief.',
      images: [PNG_BASE64, PNG_BASE64],
    });
  });

  it('gives a user message without images no images field', () => {
    expect(parseMessages([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }])).toEqual([
      { role: 'user', content: 'Hi' },
    ]);
  });

  it.each([
    [
      'arguments that are not JSON, naming the message',
      [{ role: 'user', content: 'Hi' }, assistantCalling({ id: 'c1', name: 'f', arguments: '{city: Oslo}' })],
      'messages[1].tool_calls[0].function.arguments',
      'invalid_tool_arguments',
    ],
    [
      'arguments that are JSON but not an object',
      [assistantCalling({ id: 'c1', name: 'f', arguments: '["Oslo"]' })],
      'messages[0].tool_calls[0].function.arguments',
      'invalid_value',
    ],
    [
      'arguments given as an object instead of a string',
      [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: {} } }] }],
      'messages[0].tool_calls[0].function.arguments',
      'invalid_type',
    ],
    [
      'a tool call of another type',
      [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'custom', function: { name: 'f', arguments: '{}' } }] }],
      'messages[0].tool_calls[0].type',
      'invalid_value',
    ],
    [
      'a tool call without an id',
      [{ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }],
      'messages[0].tool_calls[0].id',
      null,
    ],
    [
      'a tool call without a function name',
      [{ role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { arguments: '{}' } }] }],
      'messages[0].tool_calls[0].function.name',
      null,
    ],
    [
      'tool_calls that are not an array',
      [{ role: 'assistant', tool_calls: {} }],
      'messages[0].tool_calls',
      'invalid_type',
    ],
    [
      'a tool message whose id no earlier call has',
      [
        { role: 'user', content: 'Hi' },
        assistantCalling({ id: 'call_a', name: 'f', arguments: '{}' }),
        { role: 'tool', tool_call_id: 'call_z', content: '1' },
      ],
      'messages[2].tool_call_id',
      'unknown_tool_call_id',
    ],
    [
      'a tool message before the call it answers',
      [
        { role: 'tool', tool_call_id: 'call_a', content: '1' },
        assistantCalling({ id: 'call_a', name: 'f', arguments: '{}' }),
      ],
      'messages[0].tool_call_id',
      'unknown_tool_call_id',
    ],
    ['a tool message without tool_call_id', [{ role: 'tool', content: '1' }], 'messages[0].tool_call_id', null],
    [
      'a tool message without content',
      [assistantCalling({ id: 'c', name: 'f', arguments: '{}' }), { role: 'tool', tool_call_id: 'c' }],
      'messages[1].content',
      null,
    ],
    [
      'a legacy function message',
      [{ role: 'function', name: 'f', content: '1' }],
      'messages[0].role',
      'unsupported_parameter',
    ],
    [
      'a legacy function_call',
      [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }],
      'messages[0].function_call',
      'unsupported_parameter',
    ],
    [
      'an image in an assistant message',
      [{ role: 'assistant', content: [imagePart(dataUrl(PNG_BASE64))] }],
      'messages[0].content[0].type',
      'unsupported_content_type',
    ],
    [
      'an audio part',
      [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
      'messages[0].content[0].type',
      'unsupported_content_type',
    ],
    [
      'a remote image',
      [{ role: 'user', content: [imagePart('https://example.com/a.png')] }],
      'messages[0].content[0].image_url.url',
      'image_url_not_supported',
    ],
  ])('refuses %s with a 400 naming the field', (_case, messages, param, code) => {
    const refusal = refusalOf(messages);
    expect(refusal.status).toBe(400);
    expect(refusal.param).toBe(param);
    expect(refusal.code).toBe(code);
  });

  it('says the arguments are not valid JSON and how to send them', () => {
    const refusal = refusalOf([assistantCalling({ id: 'c1', name: 'f', arguments: 'city=Oslo' })]);
    expect(refusal.message).toMatch(/messages\[0\]\.tool_calls\[0\]\.function\.arguments.*not valid JSON/);
  });

  it('says which tool_call_id is unknown', () => {
    expect(refusalOf([{ role: 'tool', tool_call_id: 'call_x', content: '1' }]).message).toContain('"call_x"');
  });
});
