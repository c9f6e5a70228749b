import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LlmModule } from '../llm/llm.module';
import { OllamaProcessModule } from '../ollama-process/ollama-process.module';
import { SecurityModule } from '../security/security.module';
import { GracefulShutdown } from './graceful-shutdown.service';
import { HealthController } from './health.controller';
import { LivenessIndicator } from './liveness.health';

/**
 * Composes the health indicators the other modules own into the probe routes, and runs the HTTP side
 * of a graceful shutdown (readiness first, then the drain).
 */
@Module({
  // Failed checks are already in the access log as 503s; Terminus' own error log would repeat them.
  imports: [TerminusModule.forRoot({ logger: false }), OllamaProcessModule, LlmModule, SecurityModule],
  controllers: [HealthController],
  providers: [LivenessIndicator, GracefulShutdown],
})
export class HealthModule {}
