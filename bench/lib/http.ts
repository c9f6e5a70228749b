/**
 * A lean HTTP/1.1 client for sequential measurements: node:http over one keep-alive connection per
 * target, so the client itself adds as little as possible and the same to every target.
 */
import { Agent, request } from 'node:http';

export interface TimedResponse {
  status: number;
  body: string;
  /** From just before the request is written to the last byte of the body. */
  ms: number;
}

export interface TimedStream extends TimedResponse {
  /** From just before the request is written to the first byte that completes the first piece of text. */
  firstPieceMs: number;
}

/** Every request of a measurement must finish within this; a stuck request fails the run. */
const REQUEST_TIMEOUT_MS = 60_000;

export class BenchClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly baseUrl: string) {}

  /** `POST <path>` with a JSON body; resolves with the whole answer. Rejects on socket errors and timeouts. */
  async postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<TimedResponse> {
    const payload = JSON.stringify(body);
    const result = await this.send('POST', path, payload, headers, () => false);
    return { status: result.status, body: result.body, ms: result.ms };
  }

  /**
   * `POST <path>` of a streamed answer: also notes when `isFirstPiece(textSoFar)` first holds, e.g. when
   * the first NDJSON line or SSE event carrying text has arrived in full.
   */
  postStream(
    path: string,
    body: unknown,
    isFirstPiece: (textSoFar: string) => boolean,
    headers: Record<string, string> = {},
  ): Promise<TimedStream> {
    return this.send('POST', path, JSON.stringify(body), headers, isFirstPiece);
  }

  async get(path: string): Promise<TimedResponse> {
    const result = await this.send('GET', path, undefined, {}, () => false);
    return { status: result.status, body: result.body, ms: result.ms };
  }

  /** Closes the kept-alive connection. Safe to call twice. */
  close(): void {
    this.agent.destroy();
  }

  private send(
    method: string,
    path: string,
    payload: string | undefined,
    headers: Record<string, string>,
    isFirstPiece: (textSoFar: string) => boolean,
  ): Promise<TimedStream> {
    const url = new URL(path, this.baseUrl);
    return new Promise<TimedStream>((resolve, reject) => {
      const requestHeaders: Record<string, string | number> = { ...headers };
      if (payload !== undefined) {
        requestHeaders['content-type'] = 'application/json';
        requestHeaders['content-length'] = Buffer.byteLength(payload);
      }
      const started = performance.now();
      let firstPieceMs = Number.NaN;
      const req = request(
        {
          agent: this.agent,
          method,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers: requestHeaders,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (chunk: string) => {
            text += chunk;
            if (Number.isNaN(firstPieceMs) && isFirstPiece(text)) {
              firstPieceMs = performance.now() - started;
            }
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started, firstPieceMs }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} took longer than ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** Polls `GET <url>` until it answers 200, or rejects at the deadline (also when `process` died). */
export async function waitForStatus200(
  url: string,
  deadlineMs: number,
  stillRunning: () => boolean = () => true,
): Promise<number> {
  const started = Date.now();
  const client = new BenchClient(new URL(url).origin);
  const path = new URL(url).pathname;
  try {
    for (;;) {
      if (!stillRunning()) {
        throw new Error(`the process behind ${url} exited before it answered 200`);
      }
      try {
        const { status } = await client.get(path);
        if (status === 200) {
          return Date.now() - started;
        }
      } catch {
        // Not listening yet.
      }
      if (Date.now() - started > deadlineMs) {
        throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    client.close();
  }
}
