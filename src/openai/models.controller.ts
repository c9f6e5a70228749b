import { Controller, Get, Param, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import { ApiOpenAiErrors, MODEL_LIST_SCHEMA, MODEL_SCHEMA } from './openai.openapi';
import type { OpenAiModel, OpenAiModelList } from './openai.types';
import { ServedModels } from './served-model';

@ApiTags('openai')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@UseFilters(OpenAiExceptionFilter)
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly served: ServedModels) {}

  @Get()
  @ApiOperation({ summary: 'List models (OpenAI-compatible): every model this service serves' })
  @ApiOkResponse({ schema: MODEL_LIST_SCHEMA })
  @ApiOpenAiErrors(401, 429)
  list(): OpenAiModelList {
    return { object: 'list', data: this.served.list() };
  }

  /** @throws OpenAiRequestError 404 `model_not_found` for a model that is not served (aliases count). */
  @Get(':model')
  @ApiOperation({ summary: 'Retrieve a model (OpenAI-compatible)' })
  @ApiParam({
    name: 'model',
    example: 'llama3.1:latest',
    description: 'A served model (OLLAMA_MODEL or one of OLLAMA_MODELS), with or without `:latest`.',
  })
  @ApiOkResponse({ schema: MODEL_SCHEMA })
  @ApiOpenAiErrors(401, 404, 429)
  retrieve(@Param('model') model: string): OpenAiModel {
    return this.served.toOpenAiModel(this.served.resolve(model));
  }
}
