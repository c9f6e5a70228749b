import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { OllamaApiService } from './ollama-api.service';
import { OllamaInferenceController } from './ollama-inference.controller';
import { OllamaManagementController } from './ollama-management.controller';
import { OllamaModelsController } from './ollama-models.controller';
import { OllamaRootController } from './ollama-root.controller';

/**
 * Ollama's own API (`/api/*` and `GET /`) in front of the served models, so Ollama's clients work
 * against the gateway unchanged, with its keys, rate limit, admission, breaker, timeouts and metrics.
 */
@Module({
  imports: [LlmModule],
  controllers: [OllamaRootController, OllamaInferenceController, OllamaModelsController, OllamaManagementController],
  providers: [OllamaApiService],
})
export class OllamaApiModule {}
