/**
 * Errors the services throw. They say what happened in the domain's words; `AllExceptionsFilter`
 * alone decides how each one looks on the wire.
 */
export abstract class DomainError extends Error {
  /** The HTTP status the filter answers with. */
  abstract readonly status: number;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a request was refused with 503; also the `reason` label of `llm_requests_rejected_total`. */
export type UnavailableReason =
  'not_ready' | 'circuit_open' | 'overloaded' | 'queue_timeout' | 'shutting_down' | 'ollama_unreachable';

/** The service cannot serve this now; the caller should retry after `retryAfterSeconds` (503). */
export class ServiceUnavailableError extends DomainError {
  readonly status = 503;

  constructor(
    message: string,
    readonly reason: UnavailableReason,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Ollama did not answer, or went silent in a stream, within the configured time (504). */
export class UpstreamTimeoutError extends DomainError {
  readonly status = 504;
}

/** Ollama answered with an error or with something unusable (502). */
export class BadGatewayError extends DomainError {
  readonly status = 502;
}

/** A well-formed request that names something that does not exist (404). */
export class NotFoundError extends DomainError {
  readonly status = 404;
}

/** A request the service understood but will not carry out as sent (400). */
export class InvalidRequestError extends DomainError {
  readonly status = 400;
}
