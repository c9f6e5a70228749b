import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { OllamaEmulator } from '../emulator/ollama-emulator';
import { VALID_ASSESSMENT, postJson } from './support/requests';
import { waitFor, waitUntilReady } from './support/secured-app';

const REPO = resolve(__dirname, '../..');
/**
 * Unique to this run: anything of the requests' content that reaches the log carries it. One short word,
 * so that the model's tokens (the emulator cuts words longer than eight characters) keep it whole.
 */
const MARKER = `q${Array.from({ length: 6 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[randomInt(36)]).join('')}`;
const API_KEY = `${MARKER}-api-key-0123456789`;
const STARTUP_TIMEOUT_MS = 240_000;
/** Request ids of the requests that fail upstream, to find their log lines by. */
const FAILED_RISK_ID = 'failed-risk-id';
const BROKEN_STREAM_ID = 'broken-stream-id';
/** pino's own fields, the access line's, and `err` (type and message) on a 5xx. */
const ACCESS_LINE_KEYS = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'reqId',
  'req',
  'res',
  'route',
  'durationMs',
  'msg',
  'err',
]);

/** The service as production runs it: compiled with the build configuration into a scratch directory. */
async function buildService(outDir: string): Promise<string> {
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: REPO,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    // Type errors elsewhere in the tree still emit JavaScript; only a missing entry point stops this test.
    if (!existsSync(join(outDir, 'main.js'))) {
      throw error;
    }
  }
  return join(outDir, 'main.js');
}

describe('what the service writes to its log', () => {
  const emulator = new OllamaEmulator();
  let scratch: string | undefined;
  let child: ChildProcess | undefined;
  let output = '';
  let url = '';

  const key = { authorization: `Bearer ${API_KEY}` };

  async function stopService(): Promise<void> {
    const running = child;
    if (running?.pid === undefined || running.exitCode !== null || running.signalCode !== null) {
      return;
    }
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGTERM');
    const killer = setTimeout(() => {
      try {
        process.kill(-running.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 30_000);
    await exited;
    clearTimeout(killer);
  }

  beforeAll(async () => {
    await emulator.start(0);
    emulator.configure({ structuredReply: { ...VALID_ASSESSMENT, summary: `Moderate risk ${MARKER}` } });
    scratch = await mkdtemp(join(tmpdir(), 'gateway-privacy-'));
    const main = await buildService(scratch);
    child = spawn(process.execPath, [main], {
      cwd: scratch,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        NODE_PATH: join(REPO, 'node_modules'),
        PORT: '0',
        HOST: '127.0.0.1',
        OLLAMA_URL: emulator.url,
        OLLAMA_AUTO_START: 'false',
        API_KEYS: API_KEY,
        LOG_LEVEL: 'trace',
        LOG_FORMAT: 'json',
      },
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor(
      'the service to say where it listens',
      () => {
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        url = match?.[1] ?? '';
        return Promise.resolve(url !== '' || child?.exitCode !== null);
      },
      60_000,
    );
    if (url === '') {
      throw new Error(`the service exited before listening:\n${output.slice(-4000)}`);
    }
    await waitUntilReady(url);
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await stopService();
    await emulator.stop();
    if (scratch !== undefined) {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);

  it('carries the marker in the answers, so that the log could have seen it', async () => {
    const chat = await postJson(
      `${url}/chat`,
      {
        message: `Repeat ${MARKER}`,
        system: `You are ${MARKER}`,
        history: [
          { role: 'user', content: `earlier ${MARKER}` },
          { role: 'assistant', content: `answer ${MARKER}` },
        ],
      },
      key,
    );
    expect(chat.status).toBe(200);
    expect(await chat.text()).toContain(MARKER);

    const stream = await postJson(
      `${url}/chat`,
      { message: `Stream ${MARKER}`, stream: true },
      { 'x-api-key': API_KEY },
    );
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain(MARKER);

    const risk = await postJson(
      `${url}/risk/assess?note=${MARKER}`,
      {
        subject: `ACME ${MARKER}`,
        question: `Default risk ${MARKER}?`,
        evidence: [{ text: `Revenue fell ${MARKER}`, source: `filing ${MARKER}`, date: '2026-10-30' }],
        prices: [100, 98, 99, 97],
      },
      key,
    );
    expect(risk.status).toBe(200);
    expect(await risk.text()).toContain(MARKER);
  });

  it('is refused in every way with the marker in the request', async () => {
    const refusals: Array<[Promise<Response>, number]> = [
      [postJson(`${url}/chat`, { message: MARKER, [`field${MARKER}`]: MARKER }, key), 400],
      [postJson(`${url}/chat`, { message: `${MARKER} `.repeat(1 + Math.ceil(32_000 / MARKER.length)) }, key), 400],
      [postJson(`${url}/risk/assess`, { subject: MARKER, evidence: [{ text: MARKER, date: MARKER }] }, key), 400],
      [
        fetch(`${url}/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...key },
          body: `{"message": "${MARKER}"`,
        }),
        400,
      ],
      [fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'text/csv', ...key }, body: MARKER }), 415],
      [postJson(`${url}/chat`, { message: MARKER }, { authorization: `Bearer ${API_KEY}x` }), 401],
      [postJson(`${url}/chat`, { message: MARKER }, { 'x-api-key': `x${API_KEY}` }), 401],
    ];
    for (const [answer, status] of refusals) {
      const response = await answer;
      await response.arrayBuffer();
      expect(response.status).toBe(status);
    }
  });

  it('fails upstream with the marker in the model answer', async () => {
    emulator.configure({ structuredReply: { verdict: MARKER } });
    const risk = await postJson(
      `${url}/risk/assess`,
      { subject: `Bad answer ${MARKER}` },
      {
        ...key,
        'x-request-id': FAILED_RISK_ID,
      },
    );
    expect(risk.status).toBe(502);
    emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 1, times: 1 });
    const stream = await postJson(
      `${url}/chat`,
      { message: `Broken ${MARKER} stream`, stream: true },
      {
        ...key,
        'x-request-id': BROKEN_STREAM_ID,
      },
    );
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('event: error');
  });

  it("writes the request's id on the lines logged while serving it", async () => {
    await stopService();
    const lines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const about = (msg: string): unknown[] => lines.filter((line) => line.msg === msg).map((line) => line.reqId);
    // Every attempt of the risk assessment, and the stream's upstream failure.
    expect(about('the model returned an invalid risk assessment')).toEqual([FAILED_RISK_ID, FAILED_RISK_ID]);
    expect(about('Ollama failed the request')).toEqual([BROKEN_STREAM_ID]);
    expect(about('POST /risk/assess 502')).toEqual([FAILED_RISK_ID]);
  }, 60_000);

  it('never writes the content of a request or an answer, nor a key', async () => {
    await stopService();
    // The capture worked: the access lines of the requests above are in it.
    expect(output).toContain('"msg":"POST /chat 200"');
    expect(output).toContain('"msg":"POST /risk/assess 400"');
    const leaks = output.split('\n').filter((line) => line.includes(MARKER));
    expect(leaks.map((line) => line.slice(0, 2_000))).toEqual([]);
  }, 60_000);

  it('writes one access line per request: id, method, route template, status and duration only', async () => {
    await stopService();
    const accessLines = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => typeof line.msg === 'string' && /^POST \/(chat|risk\/assess) \d{3}$/.test(line.msg));
    expect(accessLines.length).toBeGreaterThanOrEqual(10);
    for (const line of accessLines) {
      const route = (line.msg as string).split(' ')[1];
      expect(line.req).toEqual({ id: line.reqId, method: 'POST' });
      expect(line.route).toBe(route);
      expect(line.res).toEqual({ statusCode: expect.any(Number) });
      expect(line.durationMs).toEqual(expect.any(Number));
      const unexpected = Object.keys(line).filter((key) => !ACCESS_LINE_KEYS.has(key));
      expect(unexpected).toEqual([]);
    }
  }, 60_000);
});
