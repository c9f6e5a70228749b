import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { LivenessIndicator } from './liveness.health';

/** Composes the health indicators that the other modules own into the probe routes. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [LivenessIndicator],
})
export class HealthModule {}
