import OpenAI from 'openai';
import { ChatCompletionsController } from '../../src/openai/chat-completions.controller';
import { lastChatBody, rejectionOf, TOOLS_MODEL } from './models-gateway';
import {
  ASK,
  expectValidArguments,
  functionCalls,
  TIME_PARAMETERS,
  TOOLS,
  WEATHER_PARAMETERS,
  useToolsGateway,
} from './tools';

describe(`${ChatCompletionsController.name}: tools, with the official openai client`, () => {
  const h = useToolsGateway();

  it('with tool_choice none, sends no tools and answers text', async () => {
    const completion = await h.client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: 'none',
    });
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.any(String) } });
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    const upstream = lastChatBody(h.gateway, TOOLS_MODEL);
    expect(upstream.tools).toBeUndefined();
    expect(upstream.format).toBeUndefined();
  });

  it('with tool_choice required, sends no tools but a schema of the calls, and answers a valid call', async () => {
    const completion = await h.client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: 'required',
    });
    const record = h.gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
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
    const completion = await h.client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: choice,
    });
    const record = h.gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
    expect(record?.tools).toBeUndefined();
    expect(record?.format).toMatchObject({ properties: { name: { const: 'get_time' }, arguments: TIME_PARAMETERS } });
    const [call] = functionCalls(completion.choices[0].message);
    expect(call.function.name).toBe('get_time');
    expectValidArguments(call);

    const stream = h.client.chat.completions.stream({
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
    h.gateway.emulator.resetStats();
    h.gateway.emulator.injectFault({ kind: 'invalid-structured-output', times: 1 });
    const recovered = await h.client.chat.completions.create({
      model: TOOLS_MODEL,
      messages: ASK,
      tools: TOOLS,
      tool_choice: choice,
    });
    expect(functionCalls(recovered.choices[0].message)[0].function.name).toBe('get_weather');
    expect(h.gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL })).toBe(2);

    h.gateway.emulator.injectFault({ kind: 'invalid-structured-output', times: 2 });
    const error = await rejectionOf(
      h.client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS, tool_choice: choice }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 502, type: 'server_error', code: 'upstream_error' });
    expect((error as Error).message).toMatch(/valid call of get_weather after 2 attempts/);
  });
});
