import { MAX_MESSAGES, parseChatCompletionRequest } from './chat-completion-request';
import { OpenAiRequestError } from './openai-error';

const MODEL = 'llama3.1:latest';

/** A minimal valid body, with `overrides` laid over it. */
function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], ...overrides };
}

/** The refusal `parseChatCompletionRequest` throws for `input`; fails the test when it accepts it. */
function refusalOf(input: unknown): OpenAiRequestError {
  try {
    parseChatCompletionRequest(input);
  } catch (error) {
    if (error instanceof OpenAiRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('the request was accepted');
}

describe(parseChatCompletionRequest.name, () => {
  it('turns a minimal request into a plain chat for the model', () => {
    expect(parseChatCompletionRequest(body())).toEqual({
      model: MODEL,
      llm: { messages: [{ role: 'user', content: 'Hi' }] },
      stream: false,
      includeUsage: false,
    });
  });

  it('keeps the roles and order of the conversation, mapping developer to system', () => {
    const parsed = parseChatCompletionRequest(
      body({
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'system', content: 'Answer in English.' },
          { role: 'user', content: 'Hi', name: 'ann' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'assistant', content: null },
          { role: 'user', content: 'Bye' },
        ],
      }),
    );
    expect(parsed.llm.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Answer in English.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'Bye' },
    ]);
  });

  it('joins text content parts with line breaks', () => {
    const parsed = parseChatCompletionRequest(
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Context: bonds.' },
              { type: 'text', text: 'Question: duration?' },
            ],
          },
        ],
      }),
    );
    expect(parsed.llm.messages[0].content).toBe('Context: bonds.\nQuestion: duration?');
  });

  it('maps the sampling fields to model options', () => {
    const parsed = parseChatCompletionRequest(
      body({ temperature: 0.2, top_p: 0.9, max_tokens: 64, seed: 7, stop: ['END', 'STOP'] }),
    );
    expect(parsed.llm.options).toEqual({
      temperature: 0.2,
      top_p: 0.9,
      num_predict: 64,
      seed: 7,
      stop: ['END', 'STOP'],
    });
  });

  it('prefers max_completion_tokens over max_tokens', () => {
    expect(parseChatCompletionRequest(body({ max_tokens: 64, max_completion_tokens: 32 })).llm.options).toEqual({
      num_predict: 32,
    });
  });

  it('accepts a single stop string and drops empty stop sequences', () => {
    expect(parseChatCompletionRequest(body({ stop: 'END' })).llm.options).toEqual({ stop: ['END'] });
    expect(parseChatCompletionRequest(body({ stop: ['', 'END'] })).llm.options).toEqual({ stop: ['END'] });
    expect(parseChatCompletionRequest(body({ stop: [] })).llm.options).toBeUndefined();
  });

  it('treats null as not given', () => {
    const parsed = parseChatCompletionRequest(
      body({
        temperature: null,
        top_p: null,
        max_tokens: null,
        seed: null,
        stop: null,
        stream: null,
        stream_options: null,
        response_format: null,
        n: null,
        logprobs: null,
        tools: null,
      }),
    );
    expect(parsed).toEqual({
      model: MODEL,
      llm: { messages: [{ role: 'user', content: 'Hi' }] },
      stream: false,
      includeUsage: false,
    });
  });

  it('reads stream and stream_options.include_usage', () => {
    const parsed = parseChatCompletionRequest(body({ stream: true, stream_options: { include_usage: true } }));
    expect(parsed.stream).toBe(true);
    expect(parsed.includeUsage).toBe(true);
  });

  it.each([
    [{ type: 'text' }, undefined],
    [{ type: 'json_object' }, 'json'],
    [
      { type: 'json_schema', json_schema: { name: 'risk', strict: true, schema: { type: 'object' } } },
      { type: 'object' },
    ],
    [{ type: 'json_schema', json_schema: { name: 'risk' } }, 'json'],
  ])('maps response_format %j to format %j', (responseFormat, format) => {
    expect(parseChatCompletionRequest(body({ response_format: responseFormat })).llm.format).toEqual(format);
  });

  it('ignores the OpenAI fields a local model has no use for', () => {
    const parsed = parseChatCompletionRequest(
      body({
        user: 'u-1',
        presence_penalty: 0.5,
        frequency_penalty: 0.5,
        logit_bias: { '50256': -100 },
        metadata: { team: 'risk' },
        store: false,
        service_tier: 'auto',
        tools: [],
        tool_choice: 'none',
        parallel_tool_calls: false,
        n: 1,
        logprobs: false,
        top_logprobs: 0,
        modalities: ['text'],
        reasoning_effort: 'low',
      }),
    );
    expect(parsed.llm).toEqual({ messages: [{ role: 'user', content: 'Hi' }] });
  });

  it.each([
    ['a body that is not an object', [1, 2], null, 'invalid_body'],
    ['a missing model', { messages: [{ role: 'user', content: 'Hi' }] }, 'model', null],
    ['a model that is not a string', body({ model: 42 }), 'model', 'invalid_type'],
    ['missing messages', { model: MODEL }, 'messages', null],
    ['empty messages', body({ messages: [] }), 'messages', 'invalid_value'],
    ['messages that are not an array', body({ messages: 'Hi' }), 'messages', 'invalid_type'],
    ['an unknown role', body({ messages: [{ role: 'robot', content: 'Hi' }] }), 'messages[0].role', 'invalid_value'],
    ['a user message without content', body({ messages: [{ role: 'user' }] }), 'messages[0].content', null],
    [
      'content of the wrong type',
      body({ messages: [{ role: 'user', content: 5 }] }),
      'messages[0].content',
      'invalid_type',
    ],
    [
      'an image part whose URL is not a data URL',
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'x' } },
            ],
          },
        ],
      }),
      'messages[0].content[1].image_url.url',
      'invalid_image_url',
    ],
    [
      'an image part in a system message',
      body({
        messages: [
          { role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        ],
      }),
      'messages[0].content[0].type',
      'unsupported_content_type',
    ],
    [
      'a text part without text',
      body({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }),
      'messages[0].content[0].text',
      'invalid_type',
    ],
    ['a temperature above 2', body({ temperature: 2.5 }), 'temperature', 'invalid_value'],
    ['a temperature that is a string', body({ temperature: '1' }), 'temperature', 'invalid_type'],
    ['a top_p above 1', body({ top_p: 1.5 }), 'top_p', 'invalid_value'],
    ['max_tokens of 0', body({ max_tokens: 0 }), 'max_tokens', 'invalid_value'],
    [
      'a fractional max_completion_tokens',
      body({ max_completion_tokens: 1.5 }),
      'max_completion_tokens',
      'invalid_type',
    ],
    ['a fractional seed', body({ seed: 1.5 }), 'seed', 'invalid_type'],
    ['five stop sequences', body({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', 'invalid_value'],
    ['a stop sequence that is not a string', body({ stop: ['a', 1] }), 'stop[1]', 'invalid_type'],
    ['stream that is not a boolean', body({ stream: 'yes' }), 'stream', 'invalid_type'],
    [
      'stream_options.include_usage that is not a boolean',
      body({ stream_options: { include_usage: 1 } }),
      'stream_options.include_usage',
      'invalid_type',
    ],
    [
      'an unknown response_format type',
      body({ response_format: { type: 'grammar' } }),
      'response_format.type',
      'invalid_value',
    ],
    [
      'json_schema without its spec',
      body({ response_format: { type: 'json_schema' } }),
      'response_format.json_schema',
      null,
    ],
    [
      'a json_schema name with spaces',
      body({ response_format: { type: 'json_schema', json_schema: { name: 'my schema', schema: {} } } }),
      'response_format.json_schema.name',
      'invalid_value',
    ],
    [
      'a json_schema schema that is not an object',
      body({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: 'object' } } }),
      'response_format.json_schema.schema',
      'invalid_type',
    ],
    ['n of 2', body({ n: 2 }), 'n', 'unsupported_value'],
    [
      'a tool that is not a function',
      body({ tools: [{ type: 'code_interpreter' }] }),
      'tools[0].type',
      'unsupported_tool_type',
    ],
    ['the legacy functions', body({ functions: [{ name: 'f' }] }), 'functions', 'unsupported_parameter'],
    [
      'a tool message answering no earlier call',
      body({ messages: [{ role: 'tool', content: '42', tool_call_id: 'c1' }] }),
      'messages[0].tool_call_id',
      'unknown_tool_call_id',
    ],
    [
      'an assistant tool call without its function',
      body({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function' }] }] }),
      'messages[0].tool_calls[0].function',
      'invalid_type',
    ],
    ['logprobs', body({ logprobs: true }), 'logprobs', 'unsupported_value'],
    ['audio output', body({ modalities: ['text', 'audio'] }), 'modalities', 'unsupported_value'],
    ['a field OpenAI does not know', body({ temprature: 0.5 }), 'temprature', 'unknown_parameter'],
  ])('refuses %s with a 400 naming the field', (_case, input, param, code) => {
    const refusal = refusalOf(input);
    expect(refusal.status).toBe(400);
    expect(refusal.type).toBe('invalid_request_error');
    expect(refusal.param).toBe(param);
    expect(refusal.code).toBe(code);
  });

  it('says which field OpenAI does not know, in OpenAI words', () => {
    expect(refusalOf(body({ top_k: 40 })).message).toBe('Unrecognized request argument supplied: top_k');
  });

  it('says that remote images are not fetched, and how to send one instead', () => {
    const refusal = refusalOf(
      body({
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
      }),
    );
    expect(refusal.param).toBe('messages[0].content[0].image_url.url');
    expect(refusal.message).toMatch(/not fetched.*data:image\/png;base64/);
  });

  it(`refuses more than ${MAX_MESSAGES} messages`, () => {
    const messages = Array.from({ length: MAX_MESSAGES + 1 }, () => ({ role: 'user', content: 'Hi' }));
    expect(refusalOf(body({ messages })).param).toBe('messages');
  });
});
