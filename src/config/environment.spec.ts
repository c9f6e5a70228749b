import { basename } from 'node:path';
import { ConfigValidationError, parseEnvironment } from './environment';

describe(parseEnvironment.name, () => {
  it('gives the contract defaults for an empty environment', () => {
    const config = parseEnvironment({});
    expect(config.app).toMatchObject({ port: 3000, host: '0.0.0.0', bodyLimitBytes: 1_048_576, logLevel: 'info' });
    expect(config.ollama).toMatchObject({
      url: 'http://127.0.0.1:11434',
      model: 'llama3.1:latest',
      keepAlive: { apiValue: '20m', ms: 1_200_000 },
      timeoutMs: 35_000,
      maxRetries: 2,
      autoStart: true,
      autoPull: true,
      bin: 'ollama',
      startupTimeoutMs: 30_000,
      loadTimeoutMs: 300_000,
      stopTimeoutMs: 10_000,
    });
    expect(config.ollama.pidFile).toMatch(/ollama-manager-11434\.pid$/);
    expect(config.llm).toEqual({
      warmupBlocking: false,
      keepWarm: true,
      maxConcurrency: 4,
      maxQueue: 64,
      queueTimeoutMs: 30_000,
      circuitFailureThreshold: 5,
      circuitResetTimeoutMs: 10_000,
    });
    expect(config.security).toEqual({ apiKeys: [], rateLimitPerMinute: 0 });
    expect(config.ollama.urls).toEqual(['http://127.0.0.1:11434']);
    expect(config.ollama.models).toEqual(['llama3.1:latest']);
    expect(config.app.shutdownDrainDelayMs).toBe(0);
    expect(config.app.shutdownGracePeriodMs).toBe(25_000);
  });

  it('reads unitless durations as seconds and accepts units', () => {
    const config = parseEnvironment({ OLLAMA_TIMEOUT: '0.5', OLLAMA_LOAD_TIMEOUT: '2m', LLM_QUEUE_TIMEOUT: '250ms' });
    expect(config.ollama.timeoutMs).toBe(500);
    expect(config.ollama.loadTimeoutMs).toBe(120_000);
    expect(config.llm.queueTimeoutMs).toBe(250);
  });

  it('sends a unitless keep-alive to Ollama as a number, since its API rejects unitless strings', () => {
    expect(parseEnvironment({ OLLAMA_KEEP_ALIVE: '300' }).ollama.keepAlive).toEqual({ apiValue: 300, ms: 300_000 });
    expect(parseEnvironment({ OLLAMA_KEEP_ALIVE: '-1' }).ollama.keepAlive).toEqual({ apiValue: -1, ms: Infinity });
    expect(parseEnvironment({ OLLAMA_KEEP_ALIVE: '1h30m' }).ollama.keepAlive).toEqual({
      apiValue: '1h30m',
      ms: 5_400_000,
    });
  });

  it('names the pid file after the Ollama port and splits API keys', () => {
    const config = parseEnvironment({
      OLLAMA_URL: 'http://localhost:12345/',
      API_KEYS: ' key-a-0123456789ab, key-b-0123456789ab ,,key-c-0123456789ab ',
    });
    expect(config.ollama.url).toBe('http://localhost:12345');
    expect(config.ollama.pidFile).toMatch(/ollama-manager-12345\.pid$/);
    expect(config.security.apiKeys).toEqual(['key-a-0123456789ab', 'key-b-0123456789ab', 'key-c-0123456789ab']);
  });

  it('refuses short and placeholder API keys beside the other bad variables, by position, never showing a key', () => {
    const keys = ['a-usable-key-0123456789', 'short-secret', 'CHANGEME-0123456789abc', 'please-Replace-Me-0123'];
    let error: unknown;
    try {
      parseEnvironment({ API_KEYS: keys.join(','), PORT: 'x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const { problems, message } = error as ConfigValidationError;
    expect(problems).toHaveLength(2);
    expect(message).toContain(
      'API_KEYS=(keys not shown): key 2 is shorter than 16 characters; ' +
        'key 3 contains "changeme", so it is a placeholder; key 4 contains "replace-me", so it is a placeholder: ' +
        'use random keys of 16 or more characters',
    );
    expect(message).toContain('PORT="x"');
    for (const key of keys) {
      expect(message.toLowerCase()).not.toContain(key.toLowerCase());
    }
  });

  it('takes a key of exactly 16 characters and refuses one of 15', () => {
    expect(parseEnvironment({ API_KEYS: '0123456789abcdef' }).security.apiKeys).toEqual(['0123456789abcdef']);
    expect(() => parseEnvironment({ API_KEYS: '0123456789abcde' })).toThrow(/key 1 is shorter than 16 characters/);
    expect(() => parseEnvironment({ API_KEYS: '0123456789abcdef-changeme' })).toThrow(/key 1 contains "changeme"/);
  });

  it('does not show the keys when the list itself is malformed', () => {
    expect(() => parseEnvironment({ API_KEYS: 'spaced secret-0123456789' })).toThrow(
      'API_KEYS=(keys not shown): must be keys separated by commas, without spaces inside keys',
    );
    expect(() => parseEnvironment({ API_KEYS: 'spaced secret-0123456789' })).not.toThrow(/secret-0123456789/);
  });

  it('treats empty values as unset', () => {
    expect(parseEnvironment({ PORT: '', OLLAMA_AUTO_START: ' ' }).app.port).toBe(3000);
  });

  it('accepts the usual spellings of booleans', () => {
    expect(parseEnvironment({ OLLAMA_AUTO_START: 'no', LLM_KEEP_WARM: '0' }).ollama.autoStart).toBe(false);
    expect(parseEnvironment({ LLM_WARMUP_BLOCKING: 'TRUE' }).llm.warmupBlocking).toBe(true);
  });

  it('lists every bad variable in one error, with what is allowed', () => {
    let error: unknown;
    try {
      parseEnvironment({
        OLLAMA_TIMEOUT: 'abc',
        PORT: '-1',
        OLLAMA_URL: 'ftp://x',
        LOG_LEVEL: 'loud',
        OLLAMA_KEEP_ALIVE: '5 minutes',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const { problems, message } = error as ConfigValidationError;
    expect(problems).toHaveLength(5);
    expect(message).toContain('Invalid configuration (5 variables)');
    expect(message).toContain('PORT="-1": must be a whole number from 0 to 65535');
    expect(message).toContain('OLLAMA_TIMEOUT="abc": must be a duration');
    expect(message).toContain('OLLAMA_URL="ftp://x": must be an http(s) URL');
    expect(message).toContain('LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent');
    expect(message).toContain('OLLAMA_KEEP_ALIVE="5 minutes": must be a Go duration');
  });

  it('refuses zero where zero makes no sense, and allows it for delays', () => {
    expect(() => parseEnvironment({ OLLAMA_TIMEOUT: '0' })).toThrow(ConfigValidationError);
    expect(() => parseEnvironment({ LLM_MAX_CONCURRENCY: '0' })).toThrow(ConfigValidationError);
    expect(parseEnvironment({ SHUTDOWN_DRAIN_DELAY: '0' }).app.shutdownDrainDelayMs).toBe(0);
  });

  it('serves the default model first, then OLLAMA_MODELS, each name once whatever its spelling', () => {
    const config = parseEnvironment({
      OLLAMA_MODEL: 'qwen2.5:7b',
      OLLAMA_MODELS: 'nomic-embed-text, qwen2.5:7b,llama3.1',
    });
    expect(config.ollama.model).toBe('qwen2.5:7b');
    expect(config.ollama.models).toEqual(['qwen2.5:7b', 'nomic-embed-text', 'llama3.1']);
    expect(parseEnvironment({ OLLAMA_MODELS: 'llama3.1' }).ollama.models).toEqual(['llama3.1:latest']);
  });

  it('takes several Ollama servers from OLLAMA_URLS, the first standing for OLLAMA_URL', () => {
    const config = parseEnvironment({ OLLAMA_URLS: 'http://ollama-0.ollama:11434/, http://ollama-1.ollama:11434' });
    expect(config.ollama.urls).toEqual(['http://ollama-0.ollama:11434', 'http://ollama-1.ollama:11434']);
    expect(config.ollama.url).toBe('http://ollama-0.ollama:11434');
    expect(() =>
      parseEnvironment({ OLLAMA_URLS: 'http://a:11434,http://b:11434', OLLAMA_URL: 'http://a:11434/' }),
    ).not.toThrow();
  });

  it('refuses bad model lists, URL lists, a contradicting OLLAMA_URL and a Redis URL of another scheme', () => {
    let error: unknown;
    try {
      parseEnvironment({
        OLLAMA_MODELS: 'good:1,bad name',
        OLLAMA_URLS: 'http://a:11434,http://b:11434',
        OLLAMA_URL: 'http://b:11434',
        REDIS_URL: 'http://redis:6379',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const { message } = error as ConfigValidationError;
    expect(message).toContain('OLLAMA_MODELS="good:1,bad name": must be Ollama model names separated by commas');
    expect(message).toContain('OLLAMA_URL="http://b:11434": must be unset when OLLAMA_URLS is set');
    expect(message).toContain('REDIS_URL="http://redis:6379": must be a redis:// or rediss:// URL');
    expect(() => parseEnvironment({ OLLAMA_URLS: 'http://a:1,http://a:1/' })).toThrow(/must be distinct http/);
  });

  it('gives every Ollama server its own pid file', () => {
    const urls = 'http://127.0.0.1:11434,http://127.0.0.1:11435';
    expect(parseEnvironment({ OLLAMA_URLS: urls }).ollama.pidFiles.map((file) => basename(file))).toEqual([
      'ollama-manager-11434.pid',
      'ollama-manager-11435.pid',
    ]);
    expect(parseEnvironment({ OLLAMA_URLS: urls, OLLAMA_PID_FILE: '/run/gw/ollama.pid' }).ollama.pidFiles).toEqual([
      '/run/gw/ollama-11434.pid',
      '/run/gw/ollama-11435.pid',
    ]);
    const single = parseEnvironment({ OLLAMA_PID_FILE: '/run/gw/ollama.pid' }).ollama;
    expect(single.pidFiles).toEqual(['/run/gw/ollama.pid']);
    expect(single.pidFile).toBe('/run/gw/ollama.pid');
  });

  it('keeps the Redis URL for the shared rate limit', () => {
    expect(parseEnvironment({ REDIS_URL: 'redis://127.0.0.1:6390/0' }).security.redisUrl).toBe(
      'redis://127.0.0.1:6390/0',
    );
  });
});
