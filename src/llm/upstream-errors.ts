import { Logger } from '@nestjs/common';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import { BadGatewayError, DomainError, ServiceUnavailableError, UpstreamTimeoutError } from '../common/errors';
import type { LlmOutcome } from '../metrics/metrics.service';
import type { Backend } from './backends/backend';
import type { InferenceCall } from './inference-call';
import { LlmCallAbortedError } from './llm.errors';
import { OllamaClientError } from './ollama/ollama-client.errors';

/** Retry-After, in seconds, for a model that is coming back. */
const LOADING_RETRY_AFTER_SECONDS = 5;

/**
 * Turns whatever an inference call failed with into the domain error the caller sees: Ollama's own
 * words go to the log only; the caller gets a summary with the status CONTRACT §2 names (503 with a
 * Retry-After, 504, 502), or `LlmCallAbortedError` when nobody is left to answer.
 */
export class UpstreamErrors {
  private readonly logger = new Logger('LlmService');

  constructor(
    /** OLLAMA_TIMEOUT, for the words of a timeout. */
    private readonly timeoutMs: number,
    private readonly circuitFailureThreshold: number,
  ) {}

  /** Why the circuit of `backend` is open, in the words `/health/llm` reports. */
  circuitMessage(): string {
    return `circuit open after ${this.circuitFailureThreshold} consecutive upstream failures`;
  }

  circuitOpen(backend: Backend): ServiceUnavailableError {
    const seconds = Math.max(1, Math.ceil(backend.policy.openRemainingMs() / 1000));
    return new ServiceUnavailableError(`${this.circuitMessage()}; retry in ${seconds} s`, 'circuit_open', seconds);
  }

  /**
   * The error to throw for a failed control call (one that concerns no model and holds no slot).
   * @param requestId the HTTP request the call served, if any, for the log line.
   */
  mapControl(error: unknown, requestId?: string): unknown {
    if (!(error instanceof OllamaClientError)) {
      return error;
    }
    switch (error.kind) {
      case 'timeout':
        return new UpstreamTimeoutError(`Ollama did not answer within ${this.timeoutMs / 1000} s (OLLAMA_TIMEOUT)`);
      case 'unreachable':
      case 'busy':
        return new ServiceUnavailableError('Ollama is unreachable; retry shortly', 'ollama_unreachable', 5);
      case 'aborted':
        return new LlmCallAbortedError('the caller went away; the call was aborted');
      case 'model_not_found':
      case 'upstream':
      case 'protocol':
        this.logger.warn(
          { err: { message: error.message, detail: error.detail }, reqId: requestId },
          'Ollama failed a control call',
        );
        return new BadGatewayError('the model server failed to answer');
    }
  }

  /** The error to throw for `error`, which ended `call` before (`midStream` false) or after its first byte. */
  map(error: unknown, call: InferenceCall, midStream: boolean): unknown {
    if (call.abortedBy === 'shutdown') {
      return new ServiceUnavailableError(
        'the service is shutting down and ended this request; retry on another instance',
        'shutting_down',
        5,
      );
    }
    if (error instanceof DomainError) {
      return error;
    }
    if (
      call.abortedBy === 'client' ||
      error instanceof TaskCancelledError ||
      (error instanceof OllamaClientError && error.kind === 'aborted')
    ) {
      return new LlmCallAbortedError('the caller went away; the model call was aborted');
    }
    if (error instanceof BrokenCircuitError) {
      return this.circuitOpen(call.backend);
    }
    if (!(error instanceof OllamaClientError)) {
      return error;
    }
    const seconds = this.timeoutMs / 1000;
    switch (error.kind) {
      case 'timeout':
        return new UpstreamTimeoutError(
          midStream
            ? `the model sent nothing for ${seconds} s (OLLAMA_TIMEOUT); the answer is incomplete`
            : `the model did not answer within ${seconds} s (OLLAMA_TIMEOUT)`,
        );
      case 'unreachable':
        this.logger.warn(
          { err: { message: error.message, detail: error.detail }, backend: call.backend.url, reqId: call.requestId },
          'Ollama unreachable',
        );
        return midStream
          ? new BadGatewayError('Ollama closed the connection in the middle of the answer; the answer is incomplete')
          : new ServiceUnavailableError('Ollama is unreachable; retry shortly', 'ollama_unreachable', 5);
      case 'busy':
        return new ServiceUnavailableError('the model server is busy; retry shortly', 'overloaded', 2);
      case 'model_not_found':
        call.backend.lifecycle(call.model).reportModelMissing();
        return new ServiceUnavailableError(
          `model ${call.model} is missing in Ollama and is being restored; retry later`,
          'not_ready',
          LOADING_RETRY_AFTER_SECONDS,
        );
      case 'upstream':
      case 'protocol':
        this.logger.warn(
          {
            err: { message: error.message, detail: error.detail, status: error.httpStatus },
            endpoint: call.endpoint,
            backend: call.backend.url,
            reqId: call.requestId,
          },
          'Ollama failed the request',
        );
        return new BadGatewayError(
          error.kind === 'protocol'
            ? 'the model server sent an answer that could not be used'
            : midStream
              ? 'the model server failed in the middle of the answer; the answer is incomplete'
              : `the model server failed to answer${error.httpStatus !== undefined ? ` (HTTP ${error.httpStatus})` : ''}`,
        );
      case 'aborted':
        return new LlmCallAbortedError('the caller went away; the model call was aborted');
    }
  }
}

/** How a mapped error counts in `llm_request_duration_seconds`. */
export function outcomeOf(error: unknown): LlmOutcome {
  if (error instanceof LlmCallAbortedError) {
    return 'aborted';
  }
  if (error instanceof UpstreamTimeoutError) {
    return 'timeout';
  }
  if (error instanceof ServiceUnavailableError) {
    switch (error.reason) {
      case 'circuit_open':
        return 'rejected';
      case 'shutting_down':
        return 'aborted';
      case 'not_ready':
      case 'overloaded':
      case 'queue_timeout':
      case 'ollama_unreachable':
        return 'error';
    }
  }
  return 'error';
}
