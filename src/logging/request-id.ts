import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A caller's request id is echoed only when it is short and plain, so it cannot forge log lines. */
const SAFE_REQUEST_ID = /^[\w.:@/-]{1,128}$/;

/**
 * The request id of `req`: the caller's `X-Request-Id` when it is safe to echo (in logs and in a
 * response header), else a new UUID. Fastify's `genReqId`, and the answers written before Fastify
 * sees a request, both use it.
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}
