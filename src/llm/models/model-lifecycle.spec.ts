import { Logger } from '@nestjs/common';
import { FakeOllamaEndpoint as FakeEndpoint } from '../../../test/support/fake-ollama-endpoint';
import { parseEnvironment } from '../../config/environment';
import {
  OllamaPsResponse,
  OllamaPullProgress,
  OllamaShowResponse,
  OllamaTagsResponse,
} from '../ollama/ollama-api.types';
import { LoadKind, OllamaCallOptions, OllamaClient } from '../ollama/ollama-client';
import { OllamaClientError } from '../ollama/ollama-client.errors';
import { keepWarmPlan } from './keep-warm';
import { ModelLifecycle } from './model-lifecycle';

const MODEL = 'llama3.1:latest';
const URL = 'http://127.0.0.1:11434';

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
class FakeOllama {
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

function layer(completed: number | undefined): OllamaPullProgress {
  return { status: 'pulling dde5aa3fc5ff', digest: 'sha256:dde5', total: 1_000, completed };
}

describe(ModelLifecycle.name, () => {
  let ollama: FakeOllama;
  let endpoint: FakeEndpoint;
  let lifecycle: ModelLifecycle;

  function create(env: Record<string, string> = {}): ModelLifecycle {
    const config = parseEnvironment({
      OLLAMA_MODEL: MODEL,
      OLLAMA_URL: URL,
      OLLAMA_KEEP_ALIVE: '2m',
      OLLAMA_LOAD_TIMEOUT: '60',
      LLM_KEEP_WARM: 'true',
      ...env,
    });
    ollama.keepAliveMs = config.ollama.keepAlive.ms;
    lifecycle = new ModelLifecycle(MODEL, ollama as unknown as OllamaClient, endpoint, {
      autoPull: config.ollama.autoPull,
      loadTimeoutMs: config.ollama.loadTimeoutMs,
      keepAlive: config.ollama.keepAlive,
      keepWarm: config.llm.keepWarm,
    });
    return lifecycle;
  }

  /** Lets the lifecycle run for `ms` of fake time (by default just long enough to settle what is due). */
  const advance = (ms = 1): Promise<void> => jest.advanceTimersByTimeAsync(ms);

  beforeEach(() => {
    for (const level of ['log', 'warn', 'debug', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    jest.useFakeTimers();
    ollama = new FakeOllama();
    endpoint = new FakeEndpoint(true, URL);
  });

  afterEach(async () => {
    await lifecycle?.stop();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('waits for Ollama, then warms the model up with an empty generate request and becomes ready', async () => {
    endpoint = new FakeEndpoint(false, URL);
    create().start();
    await advance(5_000);

    expect(lifecycle.status()).toEqual({ state: 'starting', warm: false, capabilities: [] });
    expect(lifecycle.describe()).toBe(`model ${MODEL} is starting: waiting for Ollama at ${URL}`);
    expect(ollama.load).not.toHaveBeenCalled();

    endpoint.set(true);
    await advance();

    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(ollama.load).toHaveBeenCalledTimes(1);
    expect(ollama.load).toHaveBeenCalledWith(MODEL, 'generate', expect.objectContaining({ timeoutMs: 60_000 }));
    expect(lifecycle.capabilityList).toEqual(['completion', 'tools']);
  });

  it('is loading while the warm-up runs, for as long as the load takes', async () => {
    ollama.loadTimeMs = 45_000;
    const ready = jest.fn();
    create().start();
    void lifecycle.whenReady().then(ready);
    await advance(44_999);

    expect(lifecycle.status().state).toBe('loading');
    expect(lifecycle.describe()).toBe(`model ${MODEL} is loading`);
    expect(ready).not.toHaveBeenCalled();

    await advance(1);
    expect(lifecycle.status().state).toBe('ready');
    expect(ready).toHaveBeenCalled();
  });

  it('pulls a missing model, keeping the progress over all layers, then loads it', async () => {
    ollama.onDisk.clear();
    ollama.pullScript = [{ status: 'pulling manifest' }, layer(undefined), layer(450), layer(1_000)];
    create({ OLLAMA_AUTO_PULL: 'true' }).start();

    await advance(100);
    expect(lifecycle.status()).toMatchObject({ state: 'pulling', pull: { percent: 0, status: 'pulling manifest' } });
    await advance(200);
    expect(lifecycle.status()).toMatchObject({ state: 'pulling', pull: { percent: 45 } });
    expect(lifecycle.describe()).toBe(`pulling ${MODEL}: 45%`);
    await advance(200);

    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(ollama.pull).toHaveBeenCalledTimes(1);
    expect(ollama.load).toHaveBeenCalledTimes(1);
  });

  it('aborts a pull that makes no progress for OLLAMA_LOAD_TIMEOUT and pulls again after a backoff', async () => {
    ollama.onDisk.clear();
    ollama.pullScript = [layer(100), { stallMs: 10 * 60_000 }];
    create({ OLLAMA_AUTO_PULL: 'true' }).start();

    await advance(100 + 59_999);
    expect(lifecycle.status().state).toBe('pulling');
    await advance(1);

    expect(lifecycle.status()).toMatchObject({
      state: 'degraded',
      reason: `pulling ${MODEL} made no progress for 60000 ms (OLLAMA_LOAD_TIMEOUT)`,
    });
    ollama.pullScript = [layer(1_000)];
    await advance(1_000);
    expect(ollama.pull).toHaveBeenCalledTimes(2);
    await advance(200);
    expect(lifecycle.status().state).toBe('ready');
  });

  it('is degraded with the command to run when the model is missing and auto-pull is off, and checks again', async () => {
    ollama.onDisk.clear();
    create({ OLLAMA_AUTO_PULL: 'false' }).start();
    await advance();

    const reason = `model ${MODEL} not found in Ollama and OLLAMA_AUTO_PULL is off; run 'ollama pull ${MODEL}'`;
    expect(lifecycle.status()).toEqual({ state: 'degraded', reason, warm: false, capabilities: [] });
    expect(lifecycle.describe()).toBe(reason);
    expect(ollama.pull).not.toHaveBeenCalled();

    ollama.onDisk.add(MODEL);
    await advance(1_000);
    expect(ollama.tags).toHaveBeenCalledTimes(2);
    expect(lifecycle.status().state).toBe('ready');
  });

  it('retries a failed warm-up with a growing backoff, degraded meanwhile', async () => {
    // The jitter at its top: the delays are exactly 1 s, then 2 s.
    jest.spyOn(Math, 'random').mockReturnValue(0.9999999);
    ollama.load
      .mockRejectedValueOnce(new OllamaClientError('upstream', 'Ollama answered /api/generate with HTTP 500', 'oom'))
      .mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable'));
    create().start();
    await advance();

    expect(lifecycle.status()).toMatchObject({
      state: 'degraded',
      reason: `loading ${MODEL} failed: Ollama answered /api/generate with HTTP 500`,
    });
    await advance(999);
    expect(ollama.load).toHaveBeenCalledTimes(2);
    expect(lifecycle.status()).toMatchObject({ state: 'degraded', reason: `Ollama is not answering at ${URL}` });
    await advance(1_999);
    expect(ollama.load).toHaveBeenCalledTimes(2);
    await advance(1);
    expect(ollama.load).toHaveBeenCalledTimes(3);
    await advance();
    expect(lifecycle.status().state).toBe('ready');
  });

  it('refreshes the residency before keep_alive runs out, checking /api/ps at least every quarter of it', async () => {
    create().start();
    await advance();
    await advance(30_000);
    expect(ollama.ps).toHaveBeenCalledTimes(1);

    await advance(10 * 60_000);

    expect(ollama.expiredSeen).toBe(false);
    expect(ollama.load.mock.calls.length).toBeGreaterThanOrEqual(6);
    expect(ollama.load.mock.calls.length).toBeLessThanOrEqual(10);
    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('does not refresh while a request runs, since its end restarts the countdown', async () => {
    create().start();
    await advance();
    const endUse = lifecycle.beginUse();
    ollama.expiresAt = Date.now() + 10 * 60_000;
    ollama.keepAliveMs = 10 * 60_000;
    await advance(5 * 60_000);
    expect(ollama.load).toHaveBeenCalledTimes(1);
    endUse();
    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('stays ready when a refresh fails, and tries again before keep_alive runs out', async () => {
    create().start();
    await advance();
    ollama.load.mockRejectedValueOnce(new OllamaClientError('busy', 'Ollama is busy', 'server busy', 503));

    await advance(96_000);
    expect(ollama.load).toHaveBeenCalledTimes(2);
    expect(lifecycle.status().state).toBe('ready');
    await advance(8_000);
    expect(ollama.load).toHaveBeenCalledTimes(3);
    expect(ollama.expiredSeen).toBe(false);
    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('does not refresh while plenty of keep_alive remains', async () => {
    create().start();
    await advance();
    await advance(90_000);
    expect(ollama.ps).toHaveBeenCalledTimes(3);
    expect(ollama.load).toHaveBeenCalledTimes(1);
  });

  it('reloads a model that Ollama dropped from memory, loading meanwhile', async () => {
    create().start();
    await advance();
    ollama.expiresAt = undefined;
    ollama.loadTimeMs = 5_000;

    await advance(30_000);
    expect(lifecycle.status()).toEqual({ state: 'loading', warm: false, capabilities: ['completion', 'tools'] });
    await advance(5_000);
    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(ollama.load).toHaveBeenCalledTimes(2);
  });

  it('never refreshes a model kept forever, but still reloads it when evicted', async () => {
    create({ OLLAMA_KEEP_ALIVE: '-1m' }).start();
    await advance();
    await advance(10 * 60_000);
    expect(ollama.load).toHaveBeenCalledTimes(1);
    expect(ollama.ps).toHaveBeenCalledTimes(10);

    ollama.expiresAt = undefined;
    await advance(60_000);
    expect(ollama.load).toHaveBeenCalledTimes(2);
  });

  it('without LLM_KEEP_WARM never checks /api/ps, and counts the model cold once keep_alive has passed unused', async () => {
    create({ LLM_KEEP_WARM: 'false' }).start();
    await advance();
    await advance(119_000);
    expect(lifecycle.status().warm).toBe(true);
    lifecycle.beginUse()();
    await advance(119_000);
    expect(lifecycle.status().warm).toBe(true);
    await advance(1_000);

    expect(lifecycle.status()).toEqual({ state: 'ready', warm: false, capabilities: ['completion', 'tools'] });
    expect(ollama.ps).not.toHaveBeenCalled();
  });

  it('cuts a backoff short when Ollama comes back', async () => {
    ollama.tags.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable'));
    create().start();
    await advance();
    expect(lifecycle.status().state).toBe('degraded');

    endpoint.set(true);
    await advance();
    expect(lifecycle.status().state).toBe('ready');
    expect(ollama.tags).toHaveBeenCalledTimes(2);
  });

  it('is degraded while Ollama is down and warms the model up again when it is back', async () => {
    create().start();
    await advance();

    endpoint.set(false);
    ollama.expiresAt = undefined;
    await advance(60_000);
    expect(lifecycle.status()).toEqual({
      state: 'degraded',
      reason: `Ollama is not answering at ${URL}`,
      warm: false,
      capabilities: ['completion', 'tools'],
    });

    endpoint.set(true);
    await advance();
    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(ollama.load).toHaveBeenCalledTimes(2);
  });

  it('brings back a model that a request found missing: pulls and warms it up again', async () => {
    ollama.pullScript = [layer(1_000)];
    create({ OLLAMA_AUTO_PULL: 'true' }).start();
    await advance();
    ollama.onDisk.clear();

    lifecycle.reportModelMissing();
    expect(lifecycle.status().state).toBe('loading');
    await advance();
    expect(lifecycle.status().state).toBe('pulling');
    await advance(200);

    expect(lifecycle.status().state).toBe('ready');
    expect(ollama.pull).toHaveBeenCalledTimes(1);
    expect(ollama.load).toHaveBeenCalledTimes(2);
  });

  it('warms an embedding model through /api/embed, as it cannot generate', async () => {
    ollama.capabilities = ['embedding'];
    create().start();
    await advance();

    expect(lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['embedding'] });
    expect(ollama.load).toHaveBeenCalledWith(MODEL, 'embed', expect.objectContaining({ timeoutMs: 60_000 }));
  });

  it('says what Ollama said of a model the registry lacks, and retries that only every few minutes', async () => {
    ollama.onDisk.clear();
    ollama.pull.mockImplementation(() =>
      Promise.reject(
        new OllamaClientError(
          'upstream',
          'Ollama reported an error in the /api/pull stream',
          'pull model manifest: file does not exist',
        ),
      ),
    );
    create().start();
    await advance();

    const { state, reason } = lifecycle.status();
    expect(state).toBe('degraded');
    expect(reason).toBe(
      `model ${MODEL} does not exist in the registry (Ollama said "pull model manifest: file does not exist"); ` +
        'check OLLAMA_MODEL and OLLAMA_MODELS',
    );
    await advance(4 * 60_000);
    expect(ollama.pull).toHaveBeenCalledTimes(1);
    await advance(60_000);
    expect(ollama.pull).toHaveBeenCalledTimes(2);
  });

  it('tells its listeners each time the model is ready again', async () => {
    const ready = jest.fn();
    create().onReady(ready);
    lifecycle.start();
    await advance();
    expect(ready).toHaveBeenCalledTimes(1);

    endpoint.set(false);
    await advance();
    endpoint.set(true);
    await advance();
    expect(ready).toHaveBeenCalledTimes(2);
  });

  it('checks Ollama at once when a call lost its connection, and warms the model again if it was dropped', async () => {
    create().start();
    await advance();
    expect(ollama.load).toHaveBeenCalledTimes(1);

    lifecycle.verify();
    await advance();
    expect(lifecycle.status().state).toBe('ready');
    expect(ollama.load).toHaveBeenCalledTimes(1);

    ollama.expiresAt = undefined;
    lifecycle.verify();
    await advance();
    expect(lifecycle.status().state).toBe('ready');
    expect(ollama.load).toHaveBeenCalledTimes(2);
  });

  it('stays ready when one check loses its connection but the next finds the model', async () => {
    create().start();
    await advance();
    ollama.ps.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNRESET)'));

    lifecycle.verify();
    await advance(250);
    expect(lifecycle.status().state).toBe('ready');
    expect(ollama.ps).toHaveBeenCalledTimes(2);
    expect(ollama.load).toHaveBeenCalledTimes(1);
  });

  it('is degraded when that check finds Ollama unreachable twice, until it answers and the model is warm', async () => {
    create().start();
    await advance();
    const refused = new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNREFUSED)');
    ollama.ps.mockRejectedValueOnce(refused).mockRejectedValueOnce(refused);
    ollama.tags.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNREFUSED)'));

    lifecycle.verify();
    await advance(250);
    expect(lifecycle.status()).toMatchObject({ state: 'degraded', reason: `Ollama is not answering at ${URL}` });
    await advance(2_000);
    expect(lifecycle.status().state).toBe('ready');
  });

  it('stops every timer and request, and can be stopped twice', async () => {
    ollama.loadTimeMs = 60_000;
    create().start();
    const waiting = lifecycle.whenReady();
    await advance(1_000);

    await lifecycle.stop();
    await lifecycle.stop();

    await expect(waiting).rejects.toThrow('stopped');
    await expect(lifecycle.whenReady()).rejects.toThrow('stopped');
    expect(jest.getTimerCount()).toBe(0);
    expect(endpoint.listenerCount).toBe(0);
  });
});

describe('keepWarmPlan', () => {
  it('checks every quarter of keep_alive and refreshes with max(10 s, 20 %) left', () => {
    expect(keepWarmPlan(20 * 60_000)).toEqual({ checkEveryMs: 5 * 60_000, refreshMarginMs: 4 * 60_000 });
    expect(keepWarmPlan(2 * 60_000)).toEqual({ checkEveryMs: 30_000, refreshMarginMs: 24_000 });
  });

  it('never waits for more than half of a short keep_alive, nor checks more often than every 250 ms', () => {
    expect(keepWarmPlan(2_000)).toEqual({ checkEveryMs: 500, refreshMarginMs: 1_000 });
    expect(keepWarmPlan(500)).toEqual({ checkEveryMs: 250, refreshMarginMs: 250 });
  });

  it('only looks for evictions, once a minute, when the model stays forever', () => {
    expect(keepWarmPlan(Infinity)).toEqual({ checkEveryMs: 60_000, refreshMarginMs: 0 });
  });
});
