import { FakeOllamaEndpoint as FakeEndpoint } from '../../../test/support/fake-ollama-endpoint';
import { MODEL, URL, advance, layer, useLifecycleHarness } from '../../../test/llm/model-lifecycle-fixtures';
import { OllamaClientError } from '../ollama/ollama-client.errors';
import { ModelLifecycle } from './model-lifecycle';

describe(ModelLifecycle.name, () => {
  const h = useLifecycleHarness();

  it('waits for Ollama, then warms the model up with an empty generate request and becomes ready', async () => {
    h.endpoint = new FakeEndpoint(false, URL);
    h.create().start();
    await advance(5_000);

    expect(h.lifecycle.status()).toEqual({ state: 'starting', warm: false, capabilities: [] });
    expect(h.lifecycle.describe()).toBe(`model ${MODEL} is starting: waiting for Ollama at ${URL}`);
    expect(h.ollama.load).not.toHaveBeenCalled();

    h.endpoint.set(true);
    await advance();

    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
    expect(h.ollama.load).toHaveBeenCalledWith(MODEL, 'generate', expect.objectContaining({ timeoutMs: 60_000 }));
    expect(h.lifecycle.capabilityList).toEqual(['completion', 'tools']);
  });

  it('is loading while the warm-up runs, for as long as the load takes', async () => {
    h.ollama.loadTimeMs = 45_000;
    const ready = jest.fn();
    h.create().start();
    void h.lifecycle.whenReady().then(ready);
    await advance(44_999);

    expect(h.lifecycle.status().state).toBe('loading');
    expect(h.lifecycle.describe()).toBe(`model ${MODEL} is loading`);
    expect(ready).not.toHaveBeenCalled();

    await advance(1);
    expect(h.lifecycle.status().state).toBe('ready');
    expect(ready).toHaveBeenCalled();
  });

  it('pulls a missing model, keeping the progress over all layers, then loads it', async () => {
    h.ollama.onDisk.clear();
    h.ollama.pullScript = [{ status: 'pulling manifest' }, layer(undefined), layer(450), layer(1_000)];
    h.create({ OLLAMA_AUTO_PULL: 'true' }).start();

    await advance(100);
    expect(h.lifecycle.status()).toMatchObject({ state: 'pulling', pull: { percent: 0, status: 'pulling manifest' } });
    await advance(200);
    expect(h.lifecycle.status()).toMatchObject({ state: 'pulling', pull: { percent: 45 } });
    expect(h.lifecycle.describe()).toBe(`pulling ${MODEL}: 45%`);
    await advance(200);

    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(h.ollama.pull).toHaveBeenCalledTimes(1);
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
  });

  it('aborts a pull that makes no progress for OLLAMA_LOAD_TIMEOUT and pulls again after a backoff', async () => {
    h.ollama.onDisk.clear();
    h.ollama.pullScript = [layer(100), { stallMs: 10 * 60_000 }];
    h.create({ OLLAMA_AUTO_PULL: 'true' }).start();

    await advance(100 + 59_999);
    expect(h.lifecycle.status().state).toBe('pulling');
    await advance(1);

    expect(h.lifecycle.status()).toMatchObject({
      state: 'degraded',
      reason: `pulling ${MODEL} made no progress for 60000 ms (OLLAMA_LOAD_TIMEOUT)`,
    });
    h.ollama.pullScript = [layer(1_000)];
    await advance(1_000);
    expect(h.ollama.pull).toHaveBeenCalledTimes(2);
    await advance(200);
    expect(h.lifecycle.status().state).toBe('ready');
  });

  it('is degraded with the command to run when the model is missing and auto-pull is off, and checks again', async () => {
    h.ollama.onDisk.clear();
    h.create({ OLLAMA_AUTO_PULL: 'false' }).start();
    await advance();

    const reason = `model ${MODEL} not found in Ollama and OLLAMA_AUTO_PULL is off; run 'ollama pull ${MODEL}'`;
    expect(h.lifecycle.status()).toEqual({ state: 'degraded', reason, warm: false, capabilities: [] });
    expect(h.lifecycle.describe()).toBe(reason);
    expect(h.ollama.pull).not.toHaveBeenCalled();

    h.ollama.onDisk.add(MODEL);
    await advance(1_000);
    expect(h.ollama.tags).toHaveBeenCalledTimes(2);
    expect(h.lifecycle.status().state).toBe('ready');
  });

  it('retries a failed warm-up with a growing backoff, degraded meanwhile', async () => {
    // The jitter at its top: the delays are exactly 1 s, then 2 s.
    jest.spyOn(Math, 'random').mockReturnValue(0.9999999);
    h.ollama.load
      .mockRejectedValueOnce(new OllamaClientError('upstream', 'Ollama answered /api/generate with HTTP 500', 'oom'))
      .mockRejectedValueOnce(new OllamaClientError('unreachable', 'Ollama is unreachable'));
    h.create().start();
    await advance();

    expect(h.lifecycle.status()).toMatchObject({
      state: 'degraded',
      reason: `loading ${MODEL} failed: Ollama answered /api/generate with HTTP 500`,
    });
    await advance(999);
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
    expect(h.lifecycle.status()).toMatchObject({ state: 'degraded', reason: `Ollama is not answering at ${URL}` });
    await advance(1_999);
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
    await advance(1);
    expect(h.ollama.load).toHaveBeenCalledTimes(3);
    await advance();
    expect(h.lifecycle.status().state).toBe('ready');
  });

  it('warms an embedding model through /api/embed, as it cannot generate', async () => {
    h.ollama.capabilities = ['embedding'];
    h.create().start();
    await advance();

    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['embedding'] });
    expect(h.ollama.load).toHaveBeenCalledWith(MODEL, 'embed', expect.objectContaining({ timeoutMs: 60_000 }));
  });

  it('says what Ollama said of a model the registry lacks, and retries that only every few minutes', async () => {
    h.ollama.onDisk.clear();
    h.ollama.pull.mockImplementation(() =>
      Promise.reject(
        new OllamaClientError(
          'upstream',
          'Ollama reported an error in the /api/pull stream',
          'pull model manifest: file does not exist',
        ),
      ),
    );
    h.create().start();
    await advance();

    const { state, reason } = h.lifecycle.status();
    expect(state).toBe('degraded');
    expect(reason).toBe(
      `model ${MODEL} does not exist in the registry (Ollama said "pull model manifest: file does not exist"); ` +
        'check OLLAMA_MODEL and OLLAMA_MODELS',
    );
    await advance(4 * 60_000);
    expect(h.ollama.pull).toHaveBeenCalledTimes(1);
    await advance(60_000);
    expect(h.ollama.pull).toHaveBeenCalledTimes(2);
  });
});
