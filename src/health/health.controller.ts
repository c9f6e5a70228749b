import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { LlmHealthIndicator } from '../llm/llm.health';
import { OllamaHealthIndicator } from '../ollama-process/ollama.health';
import { GracefulShutdown } from './graceful-shutdown.service';
import { LivenessIndicator } from './liveness.health';
import { withTimeout } from './with-timeout';
import { Public } from '../security/public.decorator';
import { RateLimitHealthIndicator } from '../security/rate-limit.health';

/** Each check must answer well inside a probe's usual 1–2 s timeout, whatever Ollama does. */
const CHECK_TIMEOUT_MS = 500;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly liveness: LivenessIndicator,
    private readonly ollama: OllamaHealthIndicator,
    private readonly llm: LlmHealthIndicator,
    private readonly rateLimit: RateLimitHealthIndicator,
    private readonly shutdown: GracefulShutdown,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process and its event loop are fine. Never depends on Ollama.' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([this.bounded('process', () => this.liveness.check('process'))]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Ollama answers, the model is present and warm, the circuit is not open.' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the details say what is missing.' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.readinessChecks());
  }

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'The same checks as /health/ready.' })
  overall(): Promise<HealthCheckResult> {
    return this.health.check(this.readinessChecks());
  }

  @Get('ollama')
  @HealthCheck()
  @ApiOperation({ summary: 'The Ollama server: reachable, version, ownership, pid, restarts.' })
  ollamaServer(): Promise<HealthCheckResult> {
    return this.health.check([this.bounded('ollama', () => this.ollama.check('ollama'))]);
  }

  @Get('llm')
  @HealthCheck()
  @ApiOperation({ summary: 'The model: state, pull progress, warm, circuit state, queue depth.' })
  model(): Promise<HealthCheckResult> {
    return this.health.check([this.bounded('llm', () => this.llm.check('llm'))]);
  }

  private readinessChecks(): HealthIndicatorFunction[] {
    return [
      this.bounded('shutdown', () => this.shutdown.check('shutdown')),
      this.bounded('ollama', () => this.ollama.check('ollama')),
      this.bounded('llm', () => this.llm.check('llm')),
      this.bounded('rateLimit', () => this.rateLimit.check('rateLimit')),
    ];
  }

  private bounded(key: string, check: Parameters<typeof withTimeout>[3]): HealthIndicatorFunction {
    return () => withTimeout(this.indicators, key, CHECK_TIMEOUT_MS, check);
  }
}
