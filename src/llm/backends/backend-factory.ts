import type { LlmConfig, OllamaConfig } from '../../config/configuration';
import type { MetricsService } from '../../metrics/metrics.service';
import type { OllamaEndpoint } from '../../ollama-process/ollama-endpoint';
import { Bulkhead } from '../bulkhead';
import { InferenceMetrics } from '../inference-metrics';
import { LifecycleSettings, ModelLifecycle } from '../models/model-lifecycle';
import { OllamaClient, OllamaClientSettings } from '../ollama/ollama-client';
import { UpstreamPolicy } from '../upstream-policy';
import { Backend } from './backend';
import { BackendPool } from './backend-pool';

/** Sockets beyond the inference slots, for warm-up, keep-warm, pulls and model checks. */
const CONTROL_SOCKETS = 4;

/** How the parts of a backend are made; unit tests replace the ones that would talk to Ollama. */
export interface BackendParts {
  client(baseUrl: string, settings: OllamaClientSettings): OllamaClient;
  lifecycle(model: string, client: OllamaClient, endpoint: OllamaEndpoint, settings: LifecycleSettings): ModelLifecycle;
}

const REAL_PARTS: BackendParts = {
  client: (baseUrl, settings) => new OllamaClient(baseUrl, settings),
  lifecycle: (model, client, endpoint, settings) => new ModelLifecycle(model, client, endpoint, settings),
};

/**
 * Builds the pool of backends from the configuration: for each Ollama server its client, breaker,
 * and per served model a lifecycle and an admission bulkhead, with the in-flight and queue gauges kept
 * up to date.
 */
export function createBackendPool(
  endpoints: readonly OllamaEndpoint[],
  ollama: OllamaConfig,
  llm: LlmConfig,
  metricsService: MetricsService,
  parts: Partial<BackendParts> = {},
): BackendPool {
  const make = { ...REAL_PARTS, ...parts };
  const metrics = new InferenceMetrics(metricsService);
  const settings: LifecycleSettings = {
    autoPull: ollama.autoPull,
    loadTimeoutMs: ollama.loadTimeoutMs,
    keepAlive: ollama.keepAlive,
    keepWarm: llm.keepWarm,
  };
  const maxSockets = (llm.maxConcurrency + 1) * ollama.models.length + CONTROL_SOCKETS;
  const backends = endpoints.map((endpoint) => {
    metricsService.addBackend(endpoint.baseUrl);
    const client = make.client(endpoint.baseUrl, { keepAlive: ollama.keepAlive, maxSockets });
    const policy = new UpstreamPolicy({
      failureThreshold: llm.circuitFailureThreshold,
      resetTimeoutMs: llm.circuitResetTimeoutMs,
    });
    const backend: Backend = new Backend(
      client,
      endpoint,
      policy,
      ollama.models,
      (model) => make.lifecycle(model, client, endpoint, settings),
      () => new Bulkhead(llm.maxConcurrency, llm.maxQueue, llm.queueTimeoutMs, () => metrics.load(backend)),
    );
    return backend;
  });
  return new BackendPool(backends);
}
