import { IncomingMessage, request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export type { Gateway } from '../support/gateway';
export { MODEL, startGateway } from '../support/gateway';

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await delay(25);
  }
}

export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** A POST on a connection of its own, which the test can cut like a client that goes away. */
export interface DisconnectableRequest {
  /** Settles when the response headers arrive. */
  response: Promise<IncomingMessage>;
  /** Destroys the connection, as a client that closes its tab or times out does. */
  disconnect(): void;
}

/**
 * Sends `body` as JSON without a connection pool: `fetch`'s pool may open a spare connection after an
 * abort, which would keep the server from closing and hide what is being tested.
 */
export function postDisconnectable(url: string, body: unknown): DisconnectableRequest {
  const payload = JSON.stringify(body);
  const outgoing = request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
  });
  // The disconnect itself surfaces as an error on a promise the test may no longer await.
  response.catch(() => undefined);
  outgoing.end(payload);
  return { response, disconnect: () => outgoing.destroy() };
}

export interface ParsedEvent {
  /** `message` when the stream did not name the event. */
  event: string;
  data: unknown;
}

/** Parses a complete `text/event-stream` body into its events. */
export function parseEventStream(text: string): ParsedEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) {
          event = line.slice('event: '.length);
        } else if (line.startsWith('data: ')) {
          data.push(line.slice('data: '.length));
        }
      }
      return { event, data: JSON.parse(data.join('\n')) as unknown };
    });
}

/** Concatenated `delta`s of the unnamed events. */
export function deltasOf(events: ParsedEvent[]): string {
  return events
    .filter((event) => event.event === 'message')
    .map((event) => (event.data as { delta: string }).delta)
    .join('');
}
