import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
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
import { requestContextOf } from '../common/http/request-context';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { InferencePath, OllamaApiService } from './ollama-api.service';
import { ApiOllamaErrors, NDJSON_DESCRIPTION, ollamaRequestSchema } from './ollama-api.openapi';

const STREAMED = {
  description: 'Ollama’s answer, as NDJSON lines or (with `"stream": false`) one JSON object.',
  content: {
    'application/x-ndjson': { schema: { type: 'string' } },
    'application/json': { schema: { type: 'object' } },
  },
};
const JSON_ANSWER = {
  description: 'Ollama’s answer.',
  content: { 'application/json': { schema: { type: 'object' } } },
};

/**
 * Ollama's inference routes. Each handler writes Ollama's answer itself (`relayAnswer`), after the
 * guards, pipes and the latency interceptor ran as for any route; a failure before the first byte
 * still reaches the exception filter, which answers in Ollama's error shape.
 */
@ApiTags('ollama')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@ApiOllamaErrors(400, 401, 404, 413, 415, 429, 502, 503, 504)
@Controller('api')
export class OllamaInferenceController {
  constructor(private readonly api: OllamaApiService) {}

  @Post('chat')
  @HttpCode(200)
  @ApiOperation({ summary: 'Chat (Ollama’s API)', description: NDJSON_DESCRIPTION })
  @ApiBody({
    schema: ollamaRequestSchema(
      { model: 'llama3.1:latest', messages: [{ role: 'user', content: 'Explain duration risk in one sentence.' }] },
      'Ollama’s chat request: `messages`, `stream`, `format`, `tools`, `think`, `options`, …',
    ),
  })
  @ApiProduces('application/x-ndjson', 'application/json')
  @ApiOkResponse(STREAMED)
  chat(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.relay('/api/chat', body, reply);
  }

  @Post('generate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Generate a completion (Ollama’s API)', description: NDJSON_DESCRIPTION })
  @ApiBody({
    schema: ollamaRequestSchema(
      { model: 'llama3.1:latest', prompt: 'Why is the sky blue?', stream: false },
      'Ollama’s generate request: `prompt`, `system`, `stream`, `format`, `images`, `options`, …',
    ),
  })
  @ApiProduces('application/x-ndjson', 'application/json')
  @ApiOkResponse(STREAMED)
  generate(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.relay('/api/generate', body, reply);
  }

  @Post('embed')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embeddings (Ollama’s API)',
    description: 'For a served model with the `embedding` capability.',
  })
  @ApiBody({
    schema: ollamaRequestSchema(
      { model: 'nomic-embed-text:latest', input: ['first text', 'second text'] },
      'Ollama’s embed request: `input` (a string or strings), `truncate`, `dimensions`, `options`.',
    ),
  })
  @ApiOkResponse(JSON_ANSWER)
  embed(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.relay('/api/embed', body, reply);
  }

  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: 'One embedding (Ollama’s legacy API)', description: 'Prefer `/api/embed`.' })
  @ApiBody({
    schema: ollamaRequestSchema(
      { model: 'nomic-embed-text:latest', prompt: 'some text' },
      'Ollama’s legacy embeddings request: `prompt`, `options`.',
    ),
  })
  @ApiOkResponse(JSON_ANSWER)
  embeddings(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.relay('/api/embeddings', body, reply);
  }

  private async relay(path: InferencePath, body: unknown, reply: FastifyReply): Promise<void> {
    const caller = requestContextOf(reply);
    const answer = await this.api.infer(path, body, caller);
    await this.api.relay(reply, answer, caller.signal);
  }
}
