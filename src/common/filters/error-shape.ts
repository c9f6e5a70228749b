import { STATUS_CODES } from 'node:http';
import { type OpenAiErrorBody, openAiErrorBodyFor } from '../../openai/openai-error';

/** The error body of CONTRACT §2. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

/**
 * Which error body the callers of a path read: OpenAI's SDKs on `/v1` only show a message found in
 * `{"error": {"message", ...}}`; everything else reads the service's own body.
 */
export type ErrorShape = 'service' | 'openai';

/** `/v1` itself, or anything below it; the query string does not count. */
const OPENAI_PATH = /^\/v1(?:[/?#]|$)/;

/** The error shape of the answers to a request for `url` (a path with or without its query string). */
export function errorShapeOf(url: string): ErrorShape {
  return OPENAI_PATH.test(url) ? 'openai' : 'service';
}

/** CONTRACT §2's body for an answer already decided (status and message). */
export function serviceErrorBody(status: number, message: string, requestId: string): ErrorBody {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, requestId };
}

/**
 * The body of an error answer to a request for `url`, in the shape that path's callers read. The one
 * place that decides the shape: the global exception filter and the answers given before routing
 * (unknown routes, unreadable bodies, slow or malformed requests) all ask it. The request id travels in
 * `X-Request-Id` in both shapes; OpenAI's body has no field for it.
 */
export function errorBodyFor(
  url: string,
  status: number,
  message: string,
  requestId: string,
): ErrorBody | OpenAiErrorBody {
  return errorShapeOf(url) === 'openai'
    ? openAiErrorBodyFor(status, message)
    : serviceErrorBody(status, message, requestId);
}
