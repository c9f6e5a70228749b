import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LlmConfig, llmConfig, OllamaConfig, ollamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { OllamaFleet } from '../ollama-process/ollama-fleet';
import { OllamaProcessModule } from '../ollama-process/ollama-process.module';
import { createBackendPool } from './backends/backend-factory';
import { BackendPool } from './backends/backend-pool';
import { Llm } from './llm';
import { LlmHealthIndicator } from './llm.health';
import { LlmService } from './llm.service';
import { ModelRegistry } from './models/model-registry';

/**
 * The served models behind one port: other modules inject `Llm` for inference and `LlmHealthIndicator`
 * for probes. The backends (Ollama clients, breakers, model lifecycles, admission) stay inside;
 * `LlmService` is the singleton that starts and stops them with the application.
 */
@Module({
  imports: [OllamaProcessModule, TerminusModule],
  providers: [
    {
      provide: BackendPool,
      inject: [OllamaFleet, ollamaConfig.KEY, llmConfig.KEY, MetricsService],
      useFactory: (fleet: OllamaFleet, ollama: OllamaConfig, llm: LlmConfig, metrics: MetricsService) =>
        createBackendPool(fleet.endpoints, ollama, llm, metrics),
    },
    {
      provide: ModelRegistry,
      inject: [BackendPool, ollamaConfig.KEY],
      useFactory: (pool: BackendPool, ollama: OllamaConfig) =>
        new ModelRegistry(ollama.models, (model) => pool.capabilities(model)),
    },
    LlmService,
    { provide: Llm, useExisting: LlmService },
    LlmHealthIndicator,
  ],
  exports: [Llm, LlmHealthIndicator],
})
export class LlmModule {}
