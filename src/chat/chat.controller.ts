import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { ChatService } from './chat.service';
import { requestContextOf } from '../common/http/request-context';
import { ChatRequestDto } from './dto/chat-request.dto';
import { ChatDoneDto, ChatResponseDto } from './dto/chat-response.dto';
import { sendEventStream } from '../common/http/server-sent-events';
import { ollamaConfig, OllamaConfig } from '../config/configuration';

const STREAM_DESCRIPTION = [
  'With `"stream": true` the answer is `text/event-stream`: one `data: {"delta": "<text>"}` event per',
  'piece of the reply, then `event: done` whose data is the non-streamed body less `reply`. A failure',
  'after the stream started ends it with `event: error` and `data: {"message": "..."}`. Refusals before',
  'the first byte (400, 503, ...) are ordinary JSON errors. Closing the connection stops the generation; so',
  'does a client that accepts no data for OLLAMA_TIMEOUT, whose connection is then closed.',
].join('\n');

@ApiTags('chat')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@ApiExtraModels(ChatDoneDto)
@Controller('chat')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
  ) {}

  /**
   * One handler for both forms, because the body decides which: the JSON reply goes through Nest as
   * usual, and a stream is returned as a `Readable` that Fastify writes as it comes, so guards, pipes,
   * the exception filter and the latency interceptor apply to both.
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Chat with the served model', description: STREAM_DESCRIPTION })
  @ApiBody({ type: ChatRequestDto })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description: 'The reply (JSON), or with `"stream": true` an event stream of deltas ending in `event: done`.',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatResponseDto) } },
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'data: {"delta":"Duration"}\n\ndata: {"delta":" risk is"}\n\n' +
          'event: done\ndata: {"model":"llama3.1:latest","doneReason":"stop","usage":{...},"timings":{...}}\n\n',
      },
    },
  })
  @ApiExtraModels(ChatResponseDto)
  @ApiErrorResponses()
  async create(
    @Body() body: ChatRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatResponseDto | Readable> {
    const caller = requestContextOf(reply);
    if (body.stream !== true) {
      return this.chat.reply(body, caller);
    }
    const events = await this.chat.stream(body, caller);
    return sendEventStream(reply, events, { stallTimeoutMs: this.ollama.timeoutMs });
  }
}
