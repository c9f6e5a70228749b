import { Body, Controller, HttpCode, Inject, Post, Res, UseFilters } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { parseChatCompletionRequest } from './chat-completion-request';
import { ChatCompletionsService } from './chat-completions.service';
import { requestContextOf } from '../common/http/request-context';
import { sendEventStream } from '../common/http/server-sent-events';
import { ollamaConfig, OllamaConfig } from '../config/configuration';
import { formatEvent } from './event-stream';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import {
  ApiOpenAiErrors,
  CHAT_COMPLETION_REQUEST_SCHEMA,
  CHAT_COMPLETION_SCHEMA,
  STREAM_EXAMPLE,
} from './openai.openapi';
import type { ChatCompletion } from './openai.types';

const DESCRIPTION = [
  "OpenAI's chat completions API, served by the local models: point any OpenAI client at `<this service>/v1`.",
  'Tools (`tools`, `tool_choice` `auto`, `none`, `required` or a named function — a forced choice is enforced',
  'with a JSON schema of the allowed calls — and `parallel_tool_calls`) need a model with the `tools`',
  'capability; images (user content parts with an inline `data:image/...;base64,` URL; remote URLs are',
  'refused) need `vision`. A model without the capability a request needs is refused with 400.',
  'With `"stream": true` the answer is `text/event-stream` of `chat.completion.chunk` objects ending in',
  '`data: [DONE]`; a failure after the stream started ends it with `data: {"error": {...}}`.',
  'Errors use OpenAI\'s shape `{"error": {message, type, param, code}}`.',
].join('\n');

@ApiTags('openai')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@UseFilters(OpenAiExceptionFilter)
@Controller('v1/chat')
export class ChatCompletionsController {
  constructor(
    private readonly completions: ChatCompletionsService,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
  ) {}

  /**
   * The body is taken as plain JSON and checked by `parseChatCompletionRequest` (typed `unknown`, so
   * the global ValidationPipe leaves it alone): OpenAI's request is full of unions, and its clients
   * expect OpenAI's error shape with `param`. A stream is returned as a `Readable` that Fastify writes
   * as it comes, so guards, the exception filter and the latency interceptor apply to both forms.
   */
  @Post('completions')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a chat completion (OpenAI-compatible)', description: DESCRIPTION })
  @ApiBody({ schema: CHAT_COMPLETION_REQUEST_SCHEMA })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description: 'A `chat.completion`, or with `"stream": true` an event stream of `chat.completion.chunk`s.',
    content: {
      'application/json': { schema: CHAT_COMPLETION_SCHEMA },
      'text/event-stream': { schema: { type: 'string' }, example: STREAM_EXAMPLE },
    },
  })
  @ApiOpenAiErrors(400, 401, 404, 429, 502, 503, 504)
  async create(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletion | Readable> {
    const parsed = parseChatCompletionRequest(body);
    const context = requestContextOf(reply);
    if (!parsed.stream) {
      return this.completions.complete(parsed, context);
    }
    const events = await this.completions.stream(parsed, context);
    return sendEventStream(reply, events, { format: formatEvent, stallTimeoutMs: this.ollama.timeoutMs });
  }
}
