import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { EventLoopDelay } from './event-loop-delay';
import { MetricsService } from './metrics.service';

/**
 * Global so that every module records into the application's own registry without importing it, and
 * reads the event loop's delay from the one sampler (`/health/live` does too).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [EventLoopDelay, MetricsService],
  exports: [EventLoopDelay, MetricsService],
})
export class MetricsModule {}
