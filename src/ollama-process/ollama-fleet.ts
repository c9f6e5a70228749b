import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ollamaConfig, OllamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import type { OllamaEndpoint } from './ollama-endpoint';
import { OllamaProbe } from './ollama-probe';
import { OllamaStatus } from './ollama-status';
import { OllamaSupervisor } from './ollama-supervisor';
import { PidFile } from './pid-file';
import { ProcessRunner } from './process-runner';

/**
 * Every Ollama server the gateway uses (OLLAMA_URLS, or the one OLLAMA_URL), each with its own
 * supervisor and pid file: local ones are started and supervised (CONTRACT §4), the others watched.
 * It starts them all with the application and stops them all at its end.
 */
@Injectable()
export class OllamaFleet implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly supervisors: readonly OllamaSupervisor[];

  constructor(@Inject(ollamaConfig.KEY) config: OllamaConfig, runner: ProcessRunner, metrics: MetricsService) {
    this.supervisors = config.urls.map((url, index) => {
      const server = { ...config, url, pidFile: config.pidFiles[index] };
      return new OllamaSupervisor(server, runner, new OllamaProbe(server), new PidFile(server.pidFile), metrics);
    });
  }

  /** Where each server is and whether it answers, in the order of OLLAMA_URLS. */
  get endpoints(): readonly OllamaEndpoint[] {
    return this.supervisors;
  }

  /** Each server's state for `/health/ollama`, from what the supervisors last saw; no network call. */
  statuses(): OllamaStatus[] {
    return this.supervisors.map((supervisor) => supervisor.status());
  }

  onApplicationBootstrap(): void {
    for (const supervisor of this.supervisors) {
      supervisor.start();
    }
  }

  /** Stops every supervisor (and the servers this service owns). Safe to call twice. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.supervisors.map((supervisor) => supervisor.stop()));
  }
}
