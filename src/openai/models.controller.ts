import { Controller, Get, Param, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import { ApiOpenAiErrors, MODEL_LIST_SCHEMA, MODEL_SCHEMA } from './openai.openapi';
import type { OpenAiModel, OpenAiModelList } from './openai.types';
import { ServedModel } from './served-model';

@ApiTags('openai')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@UseFilters(OpenAiExceptionFilter)
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly served: ServedModel) {}

  @Get()
  @ApiOperation({ summary: 'List models (OpenAI-compatible): the one model this service serves' })
  @ApiOkResponse({ schema: MODEL_LIST_SCHEMA })
  @ApiOpenAiErrors(401, 429)
  list(): OpenAiModelList {
    return { object: 'list', data: [this.served.toOpenAiModel()] };
  }

  /** @throws OpenAiRequestError 404 `model_not_found` for any model but the served one and its aliases. */
  @Get(':model')
  @ApiOperation({ summary: 'Retrieve a model (OpenAI-compatible)' })
  @ApiParam({ name: 'model', example: 'llama3.1:latest', description: 'OLLAMA_MODEL, with or without `:latest`.' })
  @ApiOkResponse({ schema: MODEL_SCHEMA })
  @ApiOpenAiErrors(401, 404, 429)
  retrieve(@Param('model') model: string): OpenAiModel {
    this.served.assertServed(model);
    return this.served.toOpenAiModel();
  }
}
