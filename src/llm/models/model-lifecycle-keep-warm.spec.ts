import { advance, useLifecycleHarness } from '../../../test/llm/model-lifecycle-fixtures';
import { OllamaClientError } from '../ollama/ollama-client.errors';
import { keepWarmPlan } from './keep-warm';
import { ModelLifecycle } from './model-lifecycle';

describe(ModelLifecycle.name, () => {
  const h = useLifecycleHarness();

  it('refreshes the residency before keep_alive runs out, checking /api/ps at least every quarter of it', async () => {
    h.create().start();
    await advance();
    await advance(30_000);
    expect(h.ollama.ps).toHaveBeenCalledTimes(1);

    await advance(10 * 60_000);

    expect(h.ollama.expiredSeen).toBe(false);
    expect(h.ollama.load.mock.calls.length).toBeGreaterThanOrEqual(6);
    expect(h.ollama.load.mock.calls.length).toBeLessThanOrEqual(10);
    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('does not refresh while a request runs, since its end restarts the countdown', async () => {
    h.create().start();
    await advance();
    const endUse = h.lifecycle.beginUse();
    h.ollama.expiresAt = Date.now() + 10 * 60_000;
    h.ollama.keepAliveMs = 10 * 60_000;
    await advance(5 * 60_000);
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
    endUse();
    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('stays ready when a refresh fails, and tries again before keep_alive runs out', async () => {
    h.create().start();
    await advance();
    h.ollama.load.mockRejectedValueOnce(new OllamaClientError('busy', 'Ollama is busy', 'server busy', 503));

    await advance(96_000);
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
    expect(h.lifecycle.status().state).toBe('ready');
    await advance(8_000);
    expect(h.ollama.load).toHaveBeenCalledTimes(3);
    expect(h.ollama.expiredSeen).toBe(false);
    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
  });

  it('does not refresh while plenty of keep_alive remains', async () => {
    h.create().start();
    await advance();
    await advance(90_000);
    expect(h.ollama.ps).toHaveBeenCalledTimes(3);
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
  });

  it('reloads a model that Ollama dropped from memory, loading meanwhile', async () => {
    h.create().start();
    await advance();
    h.ollama.expiresAt = undefined;
    h.ollama.loadTimeMs = 5_000;

    await advance(30_000);
    expect(h.lifecycle.status()).toEqual({ state: 'loading', warm: false, capabilities: ['completion', 'tools'] });
    await advance(5_000);
    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: true, capabilities: ['completion', 'tools'] });
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
  });

  it('never refreshes a model kept forever, but still reloads it when evicted', async () => {
    h.create({ OLLAMA_KEEP_ALIVE: '-1m' }).start();
    await advance();
    await advance(10 * 60_000);
    expect(h.ollama.load).toHaveBeenCalledTimes(1);
    expect(h.ollama.ps).toHaveBeenCalledTimes(10);

    h.ollama.expiresAt = undefined;
    await advance(60_000);
    expect(h.ollama.load).toHaveBeenCalledTimes(2);
  });

  it('without LLM_KEEP_WARM never checks /api/ps, and counts the model cold once keep_alive has passed unused', async () => {
    h.create({ LLM_KEEP_WARM: 'false' }).start();
    await advance();
    await advance(119_000);
    expect(h.lifecycle.status().warm).toBe(true);
    h.lifecycle.beginUse()();
    await advance(119_000);
    expect(h.lifecycle.status().warm).toBe(true);
    await advance(1_000);

    expect(h.lifecycle.status()).toEqual({ state: 'ready', warm: false, capabilities: ['completion', 'tools'] });
    expect(h.ollama.ps).not.toHaveBeenCalled();
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
