import { Logger } from '@nestjs/common';
import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import type { LlmChatRequest } from '../llm/llm.types';
import type { ChatCompletionRequest } from './chat-completion-request';
import { ChatCompletionsService, METRICS_ENDPOINT } from './chat-completions.service';
import { OpenAiRequestError } from './openai-error';
import type { ChatCompletionChunk, ChatCompletionStreamEvent } from './openai.types';
import { ServedModels } from './served-model';
import { FAKE_DONE as DONE, FAKE_RESULT as RESULT, FakeLlm } from '../../test/support/fake-llm';

const MODEL = 'llama3.1:latest';

function request(overrides: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest {
  return {
    model: MODEL,
    llm: { messages: [{ role: 'user', content: 'Hi' }] },
    stream: false,
    includeUsage: false,
    ...overrides,
  };
}

async function collect(events: AsyncIterable<ChatCompletionStreamEvent>): Promise<ChatCompletionStreamEvent[]> {
  const all: ChatCompletionStreamEvent[] = [];
  for await (const event of events) {
    all.push(event);
  }
  return all;
}

function isChunk(event: ChatCompletionStreamEvent): event is ChatCompletionChunk {
  return typeof event === 'object' && 'object' in event;
}

function build(): { service: ChatCompletionsService; llm: FakeLlm; served: ServedModels } {
  const llm = new FakeLlm();
  const served = new ServedModels(llm);
  return { service: new ChatCompletionsService(llm, served), llm, served };
}

const CONTEXT = { requestId: 'req-1' };

describe(ChatCompletionsService.name, () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('complete', () => {
    it('answers with a chat.completion object naming the model as the client did', async () => {
      const { service, served } = build();
      const before = Math.floor(Date.now() / 1000);
      const completion = await service.complete(request({ model: 'llama3.1' }), CONTEXT);
      expect(completion).toEqual({
        id: expect.stringMatching(/^chatcmpl-[0-9a-f]{30}$/),
        object: 'chat.completion',
        created: expect.any(Number),
        model: 'llama3.1',
        system_fingerprint: served.fingerprint(MODEL),
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hello there.', refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
      });
      expect(completion.created).toBeGreaterThanOrEqual(before);
    });

    it('reports a reply cut at max_tokens as finish_reason length', async () => {
      const { service, llm } = build();
      llm.chatResult = { ...RESULT, doneReason: 'length' };
      const completion = await service.complete(request(), CONTEXT);
      expect(completion.choices[0].finish_reason).toBe('length');
    });

    it('gives each completion its own id', async () => {
      const { service } = build();
      const first = await service.complete(request(), CONTEXT);
      const second = await service.complete(request(), CONTEXT);
      expect(first.id).not.toBe(second.id);
    });

    it('passes the request, the signal, the request id and the openai metrics label to the model', async () => {
      const { service, llm } = build();
      const signal = new AbortController().signal;
      const llmRequest: LlmChatRequest = {
        messages: [{ role: 'user', content: 'Hi' }],
        options: { temperature: 0.1, stop: ['END'] },
        format: 'json',
      };
      await service.complete(request({ llm: llmRequest }), { signal, requestId: 'r' });
      expect(llm.calls).toEqual([
        { request: { ...llmRequest, model: MODEL }, options: { signal, endpoint: METRICS_ENDPOINT, requestId: 'r' } },
      ]);
      expect(METRICS_ENDPOINT).toBe('openai');
    });

    it('refuses another model with 404 without calling the model', async () => {
      const { service, llm } = build();
      await expect(service.complete(request({ model: 'gpt-4o' }), CONTEXT)).rejects.toMatchObject({
        status: 404,
        code: 'model_not_found',
      });
      expect(llm.calls).toHaveLength(0);
    });

    it('lets the model’s refusals through for the filter to map', async () => {
      const { service, llm } = build();
      const refusal = new ServiceUnavailableError('loading', 'not_ready', 5);
      llm.chatResult = refusal;
      await expect(service.complete(request(), CONTEXT)).rejects.toBe(refusal);
    });
  });

  describe('stream', () => {
    it('sends a role chunk, the content, a finish chunk and [DONE], all with one id', async () => {
      const { service, served } = build();
      const events = await collect(await service.stream(request({ stream: true, model: 'llama3.1' }), CONTEXT));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.filter(isChunk);
      expect(chunks).toHaveLength(events.length - 1);
      expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
        { role: 'assistant', content: '' },
        { content: 'Hello' },
        { content: ' there.' },
        {},
      ]);
      expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason)).toEqual([null, null, null, 'stop']);
      const [first] = chunks;
      expect(first).toMatchObject({
        id: expect.stringMatching(/^chatcmpl-/),
        object: 'chat.completion.chunk',
        model: 'llama3.1',
        system_fingerprint: served.fingerprint(MODEL),
      });
      for (const chunk of chunks) {
        expect(chunk.id).toBe(first.id);
        expect(chunk.created).toBe(first.created);
        expect(chunk).not.toHaveProperty('usage');
      }
    });

    it('ends with a usage chunk without choices when include_usage is set', async () => {
      const { service } = build();
      const events = await collect(await service.stream(request({ stream: true, includeUsage: true }), CONTEXT));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.filter(isChunk);
      const usageChunk = chunks.at(-1);
      expect(usageChunk?.choices).toEqual([]);
      expect(usageChunk?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
      for (const chunk of chunks.slice(0, -1)) {
        expect(chunk.usage).toBeNull();
      }
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    });

    it('passes the openai metrics label, the signal and the request id to the model', async () => {
      const { service, llm } = build();
      const signal = new AbortController().signal;
      await collect(await service.stream(request({ stream: true }), { signal, requestId: 'r' }));
      expect(llm.calls[0].options).toEqual({ signal, endpoint: 'openai', requestId: 'r' });
    });

    it('refuses another model before anything is sent', async () => {
      const { service, llm } = build();
      await expect(service.stream(request({ stream: true, model: 'mistral' }), CONTEXT)).rejects.toBeInstanceOf(
        OpenAiRequestError,
      );
      expect(llm.calls).toHaveLength(0);
    });

    it('rejects before the first byte when the model refuses the request', async () => {
      const { service, llm } = build();
      const refusal = new UpstreamTimeoutError('no answer');
      llm.streamStart = refusal;
      await expect(service.stream(request({ stream: true }), CONTEXT)).rejects.toBe(refusal);
    });

    it('ends with an OpenAI error event, and no [DONE], when the generation fails midway', async () => {
      const { service, llm } = build();
      llm.streamEvents = [
        { type: 'delta', text: 'Hel' },
        new BadGatewayError('the model server failed in the middle of the answer'),
      ];
      const events = await collect(await service.stream(request({ stream: true }), CONTEXT));
      expect(events).not.toContain('[DONE]');
      expect(events.at(-1)).toEqual({
        error: {
          message: 'the model server failed in the middle of the answer',
          type: 'server_error',
          param: null,
          code: 'upstream_error',
        },
      });
    });

    it('does not reveal an unexpected failure midway, and logs it', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }, new TypeError('x is undefined at /app/src/x.ts')];
      const events = await collect(await service.stream(request({ stream: true }), CONTEXT));
      expect(events.at(-1)).toEqual({
        error: { message: expect.stringContaining('req-1'), type: 'api_error', param: null, code: 'internal_error' },
      });
      expect(JSON.stringify(events.at(-1))).not.toContain('/app/src');
      expect(Logger.prototype.error).toHaveBeenCalled();
    });

    it('ends with an error event when the model stops without finishing', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }];
      const events = await collect(await service.stream(request({ stream: true }), CONTEXT));
      expect(events).not.toContain('[DONE]');
      expect(events.at(-1)).toMatchObject({ error: { type: 'server_error' } });
    });

    it('finishes normally when a failure comes after the model finished', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'delta', text: 'Hi' }, DONE, new BadGatewayError('late')];
      const events = await collect(await service.stream(request({ stream: true }), CONTEXT));
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.some((event) => typeof event === 'object' && 'error' in event)).toBe(false);
    });

    it('says nothing more once the client has gone', async () => {
      const { service, llm } = build();
      const controller = new AbortController();
      controller.abort();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }, new BadGatewayError('aborted')];
      const events = await collect(
        await service.stream(request({ stream: true }), { signal: controller.signal, requestId: 'r' }),
      );
      expect(events.filter((event) => !isChunk(event))).toEqual([]);
    });

    it('stops the model when the consumer stops reading', async () => {
      const { service, llm } = build();
      const events = await service.stream(request({ stream: true }), CONTEXT);
      for await (const event of events) {
        if (isChunk(event) && event.choices[0]?.delta.content === 'Hello') {
          break;
        }
      }
      expect(llm.returnedEarly).toBe(true);
    });
  });
});
