import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { Llm } from '../llm/llm';
import {
  callOptionsFor,
  type LlmChatRequest,
  type LlmMessage,
  type LlmOptions,
  type LlmStreamEvent,
} from '../llm/llm.types';
import type { RequestContext } from '../common/http/request-context';
import type { ChatRequestDto } from './dto/chat-request.dto';
import type { ChatDoneDto, ChatResponseDto } from './dto/chat-response.dto';

/** Events of a streamed chat, as CONTRACT §2 names them on the wire. */
export type ChatStreamEvent =
  | { event?: undefined; data: { delta: string } }
  | { event: 'done'; data: ChatDoneDto }
  | { event: 'error'; data: { message: string } };

const METRICS_ENDPOINT = 'chat';

/** Said to a client whose stream broke for a reason that is not a domain error (a bug, not Ollama). */
const UNEXPECTED_STREAM_FAILURE = 'the reply stream failed unexpectedly; try again';
const MISSING_DONE = 'the model stopped without finishing its reply; try again';

/** System prompt first, then the history in order, then the new message. */
export function toLlmMessages(request: ChatRequestDto): LlmMessage[] {
  const messages: LlmMessage[] = [];
  if (request.system !== undefined) {
    messages.push({ role: 'system', content: request.system });
  }
  for (const { role, content } of request.history ?? []) {
    messages.push({ role, content });
  }
  messages.push({ role: 'user', content: request.message });
  return messages;
}

function toLlmOptions(options: ChatRequestDto['options']): LlmOptions | undefined {
  if (options === undefined) {
    return undefined;
  }
  const picked: LlmOptions = {};
  if (options.temperature !== undefined) {
    picked.temperature = options.temperature;
  }
  if (options.top_p !== undefined) {
    picked.top_p = options.top_p;
  }
  if (options.num_predict !== undefined) {
    picked.num_predict = options.num_predict;
  }
  if (options.seed !== undefined) {
    picked.seed = options.seed;
  }
  return Object.keys(picked).length > 0 ? picked : undefined;
}

function toLlmRequest(request: ChatRequestDto): LlmChatRequest {
  const options = toLlmOptions(request.options);
  return {
    ...(request.model !== undefined && { model: request.model }),
    messages: toLlmMessages(request),
    ...(options !== undefined && { options }),
  };
}

/** Chat with a served model (the default unless the request names one): one reply, or a stream of deltas. */
@Injectable()
export class ChatService {
  private readonly logger = new Logger(ChatService.name);

  constructor(private readonly llm: Llm) {}

  /**
   * The model's whole reply.
   * @param caller its `signal` aborts the upstream generation, e.g. when the client disconnects.
   * @throws ServiceUnavailableError (503: not ready, overloaded, circuit open, shutting down),
   *   UpstreamTimeoutError (504: no answer within OLLAMA_TIMEOUT), BadGatewayError (502).
   */
  async reply(request: ChatRequestDto, caller: RequestContext = {}): Promise<ChatResponseDto> {
    const result = await this.llm.chat(toLlmRequest(request), callOptionsFor(METRICS_ENDPOINT, caller));
    return {
      reply: result.content,
      model: result.model,
      doneReason: result.doneReason,
      usage: result.usage,
      timings: result.timings,
    };
  }

  /**
   * Starts a streamed reply. The promise settles once the model has accepted the request, so every
   * refusal before the first byte (503, 504, 502) is thrown here and can still become a plain JSON
   * error. The events then never throw: deltas, then one `done`, or a final `error` event when the
   * generation fails midway. Ending the iteration early, or aborting `caller.signal`, aborts the generation.
   * @throws ServiceUnavailableError, UpstreamTimeoutError, BadGatewayError, as `reply`.
   */
  async stream(request: ChatRequestDto, caller: RequestContext = {}): Promise<AsyncIterable<ChatStreamEvent>> {
    const upstream = await this.llm.stream(toLlmRequest(request), callOptionsFor(METRICS_ENDPOINT, caller));
    return this.events(upstream, caller);
  }

  private async *events(
    upstream: AsyncIterable<LlmStreamEvent>,
    caller: RequestContext,
  ): AsyncGenerator<ChatStreamEvent> {
    let finished = false;
    try {
      // Iterated to its natural end even after `done`: leaving the loop early would abort the call.
      for await (const event of upstream) {
        switch (event.type) {
          case 'delta':
            if (event.text !== '' && !finished) {
              yield { data: { delta: event.text } };
            }
            break;
          case 'done': {
            if (!finished) {
              finished = true;
              const { model, doneReason, usage, timings } = event.result;
              yield { event: 'done', data: { model, doneReason, usage, timings } };
            }
            break;
          }
          case 'tool_calls':
            // `/chat` offers the model no tools, so it has none to call.
            break;
        }
      }
      if (!finished) {
        yield { event: 'error', data: { message: MISSING_DONE } };
      }
    } catch (error) {
      if (finished || caller.signal?.aborted) {
        // The reply is complete, or the client has gone: there is nobody to tell.
        return;
      }
      if (error instanceof DomainError) {
        yield { event: 'error', data: { message: error.message } };
        return;
      }
      this.logger.error({ err: error, reqId: caller.requestId }, 'chat stream failed');
      yield { event: 'error', data: { message: UNEXPECTED_STREAM_FAILURE } };
    }
  }
}
