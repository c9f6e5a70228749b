import { FakeOllamaEndpoint as FakeEndpoint } from '../../../test/support/fake-ollama-endpoint';
import {
  FakeOllama,
  URL,
  advance,
  createLifecycle,
  layer,
  quietLogs,
} from '../../../test/llm/model-lifecycle-fixtures';
import { OllamaClientError } from '../ollama/ollama-client.errors';
import { ModelLifecycle } from './model-lifecycle';

describe(ModelLifecycle.name, () => {
  let ollama: FakeOllama;
  let endpoint: FakeEndpoint;
  let lifecycle: ModelLifecycle;

  function create(env: Record<string, string> = {}): ModelLifecycle {
    lifecycle = createLifecycle(ollama, endpoint, env);
    return lifecycle;
  }

  beforeEach(() => {
    quietLogs();
    jest.useFakeTimers();
    ollama = new FakeOllama();
    endpoint = new FakeEndpoint(true, URL);
  });

  afterEach(async () => {
    await lifecycle?.stop();
    jest.useRealTimers();
    jest.restoreAllMocks();
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
