import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRunner } from '../../src/ollama-process/process-runner';
import { eventually } from '../support/eventually';
import { parseSseEvents, postJson } from '../support/http';
import { ensureBuilt, freePort, LogRecord, ServiceProcess, startService } from '../support/service-process';

const FAKE_OLLAMA = join(__dirname, '..', 'fake-ollama', 'ollama');
const MODEL = 'llama3.1:latest';
const STREAMS = 3;
/** How soon after the model is warm again readiness must answer 200. */
const READY_WITHIN_MS = 2_000;

async function readyStatus(url: string): Promise<number> {
  const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  await response.arrayBuffer();
  return response.status;
}

/** Opens a streamed chat and resolves once its first delta arrived; `whole` settles with the stream's text. */
async function openStream(url: string): Promise<{ whole: Promise<string> }> {
  const response = await postJson(`${url}/chat`, { message: 'tell me a long story', stream: true });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('data: {"delta"')) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`the stream ended before its first delta: ${text}`);
    }
    text += decoder.decode(value, { stream: true });
  }
  const whole = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return text;
      }
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { whole };
}

function isModelReady(record: LogRecord): boolean {
  return record.msg === `model ${MODEL} is ready`;
}

describe('readiness after the owned Ollama is killed', () => {
  const processes = new ProcessRunner();
  let dir: string;
  let service: ServiceProcess | undefined;
  const groups = new Set<number>();

  beforeAll(() => {
    ensureBuilt();
  }, 300_000);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'readiness-restart-e2e-'));
  });

  afterEach(async () => {
    await service?.crash();
    service = undefined;
    for (const pgid of groups) {
      processes.signalGroup(pgid, 'SIGKILL');
    }
    groups.clear();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is 200 again within 2 s of the model being warm again, though the failed streams opened the circuit', async () => {
    const pidFile = join(dir, 'ollama.pid');
    const running = await startService({
      OLLAMA_URL: `http://127.0.0.1:${await freePort()}`,
      OLLAMA_BIN: FAKE_OLLAMA,
      OLLAMA_PID_FILE: pidFile,
      FAKE_OLLAMA_TOKEN_DELAY_MS: '200',
      // Ollama generates the streams side by side, so all of them are cut by the kill.
      OLLAMA_NUM_PARALLEL: String(STREAMS),
      // Two failures open the circuit, and it would stay open for a minute: if readiness comes back
      // within seconds, the breaker is not what let traffic back.
      CIRCUIT_FAILURE_THRESHOLD: '2',
      CIRCUIT_RESET_TIMEOUT: '60',
    });
    service = running;
    await eventually(async () => (await readyStatus(running.url)) === 200, 'readiness 200', 40_000);
    const first = Number(readFileSync(pidFile, 'utf8').trim());
    groups.add(first);

    const streams = await Promise.all(Array.from({ length: STREAMS }, () => openStream(running.url)));
    const readyLinesBefore = running.logs.filter(isModelReady).length;
    process.kill(first, 'SIGKILL');

    for (const text of await Promise.all(streams.map((stream) => stream.whole))) {
      expect(parseSseEvents(text).at(-1)?.event).toBe('error');
    }
    await running.waitForLog(
      (record) => record.msg?.startsWith('circuit to ') === true && / open after 2 /.test(record.msg),
    );
    const warmAgain = await running.waitForLog(
      (record) => isModelReady(record) && running.logs.filter(isModelReady).indexOf(record) >= readyLinesBefore,
      60_000,
    );
    groups.add(Number(readFileSync(pidFile, 'utf8').trim()));

    const warmAt = Date.parse(String(warmAgain.time));
    expect(warmAt).toBeGreaterThan(0);
    const deadline = warmAt + READY_WITHIN_MS;
    await eventually(
      `readiness 200 within ${READY_WITHIN_MS} ms of the model being warm again`,
      async () => (await readyStatus(running.url)) === 200,
      { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 50 },
    );
    expect(await running.stop()).toEqual({ code: 0, signal: null });
    service = undefined;
  }, 120_000);
});
