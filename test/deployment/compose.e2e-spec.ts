import { parseGoDurationMs } from '../../src/config/duration';
import { ENVIRONMENT_VARIABLE_NAMES, parseEnvironment } from '../../src/config/environment';
import { ComposeFile, parseCompose } from './support/compose';
import { packageVersion, readRepoFile } from './support/repository';

describe('compose.yaml', () => {
  const text = readRepoFile('compose.yaml');
  let compose: ComposeFile;

  beforeAll(() => {
    compose = parseCompose(text);
  });

  const gatewayEnv = (): Record<string, string> => compose.services.gateway.environment ?? {};
  const ollamaEnv = (): Record<string, string> => compose.services.ollama.environment ?? {};

  it('sets only variables the service knows, with values that pass its validation', () => {
    const unknown = Object.keys(gatewayEnv()).filter((name) => !ENVIRONMENT_VARIABLE_NAMES.includes(name));
    expect(unknown).toEqual([]);
    expect(() => parseEnvironment(gatewayEnv())).not.toThrow();
  });

  it('passes a chosen model and API keys through to the gateway', () => {
    const env = parseCompose(text, {
      OLLAMA_MODEL: 'qwen2.5:0.5b',
      API_KEYS: 'compose-key-1-0123456789,compose-key-2-0123456789',
    }).services.gateway.environment;
    const config = parseEnvironment(env ?? {});
    expect(config.ollama.model).toBe('qwen2.5:0.5b');
    expect(config.security.apiKeys).toEqual(['compose-key-1-0123456789', 'compose-key-2-0123456789']);
  });

  it('uses the Ollama container as an external Ollama, once it answers', () => {
    const { ollama } = parseEnvironment(gatewayEnv());
    expect(ollama.autoStart).toBe(false);
    const url = new URL(ollama.url);
    expect(url.hostname).toBe('ollama');
    expect(url.port).toBe('11434');
    expect(compose.services.ollama.image).toMatch(/^ollama\/ollama:/);
    expect(compose.services.gateway.depends_on?.ollama?.condition).toBe('service_healthy');
    expect(compose.services.ollama.healthcheck?.test).toEqual(['CMD', 'ollama', 'list']);
  });

  it('keeps the models in a named volume where the Ollama image stores them', () => {
    const volume = compose.services.ollama.volumes?.find((entry) => entry.endsWith(':/root/.ollama'));
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
  });

  it("publishes the gateway's listening port", () => {
    const { port } = parseEnvironment(gatewayEnv()).app;
    expect(compose.services.gateway.ports).toEqual([`3000:${port}`]);
  });

  it('gives the gateway the time to finish its requests before it is killed', () => {
    const { app, ollama } = parseEnvironment(gatewayEnv());
    const neededMs = app.shutdownDrainDelayMs + app.shutdownGracePeriodMs + ollama.stopTimeoutMs;
    expect(parseGoDurationMs(compose.services.gateway.stop_grace_period ?? '10s')).toBeGreaterThan(neededMs);
  });

  it('never has more requests in flight than Ollama runs at once', () => {
    const { llm } = parseEnvironment(gatewayEnv());
    expect(llm.maxConcurrency).toBeLessThanOrEqual(Number(ollamaEnv().OLLAMA_NUM_PARALLEL ?? 1));
  });

  it("keeps Ollama's own keep-alive equal to the gateway's", () => {
    const { ollama } = parseEnvironment(gatewayEnv());
    expect(parseGoDurationMs(ollamaEnv().OLLAMA_KEEP_ALIVE ?? '5m')).toBe(ollama.keepAlive.ms);
  });

  it('builds the image from this repository, tagged with the package version', () => {
    expect(compose.services.gateway.build).toBe('.');
    expect(compose.services.gateway.image).toBe(`local-llm-gateway:${packageVersion()}`);
  });

  it('runs the gateway on a read-only filesystem with a writable /tmp for its pid file', () => {
    expect(compose.services.gateway.read_only).toBe(true);
    expect(compose.services.gateway.tmpfs).toContain('/tmp');
  });

  it('offers the GPU reservation commented out, so a machine without a GPU starts it as it is', () => {
    expect(JSON.stringify(compose.services.ollama)).not.toContain('nvidia');
    expect(text).toMatch(/^\s*#\s*- driver: nvidia$/m);
  });
});
