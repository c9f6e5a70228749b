/** Response writing with the headers and JSON encoding a Go/gin server produces. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { EmptyBodyError } from './go-json-scanner';
import { GoError } from './keep-alive';
import { RequestAbortedError } from './timers';
import type { EndpointName, RequestRecord } from './types';

export const JSON_UTF8 = 'application/json; charset=utf-8';
/** gin's stream error path sets this bare value before writing the JSON error. */
export const JSON_BARE = 'application/json';
export const NDJSON = 'application/x-ndjson';
export const TEXT_UTF8 = 'text/plain; charset=utf-8';

/** One HTTP request being handled. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  endpoint: EndpointName;
  body: Buffer;
  /** Aborts when the client disconnects or the emulator stops. */
  signal: AbortSignal;
  /** Monotonic time the request arrived, for durations. */
  startedNs: bigint;
  /** Set before the emulator itself destroys the connection, so it is not counted as a client abort. */
  closedByServer: boolean;
  /** What the request carried, once its body was read. */
  record?: RequestRecord;
}

/** `json.Marshal` escapes HTML-significant characters and the JS line separators. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function sendJson(res: ServerResponse, status: number, value: unknown, contentType = JSON_UTF8): void {
  const body = Buffer.from(goJson(value), 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

export function sendOllamaError(res: ServerResponse, status: number, message: string, contentType = JSON_UTF8): void {
  sendJson(res, status, { error: message }, contentType);
}

/** Sends Ollama's 400 for a body gin could not bind; rethrows anything else. */
export function sendBindError(ex: Exchange, err: unknown): void {
  if (err instanceof EmptyBodyError) {
    sendOllamaError(ex.res, 400, 'missing request body');
    return;
  }
  if (err instanceof GoError) {
    sendOllamaError(ex.res, 400, err.message);
    return;
  }
  throw err;
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': TEXT_UTF8, 'Content-Length': body.length });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

export type OpenAiErrorType = 'invalid_request_error' | 'not_found_error' | 'api_error';

export function openAiErrorType(status: number): OpenAiErrorType {
  if (status === 400) {
    return 'invalid_request_error';
  }
  return status === 404 ? 'not_found_error' : 'api_error';
}

export function openAiErrorBody(status: number, message: string): unknown {
  return { error: { message, type: openAiErrorType(status), param: null, code: null } };
}

export function sendOpenAiError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, openAiErrorBody(status, message));
}

/**
 * A response whose lines are written as they are produced. Headers go out with the first line, so
 * an error found before that can still use a real status code.
 */
export class LineWriter {
  constructor(
    private readonly res: ServerResponse,
    private readonly contentType: string,
  ) {}

  get started(): boolean {
    return this.res.headersSent;
  }

  write(text: string): void {
    if (!this.res.headersSent) {
      this.res.writeHead(200, { 'Content-Type': this.contentType });
    }
    if (!this.res.destroyed) {
      this.res.write(text);
    }
  }

  end(): void {
    if (!this.res.headersSent) {
      this.res.writeHead(200, { 'Content-Type': this.contentType });
    }
    this.res.end();
  }
}

export class NdjsonWriter extends LineWriter {
  constructor(res: ServerResponse) {
    super(res, NDJSON);
  }

  send(value: unknown): void {
    this.write(`${goJson(value)}\n`);
  }
}

export class SseWriter extends LineWriter {
  constructor(res: ServerResponse) {
    super(res, 'text/event-stream');
  }

  send(value: unknown): void {
    this.write(`data: ${goJson(value)}\n\n`);
  }

  done(): void {
    this.write('data: [DONE]\n\n');
  }
}

/** Reads the whole request body; rejects if the client goes away first. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new RequestAbortedError()));
    req.on('close', () => {
      if (!req.complete) {
        reject(new RequestAbortedError());
      }
    });
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
