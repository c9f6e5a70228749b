import OpenAI from 'openai';
import { ChatCompletionsController } from '../../src/openai/chat-completions.controller';
import { eventually, Gateway } from './gateway';
import {
  abortAfterFirstText,
  lastChatBody,
  MODEL,
  openAiClient,
  rejectionOf,
  startModelsGateway,
  TOOLS_MODEL,
  VISION_MODEL,
} from './models-gateway';

const WEATHER_PARAMETERS = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'City name' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['city', 'unit'],
};
const TIME_PARAMETERS = {
  type: 'object',
  properties: { timezone: { type: 'string', enum: ['UTC', 'CET'] } },
  required: ['timezone'],
};
const WEATHER: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_PARAMETERS },
};
const TIME: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_time', description: 'Current time in a timezone', parameters: TIME_PARAMETERS },
};
const TOOLS = [WEATHER, TIME];
const ASK: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo?' }];
const CALL_ID = /^call_\w+$/;
const LONG_REPLY = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');

/** Arguments as the schema of get_weather or get_time demands: every required key, enums respected. */
function expectValidArguments(call: OpenAI.ChatCompletionMessageFunctionToolCall): Record<string, unknown> {
  const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  if (call.function.name === 'get_weather') {
    expect(typeof args.city).toBe('string');
    expect(['celsius', 'fahrenheit']).toContain(args.unit);
  } else {
    expect(call.function.name).toBe('get_time');
    expect(['UTC', 'CET']).toContain(args.timezone);
  }
  return args;
}

function functionCalls(message: OpenAI.ChatCompletionMessage): OpenAI.ChatCompletionMessageFunctionToolCall[] {
  return (message.tool_calls ?? []).filter(
    (call): call is OpenAI.ChatCompletionMessageFunctionToolCall => call.type === 'function',
  );
}

describe(`${ChatCompletionsController.name}: tools, with the official openai client`, () => {
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startModelsGateway();
    client = openAiClient(gateway);
  });

  afterEach(() => {
    gateway?.emulator.clearFaults();
    gateway?.emulator.configure({ tokenDelayMs: 0, replyText: undefined, structuredReply: undefined });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers a tool call with an id, arguments as a JSON string, content null and finish_reason tool_calls', async () => {
    const completion = await client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS });
    const [choice] = completion.choices;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const calls = functionCalls(choice.message);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: expect.stringMatching(CALL_ID), type: 'function' });
    expect(calls[0].function.name).toBe('get_weather');
    expectValidArguments(calls[0]);
    const upstream = lastChatBody(gateway, TOOLS_MODEL);
    expect(upstream.tools).toEqual(TOOLS.map(({ function: fn }) => ({ type: 'function', function: fn })));
    expect(upstream.format).toBeUndefined();
  });

  it('streams parallel calls through the SDK’s stream helper, each whole in its first chunk', async () => {
    const stream = client.chat.completions.stream({
      model: TOOLS_MODEL,
      messages: [{ role: 'user', content: 'Weather in Oslo and the time? [[tools: all]]' }],
      tools: TOOLS,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    stream.on('chunk', (chunk) => chunks.push(chunk));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const calls = functionCalls(final.choices[0].message);
    expect(calls.map((call) => call.function.name)).toEqual(['get_weather', 'get_time']);
    calls.forEach(expectValidArguments);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas.map((delta) => delta.index)).toEqual([0, 1]);
    for (const delta of deltas) {
      expect(delta).toMatchObject({ id: expect.stringMatching(CALL_ID), type: 'function' });
      expect(() => JSON.parse(delta.function?.arguments ?? '') as unknown).not.toThrow();
    }
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    expect(lastChatBody(gateway, TOOLS_MODEL).stream).toBe(true);
  });

  it('keeps the first call only with parallel_tool_calls false, streamed with stream: true', async () => {
    const stream = await client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: [{ role: 'user', content: 'Weather and time? [[tools: all]]' }],
      tools: TOOLS,
      parallel_tool_calls: false,
      stream: true,
    });
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { arguments: '' };
        call.id ??= delta.id;
        call.name ??= delta.function?.name;
        call.arguments += delta.function?.arguments ?? '';
        calls.set(delta.index, call);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect([...calls.keys()]).toEqual([0]);
    expect(calls.get(0)).toMatchObject({ id: expect.stringMatching(CALL_ID), name: 'get_weather' });
    expect(JSON.parse(calls.get(0)?.arguments ?? '')).toMatchObject({ city: expect.any(String) });
  });

  it('hands the tool’s result back to the model in a second turn, named by the call it answers', async () => {
    const first = await client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS });
    const assistant = first.choices[0].message;
    const [call] = functionCalls(assistant);
    const second = await client.chat.completions.create({
      model: TOOLS_MODEL,
      tools: TOOLS,
      messages: [...ASK, assistant, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' }],
    });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toBe(
      'Based on the tool results: get_weather returned {"temperature": 21}.',
    );
    expect(lastChatBody(gateway, TOOLS_MODEL).messages).toEqual([
      { role: 'user', content: 'What is the weather in Oslo?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'get_weather', arguments: JSON.parse(call.function.arguments) as unknown } }],
      },
      { role: 'tool', content: '{"temperature": 21}', tool_name: 'get_weather' },
    ]);
  });

  it('runs the SDK’s runTools loop: the model calls, the function runs, the model answers with its result', async () => {
    const received: unknown[] = [];
    const runner = client.chat.completions.runTools({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather of a city',
            parameters: WEATHER_PARAMETERS,
            parse: (input: string) => JSON.parse(input) as Record<string, unknown>,
            function: (args: Record<string, unknown>) => {
              received.push(args);
              return { temperature: 21, city: args.city };
            },
          },
        },
      ],
    });
    const content = await runner.finalContent();
    expect(received).toEqual([{ city: expect.any(String), unit: expect.stringMatching(/^(celsius|fahrenheit)$/) }]);
    expect(content).toMatch(/^Based on the tool results: get_weather returned \{"temperature":21,"city":".+"\}\.$/);
  });

  it('with tool_choice none, sends no tools and answers text', async () => {
    const completion = await client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: 'none',
    });
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.any(String) } });
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    const upstream = lastChatBody(gateway, TOOLS_MODEL);
    expect(upstream.tools).toBeUndefined();
    expect(upstream.format).toBeUndefined();
  });

  it('with tool_choice required, sends no tools but a schema of the calls, and answers a valid call', async () => {
    const completion = await client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: 'required',
    });
    const record = gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
    expect(record?.tools).toBeUndefined();
    expect(record?.format).toEqual({
      anyOf: [
        {
          type: 'object',
          properties: { name: { const: 'get_weather' }, arguments: WEATHER_PARAMETERS },
          required: ['name', 'arguments'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: { name: { const: 'get_time' }, arguments: TIME_PARAMETERS },
          required: ['name', 'arguments'],
          additionalProperties: false,
        },
      ],
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    const calls = functionCalls(completion.choices[0].message);
    expect(calls).toHaveLength(1);
    expect(['get_weather', 'get_time']).toContain(calls[0].function.name);
    expectValidArguments(calls[0]);
  });

  it('with a named tool_choice, constrains the answer to that tool, plain and streamed', async () => {
    const choice: OpenAI.ChatCompletionNamedToolChoice = { type: 'function', function: { name: 'get_time' } };
    const completion = await client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: choice,
    });
    const record = gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
    expect(record?.tools).toBeUndefined();
    expect(record?.format).toMatchObject({ properties: { name: { const: 'get_time' }, arguments: TIME_PARAMETERS } });
    const [call] = functionCalls(completion.choices[0].message);
    expect(call.function.name).toBe('get_time');
    expectValidArguments(call);

    const stream = client.chat.completions.stream({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: choice,
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const [streamed] = functionCalls(final.choices[0].message);
    expect(streamed.function.name).toBe('get_time');
    expectValidArguments(streamed);
  });

  it('asks once more when a forced answer is not a valid call, and gives 502 when the second is not either', async () => {
    const choice: OpenAI.ChatCompletionNamedToolChoice = { type: 'function', function: { name: 'get_weather' } };
    gateway.emulator.resetStats();
    gateway.emulator.injectFault({ kind: 'invalid-structured-output', times: 1 });
    const recovered = await client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: choice,
    });
    expect(functionCalls(recovered.choices[0].message)[0].function.name).toBe('get_weather');
    expect(gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL })).toBe(2);

    gateway.emulator.injectFault({ kind: 'invalid-structured-output', times: 2 });
    const error = await rejectionOf(
      client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS, tool_choice: choice }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 502, type: 'server_error', code: 'upstream_error' });
    expect((error as Error).message).toMatch(/valid call of get_weather after 2 attempts/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a tool whose parameters are not an object schema',
      { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'array' } } }] },
      'tools[0].function.parameters',
    ],
    ['two tools with one name', { tools: [WEATHER, TIME, WEATHER] }, 'tools[2].function.name'],
    [
      'a tool_choice naming a tool not in tools',
      { tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_time' } } },
      'tool_choice.function.name',
    ],
    ['tool_choice required without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['a custom tool', { tools: [{ type: 'custom', custom: { name: 'grep' } }] }, 'tools[0].type'],
    [
      'a tool message answering no call',
      { messages: [...ASK, { role: 'tool', tool_call_id: 'call_nowhere', content: '21' }] },
      'messages[1].tool_call_id',
    ],
    [
      'tool call arguments that are not JSON',
      {
        messages: [
          ...ASK,
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: "{'city': 'Oslo'}" } },
            ],
          },
        ],
      },
      'messages[1].tool_calls[0].function.arguments',
    ],
  ])('refuses %s with BadRequestError naming the field, without calling Ollama', async (_case, fields, param) => {
    gateway.emulator.resetStats();
    const error = await rejectionOf(
      client.chat.completions.create({
        model: TOOLS_MODEL,
        messages: ASK,
        ...fields,
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param });
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it('refuses tools on a model without the tools capability, whatever the tool_choice', async () => {
    gateway.emulator.resetStats();
    for (const toolChoice of ['auto', 'required'] as const) {
      const error = await rejectionOf(
        client.chat.completions.create({ model: VISION_MODEL, messages: ASK, tools: TOOLS, tool_choice: toolChoice }),
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ status: 400, param: 'model', code: 'model_capability_missing' });
      expect((error as Error).message).toMatch(/model 'llava:latest' does not support tools/);
    }
    expect(gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it('serves tools on the default model too', async () => {
    const completion = await client.chat.completions.create({ model: 'llama3.1', messages: ASK, tools: [TIME] });
    expect(functionCalls(completion.choices[0].message)[0].function.name).toBe('get_time');
  });

  it('stops the generation upstream when the client leaves a streamed answer of a tool-enabled request', async () => {
    gateway.emulator.configure({ tokenDelayMs: 100, replyText: LONG_REPLY });
    gateway.emulator.resetStats();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: TOOLS_MODEL,
        messages: [{ role: 'user', content: 'Talk a lot. [[tools: none]]' }],
        tools: TOOLS,
        stream: true,
      },
      { signal: controller.signal },
    );
    const received = await abortAfterFirstText(stream, controller);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(LONG_REPLY.length);
    expect(lastChatBody(gateway, TOOLS_MODEL).tools).toHaveLength(2);
    await eventually('Ollama to see the stream aborted', () => gateway.emulator.stats.abortedStreams === 1, 10_000);
    expect(gateway.emulator.stats.inFlight).toBe(0);
  });

  it('stops the generation upstream when the client leaves a streamed forced call before it starts', async () => {
    gateway.emulator.configure({
      tokenDelayMs: 200,
      structuredReply: { name: 'get_time', arguments: { timezone: 'UTC' } },
    });
    gateway.emulator.resetStats();
    const controller = new AbortController();
    const pending = client.chat.completions.create(
      { model: TOOLS_MODEL, messages: ASK, tools: TOOLS, tool_choice: 'required', stream: true },
      { signal: controller.signal },
    );
    await eventually(
      'Ollama to be generating the forced call',
      () =>
        gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL }) === 1 &&
        gateway.emulator.stats.inFlight === 1,
      10_000,
    );
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await eventually('Ollama to see the request aborted', () => gateway.emulator.stats.abortedStreams === 1, 10_000);
    expect(gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL })).toBe(1);
  });

  it('lists every served model', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      ids.push(model.id);
    }
    expect(ids).toEqual([MODEL, TOOLS_MODEL, VISION_MODEL, 'nomic-embed-text:latest']);
  });
});
