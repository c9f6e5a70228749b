import { Logger } from '@nestjs/common';
import { BadGatewayError } from '../common/errors';
import { ModelCapabilityError } from '../llm/models/model-errors';
import type { LlmStreamEvent } from '../llm/llm.types';
import { FAKE_DONE as DONE, FAKE_RESULT as RESULT, FakeLlm } from '../../test/support/fake-llm';
import { parseChatCompletionRequest } from './chat-completion-request';
import { ChatCompletionsService, FORCED_CALL_ATTEMPTS } from './chat-completions.service';
import type { ChatCompletionChunk, ChatCompletionStreamEvent } from './openai.types';
import { ServedModels } from './served-model';

const MODEL = 'llama3.1:latest';
const CONTEXT = { requestId: 'req-1' };
const CALL_ID = /^call_[0-9a-f]{24}$/;

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const TIME = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };

const OSLO = { name: 'get_weather', arguments: { city: 'Oslo' } };
const NOON = { name: 'get_time', arguments: {} };

function build(capabilities = ['completion', 'tools']): { service: ChatCompletionsService; llm: FakeLlm } {
  const llm = new FakeLlm([{ name: MODEL, capabilities }]);
  return { service: new ChatCompletionsService(llm, new ServedModels(llm)), llm };
}

function parse(overrides: Record<string, unknown>): ReturnType<typeof parseChatCompletionRequest> {
  return parseChatCompletionRequest({
    model: MODEL,
    messages: [{ role: 'user', content: 'Weather in Oslo, and the time?' }],
    tools: [WEATHER, TIME],
    ...overrides,
  });
}

async function chunksOf(events: AsyncIterable<ChatCompletionStreamEvent>): Promise<ChatCompletionChunk[]> {
  const all: ChatCompletionStreamEvent[] = [];
  for await (const event of events) {
    all.push(event);
  }
  expect(all.at(-1)).toBe('[DONE]');
  return all.filter((event): event is ChatCompletionChunk => typeof event === 'object' && 'object' in event);
}

describe(`${ChatCompletionsService.name} with tools`, () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('tool_choice auto', () => {
    it('answers the model’s calls as OpenAI tool calls, content null, finish_reason tool_calls', async () => {
      const { service, llm } = build();
      llm.chatResult = { ...RESULT, content: '', toolCalls: [OSLO, NOON] };
      const completion = await service.complete(parse({}), CONTEXT);
      expect(completion.choices[0]).toEqual({
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: expect.stringMatching(CALL_ID),
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
            { id: expect.stringMatching(CALL_ID), type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      });
      const ids = completion.choices[0].message.tool_calls?.map((call) => call.id);
      expect(new Set(ids).size).toBe(2);
      expect(llm.calls[0].request.tools?.map((tool) => tool.name)).toEqual(['get_weather', 'get_time']);
    });

    it('keeps the text the model wrote besides its calls', async () => {
      const { service, llm } = build();
      llm.chatResult = { ...RESULT, content: 'Checking.', toolCalls: [OSLO] };
      const completion = await service.complete(parse({}), CONTEXT);
      expect(completion.choices[0].message.content).toBe('Checking.');
    });

    it('keeps only the first call with parallel_tool_calls false', async () => {
      const { service, llm } = build();
      llm.chatResult = { ...RESULT, content: '', toolCalls: [OSLO, NOON] };
      const completion = await service.complete(parse({ parallel_tool_calls: false }), CONTEXT);
      expect(completion.choices[0].message.tool_calls?.map((call) => call.function.name)).toEqual(['get_weather']);
    });

    it('answers text with finish_reason stop when the model calls nothing', async () => {
      const { service } = build();
      const completion = await service.complete(parse({}), CONTEXT);
      expect(completion.choices[0]).toMatchObject({
        message: { content: 'Hello there.' },
        finish_reason: 'stop',
      });
      expect(completion.choices[0].message).not.toHaveProperty('tool_calls');
    });

    it('streams each call whole in a delta with its index, then finish_reason tool_calls', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'tool_calls', calls: [OSLO, NOON] }, DONE];
      const chunks = await chunksOf(await service.stream(parse({ stream: true }), CONTEXT));
      expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
        { role: 'assistant', content: '' },
        {
          tool_calls: [
            {
              index: 0,
              id: expect.stringMatching(CALL_ID),
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        {
          tool_calls: [
            {
              index: 1,
              id: expect.stringMatching(CALL_ID),
              type: 'function',
              function: { name: 'get_time', arguments: '{}' },
            },
          ],
        },
        {},
      ]);
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
    });

    it('numbers calls on across several tool_calls events, and keeps one with parallel_tool_calls false', async () => {
      const events: LlmStreamEvent[] = [
        { type: 'tool_calls', calls: [OSLO] },
        { type: 'tool_calls', calls: [NOON] },
        DONE,
      ];
      const parallel = build();
      parallel.llm.streamEvents = events;
      const all = await chunksOf(await parallel.service.stream(parse({ stream: true }), CONTEXT));
      expect(all.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call) => call.index)).toEqual([
        0, 1,
      ]);

      const single = build();
      single.llm.streamEvents = events;
      const one = await chunksOf(
        await single.service.stream(parse({ stream: true, parallel_tool_calls: false }), CONTEXT),
      );
      expect(
        one.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call) => call.function.name),
      ).toEqual(['get_weather']);
    });

    it('ends a streamed text answer with finish_reason stop and the usage chunk', async () => {
      const { service } = build();
      const chunks = await chunksOf(
        await service.stream(parse({ stream: true, stream_options: { include_usage: true } }), CONTEXT),
      );
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    });
  });

  describe('tool_choice required or a named function', () => {
    it('asks with the call schema and no tools, and answers the call', async () => {
      const { service, llm } = build();
      llm.chatReplies = ['{"name":"get_time","arguments":{}}'];
      const completion = await service.complete(
        parse({ tool_choice: { type: 'function', function: { name: 'get_time' } } }),
        CONTEXT,
      );
      expect(llm.calls).toHaveLength(1);
      expect(llm.calls[0].request.tools).toBeUndefined();
      expect(llm.calls[0].request.format).toMatchObject({ properties: { name: { const: 'get_time' } } });
      expect(completion.choices[0]).toMatchObject({
        message: { content: null, tool_calls: [{ type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
        finish_reason: 'tool_calls',
      });
    });

    it('asks once more when the answer is not a valid call, then answers the valid one', async () => {
      const { service, llm } = build();
      llm.chatReplies = ['{"name":"get_weather","argu', '{"name":"get_weather","arguments":{"city":"Oslo"}}'];
      const completion = await service.complete(parse({ tool_choice: 'required' }), CONTEXT);
      expect(llm.calls).toHaveLength(2);
      expect(completion.choices[0].message.tool_calls?.[0].function).toEqual({
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
      });
      expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    });

    it(`fails with 502 after ${FORCED_CALL_ATTEMPTS} answers that call no allowed tool`, async () => {
      const { service, llm } = build();
      llm.chatReplies = ['{"name":"get_weather","arguments":{"city":"Oslo"}}', 'Sunny.'];
      const failure = service.complete(
        parse({ tool_choice: { type: 'function', function: { name: 'get_time' } } }),
        CONTEXT,
      );
      await expect(failure).rejects.toBeInstanceOf(BadGatewayError);
      await expect(failure).rejects.toThrow(/valid call of get_time after 2 attempts/);
      expect(llm.calls).toHaveLength(FORCED_CALL_ATTEMPTS);
    });

    it('streams the checked call as one delta, having asked the model without streaming', async () => {
      const { service, llm } = build();
      llm.chatReplies = ['{"name":"get_weather","arguments":{"city":"Oslo"}}'];
      llm.streamStart = new Error('the stream must not be used for a forced call');
      const chunks = await chunksOf(
        await service.stream(
          parse({ stream: true, tool_choice: 'required', stream_options: { include_usage: true } }),
          CONTEXT,
        ),
      );
      expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
        { role: 'assistant', content: '' },
        {
          tool_calls: [
            {
              index: 0,
              id: expect.stringMatching(CALL_ID),
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        {},
        undefined,
      ]);
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
      expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    });

    it('fails a streamed forced call before the stream starts when no valid call comes', async () => {
      const { service, llm } = build();
      llm.chatReplies = ['no', 'still no'];
      await expect(service.stream(parse({ stream: true, tool_choice: 'required' }), CONTEXT)).rejects.toBeInstanceOf(
        BadGatewayError,
      );
    });

    it('refuses a model without the tools capability before calling it', async () => {
      const { service, llm } = build(['completion', 'vision']);
      await expect(service.complete(parse({ tool_choice: 'required' }), CONTEXT)).rejects.toBeInstanceOf(
        ModelCapabilityError,
      );
      await expect(service.complete(parse({ tool_choice: 'required' }), CONTEXT)).rejects.toMatchObject({
        status: 400,
        param: 'model',
        code: 'model_capability_missing',
        message: expect.stringMatching(/does not support tools/),
      });
      expect(llm.calls).toHaveLength(0);
    });
  });
});
