import { URL, advance, layer, useLifecycleHarness } from '../../../test/llm/model-lifecycle-fixtures';
import { OllamaClientError } from '../ollama/ollama-client.errors';
import { ModelLifecycle } from './model-lifecycle';

describe(ModelLifecycle.name, () => {
  const h = useLifecycleHarness();

  it('cuts a backoff short when Ollama comes back', async () => {
    h.ollama.tags.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable'));
    h.create().start();
    await advance();
    expect(h.lifecycle.status().state).toBe('degraded');

    h.endpoint.set(true);
    await advance();
    expect(h.lifecycle.status().state).toBe('ready');
    expect(h.ollama.tags).toHaveBeenCalledTimes(2);
  });

  it('is degraded while Ollama is down and warms the model up again when it is back', async () => {
    h.create().start();
    await advance();

    h.endpoint.set(false);
    h.ollama.expiresAt = undefined;
    await advance(60_000);
    expect(h.lifecycle.status()).toEqual({
      state: 'degraded',
      reason: `Ollama is not answering at ${URL}`,
      warm: false,
      capabilities: ['completion', 'tools'],
    });

    h.endpoint.set(true);
    await advance();
    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
  });

  it('brings back a model that a request found missing: pulls and warms it up again', async () => {
    h.ollama.pullScript = [layer(1_000)];
    h.create({ OLLAMA_AUTO_PULL: 'true' }).start();
    await advance();
    h.ollama.onDisk.clear();

    h.lifecycle.reportModelMissing();
    expect(h.lifecycle.status().state).toBe('loading');
    await advance();
    expect(h.lifecycle.status().state).toBe('pulling');
    await advance(200);

    expect(h.lifecycle.status().state).toBe('ready');
    expect(h.ollama.pull).toHaveBeenCalledTimes(1);
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
  });

  it('tells its listeners each time the model is ready again', async () => {
    const ready = jest.fn();
    h.create().onReady(ready);
    h.lifecycle.start();
    await advance();
    expect(ready).toHaveBeenCalledTimes(1);

    h.endpoint.set(false);
    await advance();
    h.endpoint.set(true);
    await advance();
    expect(ready).toHaveBeenCalledTimes(2);
  });

  it('checks Ollama at once when a call lost its connection, and warms the model again if it was dropped', async () => {
    h.create().start();
    await advance();
    expect(h.ollama.load).toHaveBeenCalledTimes(1);

    h.lifecycle.verify();
    await advance();
    expect(h.lifecycle.status().state).toBe('ready');
    expect(h.ollama.load).toHaveBeenCalledTimes(1);

    h.ollama.expiresAt = undefined;
    h.lifecycle.verify();
    await advance();
    expect(h.lifecycle.status().state).toBe('ready');
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
  });

  it('stays ready when one check loses its connection but the next finds the model', async () => {
    h.create().start();
    await advance();
    h.ollama.ps.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNRESET)'));

    h.lifecycle.verify();
    await advance(250);
    expect(h.lifecycle.status().state).toBe('ready');
    expect(h.ollama.ps).toHaveBeenCalledTimes(2);
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
  });

  it('is degraded when that check finds Ollama unreachable twice, until it answers and the model is warm', async () => {
    h.create().start();
    await advance();
    const refused = new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNREFUSED)');
    h.ollama.ps.mockRejectedValueOnce(refused).mockRejectedValueOnce(refused);
    h.ollama.tags.mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable (ECONNREFUSED)'));

    h.lifecycle.verify();
    await advance(250);
    expect(h.lifecycle.status()).toMatchObject({ state: 'degraded', reason: `Ollama is not answering at ${URL}` });
    await advance(2_000);
    expect(h.lifecycle.status().state).toBe('ready');
  });

  it('stops every timer and request, and can be stopped twice', async () => {
    h.ollama.loadTimeMs = 60_000;
    h.create().start();
    const waiting = h.lifecycle.whenReady();
    await advance(1_000);

    await h.lifecycle.stop();
    await h.lifecycle.stop();

    await expect(waiting).rejects.toThrow('stopped');
    await expect(h.lifecycle.whenReady()).rejects.toThrow('stopped');
    expect(jest.getTimerCount()).toBe(0);
    expect(h.endpoint.listenerCount).toBe(0);
  });
});
