import Fastify from 'fastify';
import { parseEnvironment } from '../config/environment';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_HEADER_SIZE_BYTES,
  MAX_REQUESTS_PER_SOCKET,
  REQUEST_TIMEOUT_MS,
  longestLegitimateSilenceMs,
  serverLimits,
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
