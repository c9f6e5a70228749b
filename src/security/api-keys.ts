import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The key a caller presented: `Authorization: Bearer <key>` first, else `X-API-Key: <key>`.
 * Another `Authorization` scheme (e.g. Basic, meant for a proxy in front) is ignored rather than refused.
 */
export function presentedApiKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) {
      return match[1];
    }
  }
  const header = headers['x-api-key'];
  const apiKey = typeof header === 'string' ? header.trim() : '';
  return apiKey === '' ? undefined : apiKey;
}

/**
 * The configured API keys, held only as SHA-256 digests. A presented key is hashed and compared with
 * every digest in constant time, so neither the position of a mismatch nor a key's length shows in the
 * response time.
 */
export class ApiKeyRing {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys)].map(sha256);
  }

  /** No keys configured: the service is open. */
  get isEmpty(): boolean {
    return this.digests.length === 0;
  }

  /**
   * The id of the matching key (its SHA-256 in hex, safe to use as a map key or in a log line), or
   * `undefined` when the key matches none.
   */
  identify(presented: string): string | undefined {
    const digest = sha256(presented);
    let matched = false;
    // No early exit: every key is compared whatever the outcome.
    for (const candidate of this.digests) {
      matched = timingSafeEqual(digest, candidate) || matched;
    }
    return matched ? digest.toString('hex') : undefined;
  }
}
