/** HTTP helpers for tests that talk to a server over real sockets: JSON posts and server-sent events. */

/**
 * POSTs `body` as JSON (a string is sent as it is, so a test can send malformed JSON). Headers in
 * `init.headers` are added to `content-type: application/json` and may replace it; every other
 * `init` field (signal, method, …) is passed to `fetch`.
 */
export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers({ 'content-type': 'application/json' });
  new Headers(init.headers).forEach((value, key) => headers.set(key, value));
  return fetch(url, {
    method: 'POST',
    ...init,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** One server-sent event. */
export interface SseEvent {
  /** The `event:` field, when the event had one (the default type `message` is left undefined). */
  event?: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The `id:` field, when the event had one. */
  id?: string;
}

/**
 * Parses a complete `text/event-stream` body as the WHATWG rules read it: events end at a blank line,
 * lines may end in LF, CRLF or CR, one space after the colon is dropped, comment lines (`:`) are
 * skipped, several `data:` lines are joined with `\n`, and an event without data is not dispatched.
 */
export function parseSseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data: string[] | undefined;
  let event: string | undefined;
  let id: string | undefined;
  const dispatch = (): void => {
    if (data !== undefined) {
      events.push({
        data: data.join('\n'),
        ...(event === undefined ? {} : { event }),
        ...(id === undefined ? {} : { id }),
      });
    }
    data = undefined;
    event = undefined;
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      dispatch();
      continue;
    }
    if (line.startsWith(':')) {
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'data') {
      (data ??= []).push(value);
    } else if (field === 'event') {
      event = value;
    } else if (field === 'id') {
      id = value;
    }
  }
  // A final event without its blank line was cut off: the WHATWG rules drop it.
  return events;
}

/** The `data:` payloads of a complete SSE body, in order (e.g. OpenAI chunks and the final `[DONE]`). */
export function parseSse(text: string): string[] {
  return parseSseEvents(text).map((e) => e.data);
}
