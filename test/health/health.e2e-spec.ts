import { OllamaEmulator } from '../emulator/ollama-emulator';
import { RunningApp, startApp } from '../support/app';
import { eventually } from '../support/eventually';
import { postJson } from '../support/http';

interface HealthBody {
  status: 'ok' | 'error';
  info: Record<string, Record<string, unknown>>;
  error: Record<string, { message?: string } & Record<string, unknown>>;
  details: Record<string, Record<string, unknown>>;
}

async function health(url: string, path: string): Promise<{ status: number; body: HealthBody; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as HealthBody, ms: Date.now() - started };
}

describe('health probes', () => {
  let emulator: OllamaEmulator;
  let running: RunningApp | undefined;

  beforeEach(async () => {
    emulator = new OllamaEmulator();
    await emulator.start(0);
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await emulator.stop();
  });

  it('answers readiness 503 while the model loads, naming the state, and 200 once it is warm', async () => {
    emulator.configure({ loadTimeMs: 2500 });
    running = await startApp({ OLLAMA_URL: emulator.url, OLLAMA_AUTO_START: 'false' });

    const early = await health(running.url, '/health/ready');
    expect(early.status).toBe(503);
    expect(early.body.status).toBe('error');
    expect(early.body.error.llm.message).toMatch(/llama3\.1:latest is (starting|loading)/);
    expect(['starting', 'loading']).toContain(early.body.details.llm.state);

    const ready = await eventually(async () => {
      const answer = await health(running!.url, '/health/ready');
      return answer.status === 200 ? answer : undefined;
    }, 'readiness 200');
    expect(ready.body.info.llm).toMatchObject({ state: 'ready', warm: true, circuit: 'closed' });
    expect(ready.body.info.ollama).toMatchObject({ ownership: 'external', version: '0.33.0' });
    expect(ready.body.info.shutdown.status).toBe('up');
    expect((await health(running.url, '/health')).status).toBe(200);
    expect((await health(running.url, '/health/llm')).body.info.llm.state).toBe('ready');
  });

  it('keeps liveness 200 while Ollama is down, and says why readiness fails', async () => {
    running = await startApp({ OLLAMA_URL: 'http://127.0.0.1:9', OLLAMA_AUTO_START: 'false' });

    const live = await health(running.url, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body.info.process.status).toBe('up');

    const ready = await eventually(async () => {
      const answer = await health(running!.url, '/health/ready');
      return answer.body.error.ollama?.message ? answer : undefined;
    }, 'an Ollama message in readiness');
    expect(ready.status).toBe(503);
    expect(ready.body.error.ollama.message).toBe(
      'Ollama is not reachable at http://127.0.0.1:9; start it or set OLLAMA_URL',
    );
    const ollama = await health(running.url, '/health/ollama');
    expect(ollama.status).toBe(503);
    expect(ollama.body.error.ollama.message).toContain('not reachable');
  });

  it('answers every probe within 2 s while Ollama hangs and a request is stuck on it', async () => {
    running = await startApp({
      OLLAMA_URL: emulator.url,
      OLLAMA_AUTO_START: 'false',
      OLLAMA_TIMEOUT: '30',
      SHUTDOWN_GRACE_PERIOD: '0.5',
    });
    await eventually(async () => (await health(running!.url, '/health/ready')).status === 200, 'readiness 200');

    emulator.injectFault({ kind: 'hang', endpoints: ['chat', 'generate', 'version', 'tags', 'ps', 'show', 'root'] });
    const stuck = postJson(`${running.url}/chat`, { message: 'this request hangs upstream' }).catch(() => undefined);
    await eventually(() => emulator.stats.inFlight > 0, 'the chat to reach the hanging emulator');

    for (const path of ['/health/live', '/health/ready', '/health', '/health/ollama', '/health/llm']) {
      const answer = await health(running.url, path);
      expect(answer.ms).toBeLessThan(2000);
      expect([200, 503]).toContain(answer.status);
    }
    await running.close();
    running = undefined;
    await stuck;
  });
});

describe('metrics', () => {
  it('exposes every contract metric, with route templates and no raw URLs', async () => {
    const emulator = new OllamaEmulator();
    await emulator.start(0);
    const running = await startApp({ OLLAMA_URL: emulator.url, OLLAMA_AUTO_START: 'false' });
    try {
      await eventually(async () => (await health(running.url, '/health/ready')).status === 200, 'readiness 200');
      const chat = await postJson(`${running.url}/chat`, { message: 'count my tokens' });
      expect(chat.status).toBe(200);
      await fetch(`${running.url}/v1/models/some-unknown-model-name`);

      const response = await fetch(`${running.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      for (const name of [
        'http_request_duration_seconds_bucket',
        'llm_request_duration_seconds_bucket',
        'llm_time_to_first_token_seconds',
        'llm_tokens_total',
        'llm_queue_depth',
        'llm_in_flight',
        'llm_requests_rejected_total',
        'llm_circuit_state',
        'ollama_up',
        'ollama_process_restarts_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
      ]) {
        expect(text).toContain(name);
      }
      expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/chat",status_code="200"\} 1/);
      const backend = `backend="${emulator.url}"`;
      expect(text).toContain(`llm_request_duration_seconds_count{endpoint="chat",outcome="success",${backend}} 1\n`);
      expect(text).toMatch(/llm_tokens_total\{type="completion"\} [1-9]/);
      expect(text).toContain(`ollama_up{${backend}} 1\n`);
      expect(text).toContain('route="/v1/models/:model"');
      expect(text).not.toContain('some-unknown-model-name');
    } finally {
      await running.close();
      await emulator.stop();
    }
  });
});
