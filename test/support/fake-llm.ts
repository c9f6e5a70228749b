import { Llm, LlmStatus, ServedModel } from '../../src/llm/llm';
import { EmbeddingVectors } from '../../src/llm/embedding-vectors';
import type {
  LlmCallOptions,
  LlmChatRequest,
  LlmChatResult,
  LlmEmbedRequest,
  LlmEmbedResult,
  LlmForwardRequest,
  LlmForwardResponse,
  LlmStreamEvent,
} from '../../src/llm/llm.types';
import { ModelRegistry } from '../../src/llm/models/model-registry';

/*
 * The one stand-in for the `Llm` port, for unit tests of the modules that use it: it resolves model
 * names by the real registry's rule, records every call and plays back scripted answers.
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

export class FakeLlm extends Llm {
  readonly defaultModel: string;
  readonly calls: Array<{ request: LlmChatRequest; options: LlmCallOptions }> = [];
  readonly embedCalls: Array<{ request: LlmEmbedRequest; options: LlmCallOptions }> = [];
  /** The answer of every `chat`, or, when `chatReplies` has any left, the next of those. */
  chatResult: LlmChatResult | Error = FAKE_RESULT;
  /** Scripted `chat` answers, one per call: a reply's content, or an error to throw. */
  chatReplies: Array<string | Error> = [];
  streamStart: Error | undefined;
  streamEvents: Array<LlmStreamEvent | Error> = [
    { type: 'delta', text: 'Hello' },
    { type: 'delta', text: '' },
    { type: 'delta', text: ' there.' },
    FAKE_DONE,
  ];
  embedResult: LlmEmbedResult | Error = {
    model: 'nomic-embed-text:latest',
    embeddings: EmbeddingVectors.fromArrays([[0.6, 0.8]]),
    promptTokens: 2,
  };
  /** Set when the consumer stopped iterating before the end. */
  returnedEarly = false;
  readonly drains: number[] = [];
  currentStatus: LlmStatus;
  private readonly registry: ModelRegistry;

  constructor(private readonly served: ServedModel[] = [{ name: FAKE_MODEL, capabilities: ['completion', 'tools'] }]) {
    super();
    this.defaultModel = served[0].name;
    this.registry = new ModelRegistry(
      served.map((model) => model.name),
      (name) => served.find((model) => model.name === name)?.capabilities,
    );
    this.currentStatus = {
      state: 'ready',
      model: this.defaultModel,
      warm: true,
      circuit: 'closed',
      queueDepth: 0,
      inFlight: 0,
      models: Object.fromEntries(
        served.map((model) => [model.name, { state: 'ready', warm: true, capabilities: model.capabilities }]),
      ),
    };
  }

  models(): ServedModel[] {
    return this.served.map((model) => ({ ...model, capabilities: [...model.capabilities] }));
  }

  findModel(name: string): string | undefined {
    return this.registry.find(name);
  }

  async chat(request: LlmChatRequest, options: LlmCallOptions): Promise<LlmChatResult> {
    this.calls.push({ request, options });
    const model = this.registry.resolve(request.model, 'completion');
    const scripted = this.chatReplies.shift();
    const answer = scripted === undefined ? this.chatResult : scripted;
    if (answer instanceof Error) {
      throw answer;
    }
    return typeof answer === 'string' ? { ...FAKE_RESULT, model, content: answer } : answer;
  }

  async stream(request: LlmChatRequest, options: LlmCallOptions): Promise<AsyncIterable<LlmStreamEvent>> {
    this.calls.push({ request, options });
    this.registry.resolve(request.model, 'completion');
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

  async embed(request: LlmEmbedRequest, options: LlmCallOptions): Promise<LlmEmbedResult> {
    this.embedCalls.push({ request, options });
    this.registry.resolve(request.model, 'embedding');
    if (this.embedResult instanceof Error) {
      throw this.embedResult;
    }
    return this.embedResult;
  }

  /** Answers of `forward`, by path; a path without one is a 404 in Ollama's words. */
  forwardAnswers = new Map<string, { status: number; contentType?: string; chunks: string[] }>();
  readonly forwardCalls: Array<{ request: LlmForwardRequest; options: LlmCallOptions }> = [];

  async forward(request: LlmForwardRequest, options: LlmCallOptions): Promise<LlmForwardResponse> {
    this.forwardCalls.push({ request, options });
    const answer = this.forwardAnswers.get(request.path) ?? { status: 404, chunks: ['404 page not found'] };
    return {
      status: answer.status,
      ...(answer.contentType !== undefined && { contentType: answer.contentType }),
      body: (async function* () {
        for (const chunk of answer.chunks) {
          yield Buffer.from(chunk);
        }
      })(),
    };
  }

  status(): LlmStatus {
    return this.currentStatus;
  }

  async drain(gracePeriodMs: number): Promise<void> {
    this.drains.push(gracePeriodMs);
  }
}
