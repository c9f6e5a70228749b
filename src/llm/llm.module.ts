import { HttpService } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import axios from 'axios';
import { OllamaProcessModule } from '../ollama-process/ollama-process.module';
import { LlmHealthIndicator } from './llm.health';
import { LlmService } from './llm.service';
import { ModelLifecycle } from './model-lifecycle';
import { OllamaClient } from './ollama-client';
import { OllamaHttpAgent } from './ollama-http-agent';

/**
 * The served model: one warm, resilient singleton between the API and Ollama. Other modules use
 * `LlmService` for inference and `LlmHealthIndicator` for probes; the client, the connection pool and
 * the model lifecycle stay inside.
 */
@Module({
  imports: [OllamaProcessModule, TerminusModule],
  providers: [
    OllamaHttpAgent,
    {
      provide: HttpService,
      inject: [OllamaHttpAgent],
      // `proxy: false`: HTTP(S)_PROXY of the environment must not reroute calls to a local Ollama.
      useFactory: ({ agent }: OllamaHttpAgent) =>
        new HttpService(axios.create({ httpAgent: agent, httpsAgent: agent, proxy: false })),
    },
    OllamaClient,
    ModelLifecycle,
    LlmService,
    LlmHealthIndicator,
  ],
  exports: [LlmService, LlmHealthIndicator],
})
export class LlmModule {}
