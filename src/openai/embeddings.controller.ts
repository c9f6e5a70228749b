import { Body, Controller, HttpCode, Post, Res, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { JSON_CONTENT_TYPE } from '../common/http/content-types';
import { requestContextOf } from '../common/http/request-context';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { EMBEDDING_LIST_SCHEMA, EMBEDDINGS_DESCRIPTION, EMBEDDINGS_REQUEST_SCHEMA } from './embeddings.openapi';
import { parseEmbeddingsRequest } from './embeddings-request';
import { EmbeddingsService } from './embeddings.service';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import { ApiOpenAiErrors } from './openai.openapi';

@ApiTags('openai')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@UseFilters(OpenAiExceptionFilter)
@Controller('v1')
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  /**
   * The body is plain JSON checked by `parseEmbeddingsRequest`, for OpenAI's error shape with `param`.
   * The answer is the list's JSON, written by the service with the vectors' text as Ollama sent it.
   */
  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create embeddings (OpenAI-compatible)', description: EMBEDDINGS_DESCRIPTION })
  @ApiBody({ schema: EMBEDDINGS_REQUEST_SCHEMA })
  @ApiOkResponse({ description: 'One embedding per input, in order.', schema: EMBEDDING_LIST_SCHEMA })
  @ApiOpenAiErrors(400, 401, 404, 429, 502, 503, 504)
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const request = parseEmbeddingsRequest(body);
    const list = await this.embeddings.embed(request, requestContextOf(reply));
    reply.type(JSON_CONTENT_TYPE);
    return list;
  }
}
