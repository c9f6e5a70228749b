import { performance } from 'node:perf_hooks';
import type { UnavailableReason } from '../common/errors';
import { CircuitStateValue, LlmOutcome, MetricsService } from '../metrics/metrics.service';
import type { BackendPool } from './backends/backend-pool';
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
    this.metrics.llmRequestDuration.observe({ endpoint, outcome: 'rejected' }, (performance.now() - arrivedAt) / 1000);
  }

  /** An admitted call refused after all (its wait ended in a refusal); its duration comes with `finished`. */
  rejected(reason: UnavailableReason): void {
    this.metrics.llmRequestsRejected.inc({ reason });
  }

  finished(call: InferenceCall, outcome: LlmOutcome): void {
    this.metrics.llmRequestDuration.observe(
      { endpoint: call.endpoint, outcome },
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

  /** The in-flight and queue gauges, over every backend and model. */
  load(pool: BackendPool): void {
    let inFlight = 0;
    let queueDepth = 0;
    for (const backend of pool.backends) {
      const load = backend.load();
      inFlight += load.inFlight;
      queueDepth += load.queueDepth;
    }
    this.metrics.llmInFlight.set(inFlight);
    this.metrics.llmQueueDepth.set(queueDepth);
  }

  circuit(status: CircuitStatus): void {
    this.metrics.llmCircuitState.set(CIRCUIT_GAUGE[status]);
  }
}
