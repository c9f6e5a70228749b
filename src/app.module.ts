import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { ChatModule } from './chat/chat.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { LatencyInterceptor } from './common/interceptors/latency.interceptor';
import { createValidationPipe } from './common/validation/validation.pipe';
import { AppConfig, appConfig, ConfigurationModule } from './config/configuration';
import type { Configuration } from './config/environment';
import { HealthModule } from './health/health.module';
import { loggerOptions } from './logging/logger.options';
import { MetricsModule } from './metrics/metrics.module';
import { OllamaApiModule } from './ollama-api/ollama-api.module';
import { OpenAiModule } from './openai/openai.module';
import { RiskModule } from './risk/risk.module';
import { RuntimeModule } from './runtime/runtime.module';
import { SecurityModule } from './security/security.module';

const FEATURE_MODULES = [
  MetricsModule,
  HealthModule,
  ChatModule,
  RiskModule,
  OpenAiModule,
  SecurityModule,
  RuntimeModule,
];

const GLOBAL_ENHANCERS: Provider[] = [
  { provide: APP_PIPE, useValue: createValidationPipe() },
  { provide: APP_FILTER, useClass: AllExceptionsFilter },
  { provide: APP_INTERCEPTOR, useClass: LatencyInterceptor },
];

/** The whole service. `forRoot` takes the configuration that `main.ts` parsed once from the environment. */
@Module({})
export class AppModule {
  static forRoot(config: Configuration): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigurationModule.forRoot(config),
        LoggerModule.forRootAsync({
          inject: [appConfig.KEY],
          useFactory: (app: AppConfig) => loggerOptions(app),
        }),
        ...FEATURE_MODULES,
        OllamaApiModule,
      ],
      providers: GLOBAL_ENHANCERS,
    };
  }
}
