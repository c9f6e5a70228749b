import { Injectable, Logger } from '@nestjs/common';
import { BadGatewayError, DomainError } from '../common/errors';
import { randomHex } from '../common/random-hex';
import { Llm } from '../llm/llm';
import {
  callOptionsFor,
  type LlmCallOptions,
  type LlmChatResult,
  type LlmStreamEvent,
  type LlmToolCall,
  type LlmUsage,
} from '../llm/llm.types';
import type { ChatCompletionRequest } from './chat-completion-request';
import type { ToolUse } from './chat-tools';
import { parseForcedCall } from './forced-tool-call';
import { OpenAiErrorObject, toOpenAiErrorResponse } from './openai-error';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionStreamEvent,
  CompletionUsage,
  FinishReason,
} from './openai.types';
import { ServedModels } from './served-model';
import { toOpenAiToolCall } from './tool-calls';
import type { RequestContext } from '../common/http/request-context';

/** The `endpoint` label of the LLM metrics for these routes. */
export const METRICS_ENDPOINT = 'openai';

/** A forced tool call that is not a valid call is asked for once more, then the request fails with 502. */
export const FORCED_CALL_ATTEMPTS = 2;

const MISSING_DONE = 'the model stopped without finishing its reply; try again';

/** Who is asking: the request's context, whose id error messages may name, so it is always there. */
export type CompletionContext = RequestContext & { requestId: string };

/** OpenAI's ids look like `chatcmpl-` followed by random letters and digits. */
export function newCompletionId(): string {
  return `chatcmpl-${randomHex(15)}`;
}

function toUsage({ promptTokens, completionTokens }: LlmUsage): CompletionUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** The calls the client gets: with `parallel_tool_calls: false`, at most the first. */
function keptCalls(calls: readonly LlmToolCall[], tools: ToolUse | undefined, alreadyKept = 0): LlmToolCall[] {
  if (tools === undefined) {
    return [];
  }
  const limit = tools.mode === 'forced' || !tools.parallel ? 1 : Infinity;
  return calls.slice(0, Math.max(0, limit - alreadyKept));
}

/** A finished chat as the events of a stream: its text, its calls, then `done`. */
function replay(result: LlmChatResult): LlmStreamEvent[] {
  const { content, toolCalls, ...done } = result;
  return [
    ...(content !== '' ? [{ type: 'delta' as const, text: content }] : []),
    ...(toolCalls !== undefined && toolCalls.length > 0 ? [{ type: 'tool_calls' as const, calls: toolCalls }] : []),
    { type: 'done', result: done },
  ];
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
   * The whole completion as one `chat.completion` object; tool calls the model made are in
   * `message.tool_calls` with `finish_reason: "tool_calls"`.
   * @throws OpenAiRequestError 404 when the request names a model that is not served.
   * @throws ModelCapabilityError 400 when the model lacks what the request needs (tools, vision, chat).
   * @throws BadGatewayError 502 when a forced tool choice got no valid call in FORCED_CALL_ATTEMPTS.
   * @throws ServiceUnavailableError (503), UpstreamTimeoutError (504 after OLLAMA_TIMEOUT), BadGatewayError
   *   (502), as `Llm.chat`.
   */
  async complete(request: ChatCompletionRequest, context: CompletionContext): Promise<ChatCompletion> {
    const model = this.served.resolve(request.model);
    const options = callOptionsFor(METRICS_ENDPOINT, context);
    const result =
      request.tools?.mode === 'forced'
        ? await this.forcedCall(model, request, options)
        : await this.llm.chat({ ...request.llm, model }, options);
    const calls = keptCalls(result.toolCalls ?? [], request.tools).map(toOpenAiToolCall);
    const message: ChatCompletion['choices'][0]['message'] =
      calls.length > 0
        ? {
            role: 'assistant',
            content: result.content === '' ? null : result.content,
            refusal: null,
            tool_calls: calls,
          }
        : { role: 'assistant', content: result.content, refusal: null };
    return {
      id: newCompletionId(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      system_fingerprint: this.served.fingerprint(model),
      choices: [
        {
          index: 0,
          message,
          finish_reason: calls.length > 0 ? 'tool_calls' : result.doneReason,
          logprobs: null,
        },
      ],
      usage: toUsage(result.usage),
    };
  }

  /**
   * Starts a streamed completion. The promise settles once the model accepted the request, so refusals
   * before the first byte (400, 404, 503, 504, 502) are thrown here and still become ordinary JSON
   * errors. The events never throw: a role chunk, content chunks and tool-call chunks, a chunk with
   * `finish_reason`, the usage chunk when asked for, then `[DONE]`; or, when the generation fails
   * midway, an `{"error": ...}` event as the last one, as OpenAI does. Ending the iteration early, or
   * aborting the signal, stops the model. A forced tool choice is answered whole before the stream
   * starts, since its call is only known once the answer is complete and checked.
   * @throws as `complete`.
   */
  async stream(
    request: ChatCompletionRequest,
    context: CompletionContext,
  ): Promise<AsyncIterable<ChatCompletionStreamEvent>> {
    const model = this.served.resolve(request.model);
    const options = callOptionsFor(METRICS_ENDPOINT, context);
    const upstream =
      request.tools?.mode === 'forced'
        ? replay(await this.forcedCall(model, request, options))
        : await this.llm.stream({ ...request.llm, model }, options);
    return this.events(upstream, request, this.served.fingerprint(model), context);
  }

  /**
   * Asks for the one call a forced `tool_choice` demands (the request's `format` admits only such a
   * call) and checks the answer, asking once more when it is not a valid call of an allowed tool.
   */
  private async forcedCall(
    model: string,
    request: ChatCompletionRequest,
    options: LlmCallOptions,
  ): Promise<LlmChatResult> {
    this.served.requireCapability(model, 'tools');
    const allowed = request.tools?.mode === 'forced' ? request.tools.allowed : [];
    for (let attempt = 1; attempt <= FORCED_CALL_ATTEMPTS; attempt++) {
      const result = await this.llm.chat({ ...request.llm, model }, options);
      const answer = parseForcedCall(result.content, allowed);
      if ('call' in answer) {
        return { ...result, content: '', toolCalls: [answer.call] };
      }
      this.logger.warn(
        { attempt, problem: answer.problem, doneReason: result.doneReason, reqId: options.requestId },
        'the model did not answer a forced tool choice with a valid call',
      );
    }
    throw new BadGatewayError(
      `the model did not return a valid call of ${allowed.map(({ name }) => name).join(' or ')} after ` +
        `${FORCED_CALL_ATTEMPTS} attempts; try again or rephrase the request`,
    );
  }

  private async *events(
    upstream: AsyncIterable<LlmStreamEvent> | Iterable<LlmStreamEvent>,
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
      finishReason: FinishReason | null,
    ): ChatCompletionChunk => ({
      ...header,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usage,
    });

    yield chunk({ role: 'assistant', content: '' }, null);
    let done: Omit<LlmChatResult, 'content'> | undefined;
    let callCount = 0;
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
            for (const call of done === undefined ? keptCalls(event.calls, request.tools, callCount) : []) {
              yield chunk({ tool_calls: [{ index: callCount++, ...toOpenAiToolCall(call) }] }, null);
            }
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
    yield chunk({}, callCount > 0 ? 'tool_calls' : done.doneReason);
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
