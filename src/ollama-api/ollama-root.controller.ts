import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../security/public.decorator';

/** Ollama's answer to `GET /`, which clients probe before anything else. */
export const OLLAMA_IS_RUNNING = 'Ollama is running';

/**
 * `GET|HEAD /` answers as Ollama does, without a key: Ollama's clients (its CLI, Open WebUI, health
 * checks written for Ollama) probe it to tell whether an Ollama server is there.
 */
@ApiTags('ollama')
@Controller()
export class OllamaRootController {
  @Get()
  @Public()
  @Header('content-type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: 'Ollama’s liveness probe',
    description: 'Needs no key; HEAD answers the same without body.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The text `Ollama is running`.',
    schema: { type: 'string', example: OLLAMA_IS_RUNNING },
  })
  running(): string {
    return OLLAMA_IS_RUNNING;
  }
}
