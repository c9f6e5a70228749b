import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { parseSseEvents, postJson } from '../support/http';
import { ServiceProcess, ensureBuilt, freePort, startService } from '../support/service-process';

const FAKE_OLLAMA = join(__dirname, '..', 'fake-ollama', 'ollama');

function groupIsGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) {
    return;
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function status(url: string): Promise<number> {
  return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
}

function chat(url: string, body: Record<string, unknown>): Promise<Response> {
  return postJson(`${url}/chat`, body);
}

describe('graceful shutdown with real signals', () => {
  let dir: string;
  let service: ServiceProcess | undefined;
  let ollamaPgid: number | undefined;

  beforeAll(() => {
    ensureBuilt();
  }, 180_000);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-shutdown-'));
  });

  afterEach(async () => {
    if (service) {
      await service.crash();
    }
    service = undefined;
    killGroup(ollamaPgid);
    ollamaPgid = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function startOwned(env: Record<string, string>): Promise<ServiceProcess> {
    const pidFile = join(dir, 'ollama.pid');
    const started = await startService({
      OLLAMA_URL: `http://127.0.0.1:${await freePort()}`,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: pidFile,
      OLLAMA_STOP_TIMEOUT: '5',
      ...env,
    });
    service = started;
    await eventually(async () => (await status(`${started.url}/health/ready`)) === 200, 'readiness 200', 40_000);
    ollamaPgid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(ollamaPgid).toBeGreaterThan(1);
    return started;
  }

  it('finishes a slow request in flight while readiness says 503, then stops Ollama and exits 0', async () => {
    const running = await startOwned({ FAKE_OLLAMA_TOKEN_DELAY_MS: '150', SHUTDOWN_GRACE_PERIOD: '20' });

    const slow = chat(running.url, { message: 'answer slowly please' });
    await eventually(async () => {
      const body = (await (await fetch(`${running.url}/health/llm`)).json()) as {
        info?: { llm?: { inFlight?: number } };
      };
      return body.info?.llm?.inFlight === 1;
    }, 'the request to be in flight');

    process.kill(running.pid, 'SIGTERM');
    await eventually(async () => (await status(`${running.url}/health/ready`)) === 503, 'readiness 503');
    const refused = await chat(running.url, { message: 'too late' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    const answer = await slow;
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { reply: string; doneReason: string };
    expect(body.doneReason).toBe('stop');
    expect(body.reply.length).toBeGreaterThan(10);

    expect(await running.exited).toEqual({ code: 0, signal: null });
    service = undefined;
    await eventually(() => groupIsGone(ollamaPgid!), 'the Ollama process group to be gone', 10_000);
    expect(existsSync(join(dir, 'ollama.pid'))).toBe(false);
  });

  it('ends an open stream with a final event after the grace period and still exits 0', async () => {
    const running = await startOwned({ FAKE_OLLAMA_TOKEN_DELAY_MS: '400', SHUTDOWN_GRACE_PERIOD: '1' });

    const response = await chat(running.url, { message: 'stream a long answer', stream: true });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('data: {"delta"')) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain('data: {"delta"');

    const signalledAt = Date.now();
    process.kill(running.pid, 'SIGTERM');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
    const last = parseSseEvents(text).at(-1);
    expect(['error', 'done']).toContain(last?.event);
    expect(last?.data).toMatch(/^\{/);
    expect(text).toMatch(/event: error\ndata: \{"message":"[^"]*shutting down/);

    expect(await running.exited).toEqual({ code: 0, signal: null });
    service = undefined;
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    await eventually(() => groupIsGone(ollamaPgid!), 'the Ollama process group to be gone', 10_000);
  });
});
