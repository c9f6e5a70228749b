import Fastify from 'fastify';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseEnvironment } from '../config/environment';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_HEADER_SIZE_BYTES,
  MAX_REQUESTS_PER_SOCKET,
  REQUEST_TIMEOUT_MS,
  closeAfterLastAllowedAnswer,
  lacksHostHeader,
  longestLegitimateSilenceMs,
  serverLimits,
  unsupportedContentCoding,
} from './server-limits';

describe(serverLimits.name, () => {
  it('waits out the longest legitimate silence: queue wait plus every upstream attempt', () => {
    const defaults = parseEnvironment({});
    // 30 s in the queue + 35 s × (1 + 2 retries).
    expect(longestLegitimateSilenceMs(defaults)).toBe(135_000);
    expect(serverLimits(defaults).connectionTimeout).toBeGreaterThan(135_000);

    const slow = parseEnvironment({ LLM_QUEUE_TIMEOUT: '5m', OLLAMA_TIMEOUT: '10m', OLLAMA_MAX_RETRIES: '3' });
    expect(serverLimits(slow).connectionTimeout).toBeGreaterThan(5 * 60_000 + 4 * 10 * 60_000);
  });

  it('bounds receiving a request more tightly than answering it', () => {
    const limits = serverLimits(parseEnvironment({}));
    expect(HEADERS_TIMEOUT_MS).toBeLessThan(REQUEST_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBeLessThan(limits.connectionTimeout!);
  });

  it('reaches the Node server Fastify creates', async () => {
    const fastify = Fastify(serverLimits(parseEnvironment({ OLLAMA_TIMEOUT: '10' })));
    try {
      await fastify.ready();
      const server = fastify.server;
      expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
      expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
      expect(server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
      expect(server.maxRequestsPerSocket).toBe(MAX_REQUESTS_PER_SOCKET);
      expect(server.timeout).toBe(30_000 + 10_000 * 3 + 60_000);
      expect(fastify.initialConfig.onProtoPoisoning).toBe('error');
      expect(fastify.initialConfig.onConstructorPoisoning).toBe('error');
      expect((server as unknown as { maxHeaderSize: number }).maxHeaderSize).toBe(MAX_HEADER_SIZE_BYTES);
    } finally {
      await fastify.close();
    }
  });
});

describe(closeAfterLastAllowedAnswer.name, () => {
  function answerTo(request: number): ServerResponse {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    // What Node's server sets on every answer once `maxRequestsPerSocket` is set.
    Object.assign(res, { maxRequestsOnConnectionReached: request >= MAX_REQUESTS_PER_SOCKET });
    return res;
  }

  it('asks for the connection to be closed after the last allowed request', () => {
    const last = answerTo(MAX_REQUESTS_PER_SOCKET);
    closeAfterLastAllowedAnswer(last);
    expect(last.getHeader('connection')).toBe('close');
  });

  it('leaves earlier answers alone', () => {
    const earlier = answerTo(MAX_REQUESTS_PER_SOCKET - 1);
    closeAfterLastAllowedAnswer(earlier);
    expect(earlier.getHeader('connection')).toBeUndefined();
  });
});

describe(lacksHostHeader.name, () => {
  function request(httpVersion: '1.0' | '1.1', headers: Record<string, string>): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    const [major, minor] = httpVersion.split('.').map(Number);
    Object.assign(req, { httpVersion, httpVersionMajor: major, httpVersionMinor: minor, headers });
    return req;
  }

  it('finds an HTTP/1.1 request without Host', () => {
    expect(lacksHostHeader(request('1.1', {}))).toBe(true);
    expect(lacksHostHeader(request('1.1', { host: 'localhost' }))).toBe(false);
  });

  it('lets HTTP/1.0 go without one, as HTTP does', () => {
    expect(lacksHostHeader(request('1.0', {}))).toBe(false);
  });

  it('is Node’s own check turned off, so the service can answer it in its shape', () => {
    const limits = serverLimits(parseEnvironment({}));
    expect(limits.http).toMatchObject({ requireHostHeader: false });
  });
});

describe(unsupportedContentCoding.name, () => {
  function request(headers: Record<string, string>): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    req.headers = headers;
    return req;
  }

  it('names the codings of a compressed body', () => {
    expect(unsupportedContentCoding(request({ 'content-encoding': 'gzip', 'content-length': '30' }))).toBe('gzip');
    expect(
      unsupportedContentCoding(request({ 'content-encoding': 'Deflate, BR', 'transfer-encoding': 'chunked' })),
    ).toBe('deflate, br');
    expect(unsupportedContentCoding(request({ 'content-encoding': 'identity, gzip', 'content-length': '9' }))).toBe(
      'gzip',
    );
  });

  it('lets a plain body through, labelled or not', () => {
    expect(unsupportedContentCoding(request({ 'content-length': '30' }))).toBeUndefined();
    expect(
      unsupportedContentCoding(request({ 'content-encoding': 'identity', 'content-length': '30' })),
    ).toBeUndefined();
    expect(unsupportedContentCoding(request({ 'content-encoding': ' , ', 'content-length': '30' }))).toBeUndefined();
  });

  it('never refuses a request without a body for it', () => {
    expect(unsupportedContentCoding(request({ 'content-encoding': 'gzip' }))).toBeUndefined();
    expect(unsupportedContentCoding(request({ 'content-encoding': 'gzip', 'content-length': '0' }))).toBeUndefined();
  });
});
