import OpenAI from 'openai';
import { ChatCompletionsController } from '../../src/openai/chat-completions.controller';
import { lastChatBody, MODEL, TOOLS_MODEL, VISION_MODEL } from './models-gateway';
import {
  ASK,
  CALL_ID,
  expectValidArguments,
  functionCalls,
  TIME,
  TOOLS,
  WEATHER_PARAMETERS,
  useToolsGateway,
} from './tools';

describe(`${ChatCompletionsController.name}: tools, with the official openai client`, () => {
  const h = useToolsGateway();

  it('answers a tool call with an id, arguments as a JSON string, content null and finish_reason tool_calls', async () => {
    const completion = await h.client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS });
    const [choice] = completion.choices;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const calls = functionCalls(choice.message);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: expect.stringMatching(CALL_ID), type: 'function' });
    expect(calls[0].function.name).toBe('get_weather');
    expectValidArguments(calls[0]);
    const upstream = lastChatBody(h.gateway, TOOLS_MODEL);
    expect(upstream.tools).toEqual(TOOLS.map(({ function: fn }) => ({ type: 'function', function: fn })));
    expect(upstream.format).toBeUndefined();
  });

  it('streams parallel calls through the SDK’s stream helper, each whole in its first chunk', async () => {
    const stream = h.client.chat.completions.stream({
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
    expect(lastChatBody(h.gateway, TOOLS_MODEL).stream).toBe(true);
  });

  it('keeps the first call only with parallel_tool_calls false, streamed with stream: true', async () => {
    const stream = await h.client.chat.completions.create({
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
    const first = await h.client.chat.completions.create({ model: TOOLS_MODEL, messages: ASK, tools: TOOLS });
    const assistant = first.choices[0].message;
    const [call] = functionCalls(assistant);
    const second = await h.client.chat.completions.create({
      model: TOOLS_MODEL,
      tools: TOOLS,
      messages: [...ASK, assistant, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' }],
    });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toBe(
      'Based on the tool results: get_weather returned {"temperature": 21}.',
    );
    expect(lastChatBody(h.gateway, TOOLS_MODEL).messages).toEqual([
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
    const runner = h.client.chat.completions.runTools({
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

  it('serves tools on the default model too', async () => {
    const completion = await h.client.chat.completions.create({ model: 'llama3.1', messages: ASK, tools: [TIME] });
    expect(functionCalls(completion.choices[0].message)[0].function.name).toBe('get_time');
  });

  it('lists every served model', async () => {
    const ids: string[] = [];
    for await (const model of h.client.models.list()) {
      ids.push(model.id);
    }
    expect(ids).toEqual([MODEL, TOOLS_MODEL, VISION_MODEL, 'nomic-embed-text:latest']);
  });
});
