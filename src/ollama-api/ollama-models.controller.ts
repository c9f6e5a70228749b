import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { requestContextOf } from '../common/http/request-context';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { OllamaApiService } from './ollama-api.service';
import { ApiOllamaErrors } from './ollama-api.openapi';
import type { ModelList } from './served-list';

const MODEL_LIST = {
  description: 'Ollama’s list, with the served models only.',
  schema: { type: 'object', properties: { models: { type: 'array', items: { type: 'object' } } } },
};

/** Ollama's routes about the models and the server: lists filtered to the served models, the rest relayed. */
@ApiTags('ollama')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@Controller('api')
export class OllamaModelsController {
  constructor(private readonly api: OllamaApiService) {}

  @Get('tags')
  @ApiOperation({ summary: 'The served models Ollama has (Ollama’s API)' })
  @ApiOkResponse(MODEL_LIST)
  @ApiOllamaErrors(401, 429, 502, 503, 504)
  tags(@Res({ passthrough: true }) reply: FastifyReply): Promise<ModelList> {
    return this.api.list('/api/tags', requestContextOf(reply));
  }

  @Get('ps')
  @ApiOperation({ summary: 'The served models loaded in memory (Ollama’s API)' })
  @ApiOkResponse(MODEL_LIST)
  @ApiOllamaErrors(401, 429, 502, 503, 504)
  ps(@Res({ passthrough: true }) reply: FastifyReply): Promise<ModelList> {
    return this.api.list('/api/ps', requestContextOf(reply));
  }

  @Post('show')
  @HttpCode(200)
  @ApiOperation({ summary: 'A served model’s details and capabilities (Ollama’s API)' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['model'],
      example: { model: 'llama3.1:latest' },
      properties: { model: { type: 'string' }, verbose: { type: 'boolean' } },
    },
  })
  @ApiOkResponse({ description: 'Ollama’s answer.', schema: { type: 'object' } })
  @ApiOllamaErrors(400, 401, 404, 413, 415, 429, 502, 503, 504)
  async show(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const caller = requestContextOf(reply);
    await this.api.relay(reply, await this.api.show(body, caller), caller.signal);
  }

  @Get('version')
  @ApiOperation({ summary: 'The version of the Ollama that answers (Ollama’s API)' })
  @ApiOkResponse({
    description: 'Ollama’s answer.',
    schema: { type: 'object', properties: { version: { type: 'string', example: '0.33.0' } } },
  })
  @ApiOllamaErrors(401, 429, 502, 503, 504)
  async version(@Res() reply: FastifyReply): Promise<void> {
    const caller = requestContextOf(reply);
    await this.api.relay(reply, await this.api.version(caller), caller.signal);
  }
}
