import { Logger } from '@nestjs/common';
import { FakeOllamaEndpoint } from '../../test/support/fake-ollama-endpoint';
import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import { parseEnvironment } from '../config/environment';
import { MetricsService } from '../metrics/metrics.service';
import { createBackendPool } from './backends/backend-factory';
import { EmbeddingVectors } from './embedding-vectors';
import { LlmCallAbortedError } from './llm.errors';
import { LlmService } from './llm.service';
import { LlmChatRequest, LlmEmbedRequest, LlmEmbedResult, LlmState, ModelStatus } from './llm.types';
import { ModelCapabilityError, ModelNotServedError } from './models/model-errors';
import { ModelLifecycle } from './models/model-lifecycle';
import { ModelRegistry } from './models/model-registry';
import { OllamaCallOptions, OllamaChatResult, OllamaClient } from './ollama/ollama-client';
import { OllamaClientError } from './ollama/ollama-client.errors';

const MODEL = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';
const CALL = { endpoint: 'chat' };
const HI: LlmChatRequest = { messages: [{ role: 'user', content: 'hi' }] };

function reply(overrides: Partial<OllamaChatResult> = {}): OllamaChatResult {
  return {
    content: 'Hello!',
    model: MODEL,
    doneReason: 'stop',
    usage: { promptTokens: 26, completionTokens: 282 },
    timings: { totalMs: 4883.58, loadMs: 1.33, promptEvalMs: 342.55, evalMs: 4535.6, tokensPerSecond: 62.17 },
    ...overrides,
  };
}

/** Ollama's side, at the client class: scripted answers, recorded calls. */
class FakeClient extends OllamaClient {
  readonly chatCall = jest.fn((_model: string, _request: LlmChatRequest, _options: OllamaCallOptions) =>
    Promise.resolve(reply()),
  );
  readonly embedCall = jest.fn(
    (model: string, request: LlmEmbedRequest, _options: OllamaCallOptions): Promise<LlmEmbedResult> =>
      Promise.resolve({
        model,
        embeddings: EmbeddingVectors.fromArrays(request.input.map(() => [0.6, 0.8])),
        promptTokens: 4,
      }),
  );
  readonly destroyed = jest.fn();

  override chat(model: string, request: LlmChatRequest, options: OllamaCallOptions): Promise<OllamaChatResult> {
    return this.chatCall(model, request, options);
  }

  override embed(model: string, request: LlmEmbedRequest, options: OllamaCallOptions): Promise<LlmEmbedResult> {
    return this.embedCall(model, request, options);
  }

  override destroy(): void {
    this.destroyed();
  }
}

/** A model lifecycle whose state a test sets. */
class FakeLifecycle extends ModelLifecycle {
  now: LlmState = 'ready';
  progress?: { percent: number; status: string };
  readonly abilities: string[];
  readonly missingReported = jest.fn(() => {
    this.now = 'loading';
  });
  readonly ended = jest.fn();
  readonly begun = jest.fn();
  readonly stopped = jest.fn();
  private readonly listeners: Array<() => void> = [];

  constructor(model: string, client: OllamaClient, endpoint: FakeOllamaEndpoint) {
    super(model, client, endpoint, {
      autoPull: true,
      loadTimeoutMs: 1,
      keepAlive: { apiValue: '20m', ms: 1 },
      keepWarm: false,
    });
    this.abilities = model === EMBEDDER ? ['embedding'] : ['completion', 'tools'];
  }

  override start(): void {}

  override async stop(): Promise<void> {
    this.stopped();
  }

  override beginUse(): () => void {
    this.begun();
    return this.ended;
  }

  override reportModelMissing(): void {
    this.missingReported();
  }

  override onReady(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The model is ready again, as after a reload. */
  becameReady(): void {
    this.now = 'ready';
    for (const listener of this.listeners) {
      listener();
    }
  }

  override get isReady(): boolean {
    return this.now === 'ready';
  }

  override get capabilityList(): readonly string[] {
    return this.abilities;
  }

  override status(): ModelStatus {
    return {
      state: this.now,
      warm: this.now === 'ready',
      ...(this.progress && { pull: this.progress }),
      capabilities: [...this.abilities],
    };
  }

  override describe(): string {
    return this.now === 'pulling'
      ? `pulling ${this.model}: ${this.progress?.percent ?? 0}%`
      : `model ${this.model} is ${this.now}`;
  }
}

describe(LlmService.name, () => {
  let client: FakeClient;
  let endpoint: FakeOllamaEndpoint;
  let lifecycles: Map<string, FakeLifecycle>;
  let metrics: MetricsService;
  let service: LlmService;
  let warn: jest.SpyInstance;

  function create(env: Record<string, string> = {}): LlmService {
    const config = parseEnvironment({
      OLLAMA_MODEL: MODEL,
      OLLAMA_MODELS: EMBEDDER,
      OLLAMA_MAX_RETRIES: '0',
      OLLAMA_TIMEOUT: '35',
      ...env,
    });
    const pool = createBackendPool([endpoint], config.ollama, config.llm, metrics, {
      client: () => client,
      lifecycle: (model: string) => {
        const lifecycle = new FakeLifecycle(model, client, endpoint);
        lifecycles.set(model, lifecycle);
        return lifecycle;
      },
    });
    const registry = new ModelRegistry(config.ollama.models, (model) => pool.capabilities(model));
    service = new LlmService(pool, registry, metrics, config.ollama, config.llm);
    return service;
  }

  function lifecycle(model = MODEL): FakeLifecycle {
    return lifecycles.get(model) as FakeLifecycle;
  }

  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await metrics.registry.getSingleMetric(name)?.get();
    return (
      metric?.values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
        ?.value ?? 0
    );
  }

  beforeEach(() => {
    for (const level of ['log', 'debug', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    endpoint = new FakeOllamaEndpoint();
    client = new FakeClient(endpoint.baseUrl, { keepAlive: { apiValue: '20m', ms: 1_200_000 }, maxSockets: 1 });
    lifecycles = new Map();
    metrics = new MetricsService();
  });

  afterEach(async () => {
    await service?.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it("adds its queue time to Ollama's timings, names the configured model and counts the tokens", async () => {
    const result = await create().chat({ ...HI, model: 'llama3.1' }, CALL);

    expect(result).toEqual({
      ...reply(),
      timings: { ...reply().timings, queueMs: expect.any(Number) },
    });
    expect(client.chatCall).toHaveBeenCalledWith(
      MODEL,
      { ...HI, model: 'llama3.1' },
      expect.objectContaining({ timeoutMs: 35_000 }),
    );
    expect(await counter('llm_tokens_total', { type: 'prompt' })).toBe(26);
    expect(await counter('llm_tokens_total', { type: 'completion' })).toBe(282);
    expect(lifecycle().begun).toHaveBeenCalledTimes(1);
    expect(lifecycle().ended).toHaveBeenCalledTimes(1);
  });

  it('uses the default model when the request names none, and any served model it names', async () => {
    create();
    await service.chat(HI, CALL);
    await service.embed({ model: 'nomic-embed-text', input: ['a', 'b'] }, { endpoint: 'embeddings' });
    expect(client.chatCall.mock.calls[0][0]).toBe(MODEL);
    expect(client.embedCall.mock.calls[0][0]).toBe(EMBEDDER);
  });

  it('refuses a model that is not served with 404, and a capability the model lacks with 400, without calling Ollama', async () => {
    create();
    await expect(service.chat({ ...HI, model: 'mistral' }, CALL)).rejects.toBeInstanceOf(ModelNotServedError);
    const refusal = service.chat({ ...HI, model: EMBEDDER }, CALL);
    await expect(refusal).rejects.toBeInstanceOf(ModelCapabilityError);
    await expect(refusal).rejects.toThrow(`model '${EMBEDDER}' does not support chat or text generation`);
    await expect(service.embed({ model: MODEL, input: ['a'] }, CALL)).rejects.toThrow(
      `model '${MODEL}' does not support embeddings`,
    );
    expect(client.chatCall).not.toHaveBeenCalled();
    expect(client.embedCall).not.toHaveBeenCalled();
  });

  it('admits each model on its own: a full model refuses while another still serves', async () => {
    create({ LLM_MAX_CONCURRENCY: '1', LLM_MAX_QUEUE: '0' });
    let finish!: () => void;
    client.chatCall.mockImplementationOnce(() => new Promise((resolve) => (finish = () => resolve(reply()))));
    const running = service.chat(HI, CALL);
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'overloaded' });
    await expect(service.embed({ model: EMBEDDER, input: ['a'] }, CALL)).resolves.toMatchObject({ model: EMBEDDER });
    finish();
    await running;
  });

  it('refuses while the model loads with not_ready, the state and a Retry-After, without calling Ollama', async () => {
    create();
    lifecycle().now = 'loading';
    const refusal = service.chat(HI, CALL);
    await expect(refusal).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(refusal).rejects.toMatchObject({
      reason: 'not_ready',
      message: `model ${MODEL} is loading; retry shortly`,
      retryAfterSeconds: 5,
    });
    expect(client.chatCall).not.toHaveBeenCalled();
    expect(await counter('llm_requests_rejected_total', { reason: 'not_ready' })).toBe(1);
  });

  it('refuses while the model is pulled with the progress', async () => {
    create();
    lifecycle().now = 'pulling';
    lifecycle().progress = { percent: 45, status: 'pulling dde5aa3fc5ff' };
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({
      reason: 'not_ready',
      message: `pulling ${MODEL}: 45%; retry later`,
    });
  });

  it('refuses with ollama_unreachable while Ollama is down', async () => {
    create();
    endpoint.set(false);
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'ollama_unreachable' });
  });

  it('turns a missing model into not_ready and has the lifecycle bring it back', async () => {
    create();
    client.chatCall.mockRejectedValue(
      new OllamaClientError('model_not_found', 'missing', "model 'llama3.1' not found", 404),
    );
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'not_ready' });
    expect(lifecycle().missingReported).toHaveBeenCalled();
  });

  it("summarises Ollama's error without passing its text on", async () => {
    create();
    client.chatCall.mockRejectedValue(
      new OllamaClientError('upstream', 'HTTP 500', 'model requires more system memory (9 GiB) than is available', 500),
    );
    const failure = service.chat(HI, CALL);
    await expect(failure).rejects.toBeInstanceOf(BadGatewayError);
    await expect(failure).rejects.toThrow('the model server failed to answer (HTTP 500)');
    await expect(failure).rejects.not.toThrow('memory');
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({
        err: expect.objectContaining({ detail: 'model requires more system memory (9 GiB) than is available' }),
      }),
      'Ollama failed the request',
    );
  });

  it('maps a timeout to UpstreamTimeoutError naming OLLAMA_TIMEOUT', async () => {
    create();
    client.chatCall.mockRejectedValue(new OllamaClientError('timeout', 'no answer'));
    const failure = service.chat(HI, CALL);
    await expect(failure).rejects.toBeInstanceOf(UpstreamTimeoutError);
    await expect(failure).rejects.toThrow('the model did not answer within 35 s (OLLAMA_TIMEOUT)');
  });

  it('maps an unreachable Ollama to 503 ollama_unreachable', async () => {
    create();
    client.chatCall.mockRejectedValue(new OllamaClientError('unreachable', 'ECONNREFUSED'));
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'ollama_unreachable' });
  });

  it('reports a call its caller aborted as aborted, not as an upstream failure', async () => {
    const controller = new AbortController();
    create({ CIRCUIT_FAILURE_THRESHOLD: '1' });
    client.chatCall.mockImplementation((_model, _request, options) => {
      controller.abort();
      return Promise.reject(
        new OllamaClientError(options.signal?.aborted ? 'aborted' : 'unreachable', 'the call was aborted'),
      );
    });
    await expect(service.chat(HI, { ...CALL, signal: controller.signal })).rejects.toBeInstanceOf(LlmCallAbortedError);
    expect(service.status().circuit).toBe('closed');
  });

  it('gives a backend whose model is warm again a trial at once instead of waiting out the open circuit', async () => {
    create({ CIRCUIT_FAILURE_THRESHOLD: '1', CIRCUIT_RESET_TIMEOUT: '600' });
    client.chatCall.mockRejectedValueOnce(new OllamaClientError('unreachable', 'ECONNRESET'));
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'ollama_unreachable' });
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'circuit_open' });

    lifecycle().becameReady();

    expect(service.status().circuit).toBe('closed');
    await expect(service.chat(HI, CALL)).resolves.toMatchObject({ content: 'Hello!' });
  });

  it('reports every model, the default at the top, without a network call', () => {
    create();
    lifecycle(EMBEDDER).now = 'pulling';
    lifecycle(EMBEDDER).progress = { percent: 10, status: 'pulling manifest' };
    expect(service.status()).toEqual({
      state: 'ready',
      model: MODEL,
      warm: true,
      circuit: 'closed',
      queueDepth: 0,
      inFlight: 0,
      models: {
        [MODEL]: { state: 'ready', warm: true, capabilities: ['completion', 'tools'] },
        [EMBEDDER]: {
          state: 'pulling',
          warm: false,
          pull: { percent: 10, status: 'pulling manifest' },
          capabilities: ['embedding'],
          problem: `pulling ${EMBEDDER}: 10%`,
        },
      },
    });
    expect(service.models()).toEqual([
      { name: MODEL, capabilities: ['completion', 'tools'] },
      { name: EMBEDDER, capabilities: ['embedding'] },
    ]);
  });

  it('after a drain refuses with shutting_down, and shuts down once however often asked', async () => {
    create();
    await service.drain(1_000);
    await expect(service.chat(HI, CALL)).rejects.toMatchObject({ reason: 'shutting_down' });
    await Promise.all([service.onApplicationShutdown(), service.onApplicationShutdown()]);
    expect(lifecycle().stopped).toHaveBeenCalledTimes(1);
    expect(client.destroyed).toHaveBeenCalledTimes(1);
    expect(await counter('llm_requests_rejected_total', { reason: 'shutting_down' })).toBe(1);
  });
});
