import type { ServerResponse } from 'node:http';

/** The `route` label of answers given without a route: unknown paths and requests refused before routing. */
export const UNMATCHED_ROUTE = 'unmatched';

const CLAIMED = Symbol('durationSampleClaimed');

type ClaimableResponse = ServerResponse & { [CLAIMED]?: true };

/**
 * Takes the one `http_request_duration_seconds` sample of this answer for the caller: true the first
 * time, false once someone has taken it. The latency interceptor claims routed requests as they reach
 * their handler; the answers given before (guards, body parsing, unknown routes) or instead of routing
 * (slow or malformed requests) are recorded by whoever writes them, and none is counted twice.
 */
export function claimDurationSample(res: ServerResponse): boolean {
  const claimable = res as ClaimableResponse;
  if (claimable[CLAIMED]) {
    return false;
  }
  claimable[CLAIMED] = true;
  return true;
}
