import OpenAI from 'openai';
import { ChatCompletionsController } from '../../src/openai/chat-completions.controller';
import { eventually } from './gateway';
import { abortAfterFirstText, lastChatBody, rejectionOf, TOOLS_MODEL, VISION_MODEL } from './models-gateway';
import { ASK, LONG_REPLY, TIME, TOOLS, WEATHER, useToolsGateway } from './tools';

describe(`${ChatCompletionsController.name}: tools, with the official openai client`, () => {
  const h = useToolsGateway();

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
    h.gateway.emulator.resetStats();
    const error = await rejectionOf(
      h.client.chat.completions.create({
        model: TOOLS_MODEL,
        messages: ASK,
        ...fields,
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param });
    expect(h.gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it('refuses tools on a model without the tools capability, whatever the tool_choice', async () => {
    h.gateway.emulator.resetStats();
    for (const toolChoice of ['auto', 'required'] as const) {
      const error = await rejectionOf(
        h.client.chat.completions.create({ model: VISION_MODEL, messages: ASK, tools: TOOLS, tool_choice: toolChoice }),
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ status: 400, param: 'model', code: 'model_capability_missing' });
      expect((error as Error).message).toMatch(/model 'llava:latest' does not support tools/);
    }
    expect(h.gateway.emulator.requestCount({ endpoint: 'chat' })).toBe(0);
  });

  it('stops the generation upstream when the client leaves a streamed answer of a tool-enabled request', async () => {
    h.gateway.emulator.configure({ tokenDelayMs: 100, replyText: LONG_REPLY });
    h.gateway.emulator.resetStats();
    const controller = new AbortController();
    const stream = await h.client.chat.completions.create(
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
    expect(lastChatBody(h.gateway, TOOLS_MODEL).tools).toHaveLength(2);
    await eventually('Ollama to see the stream aborted', () => h.gateway.emulator.stats.abortedStreams === 1, 10_000);
    expect(h.gateway.emulator.stats.inFlight).toBe(0);
  });

  it('stops the generation upstream when the client leaves a streamed forced call before it starts', async () => {
    h.gateway.emulator.configure({
      tokenDelayMs: 200,
      structuredReply: { name: 'get_time', arguments: { timezone: 'UTC' } },
    });
    h.gateway.emulator.resetStats();
    const controller = new AbortController();
    const pending = h.client.chat.completions.create(
      { model: TOOLS_MODEL, messages: ASK, tools: TOOLS, tool_choice: 'required', stream: true },
      { signal: controller.signal },
    );
    await eventually(
      'Ollama to be generating the forced call',
      () =>
        h.gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL }) === 1 &&
        h.gateway.emulator.stats.inFlight === 1,
      10_000,
    );
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await eventually('Ollama to see the request aborted', () => h.gateway.emulator.stats.abortedStreams === 1, 10_000);
    expect(h.gateway.emulator.requestCount({ endpoint: 'chat', model: TOOLS_MODEL })).toBe(1);
  });
});
