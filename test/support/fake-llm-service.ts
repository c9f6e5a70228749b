import type { LlmCallOptions, LlmChatRequest, LlmChatResult, LlmStreamEvent } from '../../src/llm/llm.types';

/*
 * A stand-in for `LlmService` at our own class boundary, for unit tests of the modules that use it.
 */

export const FAKE_MODEL = 'llama3.1:latest';

export const FAKE_RESULT: LlmChatResult = {
  content: 'Hello there.',
  model: FAKE_MODEL,
  doneReason: 'stop',
  usage: { promptTokens: 12, completionTokens: 3 },
  timings: { totalMs: 40, queueMs: 1, loadMs: 2, promptEvalMs: 5, evalMs: 30, tokensPerSecond: 100 },
};

export const FAKE_DONE: LlmStreamEvent = {
  type: 'done',
  result: { model: FAKE_MODEL, doneReason: 'stop', usage: FAKE_RESULT.usage, timings: FAKE_RESULT.timings },
};

/** Stands in for `LlmService`: records calls and plays back scripted answers. */
export class FakeLlmService {
  readonly model = FAKE_MODEL;
  readonly calls: Array<{ request: LlmChatRequest; options: LlmCallOptions }> = [];
  chatResult: LlmChatResult | Error = FAKE_RESULT;
  streamStart: Error | undefined;
  streamEvents: Array<LlmStreamEvent | Error> = [
    { type: 'delta', text: 'Hello' },
    { type: 'delta', text: '' },
    { type: 'delta', text: ' there.' },
    FAKE_DONE,
  ];
  /** Set when the consumer stopped iterating before the end. */
  returnedEarly = false;

  async chat(request: LlmChatRequest, options: LlmCallOptions): Promise<LlmChatResult> {
    this.calls.push({ request, options });
    if (this.chatResult instanceof Error) {
      throw this.chatResult;
    }
    return this.chatResult;
  }

  async stream(request: LlmChatRequest, options: LlmCallOptions): Promise<AsyncIterable<LlmStreamEvent>> {
    this.calls.push({ request, options });
    if (this.streamStart) {
      throw this.streamStart;
    }
    const events = this.streamEvents;
    const onEarlyReturn = (): void => {
      this.returnedEarly = true;
    };
    return (async function* () {
      let completed = false;
      try {
        for (const event of events) {
          if (event instanceof Error) {
            throw event;
          }
          yield event;
        }
        completed = true;
      } finally {
        if (!completed) {
          onEarlyReturn();
        }
      }
    })();
  }
}
