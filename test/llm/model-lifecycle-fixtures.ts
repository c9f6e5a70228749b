/** An Ollama client double and the set-up shared by the unit specs of `ModelLifecycle`. */
import { Logger } from '@nestjs/common';
import { parseEnvironment } from '../../src/config/environment';
import {
  OllamaPsResponse,
  OllamaPullProgress,
  OllamaShowResponse,
  OllamaTagsResponse,
} from '../../src/llm/ollama/ollama-api.types';
import { LoadKind, OllamaCallOptions, OllamaClient } from '../../src/llm/ollama/ollama-client';
import { OllamaClientError } from '../../src/llm/ollama/ollama-client.errors';
import { ModelLifecycle } from '../../src/llm/models/model-lifecycle';
import { FakeOllamaEndpoint } from '../support/fake-ollama-endpoint';

export const MODEL = 'llama3.1:latest';
export const URL = 'http://127.0.0.1:11434';

/** Resolves after `ms` (fake time), or rejects when `signal` aborts. */
function after<T>(ms: number, signal: AbortSignal | undefined, value: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(value()), ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new OllamaClientError('aborted', 'aborted'));
      },
      { once: true },
    );
  });
}

/** An Ollama that keeps models on disk and in memory like the real one, with knobs for each test. */
export class FakeOllama {
  onDisk = new Set([MODEL]);
  /** When the resident model will be unloaded; undefined when it is not in memory. */
  expiresAt?: number;
  keepAliveMs = 120_000;
  loadTimeMs = 0;
  /** Set when a check found the model expired: keep-warm came too late. */
  expiredSeen = false;
  pullScript: Array<OllamaPullProgress | { stallMs: number }> = [];

  readonly tags = jest.fn((_options: OllamaCallOptions): Promise<OllamaTagsResponse> =>
    Promise.resolve({
      models: [...this.onDisk].map((name) => ({ name, model: name, modified_at: '', size: 1, digest: 'd' })),
    }),
  );

  readonly ps = jest.fn((_options: OllamaCallOptions): Promise<OllamaPsResponse> => {
    this.expire();
    const models =
      this.expiresAt === undefined
        ? []
        : [
            {
              name: MODEL,
              model: MODEL,
              size: 1,
              digest: 'd',
              size_vram: 1,
              expires_at: new Date(Math.min(this.expiresAt, Date.UTC(2318, 0))).toISOString(),
            },
          ];
    return Promise.resolve({ models });
  });

  capabilities = ['completion', 'tools'];

  readonly show = jest.fn((_model: string, _options: OllamaCallOptions): Promise<OllamaShowResponse> =>
    Promise.resolve({ capabilities: [...this.capabilities] }),
  );

  readonly load = jest.fn(
    (_model: string, _kind: LoadKind, options: OllamaCallOptions): Promise<string | undefined> => {
      this.expire();
      const loadMs = this.expiresAt === undefined ? this.loadTimeMs : 0;
      return after(loadMs, options.signal, () => {
        this.expiresAt = Date.now() + this.keepAliveMs;
        return 'load';
      });
    },
  );

  readonly pull = jest.fn((model: string, signal: AbortSignal): Promise<AsyncGenerator<OllamaPullProgress>> => {
    const script = [...this.pullScript];
    const onDisk = this.onDisk;
    async function* lines(): AsyncGenerator<OllamaPullProgress> {
      for (const step of script) {
        if ('stallMs' in step) {
          await after(step.stallMs, signal, () => undefined);
        } else {
          await after(100, signal, () => undefined);
          yield step;
        }
      }
      onDisk.add(model);
      yield { status: 'success' };
    }
    return Promise.resolve(lines());
  });

  private expire(): void {
    if (this.expiresAt !== undefined && Date.now() > this.expiresAt) {
      this.expiredSeen = true;
      this.expiresAt = undefined;
    }
  }
}

export function layer(completed: number | undefined): OllamaPullProgress {
  return { status: 'pulling dde5aa3fc5ff', digest: 'sha256:dde5', total: 1_000, completed };
}

/** A lifecycle of MODEL on `ollama` and `endpoint`, configured from `env` over these tests' defaults. */
export function createLifecycle(
  ollama: FakeOllama,
  endpoint: FakeOllamaEndpoint,
  env: Record<string, string> = {},
): ModelLifecycle {
  const config = parseEnvironment({
    OLLAMA_MODEL: MODEL,
    OLLAMA_URL: URL,
    OLLAMA_KEEP_ALIVE: '2m',
    OLLAMA_LOAD_TIMEOUT: '60',
    LLM_KEEP_WARM: 'true',
    ...env,
  });
  ollama.keepAliveMs = config.ollama.keepAlive.ms;
  return new ModelLifecycle(MODEL, ollama as unknown as OllamaClient, endpoint, {
    autoPull: config.ollama.autoPull,
    loadTimeoutMs: config.ollama.loadTimeoutMs,
    keepAlive: config.ollama.keepAlive,
    keepWarm: config.llm.keepWarm,
  });
}

/** Lets the lifecycle run for `ms` of fake time (by default just long enough to settle what is due). */
export const advance = (ms = 1): Promise<void> => jest.advanceTimersByTimeAsync(ms);

/** Keeps the lifecycle's log lines out of the test output. */
export function quietLogs(): void {
  for (const level of ['log', 'warn', 'debug', 'error'] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
  }
}

/** What a `ModelLifecycle` spec works with: fresh doubles for each test, and the lifecycle it made. */
export interface LifecycleHarness {
  readonly ollama: FakeOllama;
  /** Reachable by default; a test may swap in another before it calls `create`. */
  endpoint: FakeOllamaEndpoint;
  /** The lifecycle the last `create` made; stopped after each test. */
  readonly lifecycle: ModelLifecycle;
  /** A lifecycle of MODEL on this test's doubles, configured from `env` over the defaults. */
  create(env?: Record<string, string>): ModelLifecycle;
}

/** Registers the set-up of a `ModelLifecycle` spec (quiet logs, fake timers, fresh doubles) and its tear-down. */
export function useLifecycleHarness(): LifecycleHarness {
  let ollama: FakeOllama;
  let endpoint: FakeOllamaEndpoint;
  let lifecycle: ModelLifecycle;

  beforeEach(() => {
    quietLogs();
    jest.useFakeTimers();
    ollama = new FakeOllama();
    endpoint = new FakeOllamaEndpoint(true, URL);
  });

  afterEach(async () => {
    await lifecycle?.stop();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  return {
    get ollama() {
      return ollama;
    },
    get endpoint() {
      return endpoint;
    },
    set endpoint(value: FakeOllamaEndpoint) {
      endpoint = value;
    },
    get lifecycle() {
      return lifecycle;
    },
    create(env: Record<string, string> = {}): ModelLifecycle {
      lifecycle = createLifecycle(ollama, endpoint, env);
      return lifecycle;
    },
  };
}
