import { performance } from 'node:perf_hooks';
import type { UnavailableReason } from '../common/errors';
import { CircuitStateValue, LlmOutcome, MetricsService } from '../metrics/metrics.service';
import type { Backend } from './backends/backend';
import type { InferenceCall } from './inference-call';
import type { LlmUsage } from './llm.types';
import type { CircuitStatus } from './upstream-policy';

const CIRCUIT_GAUGE: Record<CircuitStatus, CircuitStateValue> = { closed: 0, 'half-open': 1, open: 2 };

/** Every inference metric of CONTRACT §6 is recorded here, and nowhere else. */
export class InferenceMetrics {
  constructor(private readonly metrics: MetricsService) {}

  /** A request refused without calling Ollama, before it was admitted. */
  refused(endpoint: string, reason: UnavailableReason, arrivedAt: number): void {
    this.metrics.llmRequestsRejected.inc({ reason });
    // Refused before any backend was chosen: the backend label stays empty.
    this.metrics.llmRequestDuration.observe(
      { endpoint, outcome: 'rejected', backend: '' },
      (performance.now() - arrivedAt) / 1000,
    );
  }

  /** An admitted call refused after all (its wait ended in a refusal); its duration comes with `finished`. */
  rejected(reason: UnavailableReason): void {
    this.metrics.llmRequestsRejected.inc({ reason });
  }

  finished(call: InferenceCall, outcome: LlmOutcome): void {
    this.metrics.llmRequestDuration.observe(
      { endpoint: call.endpoint, outcome, backend: call.backend.url },
      (performance.now() - call.arrivedAt) / 1000,
    );
  }

  firstToken(call: InferenceCall): void {
    this.metrics.llmTimeToFirstToken.observe({ endpoint: call.endpoint }, (performance.now() - call.arrivedAt) / 1000);
  }

  tokens(usage: LlmUsage): void {
    this.metrics.llmTokens.inc({ type: 'prompt' }, usage.promptTokens);
    this.metrics.llmTokens.inc({ type: 'completion' }, usage.completionTokens);
  }

  /** The in-flight and queue gauges of `backend`, over its models. */
  load(backend: Backend): void {
    const { inFlight, queueDepth } = backend.load();
    this.metrics.llmInFlight.set({ backend: backend.url }, inFlight);
    this.metrics.llmQueueDepth.set({ backend: backend.url }, queueDepth);
  }

  circuit(backend: Backend, status: CircuitStatus): void {
    this.metrics.llmCircuitState.set({ backend: backend.url }, CIRCUIT_GAUGE[status]);
  }
}
