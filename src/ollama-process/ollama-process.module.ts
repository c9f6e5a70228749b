import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ollamaConfig, OllamaConfig } from '../config/configuration';
import { OllamaEndpoint } from './ollama-endpoint';
import { OllamaProbe } from './ollama-probe';
import { OllamaSupervisor } from './ollama-supervisor';
import { OllamaHealthIndicator } from './ollama.health';
import { PidFile } from './pid-file';
import { ProcessRunner } from './process-runner';

/**
 * The Ollama server's process: finds, starts, supervises and stops it. Other modules see only
 * `OllamaEndpoint` (where the server is, whether it is up) and the health indicator.
 */
@Module({
  imports: [TerminusModule],
  providers: [
    ProcessRunner,
    OllamaProbe,
    { provide: PidFile, inject: [ollamaConfig.KEY], useFactory: (config: OllamaConfig) => new PidFile(config.pidFile) },
    OllamaSupervisor,
    { provide: OllamaEndpoint, useExisting: OllamaSupervisor },
    OllamaHealthIndicator,
  ],
  exports: [OllamaEndpoint, OllamaHealthIndicator],
})
export class OllamaProcessModule {}
