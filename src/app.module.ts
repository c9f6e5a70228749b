import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { ChatModule } from './chat/chat.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { LatencyInterceptor } from './common/interceptors/latency.interceptor';
import { createValidationPipe } from './common/validation/validation.pipe';
import { AppConfig, allConfigNamespaces, appConfig } from './config/configuration';
import { HealthModule } from './health/health.module';
import { loggerOptions } from './logging/logger.options';
import { MetricsModule } from './metrics/metrics.module';
import { OpenAiModule } from './openai/openai.module';
import { RiskModule } from './risk/risk.module';
import { SecurityModule } from './security/security.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: allConfigNamespaces }),
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: AppConfig) => loggerOptions(app),
    }),
    MetricsModule,
    HealthModule,
    ChatModule,
    RiskModule,
    OpenAiModule,
    SecurityModule,
  ],
  providers: [
    {
      provide: APP_PIPE,
      useValue: createValidationPipe(),
    },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_INTERCEPTOR, useClass: LatencyInterceptor },
  ],
})
export class AppModule {}
