import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { PreRoutingAnswers } from '../../src/common/filters/pre-routing-answers';
import { MAX_HEADER_SIZE_BYTES, MAX_REQUESTS_PER_SOCKET } from '../../src/security/server-limits';
import { ContractErrorBody, contractErrorProblem, openAiErrorProblem } from './support/error-body';
import { durationSamples, samplesAddedSince } from './support/http-metrics';
import { RawResponse, onlyResponse, parseResponses, rawExchange } from './support/raw-http';
import { VALID_CHAT, postJson } from './support/requests';
import { SecuredApp, startSecuredApp } from './support/secured-app';

const KEY = 'edge-key-0123456789abcdef';

/** A short request timeout for these tests: Node checks them every 5 s (TIMEOUT_CHECK_INTERVAL_MS). */
const SHORT_HEADERS_TIMEOUT_MS = 1_000;
const SHORT_REQUEST_TIMEOUT_MS = 1_500;
/** Long enough for a shortened timeout plus Node's check interval on a busy machine. */
const SLOW_CLIENT_TEST_MS = 40_000;

/** Why `response` is not a contract error answer for `status` carrying its request id, or undefined. */
function contractAnswerProblem(response: RawResponse, status: number): string | undefined {
  if (response.status !== status) {
    return `status ${response.status}, expected ${status}`;
  }
  const problem = contractErrorProblem(status, response.body);
  if (problem !== undefined) {
    return problem;
  }
  const requestId = response.headers['x-request-id'];
  if (requestId === undefined || (JSON.parse(response.body) as ContractErrorBody).requestId !== requestId) {
    return `X-Request-Id ${requestId} is missing or not the body's requestId`;
  }
  return undefined;
}

function expectContractAnswer(response: RawResponse, status: number): ContractErrorBody {
  expect({ problem: contractAnswerProblem(response, status), response }).toEqual({ problem: undefined, response });
  return JSON.parse(response.body) as ContractErrorBody;
}

/**
 * Runs `work` with the running server's request timeouts shortened. Node reads them from the server at
 * every check, so no configuration is needed for it; they are restored afterwards.
 */
async function withShortTimeouts<T>(service: SecuredApp, work: () => Promise<T>): Promise<T> {
  const server: Server = service.running.app.getHttpServer();
  const saved = { headersTimeout: server.headersTimeout, requestTimeout: server.requestTimeout };
  server.headersTimeout = SHORT_HEADERS_TIMEOUT_MS;
  server.requestTimeout = SHORT_REQUEST_TIMEOUT_MS;
  try {
    return await work();
  } finally {
    Object.assign(server, saved);
  }
}

describe(PreRoutingAnswers.name, () => {
  let service: SecuredApp;

  beforeAll(async () => {
    service = await startSecuredApp({ API_KEYS: KEY, BODY_LIMIT_BYTES: '2048' });
  });

  afterAll(async () => {
    await service?.close();
  });

  describe('a keep-alive connection', () => {
    it('is closed after its last allowed request instead of answering later ones with a bare 503', async () => {
      const request = 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n';
      const exchange = await rawExchange(service.url, [request.repeat(MAX_REQUESTS_PER_SOCKET + 5)]);

      const { responses, rest } = parseResponses(exchange.bytes);
      const bare = responses
        .map((response, index) => ({ index, status: response.status, headers: response.headers, body: response.body }))
        .filter(({ headers, body }) => headers['x-request-id'] === undefined || !body.startsWith('{'));
      expect({ bare: bare.slice(0, 3), rest: rest.toString('latin1'), closedBy: exchange.closedBy }).toEqual({
        bare: [],
        rest: '',
        closedBy: 'server',
      });
      expect(responses).toHaveLength(MAX_REQUESTS_PER_SOCKET);
      expect(responses.every((response) => response.status === 200)).toBe(true);
      expect(responses.at(-1)?.headers.connection).toBe('close');
      expect(responses.slice(0, -1).filter((response) => response.headers.connection === 'close')).toEqual([]);
    });

    it.each([
      ['/chat', { ...VALID_CHAT, stream: true }, 'event: done'],
      [
        '/v1/chat/completions',
        { model: 'llama3.1', messages: [{ role: 'user', content: 'Hi' }], stream: true },
        '[DONE]',
      ],
      ['/api/chat', { model: 'llama3.1', messages: [{ role: 'user', content: 'Hi' }] }, '"done":true'],
    ])('is closed after its last allowed request when that answer is streamed (%s)', async (path, body, end) => {
      const probe = 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n';
      const json = JSON.stringify(body);
      const streamed =
        `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
      const exchange = await rawExchange(service.url, [probe.repeat(MAX_REQUESTS_PER_SOCKET - 1) + streamed + probe]);

      const { responses, rest } = parseResponses(exchange.bytes);
      const last = responses.at(-1);
      expect({
        answers: responses.length,
        last: { status: last?.status, connection: last?.headers.connection, ended: last?.body.includes(end) },
        rest: rest.toString('latin1'),
        closedBy: exchange.closedBy,
      }).toEqual({
        answers: MAX_REQUESTS_PER_SOCKET,
        last: { status: 200, connection: 'close', ended: true },
        rest: '',
        closedBy: 'server',
      });
    });
  });

  describe('a slow client', () => {
    it(
      'that trickles its headers gets 408 with the contract body and request id, one sample, and a closed connection',
      async () => {
        const before = await durationSamples(service.url, { route: 'unmatched', status_code: '408' });
        const trickle = ['POST /chat HTTP/1.1\r\n', 'Host: localhost\r\n', ...Array<string>(100).fill('X-Slow: 1\r\n')];

        const exchange = await withShortTimeouts(service, () => rawExchange(service.url, trickle, 300));

        expect(exchange.closedBy).toBe('server');
        const response = onlyResponse(exchange);
        const body = expectContractAnswer(response, 408);
        expect(body.message).toContain('headers did not arrive within 1 s');
        expect(response.headers.connection).toBe('close');
        expect(await samplesAddedSince(service.url, { route: 'unmatched', status_code: '408' }, before)).toBe(1);
      },
      SLOW_CLIENT_TEST_MS,
    );

    it(
      'that trickles its body gets 408 with its own request id, counted under the route it asked for',
      async () => {
        const labels = { method: 'POST', route: '/chat', status_code: '408' };
        const before = await durationSamples(service.url, labels);
        const head = [
          'POST /chat HTTP/1.1',
          'Host: localhost',
          'Content-Type: application/json',
          'Content-Length: 200',
          'X-Request-Id: slow-body-1',
          '',
          '{"message": "',
        ].join('\r\n');

        const exchange = await withShortTimeouts(service, () =>
          rawExchange(service.url, [head, ...Array<string>(100).fill('a')], 300),
        );

        expect(exchange.closedBy).toBe('server');
        const response = onlyResponse(exchange);
        const body = expectContractAnswer(response, 408);
        expect(body.requestId).toBe('slow-body-1');
        expect(body.message).toContain('body did not arrive within 1.5 s');
        expect(await samplesAddedSince(service.url, labels, before)).toBe(1);
      },
      SLOW_CLIENT_TEST_MS,
    );
  });

  describe('answers Node would write itself', () => {
    it('answers oversized headers with 431, the contract body, the request id and one sample', async () => {
      const before = await durationSamples(service.url, { status_code: '431' });
      const exchange = await rawExchange(service.url, [
        `GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'p'.repeat(MAX_HEADER_SIZE_BYTES)}\r\n\r\n`,
      ]);
      const body = expectContractAnswer(onlyResponse(exchange), 431);
      expect(body.message).toContain(String(MAX_HEADER_SIZE_BYTES));
      expect(exchange.closedBy).toBe('server');
      expect(await samplesAddedSince(service.url, { status_code: '431' }, before)).toBe(1);
    });

    it('answers a request that is not HTTP with 400 and the contract body', async () => {
      const before = await durationSamples(service.url, { route: 'unmatched', status_code: '400' });
      const exchange = await rawExchange(service.url, ['HELLO THERE\r\n\r\n']);
      expectContractAnswer(onlyResponse(exchange), 400);
      expect(exchange.closedBy).toBe('server');
      expect(await samplesAddedSince(service.url, { route: 'unmatched', status_code: '400' }, before)).toBe(1);
    });

    it('answers an HTTP/1.1 request without Host with 400 and the contract body, and closes', async () => {
      const exchange = await rawExchange(service.url, ['GET /health/live HTTP/1.1\r\n\r\n']);
      const response = onlyResponse(exchange);
      expect(expectContractAnswer(response, 400).message).toContain('Host');
      expect(response.headers.connection).toBe('close');
      expect(exchange.closedBy).toBe('server');
    });

    it('answers an unsupported Expect with 417 and the contract body', async () => {
      const before = await durationSamples(service.url, { status_code: '417' });
      const exchange = await rawExchange(service.url, [
        'GET /health/live HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\nConnection: close\r\n\r\n',
      ]);
      expect(expectContractAnswer(onlyResponse(exchange), 417).message).toContain('Expect: teapot');
      expect(await samplesAddedSince(service.url, { status_code: '417' }, before)).toBe(1);
    });

    it('answers a path that is not valid percent-encoding with 400 and the contract body', async () => {
      const exchange = await rawExchange(service.url, [
        'GET /health/%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: bad-url-1\r\nConnection: close\r\n\r\n',
      ]);
      expect(expectContractAnswer(onlyResponse(exchange), 400).requestId).toBe('bad-url-1');
    });
  });

  describe('answers Fastify writes before a handler runs', () => {
    it('answers an unknown route with 404 and adds exactly one sample under route="unmatched"', async () => {
      const labels = { method: 'GET', route: 'unmatched', status_code: '404' };
      const before = await durationSamples(service.url, labels);
      const response = await fetch(`${service.url}/no/such/route`);
      expect(response.status).toBe(404);
      expect(contractErrorProblem(404, await response.text())).toBeUndefined();
      expect(await samplesAddedSince(service.url, labels, before)).toBe(1);
    });

    it('answers malformed JSON with 400 and adds exactly one sample under the route template', async () => {
      const labels = { method: 'POST', route: '/chat', status_code: '400' };
      const before = await durationSamples(service.url, labels);
      const response = await fetch(`${service.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-request-id': 'bad-json-1' },
        body: '{"message": "unterminated',
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-request-id')).toBe('bad-json-1');
      expect(contractErrorProblem(400, await response.text())).toBeUndefined();
      expect(await samplesAddedSince(service.url, labels, before)).toBe(1);
    });

    it.each([['application/x-www-form-urlencoded'], ['text/plain'], ['']])(
      'answers a body sent as %j on /chat with 415 before reading it as anything',
      async (contentType) => {
        const response = await fetch(`${service.url}/chat`, {
          method: 'POST',
          headers: { 'content-type': contentType, authorization: `Bearer ${KEY}` },
          body: JSON.stringify(VALID_CHAT),
        });
        const body = expectContractAnswer(
          {
            status: response.status,
            headers: { 'x-request-id': response.headers.get('x-request-id') ?? '' },
            body: await response.text(),
          },
          415,
        );
        expect(body.message).toBe(
          `unsupported Content-Type '${contentType || 'none'}'; send the body as application/json`,
        );
      },
    );

    it('answers an unsupported Content-Type with 415 and adds exactly one sample', async () => {
      const labels = { method: 'POST', route: '/chat', status_code: '415' };
      const before = await durationSamples(service.url, labels);
      const response = await fetch(`${service.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', authorization: `Bearer ${KEY}` },
        body: '<message>hi</message>',
      });
      expect(response.status).toBe(415);
      expect(contractErrorProblem(415, await response.text())).toBeUndefined();
      expect(await samplesAddedSince(service.url, labels, before)).toBe(1);
    });

    /** The message of an error body in each path's shape, failing when the body is not in that shape. */
    const contractMessage = (text: string): string => {
      expect(contractErrorProblem(415, text)).toBeUndefined();
      return (JSON.parse(text) as ContractErrorBody).message;
    };
    const openAiMessage = (text: string): string => {
      expect(openAiErrorProblem(415, text)).toBeUndefined();
      return (JSON.parse(text) as { error: { message: string } }).error.message;
    };
    const ollamaMessage = (text: string): string => {
      const body = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['error']);
      return String(body.error);
    };
    const CHAT_MESSAGES = { model: 'llama3.1', messages: [{ role: 'user', content: 'Hi' }] };

    it.each([
      ['/chat', VALID_CHAT, contractMessage],
      ['/v1/chat/completions', CHAT_MESSAGES, openAiMessage],
      ['/api/chat', CHAT_MESSAGES, ollamaMessage],
    ])(
      'answers a compressed body on %s with 415 and Accept-Encoding, and one sample',
      async (path, body, messageOf) => {
        const labels = { method: 'POST', route: path, status_code: '415' };
        const before = await durationSamples(service.url, labels);
        const response = await fetch(`${service.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${KEY}` },
          body: gzipSync(JSON.stringify(body)),
        });
        const text = await response.text();
        expect({ status: response.status, acceptEncoding: response.headers.get('accept-encoding') }).toEqual({
          status: 415,
          acceptEncoding: 'identity',
        });
        expect(messageOf(text)).toBe(
          "unsupported Content-Encoding 'gzip'; send the body uncompressed, without Content-Encoding",
        );
        expect(await samplesAddedSince(service.url, labels, before)).toBe(1);
      },
    );

    it('answers a known path asked with the wrong method with 405 and Allow', async () => {
      const response = await fetch(`${service.url}/chat`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      const text = await response.text();
      expect(contractErrorProblem(405, text)).toBeUndefined();
      expect((JSON.parse(text) as ContractErrorBody).message).toBe('GET is not allowed on /chat; use POST');
    });

    it('counts a guard’s refusal once, and a routed answer still once', async () => {
      const refused = { method: 'POST', route: '/chat', status_code: '401' };
      const answered = { method: 'POST', route: '/chat', status_code: '200' };
      const [refusedBefore, answeredBefore] = [
        await durationSamples(service.url, refused),
        await durationSamples(service.url, answered),
      ];
      expect((await postJson(`${service.url}/chat`, VALID_CHAT)).status).toBe(401);
      const ok = await postJson(`${service.url}/chat`, VALID_CHAT, { authorization: `Bearer ${KEY}` });
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      expect(await samplesAddedSince(service.url, refused, refusedBefore)).toBe(1);
      expect(await samplesAddedSince(service.url, answered, answeredBefore)).toBe(1);
    });
  });
});
