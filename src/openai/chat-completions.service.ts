import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DomainError } from '../common/errors';
import { Llm } from '../llm/llm';
import type { LlmChatResult, LlmStreamEvent, LlmUsage } from '../llm/llm.types';
import type { ChatCompletionRequest } from './chat-completion-request';
import { OpenAiErrorObject, toOpenAiErrorResponse } from './openai-error';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionStreamEvent, CompletionUsage } from './openai.types';
import { ServedModels } from './served-model';

/** The `endpoint` label of the LLM metrics for these routes. */
export const METRICS_ENDPOINT = 'openai';

const MISSING_DONE = 'the model stopped without finishing its reply; try again';

/** Who is asking: the client's disconnect signal, and the request id that error messages may name. */
export interface CompletionContext {
  signal?: AbortSignal;
  requestId: string;
}

/** OpenAI's ids look like `chatcmpl-` followed by random letters and digits. */
export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(15).toString('hex')}`;
}

function toUsage({ promptTokens, completionTokens }: LlmUsage): CompletionUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** `POST /v1/chat/completions` on top of the `Llm` port: OpenAI's request in, OpenAI's objects out. */
@Injectable()
export class ChatCompletionsService {
  private readonly logger = new Logger(ChatCompletionsService.name);

  constructor(
    private readonly llm: Llm,
    private readonly served: ServedModels,
  ) {}

  /**
   * The whole completion as one `chat.completion` object.
   * @throws OpenAiRequestError 404 when the request names a model that is not served.
   * @throws ServiceUnavailableError (503), UpstreamTimeoutError (504 after OLLAMA_TIMEOUT), BadGatewayError
   *   (502), as `Llm.chat`.
   */
  async complete(request: ChatCompletionRequest, context: CompletionContext): Promise<ChatCompletion> {
    const model = this.served.resolve(request.model);
    const result: LlmChatResult = await this.llm.chat(
      { ...request.llm, model },
      {
        signal: context.signal,
        endpoint: METRICS_ENDPOINT,
      },
    );
    return {
      id: newCompletionId(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      system_fingerprint: this.served.fingerprint(model),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.content, refusal: null },
          finish_reason: result.doneReason,
          logprobs: null,
        },
      ],
      usage: toUsage(result.usage),
    };
  }

  /**
   * Starts a streamed completion. The promise settles once the model accepted the request, so refusals
   * before the first byte (404, 503, 504, 502) are thrown here and still become ordinary JSON errors.
   * The events never throw: a role chunk, content chunks, a chunk with `finish_reason`, the usage chunk
   * when asked for, then `[DONE]`; or, when the generation fails midway, an `{"error": ...}` event as
   * the last one, as OpenAI does. Ending the iteration early, or aborting the signal, stops the model.
   * @throws as `complete`.
   */
  async stream(
    request: ChatCompletionRequest,
    context: CompletionContext,
  ): Promise<AsyncIterable<ChatCompletionStreamEvent>> {
    const model = this.served.resolve(request.model);
    const upstream = await this.llm.stream(
      { ...request.llm, model },
      { signal: context.signal, endpoint: METRICS_ENDPOINT },
    );
    return this.events(upstream, request, this.served.fingerprint(model), context);
  }

  private async *events(
    upstream: AsyncIterable<LlmStreamEvent>,
    request: ChatCompletionRequest,
    fingerprint: string,
    context: CompletionContext,
  ): AsyncGenerator<ChatCompletionStreamEvent> {
    const header = {
      id: newCompletionId(),
      object: 'chat.completion.chunk' as const,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      system_fingerprint: fingerprint,
    };
    // OpenAI sends `usage: null` on every chunk of a stream that ends with a usage chunk.
    const usage = request.includeUsage ? { usage: null } : {};
    const chunk = (
      delta: ChatCompletionChunk['choices'][0]['delta'],
      finishReason: ChatCompletionChunk['choices'][0]['finish_reason'],
    ): ChatCompletionChunk => ({
      ...header,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usage,
    });

    yield chunk({ role: 'assistant', content: '' }, null);
    let done: Omit<LlmChatResult, 'content'> | undefined;
    try {
      // Iterated to its natural end even after `done`: leaving the loop early would abort the call.
      for await (const event of upstream) {
        switch (event.type) {
          case 'delta':
            if (event.text !== '' && done === undefined) {
              yield chunk({ content: event.text }, null);
            }
            break;
          case 'tool_calls':
            break;
          case 'done':
            done ??= event.result;
            break;
        }
      }
    } catch (error) {
      if (context.signal?.aborted) {
        // The client has gone: there is nobody to tell.
        return;
      }
      if (done === undefined) {
        yield { error: this.streamError(error, context.requestId) };
        return;
      }
    }
    if (done === undefined) {
      yield { error: { message: MISSING_DONE, type: 'server_error', param: null, code: 'upstream_error' } };
      return;
    }
    yield chunk({}, done.doneReason);
    if (request.includeUsage) {
      yield { ...header, choices: [], usage: toUsage(done.usage) };
    }
    yield '[DONE]';
  }

  private streamError(error: unknown, requestId: string): OpenAiErrorObject {
    if (!(error instanceof DomainError)) {
      this.logger.error({ err: error, reqId: requestId }, 'chat completion stream failed');
    }
    return toOpenAiErrorResponse(error, requestId).body.error;
  }
}
