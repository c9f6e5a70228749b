import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { ChatCompletionsService } from './chat-completions.service';
import { ModelsController } from './models.controller';
import { ServedModels } from './served-model';

/**
 * OpenAI's API in front of the served model: `POST /v1/chat/completions`, `GET /v1/models` and
 * `GET /v1/models/:model`, with OpenAI's objects and error shape, so any OpenAI client works against
 * the service. Requests go through the `Llm` port like every other inference route.
 */
@Module({
  imports: [LlmModule],
  controllers: [ChatCompletionsController, ModelsController],
  providers: [ChatCompletionsService, ServedModels],
})
export class OpenAiModule {}
