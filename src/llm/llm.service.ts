import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { LlmConfig, llmConfig, OllamaConfig, ollamaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { Admission } from './admission';
import { Failover } from './failover';
import { BackendPool } from './backends/backend-pool';
import { InferenceCall } from './inference-call';
import { InferenceMetrics } from './inference-metrics';
import { Llm, LlmStatus, ServedModel } from './llm';
import {
  LlmCallOptions,
  LlmChatRequest,
  LlmChatResult,
  LlmEmbedRequest,
  LlmEmbedResult,
  LlmForwardRequest,
  LlmForwardResponse,
  LlmStreamEvent,
  ModelCapability,
} from './llm.types';
import { ModelRegistry } from './models/model-registry';
import { ServiceUnavailableError } from '../common/errors';
import { isOllamaFailure } from './ollama/ollama-client.errors';
import { NdjsonTail } from './ollama/ndjson-tail';
import { deferred } from '../common/deferred';
import { relay, relayStream, withQueueTime } from './stream-relay';
import { UpstreamErrors } from './upstream-errors';

/** Delays of retried calls on one server: ~100 ms, then doubling up to 2 s, with jitter. */
const RETRY_BACKOFF = { initialMs: 100, maxMs: 2_000 };

/**
 * The `Llm` port over the served models and the Ollama servers: each call is resolved to a served model
 * (no network), admitted on a backend (`Admission`), run under that backend's circuit breaker and
 * retries (`UpstreamPolicy.execute`), and recorded (`InferenceMetrics`). It starts the models'
 * lifecycles with the application and stops them, and the connection pools, at its end.
 */
@Injectable()
export class LlmService extends Llm implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LlmService.name);
  private readonly metrics: InferenceMetrics;
  private readonly errors: UpstreamErrors;
  private readonly admission: Admission;
  private readonly failover: Failover;
  private closed?: Promise<void>;

  constructor(
    private readonly pool: BackendPool,
    private readonly registry: ModelRegistry,
    metrics: MetricsService,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
    @Inject(llmConfig.KEY) private readonly llm: LlmConfig,
  ) {
    super();
    this.metrics = new InferenceMetrics(metrics);
    this.errors = new UpstreamErrors(ollama.timeoutMs, llm.circuitFailureThreshold);
    this.admission = new Admission(pool, this.metrics, this.errors, llm);
    this.failover = new Failover(this.admission, { maxRetries: ollama.maxRetries, backoff: RETRY_BACKOFF });
    for (const backend of pool.backends) {
      backend.policy.onCircuitChange((circuit) => {
        this.metrics.circuit(backend, circuit);
        if (circuit === 'open') {
          this.logger.warn(
            `circuit to ${backend.url} open after ${llm.circuitFailureThreshold} consecutive upstream failures; ` +
              `requests fail fast for ${llm.circuitResetTimeoutMs} ms`,
          );
        } else {
          this.logger.log(`circuit to ${backend.url} ${circuit}`);
        }
      });
    }
  }

  get defaultModel(): string {
    return this.registry.defaultModel;
  }

  /** Starts every model's lifecycle in the background: wait for Ollama, pull, read capabilities, warm up. */
  onModuleInit(): void {
    this.pool.start();
  }

  /**
   * With LLM_WARMUP_BLOCKING, waits until every served model is ready, so that the application listens
   * only then. This waits here and not in `onModuleInit` because the Ollama supervisor starts its server
   * in its own bootstrap hook, which runs before this one.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.llm.warmupBlocking) {
      this.logger.log(
        `waiting for ${this.registry.names.join(', ')} to be ready before listening (LLM_WARMUP_BLOCKING)`,
      );
      await Promise.all(
        this.registry.names.map((model) =>
          Promise.any(this.pool.backends.map((backend) => backend.lifecycle(model).whenReady())),
        ),
      );
    }
  }

  /** Drains (if nobody did), stops the lifecycles' timers and requests, and closes the connection pools. */
  onApplicationShutdown(): Promise<void> {
    this.closed ??= (async () => {
      await this.drain(0);
      await this.pool.stop();
    })();
    return this.closed;
  }

  models(): ServedModel[] {
    return this.registry.names.map((name) => ({ name, capabilities: [...(this.registry.capabilities(name) ?? [])] }));
  }

  findModel(name: string): string | undefined {
    return this.registry.find(name);
  }

  async chat(request: LlmChatRequest, options: LlmCallOptions): Promise<LlmChatResult> {
    const model = this.resolveChat(request);
    const call = await this.admission.admit(model, options);
    try {
      const result = await this.failover.run(call, (backend, signal) =>
        backend.client.chat(model, request, { signal, timeoutMs: this.ollama.timeoutMs, requestId: call.requestId }),
      );
      this.metrics.tokens(result.usage);
      call.finish('success');
      return { ...result, timings: withQueueTime(result.timings, call.queueMs) };
    } catch (error) {
      throw this.admission.fail(error, call, false);
    }
  }

  async stream(request: LlmChatRequest, options: LlmCallOptions): Promise<AsyncIterable<LlmStreamEvent>> {
    const model = this.resolveChat(request);
    const call = await this.admission.admit(model, options);
    const streamEnd = deferred();
    try {
      const upstream = await this.failover.run(
        call,
        (backend, signal) =>
          backend.client.chatStream(model, request, {
            signal,
            idleTimeoutMs: this.ollama.timeoutMs,
            requestId: call.requestId,
          }),
        () => streamEnd.promise,
      );
      return relayStream(upstream, call, streamEnd, {
        errors: this.errors,
        metrics: this.metrics,
        unclaimedTimeoutMs: this.ollama.timeoutMs,
      });
    } catch (error) {
      throw this.admission.fail(error, call, false);
    }
  }

  async embed(request: LlmEmbedRequest, options: LlmCallOptions): Promise<LlmEmbedResult> {
    const model = this.registry.resolve(request.model, 'embedding');
    const call: InferenceCall = await this.admission.admit(model, options);
    try {
      const result = await this.failover.run(call, (backend, signal) =>
        backend.client.embed(model, request, { signal, timeoutMs: this.ollama.timeoutMs, requestId: call.requestId }),
      );
      this.metrics.tokens({ promptTokens: result.promptTokens, completionTokens: 0 });
      call.finish('success');
      return result;
    } catch (error) {
      throw this.admission.fail(error, call, false);
    }
  }

  async forward(request: LlmForwardRequest, options: LlmCallOptions): Promise<LlmForwardResponse> {
    const idle = { idleTimeoutMs: this.ollama.timeoutMs, requestId: options.requestId };
    if (request.model === undefined) {
      const backend = this.pool.anyUp();
      if (backend === undefined) {
        throw new ServiceUnavailableError('Ollama is not answering; retry shortly', 'ollama_unreachable', 5);
      }
      const call = (): Promise<LlmForwardResponse> =>
        backend.client.forward(request, { ...idle, signal: options.signal });
      try {
        // A control call reads and changes nothing: one lost connection is worth a second try.
        return await call().catch((error: unknown) => {
          if (!isOllamaFailure(error, 'unreachable')) {
            throw error;
          }
          return call();
        });
      } catch (error) {
        throw this.errors.mapControl(error, options.requestId);
      }
    }
    const model = this.registry.resolve(request.model);
    const call = await this.admission.admit(model, options);
    const streamEnd = deferred();
    try {
      const answer = await this.failover.run(
        call,
        (backend, signal) => backend.client.forward(request, { ...idle, signal }),
        () => streamEnd.promise,
      );
      const tail = new NdjsonTail();
      const context = { errors: this.errors, metrics: this.metrics, unclaimedTimeoutMs: this.ollama.timeoutMs };
      const body = relay(answer.body, call, streamEnd, context, {
        isLast: () => false,
        map: (chunk: Buffer) => tail.keep(chunk),
        onEnd: () => this.metrics.tokens(tail.usage()),
        failedAtEnd: () => tail.failed(),
      });
      return {
        status: answer.status,
        ...(answer.contentType !== undefined && { contentType: answer.contentType }),
        body,
      };
    } catch (error) {
      throw this.admission.fail(error, call, false);
    }
  }

  /** The served model a chat asks for, checked for every capability the request needs. */
  private resolveChat(request: LlmChatRequest): string {
    const [first, ...more] = requiredCapabilities(request);
    const model = this.registry.resolve(request.model, first);
    for (const capability of more) {
      this.registry.resolve(model, capability);
    }
    return model;
  }

  drain(gracePeriodMs: number): Promise<void> {
    return this.admission.drain(gracePeriodMs);
  }

  status(): LlmStatus {
    const models: LlmStatus['models'] = {};
    for (const name of this.registry.names) {
      const backend = this.pool.closest(name);
      const status = backend.modelStatus(name);
      const problem = status.state !== 'ready' ? backend.lifecycle(name).describe() : undefined;
      models[name] = { ...status, ...(problem !== undefined && { problem }) };
    }
    const model = this.registry.defaultModel;
    const backend = this.pool.closest(model);
    const { state, reason, pull, warm, problem } = models[model];
    const load = backend.load();
    const circuit = backend.policy.circuit;
    const circuitProblem = circuit === 'open' ? this.errors.circuitMessage() : undefined;
    return {
      state,
      model,
      ...(reason !== undefined && { reason }),
      ...(pull !== undefined && { pull }),
      warm,
      circuit,
      queueDepth: load.queueDepth,
      inFlight: load.inFlight,
      ...((problem ?? circuitProblem) !== undefined && { problem: problem ?? circuitProblem }),
      models,
    };
  }
}

/** What a chat request needs of its model: completion, and tools or vision when it sends them. */
function requiredCapabilities(request: LlmChatRequest): ModelCapability[] {
  const needs: ModelCapability[] = ['completion'];
  if (request.tools !== undefined && request.tools.length > 0) {
    needs.push('tools');
  }
  if (request.messages.some((message) => message.images !== undefined && message.images.length > 0)) {
    needs.push('vision');
  }
  return needs;
}
