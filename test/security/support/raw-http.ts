import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** One HTTP/1.1 response as read off a socket. Header names are lower case. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a raw connection brought back, and who ended it. */
export interface RawExchange {
  bytes: Buffer;
  /** `server`: the server closed the connection; `client`: the test gave up waiting after `timeoutMs`. */
  closedBy: 'server' | 'client';
  /** A socket error seen by the client (a reset, for instance), if any. */
  error?: string;
}

/**
 * Opens a connection to `url`'s host and port, writes `parts` one after the other with `gapMs` between
 * them (a slow client trickles its request this way), and collects everything the server sends until
 * it closes the connection or `timeoutMs` passes.
 */
export function rawExchange(
  url: string,
  parts: readonly string[],
  gapMs = 0,
  timeoutMs = 30_000,
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const socket = connect(Number(port), hostname);
    const finish = (closedBy: RawExchange['closedBy']): void => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve({ bytes: Buffer.concat(chunks), closedBy, error });
      }
    };
    const timer = setTimeout(() => finish('client'), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (cause: Error) => {
      error = cause.message;
    });
    socket.on('close', () => finish('server'));
    socket.on('connect', () => {
      void (async () => {
        for (const [index, part] of parts.entries()) {
          if (done || socket.destroyed) {
            return;
          }
          if (index > 0 && gapMs > 0) {
            await delay(gapMs);
          }
          if (!done && !socket.destroyed) {
            socket.write(part);
          }
        }
      })();
    });
  });
}

function readChunked(bytes: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let offset = start;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset, 'latin1');
    if (lineEnd < 0) {
      return undefined;
    }
    const size = parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = bytes.indexOf('\r\n', dataStart, 'latin1');
      return trailerEnd < 0 ? undefined : { body: Buffer.concat(parts), end: trailerEnd + 2 };
    }
    if (dataStart + size + 2 > bytes.length) {
      return undefined;
    }
    parts.push(bytes.subarray(dataStart, dataStart + size));
    offset = dataStart + size + 2;
  }
}

/**
 * Splits what a server sent on one connection into responses (bodies framed by `Content-Length` or
 * chunked). `rest` holds bytes that do not make a complete response.
 */
export function parseResponses(bytes: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', offset, 'latin1');
    if (headEnd < 0) {
      break;
    }
    const [statusLine, ...headerLines] = bytes.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (status === null) {
      break;
    }
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = headEnd + 4;
    let body: Buffer;
    let end: number;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const chunked = readChunked(bytes, bodyStart);
      if (chunked === undefined) {
        break;
      }
      ({ body, end } = chunked);
    } else {
      end = bodyStart + Number(headers['content-length'] ?? 0);
      if (end > bytes.length) {
        break;
      }
      body = bytes.subarray(bodyStart, end);
    }
    responses.push({ status: Number(status[1]), headers, body: body.toString('utf8') });
    offset = end;
  }
  return { responses, rest: bytes.subarray(offset) };
}

/** The one response of an exchange; fails when there is not exactly one, or bytes are left over. */
export function onlyResponse(exchange: RawExchange): RawResponse {
  const { responses, rest } = parseResponses(exchange.bytes);
  expect({ responses: responses.length, rest: rest.toString('latin1') }).toEqual({ responses: 1, rest: '' });
  return responses[0];
}
