import { STATUS_CODES } from 'node:http';
import { type OpenAiErrorBody, openAiErrorBodyFor } from '../../openai/openai-error';

/** The error body of CONTRACT §2. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

/** Ollama's error body: ollama-js, ollama-python and Open WebUI show the message they find in `error`. */
export interface OllamaErrorBody {
  error: string;
}

/**
 * Which error body the callers of a path read: OpenAI's SDKs on `/v1` only show a message found in
 * `{"error": {"message", ...}}`; Ollama's clients on `/api` and `/` only show the string in
 * `{"error": "..."}`; everything else reads the service's own body.
 */
export type ErrorShape = 'service' | 'openai' | 'ollama';

/** `/v1` itself, or anything below it; the query string does not count. */
const OPENAI_PATH = /^\/v1(?:[/?#]|$)/;

/** `/api` itself or anything below it, and the root `/` that Ollama's clients probe. */
const OLLAMA_PATH = /^\/(?:api(?:[/?#]|$)|[?#]|$)/;

/** The error shape of the answers to a request for `url` (a path with or without its query string). */
export function errorShapeOf(url: string): ErrorShape {
  if (OPENAI_PATH.test(url)) {
    return 'openai';
  }
  return OLLAMA_PATH.test(url) ? 'ollama' : 'service';
}

/** CONTRACT §2's body for an answer already decided (status and message). */
export function serviceErrorBody(status: number, message: string, requestId: string): ErrorBody {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, requestId };
}

/**
 * The body of an error answer to a request for `url`, in the shape that path's callers read. The one
 * place that decides the shape: the global exception filter and the answers given before routing
 * (unknown routes, unreadable bodies, slow or malformed requests) all ask it. The request id travels in
 * `X-Request-Id` in every shape; OpenAI's and Ollama's bodies have no field for it.
 */
export function errorBodyFor(
  url: string,
  status: number,
  message: string,
  requestId: string,
): ErrorBody | OpenAiErrorBody | OllamaErrorBody {
  switch (errorShapeOf(url)) {
    case 'openai':
      return openAiErrorBodyFor(status, message);
    case 'ollama':
      return { error: message };
    case 'service':
      return serviceErrorBody(status, message, requestId);
  }
}
