import { Logger } from '@nestjs/common';
import { BadGatewayError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import { parseEnvironment } from '../config/environment';
import { MetricsService } from '../metrics/metrics.service';
import { OllamaEndpoint } from '../ollama-process/ollama-endpoint';
import { LlmCallAbortedError } from './llm.errors';
import { LlmService } from './llm.service';
import { LlmState } from './llm.types';
import { ModelLifecycle, ModelStatus } from './model-lifecycle';
import { OllamaChatChunk, OllamaChatRequest } from './ollama-api.types';
import { OllamaCallOptions, OllamaClient } from './ollama-client';
import { OllamaClientError } from './ollama-client.errors';
import { OllamaHttpAgent } from './ollama-http-agent';

const MODEL = 'llama3.1:latest';
const CALL = { endpoint: 'chat' };

function reply(overrides: Partial<OllamaChatChunk> = {}): OllamaChatChunk {
  return {
    model: MODEL,
    created_at: '2025-10-26T17:21:21.196249Z',
    message: { role: 'assistant', content: 'Hello!' },
    done: true,
    done_reason: 'stop',
    total_duration: 4_883_583_458,
    load_duration: 1_334_875,
    prompt_eval_count: 26,
    prompt_eval_duration: 342_546_000,
    eval_count: 282,
    eval_duration: 4_535_599_000,
    ...overrides,
  };
}

class FakeLifecycle {
  state: LlmState = 'ready';
  pull?: { percent: number; status: string };
  readonly reportModelMissing = jest.fn(() => {
    this.state = 'loading';
  });
  readonly endUse = jest.fn();
  readonly beginUse = jest.fn(() => this.endUse);
  readonly start = jest.fn();
  readonly stop = jest.fn(() => Promise.resolve());
  readonly whenReady = jest.fn(() => Promise.resolve());

  status(): ModelStatus {
    return { state: this.state, warm: this.state === 'ready', ...(this.pull && { pull: this.pull }) };
  }

  describe(): string {
    return this.state === 'pulling'
      ? `pulling ${MODEL}: ${this.pull?.percent ?? 0}%`
      : `model ${MODEL} is ${this.state}`;
  }
}

describe(LlmService.name, () => {
  let chat: jest.Mock<Promise<OllamaChatChunk>, [OllamaChatRequest, OllamaCallOptions]>;
  let lifecycle: FakeLifecycle;
  let metrics: MetricsService;
  let agent: { destroy: jest.Mock };
  let service: LlmService;

  function create(env: Record<string, string> = {}): LlmService {
    const config = parseEnvironment({
      OLLAMA_MODEL: MODEL,
      OLLAMA_KEEP_ALIVE: '20m',
      OLLAMA_MAX_RETRIES: '0',
      OLLAMA_TIMEOUT: '35',
      ...env,
    });
    const endpoint = { baseUrl: 'http://127.0.0.1:11434', isUp: () => true } as OllamaEndpoint;
    service = new LlmService(
      { chat } as unknown as OllamaClient,
      lifecycle as unknown as ModelLifecycle,
      endpoint,
      agent as unknown as OllamaHttpAgent,
      metrics,
      config.ollama,
      config.llm,
      config.app,
    );
    return service;
  }

  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await metrics.registry.getSingleMetric(name)?.get();
    return (
      metric?.values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
        ?.value ?? 0
    );
  }

  let warn: jest.SpyInstance;

  beforeEach(() => {
    for (const level of ['log', 'debug', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    chat = jest.fn().mockResolvedValue(reply());
    lifecycle = new FakeLifecycle();
    metrics = new MetricsService();
    agent = { destroy: jest.fn() };
  });

  afterEach(async () => {
    await service?.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('maps Ollama nanosecond durations to millisecond timings and names the configured model', async () => {
    const result = await create().chat({ messages: [{ role: 'user', content: 'hi' }] }, CALL);

    expect(result).toEqual({
      content: 'Hello!',
      model: MODEL,
      doneReason: 'stop',
      usage: { promptTokens: 26, completionTokens: 282 },
      timings: {
        totalMs: 4883.58,
        queueMs: expect.any(Number),
        loadMs: 1.33,
        promptEvalMs: 342.55,
        evalMs: 4535.6,
        tokensPerSecond: 62.17,
      },
    });
    expect(await counter('llm_tokens_total', { type: 'prompt' })).toBe(26);
    expect(await counter('llm_tokens_total', { type: 'completion' })).toBe(282);
    expect(lifecycle.beginUse).toHaveBeenCalledTimes(1);
    expect(lifecycle.endUse).toHaveBeenCalledTimes(1);
  });

  it('reports a length stop, and 0 tokens per second when Ollama measured no evaluation time', async () => {
    chat.mockResolvedValue(reply({ done_reason: 'length', eval_duration: 0, eval_count: undefined }));
    const result = await create().chat({ messages: [{ role: 'user', content: 'hi' }] }, CALL);
    expect(result.doneReason).toBe('length');
    expect(result.timings.tokensPerSecond).toBe(0);
    expect(result.usage.completionTokens).toBe(0);
  });

  it('sends the configured model and keep_alive, and only the sampling options it knows', async () => {
    await create().chat(
      {
        messages: [{ role: 'user', content: 'hi' }],
        options: { temperature: 0.2, seed: 7, num_ctx: 99_999 } as never,
        format: 'json',
      },
      CALL,
    );
    expect(chat).toHaveBeenCalledWith(
      {
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        stream: false,
        keep_alive: '20m',
        options: { temperature: 0.2, seed: 7 },
        format: 'json',
      },
      expect.objectContaining({ timeoutMs: 35_000 }),
    );
  });

  it('refuses while the model loads with not_ready, the state and a Retry-After, without calling Ollama', async () => {
    lifecycle.state = 'loading';
    const refusal = create().chat({ messages: [] }, CALL);
    await expect(refusal).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(refusal).rejects.toMatchObject({
      reason: 'not_ready',
      message: `model ${MODEL} is loading; retry shortly`,
      retryAfterSeconds: 5,
    });
    expect(chat).not.toHaveBeenCalled();
    expect(await counter('llm_requests_rejected_total', { reason: 'not_ready' })).toBe(1);
  });

  it('refuses while the model is pulled with the progress', async () => {
    lifecycle.state = 'pulling';
    lifecycle.pull = { percent: 45, status: 'pulling dde5aa3fc5ff' };
    await expect(create().chat({ messages: [] }, CALL)).rejects.toMatchObject({
      reason: 'not_ready',
      message: `pulling ${MODEL}: 45%; retry later`,
    });
  });

  it('turns a missing model into not_ready and has the lifecycle bring it back', async () => {
    chat.mockRejectedValue(new OllamaClientError('model_not_found', 'missing', "model 'llama3.1' not found", 404));
    await expect(create().chat({ messages: [] }, CALL)).rejects.toMatchObject({ reason: 'not_ready' });
    expect(lifecycle.reportModelMissing).toHaveBeenCalled();
  });

  it("summarises Ollama's error without passing its text on", async () => {
    chat.mockRejectedValue(
      new OllamaClientError('upstream', 'HTTP 500', 'model requires more system memory (9 GiB) than is available', 500),
    );
    const failure = create().chat({ messages: [] }, CALL);
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
    chat.mockRejectedValue(new OllamaClientError('timeout', 'no answer'));
    const failure = create().chat({ messages: [] }, CALL);
    await expect(failure).rejects.toBeInstanceOf(UpstreamTimeoutError);
    await expect(failure).rejects.toThrow('the model did not answer within 35 s (OLLAMA_TIMEOUT)');
  });

  it('maps an unreachable Ollama to 503 ollama_unreachable', async () => {
    chat.mockRejectedValue(new OllamaClientError('unreachable', 'ECONNREFUSED'));
    await expect(create().chat({ messages: [] }, CALL)).rejects.toMatchObject({ reason: 'ollama_unreachable' });
  });

  it('reports a call its caller aborted as aborted, not as an upstream failure', async () => {
    const controller = new AbortController();
    chat.mockImplementation((_request, options) => {
      controller.abort();
      return Promise.reject(
        new OllamaClientError(options.signal?.aborted ? 'aborted' : 'unreachable', 'the call was aborted'),
      );
    });
    await expect(
      create({ CIRCUIT_FAILURE_THRESHOLD: '1' }).chat({ messages: [] }, { ...CALL, signal: controller.signal }),
    ).rejects.toBeInstanceOf(LlmCallAbortedError);
    expect(service.status().circuit).toBe('closed');
  });

  it('reports its state, queue and circuit without a network call', () => {
    lifecycle.state = 'pulling';
    lifecycle.pull = { percent: 10, status: 'pulling manifest' };
    expect(create().status()).toEqual({
      state: 'pulling',
      model: MODEL,
      pull: { percent: 10, status: 'pulling manifest' },
      warm: false,
      circuit: 'closed',
      queueDepth: 0,
      inFlight: 0,
    });
  });

  it('after a drain refuses with shutting_down, and shuts down once however often asked', async () => {
    create();
    await service.drain(1_000);
    await expect(service.chat({ messages: [] }, CALL)).rejects.toMatchObject({ reason: 'shutting_down' });
    await Promise.all([service.onApplicationShutdown(), service.onApplicationShutdown()]);
    expect(lifecycle.stop).toHaveBeenCalledTimes(1);
    expect(agent.destroy).toHaveBeenCalledTimes(1);
    expect(await counter('llm_requests_rejected_total', { reason: 'shutting_down' })).toBe(1);
  });
});
