import { connect } from 'node:net';
import { parseEnvironment } from '../../src/config/environment';
import { registerSecurityHeaders } from '../../src/security/security-headers';
import { HEADERS_TIMEOUT_MS, MAX_HEADER_SIZE_BYTES, serverLimits } from '../../src/security/server-limits';
import { expectContractError, internalsIn } from './support/error-body';
import { VALID_CHAT, postJson } from './support/requests';
import { SecuredApp, startSecuredApp } from './support/secured-app';

const KEY = { 'x-api-key': 'limits-key-0123456789' };

const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

function headersOf(response: Response, names: string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((name) => [name, response.headers.get(name)]));
}

/** Opens a raw connection, sends `head` and resolves with what the server answered and when it closed. */
function rawExchange(url: string, head: string): Promise<{ answer: string; elapsedMs: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, elapsedMs: Date.now() - started }));
  });
}

describe('limits on what a client may send', () => {
  let service: SecuredApp;

  beforeAll(async () => {
    service = await startSecuredApp({ API_KEYS: KEY['x-api-key'], BODY_LIMIT_BYTES: '2048' });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413 and says which limit', async () => {
    const response = await postJson(`${service.url}/chat`, { message: 'x'.repeat(4096) }, KEY);
    const body = await expectContractError(response, 413);
    expect(body.message).toContain('BODY_LIMIT_BYTES');
  });

  it('refuses headers over the size limit with 431', async () => {
    const response = await fetch(`${service.url}/health/live`, {
      headers: { 'x-padding': 'p'.repeat(MAX_HEADER_SIZE_BYTES + 1024) },
    });
    expect(response.status).toBe(431);
  });

  it(
    'cuts off a client that trickles its headers',
    async () => {
      // Request line and one header, then nothing: the slowloris pattern.
      const { answer, elapsedMs } = await rawExchange(
        service.url,
        'POST /chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n',
      );
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 1_000);
    },
    HEADERS_TIMEOUT_MS + 30_000,
  );

  it('has server limits that reach the running server', () => {
    const server = service.running.app.getHttpServer();
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.timeout).toBe(serverLimits(parseEnvironment(process.env)).connectionTimeout);
  });
});

describe(registerSecurityHeaders.name, () => {
  let service: SecuredApp;

  beforeAll(async () => {
    service = await startSecuredApp({ API_KEYS: KEY['x-api-key'] });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('sends the security headers and no-store on a chat answer, and no X-Powered-By', async () => {
    const response = await postJson(`${service.url}/chat`, VALID_CHAT, KEY);
    expect(response.status).toBe(200);
    expect(headersOf(response, Object.keys(API_HEADERS))).toEqual(API_HEADERS);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('sends them on a streamed answer too', async () => {
    const response = await postJson(`${service.url}/chat`, { ...VALID_CHAT, stream: true }, KEY);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(headersOf(response, Object.keys(API_HEADERS))).toEqual(API_HEADERS);
    expect(response.headers.get('cache-control')).toContain('no-store');
    await response.text();
  });

  it('sends them on refusals (400, 401, 404)', async () => {
    const answers = [
      await postJson(`${service.url}/chat`, { message: '' }, KEY),
      await postJson(`${service.url}/chat`, VALID_CHAT),
      await fetch(`${service.url}/nowhere`),
    ];
    expect(answers.map((response) => response.status)).toEqual([400, 401, 404]);
    for (const response of answers) {
      expect(headersOf(response, Object.keys(API_HEADERS))).toEqual(API_HEADERS);
      expect(internalsIn(await response.text())).toEqual([]);
    }
  });

  it('lets the Swagger UI run its scripts', async () => {
    const response = await fetch(`${service.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('does not enable CORS', async () => {
    const preflight = await fetch(`${service.url}/chat`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const response = await postJson(`${service.url}/chat`, VALID_CHAT, { ...KEY, origin: 'https://elsewhere.example' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
