import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { ChatCompletionsService } from './chat-completions.service';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';
import { ModelsController } from './models.controller';
import { ServedModels } from './served-model';

/**
 * OpenAI's API in front of the served models: `POST /v1/chat/completions` (with tools and images),
 * `POST /v1/embeddings`, `GET /v1/models` and `GET /v1/models/:model`, with OpenAI's objects and error
 * shape, so any OpenAI client works against the service. Requests go through the `Llm` port like every
 * other inference route.
 */
@Module({
  imports: [LlmModule],
  controllers: [ChatCompletionsController, EmbeddingsController, ModelsController],
  providers: [ChatCompletionsService, EmbeddingsService, ServedModels],
})
export class OpenAiModule {}
