import type { OllamaEndpoint } from '../../ollama-process/ollama-endpoint';
import { Bulkhead } from '../bulkhead';
import type { ModelCapability, ModelStatus } from '../llm.types';
import { ModelLifecycle } from '../models/model-lifecycle';
import type { OllamaClient } from '../ollama/ollama-client';
import type { UpstreamPolicy } from '../upstream-policy';

/** How long a server that refused a connection stays the last choice; its health check takes over then. */
const SUSPECT_MS = 3_000;

/**
 * One Ollama server as the gateway uses it: its client, whether it answers (its endpoint), its circuit
 * breaker, and for each served model a lifecycle (present → pulled → warm → kept warm) and an admission
 * bulkhead (LLM_MAX_CONCURRENCY in flight, LLM_MAX_QUEUE waiting), since Ollama runs its parallel
 * requests per loaded model.
 */
export class Backend {
  private readonly lifecycles = new Map<string, ModelLifecycle>();
  private readonly bulkheads = new Map<string, Bulkhead>();
  private stopped?: Promise<void>;
  /** Until when a connection failure makes this server the last choice. */
  private suspectUntil = 0;

  constructor(
    readonly client: OllamaClient,
    readonly endpoint: OllamaEndpoint,
    readonly policy: UpstreamPolicy,
    models: readonly string[],
    makeLifecycle: (model: string) => ModelLifecycle,
    makeBulkhead: (model: string) => Bulkhead,
  ) {
    for (const model of models) {
      const lifecycle = makeLifecycle(model);
      // A model that is warm again (Ollama restarted and the warm-up passed) gets traffic at once, not
      // after a breaker timeout meant for a server that keeps failing.
      lifecycle.onReady(() => this.policy.giveTrial());
      this.lifecycles.set(model, lifecycle);
      this.bulkheads.set(model, makeBulkhead(model));
    }
  }

  /** The server's base URL, e.g. `http://127.0.0.1:11434`; also its `backend` label. */
  get url(): string {
    return this.client.baseUrl;
  }

  /** Starts every model's lifecycle in the background. */
  start(): void {
    for (const lifecycle of this.lifecycles.values()) {
      lifecycle.start();
    }
  }

  /** Whether a request for `model` may go here now: the server answers, the model is warm, the circuit lets calls through. */
  canServe(model: string): boolean {
    return this.endpoint.isUp() && this.lifecycle(model).isReady && !this.policy.refusing();
  }

  /**
   * A call could not reach this server, or lost its connection: prefer the others for a short while,
   * so that requests not yet started do not meet the same failure, and have every model check at once
   * that the server still has it loaded (it may be down, or restarted with nothing loaded).
   */
  markUnreachable(): void {
    this.suspectUntil = Date.now() + SUSPECT_MS;
    for (const lifecycle of this.lifecycles.values()) {
      lifecycle.verify();
    }
  }

  /** True for a short while after a connection failure. */
  get suspect(): boolean {
    return Date.now() < this.suspectUntil;
  }

  lifecycle(model: string): ModelLifecycle {
    const lifecycle = this.lifecycles.get(model);
    if (lifecycle === undefined) {
      throw new Error(`model ${model} is not served`);
    }
    return lifecycle;
  }

  bulkhead(model: string): Bulkhead {
    return this.bulkheads.get(model) as Bulkhead;
  }

  /** What `model` can do on this server, once it has told (`/api/show`). */
  capabilities(model: string): readonly ModelCapability[] | undefined {
    const known = this.lifecycle(model).capabilityList;
    return known.length > 0 ? known : undefined;
  }

  modelStatus(model: string): ModelStatus {
    return this.lifecycle(model).status();
  }

  /** Requests in flight and waiting, over every model. */
  load(): { inFlight: number; queueDepth: number } {
    let inFlight = 0;
    let queueDepth = 0;
    for (const bulkhead of this.bulkheads.values()) {
      inFlight += bulkhead.inFlight;
      queueDepth += bulkhead.queueDepth;
    }
    return { inFlight, queueDepth };
  }

  /** Refuses every new and waiting request (`shutting_down`); calls in flight go on. */
  closeAdmission(): void {
    for (const bulkhead of this.bulkheads.values()) {
      bulkhead.close();
    }
  }

  /** Stops the lifecycles and the breaker's timer, then closes the connection pool. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await Promise.all([...this.lifecycles.values()].map((lifecycle) => lifecycle.stop()));
      this.policy.dispose();
      this.client.destroy();
    })();
    return this.stopped;
  }
}
