import { parseChatCompletionRequest } from './chat-completion-request';
import { MAX_TOOLS, parseToolUse } from './chat-tools';
import { forcedCallFormat } from './forced-tool-call';
import { OpenAiRequestError } from './openai-error';

const WEATHER_PARAMETERS = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
};

function tool(name: string, parameters: unknown = WEATHER_PARAMETERS, description?: string): Record<string, unknown> {
  return { type: 'function', function: { name, ...(description !== undefined && { description }), parameters } };
}

const WEATHER = tool('get_weather', WEATHER_PARAMETERS, 'Current weather of a city');
const TIME = tool('get_time', { type: 'object', properties: {} });

function refusalOf(body: Record<string, unknown>): OpenAiRequestError {
  try {
    parseToolUse(body);
  } catch (error) {
    if (error instanceof OpenAiRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('the tools were accepted');
}

describe(parseToolUse.name, () => {
  it('offers nothing when there are no tools', () => {
    expect(parseToolUse({})).toBeUndefined();
    expect(parseToolUse({ tools: [], tool_choice: 'none', parallel_tool_calls: false })).toBeUndefined();
    expect(parseToolUse({ tools: null, tool_choice: 'auto' })).toBeUndefined();
  });

  it('lets the model decide by default, calls in parallel allowed', () => {
    expect(parseToolUse({ tools: [WEATHER, TIME] })).toEqual({
      mode: 'auto',
      parallel: true,
      tools: [
        { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_PARAMETERS },
        { name: 'get_time', parameters: { type: 'object', properties: {} } },
      ],
    });
  });

  it('keeps parallel_tool_calls: false', () => {
    expect(parseToolUse({ tools: [WEATHER], tool_choice: 'auto', parallel_tool_calls: false })).toMatchObject({
      mode: 'auto',
      parallel: false,
    });
  });

  it('offers nothing with tool_choice none', () => {
    expect(parseToolUse({ tools: [WEATHER], tool_choice: 'none' })).toBeUndefined();
  });

  it('forces a call of any tool with required, and of the named one with a function choice', () => {
    expect(parseToolUse({ tools: [WEATHER, TIME], tool_choice: 'required' })).toEqual({
      mode: 'forced',
      allowed: [expect.objectContaining({ name: 'get_weather' }), expect.objectContaining({ name: 'get_time' })],
    });
    expect(
      parseToolUse({ tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_time' } } }),
    ).toEqual({ mode: 'forced', allowed: [{ name: 'get_time', parameters: { type: 'object', properties: {} } }] });
  });

  it('gives a function without parameters an empty object schema', () => {
    const use = parseToolUse({ tools: [{ type: 'function', function: { name: 'ping' } }] });
    expect(use).toMatchObject({ tools: [{ name: 'ping', parameters: { type: 'object', properties: {} } }] });
  });

  it.each([
    ['tools that are not an array', { tools: WEATHER }, 'tools', 'invalid_type'],
    [
      `more than ${MAX_TOOLS} tools`,
      { tools: Array.from({ length: MAX_TOOLS + 1 }, (_, i) => tool(`t${i}`)) },
      'tools',
      'invalid_value',
    ],
    ['a tool that is not a function', { tools: [{ type: 'web_search' }] }, 'tools[0].type', 'unsupported_tool_type'],
    ['a tool without its function', { tools: [{ type: 'function' }] }, 'tools[0].function', null],
    ['a function without a name', { tools: [tool('')] }, 'tools[0].function.name', null],
    ['a function name with spaces', { tools: [tool('get weather')] }, 'tools[0].function.name', 'invalid_value'],
    [
      'a description that is not a string',
      { tools: [{ type: 'function', function: { name: 'f', description: 1 } }] },
      'tools[0].function.description',
      'invalid_type',
    ],
    [
      'parameters that are a string',
      { tools: [tool('f', 'city: string')] },
      'tools[0].function.parameters',
      'invalid_value',
    ],
    ['parameters that are an array', { tools: [tool('f', [])] }, 'tools[0].function.parameters', 'invalid_value'],
    [
      'parameters that are not an object schema',
      { tools: [WEATHER, tool('f', { type: 'string' })] },
      'tools[1].function.parameters',
      'invalid_value',
    ],
    [
      'two tools with one name',
      { tools: [WEATHER, TIME, tool('get_weather')] },
      'tools[2].function.name',
      'duplicate_tool_name',
    ],
    [
      'tool_choice naming a tool not in tools',
      { tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_time' } } },
      'tool_choice.function.name',
      'invalid_value',
    ],
    [
      'a named tool_choice without tools',
      { tool_choice: { type: 'function', function: { name: 'get_time' } } },
      'tool_choice.function.name',
      'invalid_value',
    ],
    ['tool_choice required without tools', { tool_choice: 'required' }, 'tool_choice', 'invalid_value'],
    ['tool_choice required with empty tools', { tools: [], tool_choice: 'required' }, 'tool_choice', 'invalid_value'],
    ['an unknown tool_choice', { tools: [WEATHER], tool_choice: 'any' }, 'tool_choice', 'invalid_value'],
    ['a tool_choice of a number', { tools: [WEATHER], tool_choice: 1 }, 'tool_choice', 'invalid_type'],
    [
      'a tool_choice of another type',
      { tools: [WEATHER], tool_choice: { type: 'allowed_tools', allowed_tools: {} } },
      'tool_choice.type',
      'unsupported_value',
    ],
    [
      'a tool_choice function without a name',
      { tools: [WEATHER], tool_choice: { type: 'function' } },
      'tool_choice.function.name',
      null,
    ],
    [
      'parallel_tool_calls that is not a boolean',
      { tools: [WEATHER], parallel_tool_calls: 'no' },
      'parallel_tool_calls',
      'invalid_type',
    ],
    ['the legacy functions', { functions: [{ name: 'f' }] }, 'functions', 'unsupported_parameter'],
  ])('refuses %s with a 400 naming the field', (_case, body, param, code) => {
    const refusal = refusalOf(body);
    expect(refusal.status).toBe(400);
    expect(refusal.param).toBe(param);
    expect(refusal.code).toBe(code);
  });

  it('says what to fix', () => {
    expect(refusalOf({ tools: [tool('f', 'x')] }).message).toMatch(/must be a JSON schema of an object, e\.g\./);
    expect(refusalOf({ tools: [WEATHER, tool('get_weather')] }).message).toMatch(
      /tools\[0\] already has the name "get_weather"/,
    );
    expect(
      refusalOf({ tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_news' } } }).message,
    ).toMatch(/"get_news", which is not in 'tools' \(the tools are get_weather, get_time\)/);
    expect(refusalOf({ tool_choice: 'required' }).message).toMatch(/'required' needs at least one tool/);
  });
});

describe(`${parseChatCompletionRequest.name} with tools`, () => {
  const messages = [
    { role: 'system', content: 'Be helpful.' },
    { role: 'user', content: 'Weather in Oslo?' },
  ];

  it('sends the tools to the model with tool_choice auto', () => {
    const parsed = parseChatCompletionRequest({ model: 'm', messages, tools: [WEATHER] });
    expect(parsed.llm.tools).toEqual([
      { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_PARAMETERS },
    ]);
    expect(parsed.llm.format).toBeUndefined();
    expect(parsed.tools).toMatchObject({ mode: 'auto', parallel: true });
  });

  it('sends no tools with tool_choice none', () => {
    const parsed = parseChatCompletionRequest({ model: 'm', messages, tools: [WEATHER], tool_choice: 'none' });
    expect(parsed.llm).toEqual({ messages });
    expect(parsed.tools).toBeUndefined();
  });

  it('sends no tools but the call schema as format when a tool is forced', () => {
    const parsed = parseChatCompletionRequest({
      model: 'm',
      messages,
      tools: [WEATHER, TIME],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 0.1,
    });
    expect(parsed.llm.tools).toBeUndefined();
    expect(parsed.llm.format).toEqual(forcedCallFormat([{ name: 'get_weather', parameters: WEATHER_PARAMETERS }]));
    expect(parsed.llm.options).toEqual({ temperature: 0.1 });
    expect(parsed.llm.messages).toHaveLength(3);
    expect(parsed.tools).toEqual({ mode: 'forced', allowed: [expect.objectContaining({ name: 'get_weather' })] });
  });

  it('refuses response_format beside a forced tool choice', () => {
    expect(() =>
      parseChatCompletionRequest({
        model: 'm',
        messages,
        tools: [WEATHER],
        tool_choice: 'required',
        response_format: { type: 'json_object' },
      }),
    ).toThrow(expect.objectContaining({ status: 400, param: 'response_format' }) as Error);
  });
});
