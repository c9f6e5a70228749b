import { Logger } from '@nestjs/common';
import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import { ChatService, ChatStreamEvent, toLlmMessages } from './chat.service';
import type { ChatRequestDto } from './dto/chat-request.dto';
import { FAKE_RESULT as RESULT, FakeLlm } from '../../test/support/fake-llm';

async function collect(events: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const all: ChatStreamEvent[] = [];
  for await (const event of events) {
    all.push(event);
  }
  return all;
}

function build(): { service: ChatService; llm: FakeLlm } {
  const llm = new FakeLlm();
  return { service: new ChatService(llm), llm };
}

describe(ChatService.name, () => {
  describe(toLlmMessages.name, () => {
    it('sends the system prompt first, then the history in order, then the message', () => {
      const request: ChatRequestDto = {
        message: 'And now?',
        system: 'Be brief.',
        history: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'system', content: 'Mind the tone.' },
        ],
      };
      expect(toLlmMessages(request)).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'system', content: 'Mind the tone.' },
        { role: 'user', content: 'And now?' },
      ]);
    });

    it('sends the message alone when there is no system prompt or history', () => {
      expect(toLlmMessages({ message: 'Hi' })).toEqual([{ role: 'user', content: 'Hi' }]);
    });
  });

  describe('reply', () => {
    it('answers with the reply, model, done reason, usage and timings', async () => {
      const { service } = build();
      await expect(service.reply({ message: 'Hi' })).resolves.toEqual({
        reply: 'Hello there.',
        model: 'llama3.1:latest',
        doneReason: 'stop',
        usage: RESULT.usage,
        timings: RESULT.timings,
      });
    });

    it('asks for the model the request names, and for the default when it names none', async () => {
      const { service, llm } = build();
      await service.reply({ message: 'Hi', model: 'llama3.1' });
      await service.reply({ message: 'Hi' });
      expect(llm.calls.map((call) => call.request.model)).toEqual(['llama3.1', undefined]);
    });

    it('passes only the options the caller set, the abort signal, the request id and the chat endpoint label', async () => {
      const { service, llm } = build();
      const signal = new AbortController().signal;
      await service.reply(
        { message: 'Hi', options: { temperature: 0.1, seed: 7, top_p: undefined } },
        { signal, requestId: 'req-1' },
      );
      expect(llm.calls[0].request).toEqual({
        messages: [{ role: 'user', content: 'Hi' }],
        options: { temperature: 0.1, seed: 7 },
      });
      expect(llm.calls[0].options).toEqual({ signal, endpoint: 'chat', requestId: 'req-1' });
    });

    it('sends no options when none were set', async () => {
      const { service, llm } = build();
      await service.reply({ message: 'Hi', options: {} });
      expect(llm.calls[0].request).not.toHaveProperty('options');
    });

    it.each([
      new ServiceUnavailableError('the model is loading', 'not_ready', 5),
      new UpstreamTimeoutError('no answer'),
      new BadGatewayError('ollama failed'),
    ])('lets %p through for the filter to map', async (error) => {
      const { service, llm } = build();
      llm.chatResult = error;
      await expect(service.reply({ message: 'Hi' })).rejects.toBe(error);
    });
  });

  describe('stream', () => {
    it('yields non-empty deltas, then done with the body less the reply', async () => {
      const { service } = build();
      expect(await collect(await service.stream({ message: 'Hi', stream: true }))).toEqual([
        { data: { delta: 'Hello' } },
        { data: { delta: ' there.' } },
        {
          event: 'done',
          data: { model: RESULT.model, doneReason: 'stop', usage: RESULT.usage, timings: RESULT.timings },
        },
      ]);
    });

    it('rejects before the first event when the model refuses, so the client gets a JSON error', async () => {
      const { service, llm } = build();
      const refusal = new ServiceUnavailableError('overloaded', 'overloaded', 2);
      llm.streamStart = refusal;
      await expect(service.stream({ message: 'Hi', stream: true })).rejects.toBe(refusal);
    });

    it('ends with an error event carrying the domain error message when the generation fails midway', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }, new UpstreamTimeoutError('Ollama went silent for 35 s')];
      expect(await collect(await service.stream({ message: 'Hi', stream: true }))).toEqual([
        { data: { delta: 'Hel' } },
        { event: 'error', data: { message: 'Ollama went silent for 35 s' } },
      ]);
    });

    it('ends with the shutdown message when the service drains the stream', async () => {
      const { service, llm } = build();
      llm.streamEvents = [new ServiceUnavailableError('the service is shutting down', 'shutting_down', 5)];
      expect(await collect(await service.stream({ message: 'Hi', stream: true }))).toEqual([
        { event: 'error', data: { message: 'the service is shutting down' } },
      ]);
    });

    it('hides the text of an unexpected failure from the client and logs it', async () => {
      const { service, llm } = build();
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const failure = new TypeError('cannot read properties of undefined (at /srv/app/x.js:1)');
      llm.streamEvents = [failure];
      const events = await collect(await service.stream({ message: 'Hi', stream: true }));
      expect(events).toEqual([
        { event: 'error', data: { message: 'the reply stream failed unexpectedly; try again' } },
      ]);
      expect(logged).toHaveBeenCalledWith({ err: failure }, 'chat stream failed');
      logged.mockRestore();
    });

    it('reports a stream that ended without done as an error', async () => {
      const { service, llm } = build();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }];
      const events = await collect(await service.stream({ message: 'Hi', stream: true }));
      expect(events.at(-1)).toEqual({
        event: 'error',
        data: { message: 'the model stopped without finishing its reply; try again' },
      });
    });

    it('says nothing more once the client has gone', async () => {
      const { service, llm } = build();
      const client = new AbortController();
      llm.streamEvents = [{ type: 'delta', text: 'Hel' }, new Error('aborted')];
      const events: ChatStreamEvent[] = [];
      for await (const event of await service.stream({ message: 'Hi', stream: true }, { signal: client.signal })) {
        events.push(event);
        client.abort();
      }
      expect(events).toEqual([{ data: { delta: 'Hel' } }]);
    });

    it('ends the upstream iteration when the consumer stops early', async () => {
      const { service, llm } = build();
      for await (const _event of await service.stream({ message: 'Hi', stream: true })) {
        break;
      }
      expect(llm.returnedEarly).toBe(true);
    });

    it('reads the upstream to its end after done, so a finished call is not aborted', async () => {
      const { service, llm } = build();
      await collect(await service.stream({ message: 'Hi', stream: true }));
      expect(llm.returnedEarly).toBe(false);
    });
  });
});
