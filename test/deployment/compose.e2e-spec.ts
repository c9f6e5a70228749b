import { randomBytes } from 'node:crypto';
import { parseGoDurationMs } from '../../src/config/duration';
import { ENVIRONMENT_VARIABLE_NAMES, parseEnvironment } from '../../src/config/environment';
import { ComposeFile, ComposeService, alwaysEnabled, parseCompose } from './support/compose';
import { packageVersion, readRepoFile } from './support/repository';

describe('compose.yaml', () => {
  const text = readRepoFile('compose.yaml');
  let compose: ComposeFile;

  beforeAll(() => {
    compose = parseCompose(text);
  });

  const gatewayEnv = (): Record<string, string> => compose.services.gateway.environment ?? {};
  /** Every service running the Ollama image, whatever its profile. */
  const ollamaServices = (): string[] =>
    Object.keys(compose.services).filter((name) => /^ollama\/ollama:/.test(compose.services[name].image ?? ''));

  it('sets only variables the service knows, with values that pass its validation', () => {
    const unknown = Object.keys(gatewayEnv()).filter((name) => !ENVIRONMENT_VARIABLE_NAMES.includes(name));
    expect(unknown).toEqual([]);
    expect(() => parseEnvironment(gatewayEnv())).not.toThrow();
  });

  it('passes a chosen model and API keys through to the gateway', () => {
    // Keys as the guide makes them (`openssl rand -hex 32`): long and random, so the service accepts them.
    const keys = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const env = parseCompose(text, { OLLAMA_MODEL: 'qwen2.5:0.5b', API_KEYS: keys.join(',') }).services.gateway
      .environment;
    const config = parseEnvironment(env ?? {});
    expect(config.ollama.model).toBe('qwen2.5:0.5b');
    expect(config.security.apiKeys).toEqual(keys);
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
    for (const name of ollamaServices()) {
      const volume = compose.services[name].volumes?.find((entry) => entry.endsWith(':/root/.ollama'));
      expect(volume).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(volume?.split(':')[0]);
    }
  });

  it("publishes the gateway's listening port on this machine's loopback only, unless told otherwise", () => {
    const { port } = parseEnvironment(gatewayEnv()).app;
    expect(compose.services.gateway.ports).toEqual([`127.0.0.1:3000:${port}`]);
    const opened = parseCompose(text, { GATEWAY_BIND: '0.0.0.0', GATEWAY_PORT: '8080' });
    expect(opened.services.gateway.ports).toEqual([`0.0.0.0:8080:${port}`]);
  });

  it('publishes no port of Ollama', () => {
    for (const name of ollamaServices()) {
      expect(compose.services[name].ports).toBeUndefined();
    }
  });

  it('runs every Ollama with a read-only root, no capabilities and no new privileges', () => {
    for (const name of ollamaServices()) {
      const service = compose.services[name];
      expect(service.read_only).toBe(true);
      expect(service.cap_drop).toEqual(['ALL']);
      expect(service.security_opt).toContain('no-new-privileges:true');
    }
  });

  it('gives the gateway the time to finish its requests before it is killed', () => {
    const { app, ollama } = parseEnvironment(gatewayEnv());
    const neededMs = app.shutdownDrainDelayMs + app.shutdownGracePeriodMs + ollama.stopTimeoutMs;
    expect(parseGoDurationMs(compose.services.gateway.stop_grace_period ?? '10s')).toBeGreaterThan(neededMs);
  });

  it('never has more requests in flight than Ollama runs at once', () => {
    const { llm } = parseEnvironment(gatewayEnv());
    for (const name of ollamaServices()) {
      const parallel = Number(compose.services[name].environment?.OLLAMA_NUM_PARALLEL ?? 1);
      expect(llm.maxConcurrency).toBeLessThanOrEqual(parallel);
    }
  });

  it("keeps Ollama's own keep-alive equal to the gateway's", () => {
    const { ollama } = parseEnvironment(gatewayEnv());
    for (const name of ollamaServices()) {
      const keepAlive = compose.services[name].environment?.OLLAMA_KEEP_ALIVE ?? '5m';
      expect(parseGoDurationMs(keepAlive)).toBe(ollama.keepAlive.ms);
    }
  });

  it('builds the image from this repository, tagged with the package version', () => {
    expect(compose.services.gateway.build).toBe('.');
    expect(compose.services.gateway.image).toBe(`local-llm-gateway:${packageVersion()}`);
  });

  it('runs the gateway on a read-only filesystem with a writable /tmp for its pid file', () => {
    expect(compose.services.gateway.read_only).toBe(true);
    expect(compose.services.gateway.tmpfs).toContain('/tmp');
  });

  describe('the gpu profile', () => {
    const gpuDevices = (service: ComposeService): unknown[] =>
      (service.deploy?.resources?.reservations?.devices ?? []).filter(
        (device) => device.driver === 'nvidia' && device.capabilities?.includes('gpu'),
      );

    it('asks for no GPU without it, so a machine without one starts as it is', () => {
      const started = alwaysEnabled(compose);
      expect(started).toEqual(expect.arrayContaining(['gateway', 'ollama']));
      for (const name of started) {
        expect(JSON.stringify(compose.services[name])).not.toContain('nvidia');
      }
    });

    it('runs an Ollama on the NVIDIA GPUs, like the CPU one in all else', () => {
      const inProfile = Object.keys(compose.services).filter((name) =>
        compose.services[name].profiles?.includes('gpu'),
      );
      expect(inProfile).toHaveLength(1);
      const gpu = compose.services[inProfile[0]];
      expect(gpuDevices(gpu)).toHaveLength(1);
      const { deploy, profiles, ...rest } = gpu;
      expect({ deploy, profiles }).toEqual({ deploy: expect.any(Object), profiles: ['gpu'] });
      expect(rest).toEqual(compose.services.ollama);
    });

    it('points the gateway at the GPU Ollama when OLLAMA_SERVICE names it, once it answers', () => {
      const [name] = Object.keys(compose.services).filter((candidate) =>
        compose.services[candidate].profiles?.includes('gpu'),
      );
      const withGpu = parseCompose(text, { OLLAMA_SERVICE: name });
      const url = new URL(parseEnvironment(withGpu.services.gateway.environment ?? {}).ollama.url);
      expect(url.hostname).toBe(name);
      expect(gpuDevices(withGpu.services[url.hostname])).toHaveLength(1);
      // Required only when the profile is on: without it the gateway starts on the CPU Ollama alone.
      expect(withGpu.services.gateway.depends_on?.[name]).toEqual({ condition: 'service_healthy', required: false });
      expect(compose.services.gateway.depends_on?.ollama?.required ?? true).toBe(true);
    });
  });
});
