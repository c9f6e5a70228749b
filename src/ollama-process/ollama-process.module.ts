import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { OllamaFleet } from './ollama-fleet';
import { OllamaHealthIndicator } from './ollama.health';
import { ProcessRunner } from './process-runner';

/**
 * The Ollama servers' processes: finds, starts, supervises and stops them. Other modules see only
 * `OllamaFleet.endpoints` (where each server is, whether it is up) and the health indicator.
 */
@Module({
  imports: [TerminusModule],
  providers: [ProcessRunner, OllamaFleet, OllamaHealthIndicator],
  exports: [OllamaFleet, OllamaHealthIndicator],
})
export class OllamaProcessModule {}
