import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectDefaultMetricsFrom } from './default-metrics';
import { EventLoopDelay } from './event-loop-delay';

/** Seconds; an HTTP request through this service, including streams that last minutes. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds; model calls take from tens of milliseconds (warm, short) to minutes (long generations). */
const LLM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600];
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

export type LlmOutcome = 'success' | 'error' | 'timeout' | 'rejected' | 'aborted';
export type CircuitStateValue = 0 | 1 | 2;

/**
 * Every metric of CONTRACT §6, on a registry private to this application instance, so that tests can
 * build the application several times in one process. Modules record through these fields; the names
 * and labels live here only.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly llmRequestDuration = new Histogram({
    name: 'llm_request_duration_seconds',
    help: 'Inference requests to the model, from admission to the last token, by endpoint, outcome and backend',
    labelNames: ['endpoint', 'outcome', 'backend'] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });

  readonly llmTimeToFirstToken = new Histogram({
    name: 'llm_time_to_first_token_seconds',
    help: 'Time from admission to the first generated token of a streamed request',
    labelNames: ['endpoint'] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });

  readonly llmTokens = new Counter({
    name: 'llm_tokens_total',
    help: 'Tokens processed by the model, by type (prompt or completion)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly llmQueueDepth = new Gauge({
    name: 'llm_queue_depth',
    help: 'Inference requests waiting for a slot, by backend',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly llmInFlight = new Gauge({
    name: 'llm_in_flight',
    help: 'Inference requests being served by Ollama now, by backend',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly llmRequestsRejected = new Counter({
    name: 'llm_requests_rejected_total',
    help: 'Inference requests refused without calling the model, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly llmCircuitState = new Gauge({
    name: 'llm_circuit_state',
    help: 'Circuit breaker in front of each Ollama server (backend): 0 closed, 1 half-open, 2 open',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly ollamaUp = new Gauge({
    name: 'ollama_up',
    help: '1 when the Ollama server (backend) answers, else 0',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly ollamaProcessRestarts = new Counter({
    name: 'ollama_process_restarts_total',
    help: 'Restarts of the Ollama processes this service owns, by backend',
    labelNames: ['backend'] as const,
    registers: [this.registry],
  });

  readonly rateLimitStoreUp = new Gauge({
    name: 'rate_limit_store_up',
    help: '1 when the rate-limit counters are shared through Redis, else 0 (per process: REDIS_URL unset or Redis unreachable)',
    registers: [this.registry],
  });

  /** `eventLoop` is the process's event-loop sampler, which `nodejs_eventloop_lag_*` summarise. */
  constructor(eventLoop: EventLoopDelay = new EventLoopDelay()) {
    collectDefaultMetricsFrom(this.registry, eventLoop.openWindow());
    this.rateLimitStoreUp.set(0);
  }

  /** Starts the series of one Ollama server at their resting values: down, circuit closed, nothing in flight. */
  addBackend(backend: string): void {
    this.ollamaUp.set({ backend }, 0);
    this.llmCircuitState.set({ backend }, 0);
    this.llmInFlight.set({ backend }, 0);
    this.llmQueueDepth.set({ backend }, 0);
    this.ollamaProcessRestarts.inc({ backend }, 0);
  }

  /** The exposition text for `GET /metrics`. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
